/*
 * log.c: timestamped, thread-safe log lines to stderr and optionally to a
 * file. (The Windows Event Log comes with the service mode.)
 */
#include <winsock2.h>
#include <windows.h>

#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "sysgi.h"

static SRWLOCK lock = SRWLOCK_INIT;
static FILE *file;
static int max_level = SYSGI_LOG_INFO;

void svc_log_set_level(int level) { max_level = level; }

int svc_log_open(const char *path) {
  if (!path)
    return 0;
  wchar_t wpath[MAX_PATH];
  if (!MultiByteToWideChar(CP_UTF8, 0, path, -1, wpath, MAX_PATH))
    return -1;
  file = _wfopen(wpath, L"ab");
  return file ? 0 : -1;
}

void svc_log_close(void) {
  if (file)
    fclose(file);
  file = NULL;
}

void svc_log(void *ctx, int level, const char *msg) {
  static const char *const names[] = {"error", "warn", "info", "debug"};
  SYSTEMTIME t;
  (void)ctx;
  if (level > max_level)
    return;
  GetLocalTime(&t);
  const char *lv = level >= 0 && level <= 3 ? names[level] : "?";
  AcquireSRWLockExclusive(&lock);
  fprintf(stderr, "[%04u-%02u-%02u %02u:%02u:%02u] [%s] %s\n", t.wYear,
          t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond, lv, msg);
  fflush(stderr);
  if (file) {
    fprintf(file, "[%04u-%02u-%02u %02u:%02u:%02u] [%s] %s\r\n", t.wYear,
            t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond, lv, msg);
    fflush(file);
  }
  ReleaseSRWLockExclusive(&lock);
}

void svc_logf(int level, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  svc_log(NULL, level, msg);
}
