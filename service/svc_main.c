/*
 * svc_main.c: the service process (`sysgi.exe service [--config FILE]`,
 * started by the SCM).
 *
 * States: START_PENDING while the configuration and Python load, with a
 * checkpoint per stage of svc_run and a heartbeat that keeps advancing it
 * (an application's import may take longer than any fixed wait hint);
 * RUNNING once http.sys listens; STOP_PENDING while in-flight requests
 * drain; STOPPED, with a service-specific exit code when it failed.
 *
 * A stop may arrive at any time, including while an application's import
 * is still running (the seed's bug 5). The stop event is set at once and
 * svc_run ends when it can; if it cannot within the shutdown timeout (an
 * import sleeping in Python cannot be interrupted), the watchdog reports
 * STOPPED itself and ends the process: nothing has been served, nothing
 * is lost, and the SCM is not left with a service it cannot stop.
 */
#include <winsock2.h>
#include <windows.h>

#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "eventlog.h"
#include "log.h"
#include "svc_commands.h"
#include "svc_config.h"
#include "svc_run.h"
#include "svc_util.h"
#include "sysgi.h"
#include "sysgi_config.h"

static SRWLOCK status_lock = SRWLOCK_INIT;
static SERVICE_STATUS_HANDLE status_handle;
static SERVICE_STATUS status;
static HANDLE stop_event, run_done, heartbeat_done;
static volatile LONG stop_requested, was_running;
static unsigned shutdown_ms = 10000;
static const wchar_t *config_path;
static wchar_t marker[MAX_PATH];

/* Sets the state (the checkpoint advances in pending states) and tells the
 * SCM. Controls are accepted from the first START_PENDING on, so a stop
 * during start-up reaches us. */
static void report(DWORD state, DWORD specific_exit, DWORD wait_hint) {
  AcquireSRWLockExclusive(&status_lock);
  status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  status.dwCurrentState = state;
  status.dwControlsAccepted =
      state == SERVICE_START_PENDING || state == SERVICE_RUNNING
          ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN |
                SERVICE_ACCEPT_PRESHUTDOWN
          : 0;
  status.dwWin32ExitCode = specific_exit ? ERROR_SERVICE_SPECIFIC_ERROR : 0;
  status.dwServiceSpecificExitCode = specific_exit;
  if (state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING)
    status.dwCheckPoint++;
  else
    status.dwCheckPoint = 0;
  status.dwWaitHint = wait_hint;
  SetServiceStatus(status_handle, &status);
  ReleaseSRWLockExclusive(&status_lock);
}

static DWORD WINAPI heartbeat(void *arg) {
  (void)arg;
  while (WaitForSingleObject(heartbeat_done, 1000) == WAIT_TIMEOUT) {
    AcquireSRWLockExclusive(&status_lock);
    if (status.dwCurrentState == SERVICE_START_PENDING ||
        status.dwCurrentState == SERVICE_STOP_PENDING) {
      status.dwCheckPoint++;
      SetServiceStatus(status_handle, &status);
    }
    ReleaseSRWLockExclusive(&status_lock);
  }
  return 0;
}

static void remove_marker(void) {
  if (marker[0])
    DeleteFileW(marker);
}

/* The end of the process when svc_run cannot return in time. */
static DWORD WINAPI watchdog(void *arg) {
  (void)arg;
  if (WaitForSingleObject(run_done, shutdown_ms + 5000) != WAIT_TIMEOUT)
    return 0;
  if (!was_running)
    svc_log_eventf(SYSGI_MSG_STOP_DURING_INIT, SYSGI_LOG_WARN,
                   "the stop came while the applications were still "
                   "loading and they did not finish within %u ms; "
                   "start-up abandoned, no request was served",
                   shutdown_ms + 5000);
  else
    svc_log_eventf(SYSGI_MSG_STOPPED, SYSGI_LOG_WARN,
                   "in-flight requests did not finish within the shutdown "
                   "timeout (%u ms); the process ends now", shutdown_ms);
  remove_marker();
  svc_log_close();
  report(SERVICE_STOPPED, 0, 0);
  /* Not ExitProcess: DLL detach would run while Python holds its locks
   * on the thread still importing. */
  TerminateProcess(GetCurrentProcess(), 0);
  return 0;
}

