/*
 * svc_run.c: the server of one configuration, shared by `sysgi serve` and
 * the Windows service: Python from the model's python-home, the scripts
 * imported ahead of the first request, http.sys with every application.
 *
 * If Python cannot be loaded (no or wrong python-home, a 32-bit DLL, ...)
 * the cause is logged once and the server still starts and answers every
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
#include "svc_run.h"
#include "sysgi.h"
#include "sysgi_httpsys.h"
#include "supervisor.h"

/* The handler while Python is unavailable: the front end answers 503. */
static int handle_without_python(const sysgi_request *req) {
  req->fe->log(req->conn, SYSGI_LOG_INFO,
               "503: Python is not loaded (see the error at startup)");
  return SYSGI_E_NOPYTHON;
}

static void progress_at(svc_progress_fn progress, void *ctx,
                        const char *stage) {
  svc_logf(SYSGI_LOG_DEBUG, "startup: %s", stage);
  if (progress)
    progress(ctx, stage);
}

static int stop_requested(HANDLE stop_event) {
  return stop_event && WaitForSingleObject(stop_event, 0) == WAIT_OBJECT_0;
}

static wchar_t *to_wide(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
  wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
  if (w)
    MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
  return w;
}

static char *to_utf8(const wchar_t *w) {
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  char *s = n > 0 ? malloc((size_t)n) : NULL;
  if (s)
    WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
  return s;
}

/* Loads the DLL of the python-home (the model's, else PYTHONHOME) and
 * starts the runtime. Returns 1 when Python runs; 0 after logging ONE line
 * naming the cause. */
/* The interpreter options of the model, as the environment variables
 * CPython reads when it starts (mod_sysgi does the same, apache-win/
 * compat.c). _wputenv_s also sets the process environment, which a Python
 * built on another C runtime (the UCRT of python.org's builds) reads. */
static void apply_python_options(const sysgi_server_settings *s) {
  wchar_t v[1024];
  if (s->python_optimize) {
    swprintf(v, 1024, L"%u", s->python_optimize);
    _wputenv_s(L"PYTHONOPTIMIZE", v);
  }
  if (s->python_hash_seed && MultiByteToWideChar(CP_UTF8, 0, s->python_hash_seed,
                                                 -1, v, 1024))
    _wputenv_s(L"PYTHONHASHSEED", v);
  if (s->python_warnings && MultiByteToWideChar(CP_UTF8, 0, s->python_warnings,
                                                -1, v, 1024))
    _wputenv_s(L"PYTHONWARNINGS", v);
}

int svc_start_python(const sysgi_server_settings *s, const char *group_home,
                     const char *const *group_path, size_t n_group_path,
                     int dont_write_bytecode, int multiprocess) {
  char err[1024];
  apply_python_options(s);
  wchar_t dll[MAX_PATH];
  const char *home_cfg = group_home ? group_home : s->python_home;
  wchar_t *home = home_cfg ? to_wide(home_cfg) : NULL;
  const wchar_t *use = home;
  if (!use || !*use)
    use = _wgetenv(L"PYTHONHOME");
  int ok = 0;
  if (sysgi_python_load(use, err, sizeof err, dll, MAX_PATH) == 0) {
    char *home8 = to_utf8(use);
    sysgi_runtime_config rc;
    memset(&rc, 0, sizeof rc);
    rc.python_home = home8;
    rc.python_path = n_group_path ? group_path : s->python_path;
    rc.n_python_path = n_group_path ? n_group_path : s->n_python_path;
    rc.dont_write_bytecode =
        dont_write_bytecode < 0 ? s->dont_write_bytecode : dont_write_bytecode;
    rc.multithread = 1;
    rc.multiprocess = multiprocess;
    rc.server_software = SYSGI_HTTPSYS_SOFTWARE;
    rc.log = svc_log;
    if (home8 && sysgi_runtime_init(&rc) == 0) {
      ok = 1;
      svc_logf(SYSGI_LOG_INFO, "Python loaded from %ls", dll);
    } else {
      snprintf(err, sizeof err, "cannot start Python from python-home %ls "
               "(%ls): see the error above", use, dll);
    }
    free(home8);
  }
  if (!ok)
    svc_logf(SYSGI_LOG_ERR, "%s; answering 503 to every request", err);
  free(home);
  return ok;
}

