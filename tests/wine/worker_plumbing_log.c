/*
 * worker_plumbing_log.c: the service log (service/log.h) for
 * worker_plumbing.exe: lines to stderr, and the last one (and the last
 * warning) kept so that the checks can see what the service code logged.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "sysgi.h"

char wp_last_log[2048];
char wp_last_warn[2048];
int wp_last_level = -1;
static CRITICAL_SECTION lock;
static INIT_ONCE once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK init(PINIT_ONCE o, PVOID p, PVOID *c) {
  (void)o, (void)p, (void)c;
  InitializeCriticalSection(&lock);
  return TRUE;
}

void svc_log(void *ctx, int level, const char *msg) {
  (void)ctx;
  InitOnceExecuteOnce(&once, init, NULL, NULL);
  EnterCriticalSection(&lock);
  snprintf(wp_last_log, sizeof wp_last_log, "%s", msg);
  wp_last_level = level;
  if (level == SYSGI_LOG_WARN)
    snprintf(wp_last_warn, sizeof wp_last_warn, "%s", msg);
  fprintf(stderr, "[%d] %s\n", level, msg);
  fflush(stderr);
  LeaveCriticalSection(&lock);
}

void svc_logf(int level, const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  svc_log(NULL, level, buf);
}
