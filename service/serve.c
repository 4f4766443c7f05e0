/*
 * serve.c: `sysgi serve APP.py [options]`: one WSGI app in the foreground
 * on http.sys, for development. Ctrl-C stops it cleanly.
 *
 * If Python cannot be loaded (no or wrong python-home, a 32-bit DLL, ...)
 * the cause is printed once and the server still starts and answers every
 * request with 503: a misconfigured service stays visible and diagnosable
 * rather than crash-looping.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "log.h"
#include "python_loader.h"
#include "serve.h"
#include "sysgi.h"
#include "sysgi_httpsys.h"

static HANDLE stop_event;
static char python_error[1024];

static BOOL WINAPI on_ctrl(DWORD type) {
  if (type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT ||
      type == CTRL_CLOSE_EVENT || type == CTRL_SHUTDOWN_EVENT) {
    SetEvent(stop_event);
    return TRUE;
  }
  return FALSE;
}

/* The handler while Python is unavailable: the front end answers 503. */
static int handle_without_python(const sysgi_request *req) {
  req->fe->log(req->conn, SYSGI_LOG_INFO,
               "503: Python is not loaded (see the error at startup)");
  return SYSGI_E_NOPYTHON;
}

static char *to_utf8(const wchar_t *w) {
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  char *s = n > 0 ? malloc((size_t)n) : NULL;
  if (s)
    WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
  return s;
}

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "sysgi serve: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nusage: %s\n", SYSGI_SERVE_USAGE);
  return 2;
}

static int parse_uint(const wchar_t *s, unsigned lo, unsigned hi,
                      unsigned *out) {
  wchar_t *end;
  unsigned long v;
  if (!s || !*s)
    return -1;
  v = wcstoul(s, &end, 10);
  if (*end || v < lo || v > hi)
    return -1;
  *out = (unsigned)v;
  return 0;
}