/* As the http.sys front end computes it per request (server.c): the
 * script's last write time in microseconds since the epoch, 0 unknown. */
static int64_t script_mtime_us(const char *path) {
  wchar_t *w = to_wide(path);
  WIN32_FILE_ATTRIBUTE_DATA fa;
  int ok = w && GetFileAttributesExW(w, GetFileExInfoStandard, &fa);
  free(w);
  if (!ok)
    return 0;
  ULARGE_INTEGER t;
  t.LowPart = fa.ftLastWriteTime.dwLowDateTime;
  t.HighPart = fa.ftLastWriteTime.dwHighDateTime;
  return (int64_t)((t.QuadPart - 116444736000000000ULL) / 10);
}

/* %{ENV:name}: sysgi.exe's environment, as the front end expands it. */
static const char *process_getenv(void *ctx, const char *name) {
  (void)ctx;
  return getenv(name);
}

/* Imports every application whose group does not depend on the request
 * (%{SERVER}, %{RESOURCE}), so that a slow import happens while the
 * service reports START_PENDING rather than in the first request. A
 * failure is logged by the core; the script is tried again per request. */
const char *svc_app_group(const sysgi_app_settings *a) {
  const char *g = a->process_group;
  if (!g || !*g || !strcmp(g, "%{GLOBAL}"))
    return NULL;
  return g;
}

/* a runs in `group` (NULL: embedded, in this process). */
static int in_group(const sysgi_app_settings *a, const char *group) {
  const char *g = svc_app_group(a);
  return group ? g && !strcmp(g, group) : !g;
}

void svc_import_scripts(const sysgi_config *cfg, const char *only_group,
                        HANDLE stop_event) {
  for (size_t i = 0; i < sysgi_config_n_apps(cfg) && !stop_requested(stop_event);
       i++) {
    const sysgi_app_settings *a = sysgi_config_app(cfg, i);
    if (!in_group(a, only_group))
      continue;
    const char *spec = a->application_group ? a->application_group : "";
    char group[512];
    if (strstr(spec, "%{SERVER}") || strstr(spec, "%{RESOURCE}"))
      continue;
    if (sysgi_expand_group(spec, "", "", a->mount, process_getenv, NULL,
                           group, sizeof group) != 0)
      continue; /* the front end reports it per request */
    /* With its mtime, so that the first request finds it loaded. */
    int rc = sysgi_import_script_at(
        a->script, group, a->script_reloading ? script_mtime_us(a->script) : 0);
    svc_logf(rc ? SYSGI_LOG_WARN : SYSGI_LOG_DEBUG,
             "importing %s for mount '%s'%s%s", a->script,
             *a->mount ? a->mount : "/", rc ? ": " : ": done",
             rc ? sysgi_strerror(rc) : "");
  }
}

/* The http.sys front end's view of the model's applications. Strings stay
 * owned by the model (valid until sysgi_config_free). */
sysgi_httpsys_app *svc_httpsys_apps(const sysgi_config *cfg,
                                     const char *group, size_t *n_out) {
  size_t n = sysgi_config_n_apps(cfg), k = 0;
  sysgi_httpsys_app *apps = calloc(n ? n : 1, sizeof *apps);
  for (size_t i = 0; apps && i < n; i++) {
    const sysgi_app_settings *a = sysgi_config_app(cfg, i);
    if (!in_group(a, group))
      continue;
    apps[k].mount = a->mount;
    apps[k].script_filename = a->script;
    apps[k].application_group = a->application_group;
    apps[k].callable_object = a->callable_object;
    apps[k].pass_authorization = a->pass_authorization;
    apps[k].enable_sendfile = a->enable_sendfile;
    apps[k].script_reloading = a->script_reloading;
    apps[k].limit_request_body = (int64_t)a->limit_request_body;
    /* The model resolved the server's value; a process group's own,
     * when set, wins for its apps (README "Request timeouts"). */
    const sysgi_group_settings *g =
        a->process_group ? sysgi_config_find_group(cfg, a->process_group)
                         : NULL;
    apps[k].request_timeout_ms = g && g->request_timeout_ms
                                     ? g->request_timeout_ms
                                     : a->request_timeout_ms;
    apps[k].interrupt_timeout_ms = g && g->interrupt_timeout_ms
                                       ? g->interrupt_timeout_ms
                                       : a->interrupt_timeout_ms;
    k++;
  }
  *n_out = k;
  return apps;
}

