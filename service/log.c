/*
 * log.c: timestamped, thread-safe log lines to stderr, to a file with
 * size-based rotation, and to the Event Log (eventlog.c).
 *
 * The file is a Win32 handle opened with FILE_SHARE_DELETE so that an
 * administrator tailing it does not stop the rotation, and rotation
 * renames under the same lock that writes, so no line is lost or split.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#include "eventlog.h"
#include "log.h"
#include "sysgi.h"

static SRWLOCK lock = SRWLOCK_INIT;
static HANDLE file = INVALID_HANDLE_VALUE;
static wchar_t *file_path;
static uint64_t file_size, max_size;
static unsigned keep;
static int max_level = SYSGI_LOG_INFO, to_stderr = 1, to_eventlog;

void svc_log_set_level(int level) { max_level = level; }
void svc_log_set_stderr(int on) { to_stderr = on; }
void svc_log_set_eventlog(int on) { to_eventlog = on; }

void svc_log_set_rotation(uint64_t size, unsigned n) {
  AcquireSRWLockExclusive(&lock);
  max_size = size;
  keep = n;
  ReleaseSRWLockExclusive(&lock);
}

static HANDLE open_file(const wchar_t *path, uint64_t *size) {
  HANDLE h = CreateFileW(path, FILE_APPEND_DATA,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                         NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  LARGE_INTEGER sz;
  if (h != INVALID_HANDLE_VALUE)
    *size = GetFileSizeEx(h, &sz) ? (uint64_t)sz.QuadPart : 0;
  return h;
}

int svc_log_open(const char *path) {
  if (!path)
    return 0;
  int n = MultiByteToWideChar(CP_UTF8, 0, path, -1, NULL, 0);
  wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
  if (!w || !MultiByteToWideChar(CP_UTF8, 0, path, -1, w, n)) {
    free(w);
    return -1;
  }
  uint64_t size = 0;
  HANDLE h = open_file(w, &size);
  if (h == INVALID_HANDLE_VALUE) {
    free(w);
    return -1;
  }
  AcquireSRWLockExclusive(&lock);
  if (file != INVALID_HANDLE_VALUE)
    CloseHandle(file);
  free(file_path);
  file = h;
  file_path = w;
  file_size = size;
  ReleaseSRWLockExclusive(&lock);
  return 0;
}

void svc_log_close(void) {
  AcquireSRWLockExclusive(&lock);
  if (file != INVALID_HANDLE_VALUE)
    CloseHandle(file);
  file = INVALID_HANDLE_VALUE;
  free(file_path);
  file_path = NULL;
  ReleaseSRWLockExclusive(&lock);
}

/* FILE.(i) for i >= 1, FILE for 0. */
static void numbered(wchar_t *out, size_t n, unsigned i) {
  if (i)
    _snwprintf(out, n, L"%ls.%u", file_path, i);
  else
    _snwprintf(out, n, L"%ls", file_path);
  out[n - 1] = 0;
}

/* Under the lock, with the file open and over the limit. If a rename fails
 * (another process holds FILE.n without FILE_SHARE_DELETE) the log goes
 * on in the current file rather than lose lines. */
static void rotate(void) {
  wchar_t from[MAX_PATH + 16], to[MAX_PATH + 16];
  CloseHandle(file);
  file = INVALID_HANDLE_VALUE;
  if (keep == 0) {
    DeleteFileW(file_path);
  } else {
    numbered(to, MAX_PATH + 16, keep);
    DeleteFileW(to);
    for (unsigned i = keep; i >= 1; i--) {
      numbered(from, MAX_PATH + 16, i - 1);
      numbered(to, MAX_PATH + 16, i);
      MoveFileExW(from, to, MOVEFILE_REPLACE_EXISTING);
    }
  }
  file = open_file(file_path, &file_size);
}

static void write_file(const char *line, size_t len) {
  if (file == INVALID_HANDLE_VALUE)
    return;
  if (max_size && file_size > 0 && file_size + len > max_size)
    rotate();
  DWORD done = 0;
  if (file != INVALID_HANDLE_VALUE &&
      WriteFile(file, line, (DWORD)len, &done, NULL))
    file_size += done;
}

/* event_id: the Event Log event of this line, or 0 for the generic one. */
static void log_line(int level, const char *msg, DWORD event_id) {
  static const char *const names[] = {"error", "warn", "info", "debug"};
  char line[4096];
  SYSTEMTIME t;
  if (event_id)
    svc_eventlog_report(event_id, msg);
  else if (to_eventlog && level == SYSGI_LOG_ERR)
    svc_eventlog_report(SYSGI_MSG_ERROR, msg);
  if (level > max_level)
    return;
  GetLocalTime(&t);
  const char *lv = level >= 0 && level <= 3 ? names[level] : "?";
  int n = snprintf(line, sizeof line - 2,
                   "[%04u-%02u-%02u %02u:%02u:%02u] [%s] %s", t.wYear,
                   t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond, lv, msg);
  if (n < 0)
    return;
  if ((size_t)n > sizeof line - 3)
    n = (int)(sizeof line - 3);
  AcquireSRWLockExclusive(&lock);
  if (to_stderr) {
    fprintf(stderr, "%.*s\n", n, line);
    fflush(stderr);
  }
  line[n] = '\r';
  line[n + 1] = '\n';
  write_file(line, (size_t)n + 2);
  ReleaseSRWLockExclusive(&lock);
}

void svc_log(void *ctx, int level, const char *msg) {
  (void)ctx;
  log_line(level, msg, 0);
}

void svc_logf(int level, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  svc_log(NULL, level, msg);
}

void svc_log_eventf(unsigned long event_id, int level, const char *fmt,
                    ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_line(level, msg, (DWORD)event_id);
}