int sysgi_serve(int argc, wchar_t **argv) {
  const wchar_t *app = NULL, *home = NULL, *mount = L"", *error_log = NULL;
  const wchar_t *group = L"";
  unsigned port = 8000, threads = 8;
  int sendfile = 0, debug = 0;
  char argbuf[512];

  for (int i = 0; i < argc; i++) {
    const wchar_t *a = argv[i];
    int has_value = i + 1 < argc;
    snprintf(argbuf, sizeof argbuf, "%ls", a);
    if (!wcscmp(a, L"--port")) {
      if (!has_value || parse_uint(argv[++i], 1, 65535, &port))
        return usage_error("--port needs a number from 1 to 65535%s", "");
    } else if (!wcscmp(a, L"--threads")) {
      if (!has_value || parse_uint(argv[++i], 1, 1024, &threads))
        return usage_error("--threads needs a number from 1 to 1024%s", "");
    } else if (!wcscmp(a, L"--python-home")) {
      if (!has_value)
        return usage_error("--python-home needs a directory%s", "");
      home = argv[++i];
    } else if (!wcscmp(a, L"--mount")) {
      if (!has_value || argv[i + 1][0] != L'/')
        return usage_error("--mount needs a path starting with '/'%s", "");
      mount = argv[++i];
    } else if (!wcscmp(a, L"--error-log")) {
      if (!has_value)
        return usage_error("--error-log needs a file%s", "");
      error_log = argv[++i];
    } else if (!wcscmp(a, L"--application-group")) {
      /* "" or %{GLOBAL}: the main interpreter; any other name: a
       * sub-interpreter of that name (WSGIApplicationGroup). */
      if (!has_value)
        return usage_error("--application-group needs a name%s", "");
      group = argv[++i];
      if (!wcscmp(group, L"%{GLOBAL}"))
        group = L"";
    } else if (!wcscmp(a, L"--enable-sendfile")) {
      sendfile = 1;
    } else if (!wcscmp(a, L"--debug")) {
      debug = 1;
    } else if (a[0] == L'-' && a[1] == L'-') {
      return usage_error("unknown option %s", argbuf);
    } else if (!app) {
      app = a;
    } else {
      return usage_error("unexpected argument %s", argbuf);
    }
  }
  if (!app)
    return usage_error("the WSGI script APP.py is missing%s", "");

  wchar_t full[MAX_PATH];
  DWORD fl = GetFullPathNameW(app, MAX_PATH, full, NULL);
  DWORD attr = fl && fl < MAX_PATH ? GetFileAttributesW(full)
                                   : INVALID_FILE_ATTRIBUTES;
  if (attr == INVALID_FILE_ATTRIBUTES || (attr & FILE_ATTRIBUTE_DIRECTORY)) {
    snprintf(argbuf, sizeof argbuf, "%ls", app);
    return usage_error("%s: no such script file", argbuf);
  }

  char *script = to_utf8(full), *mount8 = to_utf8(mount);
  char *log8 = error_log ? to_utf8(error_log) : NULL;
  char *group8 = to_utf8(group);
  if (!script || !mount8 || !group8 || (error_log && !log8)) {
    fprintf(stderr, "sysgi serve: out of memory\n");
    return 1;
  }
  if (debug)
    svc_log_set_level(SYSGI_LOG_DEBUG);
  if (log8 && svc_log_open(log8) != 0) {
    fprintf(stderr, "sysgi serve: cannot open the error log %s\n", log8);
    return 1;
  }

  /* python-home: the option, else PYTHONHOME. */
  if (!home || !*home)
    home = _wgetenv(L"PYTHONHOME");
  int python_ok = 0;
  wchar_t dll[MAX_PATH];
  if (sysgi_python_load(home, python_error, sizeof python_error, dll,
                        MAX_PATH) == 0) {
    char *home8 = to_utf8(home);
    sysgi_runtime_config rc;
    memset(&rc, 0, sizeof rc);
    rc.python_home = home8;
    rc.multithread = 1;
    rc.multiprocess = 0;
    rc.server_software = SYSGI_HTTPSYS_SOFTWARE;
    rc.log = svc_log;
    if (home8 && sysgi_runtime_init(&rc) == 0) {
      python_ok = 1;
      svc_logf(SYSGI_LOG_INFO, "Python loaded from %ls", dll);
    } else {
      snprintf(python_error, sizeof python_error,
               "cannot start Python from python-home %ls (%ls): see the "
               "error above", home, dll);
    }
    free(home8);
  }
  if (!python_ok)
    svc_logf(SYSGI_LOG_ERR, "%s; answering 503 to every request",
               python_error);

  char url[64 + MAX_PATH];
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s/", port, mount8);
  const char *urls[1] = {url};
  sysgi_httpsys_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.urls = urls;
  cfg.n_urls = 1;
  cfg.mount = mount8;
  cfg.script_filename = script;
  cfg.application_group = group8;
  cfg.callable_object = "application";
  cfg.enable_sendfile = sendfile;
  cfg.threads = threads;
  /* More receives posted than requests can be in flight (threads, plus
   * the connections of a burst): Wine's http.sys hands a newly posted
   * receive only to the first idle connection, so a request that arrived
   * while no receive was pending could wait until its client gave up.
   * Real http.sys queues such requests itself; the buffers are 16 KB. */
  cfg.receives = threads + 16 < 256 ? threads + 16 : 256;
  cfg.handle = python_ok ? sysgi_handle : handle_without_python;
  cfg.log = svc_log;

  stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  SetConsoleCtrlHandler(on_ctrl, TRUE);
  sysgi_httpsys *srv;
  int rc = sysgi_httpsys_start(&cfg, &srv);
  if (rc != 0) {
    svc_logf(SYSGI_LOG_ERR, "cannot listen on %s (%s; see above)", url,
             sysgi_strerror(rc));
    if (python_ok)
      sysgi_runtime_shutdown();
    return 1;
  }
  printf("sysgi: serving %s on %s (Ctrl-C stops)\n", script, url);
  fflush(stdout);
  WaitForSingleObject(stop_event, INFINITE);
  svc_logf(SYSGI_LOG_INFO, "stopping");
  sysgi_httpsys_stop(srv);
  if (python_ok)
    sysgi_runtime_shutdown();
  printf("sysgi: stopped\n");
  fflush(stdout);
  svc_log_close();
  free(script);
  free(mount8);
  free(group8);
  free(log8);
  return 0;
}