void svc_httpsys_limits_fill(sysgi_httpsys_limits *l,
                             const sysgi_server_settings *s) {
  memset(l, 0, sizeof *l);
  l->limit_request_body = (int64_t)s->limit_request_body;
  l->limit_request_fields = s->limit_request_fields;
  l->limit_request_field_size = s->limit_request_field_size;
  l->limit_request_line = s->limit_request_line;
  l->entity_body_s = s->entity_body_timeout_ms / 1000;
  l->drain_entity_body_s = s->drain_entity_body_timeout_ms / 1000;
  l->header_wait_s = s->header_wait_timeout_ms / 1000;
  l->idle_connection_s = s->idle_connection_timeout_ms / 1000;
  l->min_send_rate = s->min_send_rate;
}

void svc_httpsys_config_fill(sysgi_httpsys_config *hc, const sysgi_config *cfg,
                             const char *group, const sysgi_httpsys_app *apps,
                             size_t n_apps) {
  const sysgi_server_settings *s = sysgi_config_server(cfg);
  const sysgi_group_settings *g =
      group ? sysgi_config_find_group(cfg, group) : NULL;
  memset(hc, 0, sizeof *hc);
  hc->urls = s->listen;
  hc->n_urls = s->n_listen;
  hc->apps = apps;
  hc->n_apps = n_apps;
  hc->case_sensitive_paths = !s->case_insensitive_paths;
  hc->threads = g ? g->threads : s->threads;
  /* More receives posted than requests can be in flight (threads, plus the
   * connections of a burst): Wine's http.sys hands a newly posted receive
   * only to the first idle connection, so a request that arrived while no
   * receive was pending could wait until its client gave up (found by the
   * e2e suite). Real http.sys queues such requests itself; a receive
   * buffer is 16 KB. */
  hc->receives = hc->threads + 16 < 256 ? hc->threads + 16 : 256;
  hc->max_queued = s->max_queued;
  /* A worker drains for graceful-timeout (0: at once), the embedded
   * server for shutdown-timeout. */
  if (g)
    hc->shutdown_timeout_ms = g->graceful_timeout_ms ? g->graceful_timeout_ms
                                                     : 1;
  else
    hc->shutdown_timeout_ms = s->shutdown_timeout_ms ? s->shutdown_timeout_ms
                                                     : 1;
  /* issue 14: the request limits (the core checks them, in workers as in
   * the embedded server) and http.sys's timeouts (used only where a server
   * session is created: embedded; the group queues get them from the
   * supervisor). */
  svc_httpsys_limits_fill(&hc->limits, s);
  /* The apps' own values were resolved by svc_httpsys_apps (a group's
   * wins); these cover an app left at 0. */
  hc->request_timeout_ms = g && g->request_timeout_ms ? g->request_timeout_ms
                                                      : s->request_timeout_ms;
  hc->interrupt_timeout_ms = g && g->interrupt_timeout_ms
                                 ? g->interrupt_timeout_ms
                                 : s->interrupt_timeout_ms;
  hc->log = svc_log;
  hc->process_group = g ? g->name : NULL;
  hc->max_requests = g ? g->maximum_requests : 0;
}

/* Stops the front end; returns the number of requests still running in
 * the application after the shutdown timeout (their server is then left in
 * place for them). The http.sys front end of this branch always waits
 * them out or leaks quietly: 0. When it reports them (the races branch's
 * `int sysgi_httpsys_stop`), this becomes `return sysgi_httpsys_stop(srv);`. */
