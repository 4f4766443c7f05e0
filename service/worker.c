/*
 * worker.c: `sysgi.exe worker --group NAME --queue H --stop H --ready H
 * [--config INI]`, a process-group worker. Run by the supervisor only
 * (supervisor.c): the handles are inherited, named by value.
 *
 * It reads the configuration the service reads (the INI file, then the
 * registry), applies the group's options before Python starts (lang,
 * locale, python-home, which may be a venv, python-path), imports the
 * group's scripts, receives from the group's queue until its stop event
 * is set, maximum-requests is reached or a request's thread did not
 * unwind after its interrupt-timeout, drains (graceful-timeout) and exits
 * with a code that says why (supervisor.h).
 */
#include <winsock2.h>
#include <windows.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "log.h"
#include "supervisor.h"
#include "svc_config.h"
#include "svc_run.h"
#include "spawn.h"
#include "worker_env.h"
#include "sysgi.h"
#include "sysgi_httpsys.h"

static HANDLE arg_handle(const wchar_t *v) {
  HANDLE h = NULL;
  return svc_handle_parse(v, &h) == 0 ? h : NULL;
}

/* How many requests the watchdog reported stuck (for the log line). */
static volatile LONG stuck_n;

/* The watchdog's report (on its thread, timeout.c): it must not stop the
 * server itself, so the main loop is woken to drain. */
static void on_stuck(void *ctx, unsigned n_stuck) {
  InterlockedExchange(&stuck_n, (LONG)n_stuck);
  SetEvent((HANDLE)ctx);
}

