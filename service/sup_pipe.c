/*
 * sup_pipe.c: the control pipe of a running sysgi with process groups
 * (the service or `sysgi serve --config`), and `sysgi recycle GROUP`.
 *
 * One design for both: a named pipe (SVC_CONTROL_PIPE). A service control
 * code carries no argument, and the same command must reach a foreground
 * `serve`; named pipes work the same on Windows and Wine. The pipe takes
 * one line "recycle NAME" and answers one line, "ok: ..." once every
 * worker of the group was replaced, or "error: ...". The pipe's default
 * security lets local administrators and the service's account write to
 * it (and, read-only, everyone): recycling needs an administrator.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "log.h"
#include "sup_internal.h"

static void serve_one(svc_supervisor *sup, HANDLE pipe) {
  char line[512], reply[1024];
  DWORD got = 0, n;
  while (got < sizeof line - 1 &&
         ReadFile(pipe, line + got, (DWORD)(sizeof line - 1 - got), &n, NULL) &&
         n > 0) {
    got += n;
    if (memchr(line, '\n', got))
      break;
  }
  line[got] = 0;
  char *nl = strpbrk(line, "\r\n");
  if (nl)
    *nl = 0;
  if (!strncmp(line, "recycle ", 8) && line[8]) {
    sup_request_recycle(sup, line + 8, reply, sizeof reply);
  } else {
    snprintf(reply, sizeof reply, "error: unknown command '%.100s'", line);
  }
  svc_logf(SYSGI_LOG_INFO, "control pipe: %s -> %s", line, reply);
  strncat(reply, "\n", sizeof reply - strlen(reply) - 1);
  WriteFile(pipe, reply, (DWORD)strlen(reply), &n, NULL);
  FlushFileBuffers(pipe);
}

static DWORD WINAPI pipe_thread(void *arg) {
  svc_supervisor *sup = arg;
  while (!sup->pipe_quit) {
    HANDLE p = CreateNamedPipeW(SVC_CONTROL_PIPE, PIPE_ACCESS_DUPLEX,
                                PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
                                PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, NULL);
    if (p == INVALID_HANDLE_VALUE) {
      svc_logf(SYSGI_LOG_ERR, "cannot create the control pipe (error %lu): "
               "sysgi recycle will not reach this instance",
               (unsigned long)GetLastError());
      return 1;
    }
    BOOL ok = ConnectNamedPipe(p, NULL) || GetLastError() == ERROR_PIPE_CONNECTED;
    if (ok && !sup->pipe_quit)
      serve_one(sup, p);
    DisconnectNamedPipe(p);
    CloseHandle(p);
  }
  return 0;
}

int sup_pipe_start(svc_supervisor *sup) {
  sup->pipe_thread = CreateThread(NULL, 0, pipe_thread, sup, 0, NULL);
  return sup->pipe_thread ? 0 : SYSGI_E_NOMEM;
}

void sup_pipe_stop(svc_supervisor *sup) {
  if (!sup->pipe_thread)
    return;
  InterlockedExchange(&sup->pipe_quit, 1);
  /* Unblock ConnectNamedPipe with a connection of our own. */
  HANDLE h = CreateFileW(SVC_CONTROL_PIPE, GENERIC_READ | GENERIC_WRITE, 0,
                         NULL, OPEN_EXISTING, 0, NULL);
  if (h != INVALID_HANDLE_VALUE)
    CloseHandle(h);
  if (WaitForSingleObject(sup->pipe_thread, 5000) != WAIT_OBJECT_0)
    svc_logf(SYSGI_LOG_WARN, "the control pipe's thread did not stop");
  CloseHandle(sup->pipe_thread);
  sup->pipe_thread = NULL;
}

int svc_cmd_recycle(int argc, wchar_t **argv) {
  if (argc != 1 || !argv[0][0]) {
    fprintf(stderr, "usage: sysgi recycle GROUP\n");
    return 2;
  }
  char name[400], line[520];
  if (!WideCharToMultiByte(CP_UTF8, 0, argv[0], -1, name, sizeof name, NULL,
                           NULL)) {
    fprintf(stderr, "sysgi recycle: group name too long\n");
    return 2;
  }
  HANDLE h = INVALID_HANDLE_VALUE;
  for (int tries = 0; tries < 50 && h == INVALID_HANDLE_VALUE; tries++) {
    h = CreateFileW(SVC_CONTROL_PIPE, GENERIC_READ | GENERIC_WRITE, 0, NULL,
                    OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) {
      DWORD e = GetLastError();
      if (e != ERROR_PIPE_BUSY) {
        fprintf(stderr, "sysgi recycle: no running sysgi with process groups "
                "(cannot open %ls: error %lu)\n", SVC_CONTROL_PIPE,
                (unsigned long)e);
        return 1;
      }
      WaitNamedPipeW(SVC_CONTROL_PIPE, 200);
    }
  }
  if (h == INVALID_HANDLE_VALUE) {
    fprintf(stderr, "sysgi recycle: the control pipe stays busy\n");
    return 1;
  }
  snprintf(line, sizeof line, "recycle %s\n", name);
  DWORD n;
  if (!WriteFile(h, line, (DWORD)strlen(line), &n, NULL)) {
    fprintf(stderr, "sysgi recycle: cannot write to the control pipe (error "
            "%lu)\n", (unsigned long)GetLastError());
    CloseHandle(h);
    return 1;
  }
  char reply[1024];
  DWORD got = 0;
  while (got < sizeof reply - 1 &&
         ReadFile(h, reply + got, (DWORD)(sizeof reply - 1 - got), &n, NULL) &&
         n > 0)
    got += n;
  reply[got] = 0;
  CloseHandle(h);
  int ok = !strncmp(reply, "ok", 2);
  fprintf(ok ? stdout : stderr, "sysgi recycle: %s%s", got ? reply : "no answer\n",
          got && reply[got - 1] != '\n' ? "\n" : "");
  return ok ? 0 : 1;
}