static int stop_front_end(sysgi_httpsys *srv) {
  return sysgi_httpsys_stop(srv);
}

int svc_run(const sysgi_config *cfg, HANDLE stop_event,
            svc_progress_fn progress, void *ctx) {
  const sysgi_server_settings *s = sysgi_config_server(cfg);
  int rc;

  if (stop_requested(stop_event)) {
    svc_logf(SYSGI_LOG_INFO, "stop requested before startup: not starting");
    return 0;
  }
  size_t n_embedded = 0;
  sysgi_httpsys_app *apps = svc_httpsys_apps(cfg, NULL, &n_embedded);
  if (!apps) {
    svc_logf(SYSGI_LOG_ERR, "out of memory");
    return SYSGI_E_NOMEM;
  }
  /* Process groups: their workers, and the queues they receive from. With
   * every application in a group this process loads no Python. */
  svc_supervisor *sup = NULL;
  int embedded = n_embedded > 0 || sysgi_config_n_apps(cfg) == 0;
  if (svc_supervisor_needed(cfg)) {
    progress_at(progress, ctx, "starting process groups");
    rc = svc_supervisor_start(cfg, &sup);
    if (rc != 0) {
      free(apps);
      return rc;
    }
  }
  int python_ok = 0;
  if (embedded) {
    progress_at(progress, ctx, "loading Python");
    python_ok = svc_start_python(s, NULL, NULL, 0, -1, sup != NULL);
    if (python_ok && !stop_requested(stop_event)) {
      progress_at(progress, ctx, "importing scripts");
      svc_import_scripts(cfg, NULL, stop_event);
    }
  }
  if (stop_requested(stop_event)) {
    svc_logf(SYSGI_LOG_INFO, "stop requested during startup: not listening");
    svc_supervisor_stop(sup);
    free(apps);
    if (python_ok)
      sysgi_runtime_shutdown();
    return 0;
  }

  sysgi_httpsys_config hc;
  svc_httpsys_config_fill(&hc, cfg, NULL, apps, n_embedded);
  hc.handle = python_ok ? sysgi_handle : handle_without_python;
  if (!python_ok && hc.n_apps == 0) {
    /* Without Python every URL answers 503 (the cause logged at start),
     * also before any application is configured: the missing Python is
     * the first thing to fix, and a 404 would hide it. */
    hc.mount = "";
    hc.script_filename = "";
  }

  sysgi_httpsys *srv = NULL;
  rc = embedded ? sysgi_httpsys_start(&hc, &srv) : 0;
  free(apps); /* copied by start */
  if (rc != 0) {
    svc_supervisor_stop(sup);
    svc_logf(SYSGI_LOG_ERR, "cannot listen on %s%s (%s; see above)",
             s->n_listen ? s->listen[0] : "(no listen URL)",
             s->n_listen > 1 ? " and the other listen URLs" : "",
             sysgi_strerror(rc));
    if (python_ok)
      sysgi_runtime_shutdown();
    return rc;
  }
  for (size_t i = 0; i < s->n_listen; i++)
    svc_logf(SYSGI_LOG_INFO, "listening on %s", s->listen[i]);
  progress_at(progress, ctx, "listening");

  WaitForSingleObject(stop_event, INFINITE);
  svc_logf(SYSGI_LOG_INFO, "stopping (in-flight requests get up to %u ms)",
           hc.shutdown_timeout_ms);
  svc_supervisor_stop(sup);
  int stuck = srv ? stop_front_end(srv) : 0;
  if (stuck) {
    /* Workers are still inside the application (or the front end's I/O
     * did not end): finalizing Python under them could crash or hang. The
     * caller exits the process instead. */
    if (stuck > 0)
      svc_logf(SYSGI_LOG_ERR, "%d request(s) still running in the "
               "application after the shutdown timeout: exiting without "
               "finalizing Python", stuck);
    else
      svc_logf(SYSGI_LOG_ERR, "the front end's I/O did not end: exiting "
               "without finalizing Python");
    return SYSGI_E_TIMEOUT;
  }
  if (python_ok)
    sysgi_runtime_shutdown();
  return 0;
}
