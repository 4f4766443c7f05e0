/*
 * echo_server.exe URL [THREADS [MAX_QUEUED]]: the real http.sys front end
 * (httpsys/) with echo_core.c in place of the core. Prints "listening" when
 * ready; stops cleanly on Ctrl-C or on a request to /__shutdown, prints
 * "stopped" and exits 0.
 *
 * URL may be several URLs separated by spaces. ECHO_MOUNT sets the mount of
 * the one application; ECHO_APPS instead lists several, separated by
 * newlines, each "MOUNT|SCRIPT|GROUP|CALLABLE|FLAGS" where FLAGS holds 'a'
 * (pass-authorization), 's' (enable-sendfile), 'r' (script reloading).
 */
#include <winsock2.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  const char *urls[16];
  size_t n_urls = 0;
  for (char *u = strtok(argv[1], " "); u && n_urls < 16; u = strtok(NULL, " "))
    urls[n_urls++] = u;
  sysgi_httpsys_config cfg = {0};
  cfg.urls = urls;
  cfg.n_urls = n_urls;
  cfg.mount = getenv("ECHO_MOUNT") ? getenv("ECHO_MOUNT") : "";
  cfg.script_filename = "C:\\echo\\app.py";
  sysgi_httpsys_app apps[16];
  size_t n_apps = 0;
  char *spec = getenv("ECHO_APPS") ? _strdup(getenv("ECHO_APPS")) : NULL;
  for (char *line = spec ? strtok(spec, "\n") : NULL; line && n_apps < 16;
       line = strtok(NULL, "\n")) {
    char *f[5] = {0};
    f[0] = line;
    for (int i = 1; i < 5 && f[i - 1]; i++) {
      char *bar = strchr(f[i - 1], '|');
      if (bar)
        *bar = '\0';
      f[i] = bar ? bar + 1 : NULL;
    }
    sysgi_httpsys_app *a = &apps[n_apps++];
    memset(a, 0, sizeof *a);
    a->mount = f[0];
    a->script_filename = f[1];
    a->application_group = f[2];
    a->callable_object = f[3] && *f[3] ? f[3] : NULL;
    a->pass_authorization = f[4] && strchr(f[4], 'a');
    a->enable_sendfile = f[4] && strchr(f[4], 's');
    a->script_reloading = f[4] && strchr(f[4], 'r');
  }
  cfg.apps = apps;
  cfg.n_apps = n_apps;
  cfg.case_sensitive_paths = getenv("ECHO_CASE_SENSITIVE") != NULL;
  /* File-handle chunks for /file (Wine's http.sys cannot send them). */
  cfg.enable_sendfile = getenv("ECHO_SENDFILE") != NULL;
  cfg.threads = argc > 2 ? (unsigned)atoi(argv[2]) : 8;
  cfg.max_queued = argc > 3 ? (unsigned)atoi(argv[3]) : 64;
  /* As sysgi.exe (svc_run.c): Wine's http.sys hands a newly posted receive
   * only to the first idle connection, so with few receives posted a
   * request on another kept-alive connection waited until its client gave
   * up (wine_httpsys_apps timed out so under load). */
  cfg.receives = cfg.threads + 16;
  cfg.log = log_line;
  sysgi_httpsys *srv;
  int rc = sysgi_httpsys_start(&cfg, &srv);
  if (rc != 0) {
    fprintf(stderr, "echo_server: start failed: %d\n", rc);
    return 1;
  }
  printf("listening %s\n", argv[1]);
  fflush(stdout);
  free(spec); /* copied by start */
  WaitForSingleObject(stop_event, INFINITE);
  sysgi_httpsys_stop(srv);
  printf("stopped\n");
  fflush(stdout);
  return 0;
}
