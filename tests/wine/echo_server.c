/*
 * echo_server.exe URL [THREADS [MAX_QUEUED]]: the real http.sys front end
 * (httpsys/) with echo_core.c in place of the core. Prints "listening" when
 * ready; stops cleanly on Ctrl-C or on a request to /__shutdown, prints
 * "stopped" and exits 0.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>

#include "sysgi_httpsys.h"

static HANDLE stop_event;

void echo_request_stop(void) { SetEvent(stop_event); }

static BOOL WINAPI on_ctrl(DWORD type) {
  (void)type;
  SetEvent(stop_event);
  return TRUE;
}

static void log_line(void *ctx, int level, const char *msg) {
  (void)ctx;
  fprintf(stderr, "echo_server[%d]: %s\n", level, msg);
  fflush(stderr);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: echo_server URL [THREADS [MAX_QUEUED]]\n");
    return 2;
  }
  stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  SetConsoleCtrlHandler(on_ctrl, TRUE);
  const char *urls[1] = {argv[1]};
  sysgi_httpsys_config cfg = {0};
  cfg.urls = urls;
  cfg.n_urls = 1;
  cfg.mount = getenv("ECHO_MOUNT") ? getenv("ECHO_MOUNT") : "";
  cfg.script_filename = "C:\\echo\\app.py";
  /* File-handle chunks for /file (Wine's http.sys cannot send them). */
  cfg.enable_sendfile = getenv("ECHO_SENDFILE") != NULL;
  cfg.threads = argc > 2 ? (unsigned)atoi(argv[2]) : 8;
  cfg.max_queued = argc > 3 ? (unsigned)atoi(argv[3]) : 64;
  cfg.log = log_line;
  sysgi_httpsys *srv;
  int rc = sysgi_httpsys_start(&cfg, &srv);
  if (rc != 0) {
    fprintf(stderr, "echo_server: start failed: %d\n", rc);
    return 1;
  }
  printf("listening %s\n", argv[1]);
  fflush(stdout);
  WaitForSingleObject(stop_event, INFINITE);
  sysgi_httpsys_stop(srv);
  printf("stopped\n");
  fflush(stdout);
  return 0;
}