int svc_cmd_worker(int argc, wchar_t **argv) {
  const wchar_t *group_w = NULL, *ini = NULL;
  HANDLE queue = NULL, stop = NULL, ready = NULL;
  for (int i = 0; i + 1 < argc; i += 2) {
    if (!wcscmp(argv[i], L"--group"))
      group_w = argv[i + 1];
    else if (!wcscmp(argv[i], L"--config"))
      ini = argv[i + 1];
    else if (!wcscmp(argv[i], L"--queue"))
      queue = arg_handle(argv[i + 1]);
    else if (!wcscmp(argv[i], L"--queue-name")) {
      char n8[300];
      if (WideCharToMultiByte(CP_UTF8, 0, argv[i + 1], -1, n8, sizeof n8, NULL,
                              NULL) &&
          sysgi_httpsys_queue_open(n8, &queue) != 0)
        queue = NULL;
    } else if (!wcscmp(argv[i], L"--stop"))
      stop = arg_handle(argv[i + 1]);
    else if (!wcscmp(argv[i], L"--ready"))
      ready = arg_handle(argv[i + 1]);
  }
  if (!group_w || !queue || !stop) {
    fprintf(stderr, "sysgi worker: run by the sysgi supervisor only (needs "
            "--group, --queue and --stop)\n");
    return SVC_WORKER_EXIT_CONFIG;
  }
  char group[300];
  WideCharToMultiByte(CP_UTF8, 0, group_w, -1, group, sizeof group, NULL, NULL);
  sysgi_config *cfg = NULL;
  if (svc_config_load(ini, &cfg) != 0) {
    for (size_t i = 0; cfg && i < sysgi_config_n_errors(cfg); i++)
      fprintf(stderr, "sysgi worker: %s\n", sysgi_config_error(cfg, i));
    return SVC_WORKER_EXIT_CONFIG;
  }
  const sysgi_server_settings *s = sysgi_config_server(cfg);
  const sysgi_group_settings *g = sysgi_config_find_group(cfg, group);
  svc_log_set_level(s->log_level);
  if (!g) {
    fprintf(stderr, "sysgi worker: no [process-group:%s]\n", group);
    return SVC_WORKER_EXIT_CONFIG;
  }
  DWORD pid = GetCurrentProcessId();
  /* lang, locale, dont-write-bytecode, home, cpu-priority (worker_env.c). */
  svc_worker_python py;
  memset(&py, 0, sizeof py);
  if (svc_worker_env_apply(cfg, group, &py) != 0)
    return SVC_WORKER_EXIT_CONFIG;
  if (!svc_start_python(s, py.python_home, py.python_path, py.n_python_path,
                        py.dont_write_bytecode, 1)) {
    svc_logf(SYSGI_LOG_ERR, "worker pid %lu of group %s: no Python",
             (unsigned long)pid, group);
    return SVC_WORKER_EXIT_CONFIG;
  }
  if (g->locale)
    svc_worker_env_locale_after_python(g->locale);
  /* Where a worker that never gets to "receiving" stopped. */
  svc_logf(SYSGI_LOG_DEBUG, "worker pid %lu of group %s: Python started",
           (unsigned long)pid, group);
  svc_import_scripts(cfg, group, stop);
  svc_logf(SYSGI_LOG_DEBUG, "worker pid %lu of group %s: scripts imported",
           (unsigned long)pid, group);

  size_t n_apps = 0;
  sysgi_httpsys_app *apps = svc_httpsys_apps(cfg, group, &n_apps);
  sysgi_httpsys_config hc;
  svc_httpsys_config_fill(&hc, cfg, group, apps, n_apps);
  hc.queue = queue;
  HANDLE stuck_ev = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (stuck_ev) {
    hc.on_stuck = on_stuck;
    hc.on_stuck_ctx = stuck_ev;
  } /* else the server logs stuck threads, and the worker keeps them */
  sysgi_httpsys *srv = NULL;
  int rc = apps ? sysgi_httpsys_start(&hc, &srv) : SYSGI_E_NOMEM;
  free(apps);
  if (rc != 0) {
    svc_logf(SYSGI_LOG_ERR, "worker pid %lu of group %s: cannot receive (%s)",
             (unsigned long)pid, group, sysgi_strerror(rc));
    return SVC_WORKER_EXIT_LISTEN;
  }
  if (ready)
    SetEvent(ready);
  svc_logf(SYSGI_LOG_INFO, "worker pid %lu of group %s: receiving (%u "
           "threads)", (unsigned long)pid, group, g->threads);

  int code = SVC_WORKER_EXIT_STOP;
  HANDLE waits[2] = {stop, stuck_ev};
  for (;;) {
    DWORD w = WaitForMultipleObjects(stuck_ev ? 2 : 1, waits, FALSE, 100);
    if (w == WAIT_OBJECT_0 + 1) {
      /* mod_wsgi restarts a daemon process whose request did not unwind:
       * a thread lost in a blocking call is never coming back, and each
       * costs a pool thread. Drain (the other requests finish, within
       * graceful-timeout) and exit; the supervisor starts a new worker. */
      svc_logf(SYSGI_LOG_ERR, "worker pid %lu of group %s: %ld thread(s) "
               "did not unwind after interrupt-timeout: draining and "
               "exiting (code %d) to be replaced", (unsigned long)pid, group,
               (long)InterlockedCompareExchange(&stuck_n, 0, 0),
               SVC_WORKER_EXIT_UNWIND);
      /* The stuck thread still runs, so the stop cannot end cleanly: the
       * cause is the exit code, not what the stop returns. */
      int left = sysgi_httpsys_stop(srv);
      svc_logf(SYSGI_LOG_ERR, "worker pid %lu of group %s: drained (%d "
               "request(s) left running): exiting (code %d)",
               (unsigned long)pid, group, left > 0 ? left : 0,
               SVC_WORKER_EXIT_UNWIND);
      fflush(NULL);
      ExitProcess(SVC_WORKER_EXIT_UNWIND);
    }
    if (w != WAIT_TIMEOUT)
      break;
    unsigned long long served = 0;
    sysgi_httpsys_counts(srv, NULL, &served);
    if (g->maximum_requests && served >= g->maximum_requests) {
      svc_logf(SYSGI_LOG_INFO, "worker pid %lu of group %s: %llu requests, "
               "maximum-requests %u reached: draining", (unsigned long)pid,
               group, served, g->maximum_requests);
      code = SVC_WORKER_EXIT_MAX_REQUESTS;
      break;
    }
  }
  int left = sysgi_httpsys_stop(srv);
  if (left > 0) {
    svc_logf(SYSGI_LOG_ERR, "worker pid %lu of group %s: requests still "
             "running after graceful-timeout: exiting under them",
             (unsigned long)pid, group);
    fflush(NULL);
    ExitProcess(SVC_WORKER_EXIT_STUCK);
  }
  if (left < 0) {
    svc_logf(SYSGI_LOG_ERR, "worker pid %lu of group %s: no request running, "
             "but its I/O did not end after stop: exiting under it",
             (unsigned long)pid, group);
    fflush(NULL);
    ExitProcess(SVC_WORKER_EXIT_IO);
  }
  svc_logf(SYSGI_LOG_INFO, "worker pid %lu of group %s: drained, exiting "
           "(code %d)", (unsigned long)pid, group, code);
  fflush(NULL);
  /* No Py_Finalize: a worker is disposable, and finalizing can hang on an
   * application's threads; the process exit releases everything. */
  ExitProcess((UINT)code);
}