static DWORD WINAPI on_control(DWORD control, DWORD type, void *data,
                               void *ctx) {
  (void)type, (void)data, (void)ctx;
  switch (control) {
  case SERVICE_CONTROL_STOP:
  case SERVICE_CONTROL_SHUTDOWN:
  case SERVICE_CONTROL_PRESHUTDOWN:
    if (!InterlockedExchange(&stop_requested, 1)) {
      svc_logf(SYSGI_LOG_INFO, "stop requested (%s)",
               control == SERVICE_CONTROL_STOP ? "stop" : "system shutdown");
      report(SERVICE_STOP_PENDING, 0, shutdown_ms + 5000);
      SetEvent(stop_event);
      HANDLE t = CreateThread(NULL, 0, watchdog, NULL, 0, NULL);
      if (t)
        CloseHandle(t);
    }
    return NO_ERROR;
  case SERVICE_CONTROL_INTERROGATE:
    return NO_ERROR;
  default:
    return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

static void on_progress(void *ctx, const char *stage) {
  const sysgi_server_settings *ss = ctx;
  if (strcmp(stage, "listening") == 0) {
    char urls[1024] = "";
    size_t used = 0;
    for (size_t i = 0; ss && i < ss->n_listen && used < sizeof urls; i++)
      used += (size_t)snprintf(urls + used, sizeof urls - used, "%s%s",
                               i ? ", " : "", ss->listen[i]);
    /* A stop already on its way keeps STOP_PENDING. */
    if (!stop_requested) {
      InterlockedExchange(&was_running, 1);
      report(SERVICE_RUNNING, 0, 0);
    }
    svc_log_eventf(SYSGI_MSG_STARTED, SYSGI_LOG_INFO,
                   "listening on %s (pid %lu)", urls,
                   (unsigned long)GetCurrentProcessId());
  } else {
    svc_logf(SYSGI_LOG_INFO, "starting: %s", stage);
    if (!stop_requested)
      report(SERVICE_START_PENDING, 0, 30000);
  }
}

/* Python's and the C runtime's stdout/stderr: a pipe read back into the
 * log. A service has no console, and Wine's CPython dies on std handles
 * that are regular files (WINE.md); print() in an app goes to the log. */
static DWORD WINAPI read_stdio(void *arg) {
  HANDLE r = arg;
  char buf[4096], line[4096];
  size_t n = 0;
  DWORD got;
  while (ReadFile(r, buf, sizeof buf, &got, NULL) && got) {
    for (DWORD i = 0; i < got; i++) {
      char c = buf[i];
      if (c == '\n' || n == sizeof line - 1) {
        if (n && line[n - 1] == '\r')
          n--;
        line[n] = 0;
        svc_logf(SYSGI_LOG_INFO, "[stdout/stderr] %s", line);
        n = 0;
        if (c == '\n')
          continue;
      }
      line[n++] = c;
    }
  }
  return 0;
}

static void redirect_stdio(void) {
  HANDLE r, w;
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, FALSE};
  if (!CreatePipe(&r, &w, &sa, 0))
    return;
  SetStdHandle(STD_OUTPUT_HANDLE, w);
  SetStdHandle(STD_ERROR_HANDLE, w);
  /* msvcrt's fds 1 and 2 were set up at start from the (absent) std
   * handles; a CPython on msvcrt shares them, one on ucrt reads the std
   * handles above when it loads. */
  HANDLE w2;
  int fd = -1;
  /* The fd owns its handle (closed with it): give it a duplicate, so the
   * std handles above stay open. */
  if (DuplicateHandle(GetCurrentProcess(), w, GetCurrentProcess(), &w2, 0,
                      FALSE, DUPLICATE_SAME_ACCESS))
    fd = _open_osfhandle((intptr_t)w2, _O_WRONLY | _O_BINARY);
  if (fd >= 0) {
    _dup2(fd, 1);
    _dup2(fd, 2);
    if (fd > 2)
      _close(fd);
#if defined(__MINGW32__) && !defined(_UCRT)
    /* With no std handle at start, msvcrt gave stdout/stderr the fd -2
     * (no console), and CPython's init_sys_streams takes fileno(stdout):
     * -2 would make sys.stdout None and print() output vanish. */
    stdout->_file = 1;
    stderr->_file = 2;
#else
    /* ucrt: FILE is opaque; give the streams real fds, then point those
     * at the pipe. */
    if (_fileno(stdout) < 0 && freopen("NUL", "w", stdout))
      _dup2(1, _fileno(stdout));
    if (_fileno(stderr) < 0 && freopen("NUL", "w", stderr))
      _dup2(2, _fileno(stderr));
#endif
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  setvbuf(stderr, NULL, _IONBF, 0);
  HANDLE t = CreateThread(NULL, 0, read_stdio, r, 0, NULL);
  if (t)
    CloseHandle(t);
}

/* Crash detection: a marker file next to the log, written at start and
 * removed by every ending that is not a crash. Found at start: the last
 * run died (the SCM's failure actions restarted us, or an administrator). */
static void check_marker(const char *log_file) {
  wchar_t *w = svc_wide(log_file);
  if (!w)
    return;
  wchar_t *slash = wcsrchr(w, L'\\');
  if (slash)
    slash[1] = 0;
  _snwprintf(marker, MAX_PATH, L"%ls%ls", slash ? w : L"", L"sysgi.running");
  marker[MAX_PATH - 1] = 0;
  free(w);
  char prev[128] = "";
  HANDLE h = CreateFileW(marker, GENERIC_READ, FILE_SHARE_READ, NULL,
                         OPEN_EXISTING, 0, NULL);
  if (h != INVALID_HANDLE_VALUE) {
    DWORD got = 0;
    ReadFile(h, prev, sizeof prev - 1, &got, NULL);
    prev[got] = 0;
    CloseHandle(h);
    svc_log_eventf(SYSGI_MSG_CRASH_RESTART, SYSGI_LOG_WARN,
                   "restarted after a crash: the previous run (%s) ended "
                   "without a clean stop",
                   prev[0] ? prev : "unknown pid");
  }
  h = CreateFileW(marker, GENERIC_WRITE, FILE_SHARE_READ, NULL,
                  CREATE_ALWAYS, 0, NULL);
  if (h != INVALID_HANDLE_VALUE) {
    SYSTEMTIME t;
    GetLocalTime(&t);
    char text[128];
    int n = snprintf(text, sizeof text, "pid %lu, started %04u-%02u-%02u "
                     "%02u:%02u:%02u", (unsigned long)GetCurrentProcessId(),
                     t.wYear, t.wMonth, t.wDay, t.wHour, t.wMinute,
                     t.wSecond);
    DWORD done;
    WriteFile(h, text, (DWORD)n, &done, NULL);
    CloseHandle(h);
  } else {
    marker[0] = 0;
  }
}

static void finish(DWORD specific_exit) {
  SetEvent(heartbeat_done);
  svc_log_close();
  report(SERVICE_STOPPED, specific_exit, 0);
}

/* 1 when every configuration error is about [server] python-home (the
 * model's "ORIGIN: [SECTION] KEY: MESSAGE" form). A python-home that is not
 * a directory (Python not installed yet, a typo in the MSI's PYTHONHOME)
 * is then no reason to stay stopped: like a home that holds no Python, the
 * service runs without Python and answers 503, with the error in the Event
 * Log (the README's "a wrong path gives a log line and a 503"); the next
 * start picks the home up once it exists. Any other error stops it. */
static int only_python_home_errors(const sysgi_config *cfg) {
  size_t n = cfg ? sysgi_config_n_errors(cfg) : 0;
  for (size_t i = 0; i < n; i++)
    if (!strstr(sysgi_config_error(cfg, i), "[server] python-home: "))
      return 0;
  return n > 0;
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv) {
  (void)argc, (void)argv;
  status_handle = RegisterServiceCtrlHandlerExW(SVC_NAME, on_control, NULL);
  if (!status_handle)
    return;
  stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  run_done = CreateEventW(NULL, TRUE, FALSE, NULL);
  heartbeat_done = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (!stop_event || !run_done || !heartbeat_done) {
    report(SERVICE_STOPPED, SVC_EXIT_INTERNAL, 0);
    return;
  }
  report(SERVICE_START_PENDING, 0, 30000);
  HANDLE hb = CreateThread(NULL, 0, heartbeat, NULL, 0, NULL);
  if (hb)
    CloseHandle(hb);
  svc_eventlog_open();
  svc_log_set_eventlog(1);
  svc_log_set_stderr(0);

  sysgi_config *cfg = NULL;
  int rc = svc_config_load(config_path, &cfg);
  int no_home = rc == SYSGI_E_CONFIG && only_python_home_errors(cfg);
  if (no_home)
    rc = 0;
  const sysgi_server_settings *ss = rc == 0 ? sysgi_config_server(cfg) : NULL;
  char *default_log = svc_default_log_file();
  const char *log_file = ss && ss->log_file ? ss->log_file : default_log;
  if (ss) {
    svc_log_set_level(ss->log_level);
    svc_log_set_rotation(ss->log_max_size, ss->log_keep);
    shutdown_ms = ss->shutdown_timeout_ms;
  }
  if (log_file && (svc_make_parent_dirs(log_file) || svc_log_open(log_file)))
    svc_log_eventf(SYSGI_MSG_WARNING, SYSGI_LOG_WARN,
                   "cannot open the log file %s (error %lu); logging to the "
                   "Event Log only", log_file, (unsigned long)GetLastError());
  if (log_file)
    check_marker(log_file);
  free(default_log);
  svc_logf(SYSGI_LOG_INFO, "sysgi %s service starting (pid %lu)",
           sysgi_version(), (unsigned long)GetCurrentProcessId());
  if (cfg && sysgi_config_n_apps(cfg) == 0)
    svc_log_eventf(SYSGI_MSG_WARNING, SYSGI_LOG_WARN,
                   "no application is configured: every request gets 404 "
                   "until an [app:/MOUNT] section of the INI file names a "
                   "script (then restart the service)");
  redirect_stdio();

  if (no_home) {
    /* The other source (INI file or registry) may still have set a good
     * one; if not, Python cannot start. Then not the PYTHONHOME
     * variable instead: serving from a Python other than the one
     * configured would hide the error. */
    int none = !ss || !ss->python_home;
    if (none)
      _wputenv(L"PYTHONHOME=");
    for (size_t i = 0; i < sysgi_config_n_errors(cfg); i++) {
      if (none)
        svc_log_eventf(SYSGI_MSG_CONFIG_ERROR, SYSGI_LOG_ERR,
                       "%s; Python cannot start, every request is answered "
                       "503 until this is fixed and the service restarted",
                       sysgi_config_error(cfg, i));
      else
        svc_log_eventf(SYSGI_MSG_CONFIG_ERROR, SYSGI_LOG_ERR,
                       "%s; the service uses python-home = %s (its other "
                       "value)", sysgi_config_error(cfg, i),
                       ss->python_home);
    }
  }
  if (rc != 0) {
    size_t n = cfg ? sysgi_config_n_errors(cfg) : 0;
    for (size_t i = 0; i < n; i++)
      svc_log_eventf(SYSGI_MSG_CONFIG_ERROR, SYSGI_LOG_ERR, "%s",
                     sysgi_config_error(cfg, i));
    if (!n)
      svc_log_eventf(SYSGI_MSG_CONFIG_ERROR, SYSGI_LOG_ERR,
                     "cannot load the configuration (%s)", sysgi_strerror(rc));
    svc_log_eventf(SYSGI_MSG_START_FAILED, SYSGI_LOG_ERR,
                   "the configuration is invalid; see the errors above");
    sysgi_config_free(cfg);
    remove_marker();
    finish(SVC_EXIT_CONFIG);
    return;
  }
  rc = svc_run(cfg, stop_event, on_progress, (void *)ss);
  SetEvent(run_done);
  DWORD code = 0;
  if (rc == SYSGI_E_TIMEOUT) {
    /* Requests are still inside the application: Python cannot be
     * finalized under them, so the process ends here (svc_run.h). */
    svc_log_eventf(SYSGI_MSG_STOPPED, SYSGI_LOG_WARN,
                   "stopped with requests still running after the shutdown "
                   "timeout (%u ms); the process ends without finalizing "
                   "Python", shutdown_ms);
    remove_marker();
    finish(0);
    ExitProcess(0);
  }
  if (rc == 0) {
    svc_log_eventf(SYSGI_MSG_STOPPED, SYSGI_LOG_INFO, "%s",
                   was_running ? "clean stop"
                               : "stopped during its initialisation");
  } else {
    svc_log_eventf(SYSGI_MSG_START_FAILED, SYSGI_LOG_ERR,
                   "cannot serve (%s); see the errors above",
                   sysgi_strerror(rc));
    code = SVC_EXIT_LISTEN;
  }
  sysgi_config_free(cfg);
  remove_marker();
  finish(code);
}

int svc_cmd_service(int argc, wchar_t **argv) {
  for (int i = 0; i < argc; i++) {
    if (!wcscmp(argv[i], L"--config") && i + 1 < argc) {
      config_path = argv[++i];
    } else {
      fprintf(stderr, "sysgi service: unexpected argument '%ls'\n", argv[i]);
      return 2;
    }
  }
  SERVICE_TABLE_ENTRYW table[] = {{(LPWSTR)SVC_NAME, service_main},
                                  {NULL, NULL}};
  if (!StartServiceCtrlDispatcherW(table)) {
    DWORD e = GetLastError();
    if (e == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
      fprintf(stderr, "sysgi service: this command is run by the Service "
                      "Control Manager; use sysgi start (or sysgi serve "
                      "for the foreground)\n");
      return 2;
    }
    char t[512];
    svc_win32_text(e, t, sizeof t);
    fprintf(stderr, "sysgi service: StartServiceCtrlDispatcher: %s\n", t);
    return 1;
  }
  return 0;
}
