/*
 * runtime.c: the embedded Python of one Apache child process. Python starts
 * in child_init (mod_wsgi's lazy initialisation: the parent never runs
 * Python, so a restart of Apache gets a fresh interpreter and forked children
 * share no interpreter state) and ends with the child's pool.
 */
#include "mod_sysgi.h"

#include "ap_mpm.h"
#include "http_log.h"
#include "apr_strings.h"
#include "apr_env.h"
#include "http_core.h"

APLOG_USE_MODULE(sysgi);

static int start_error; /* the sysgi error of a failed start, or 0 */
static char start_msg[1200]; /* its cause, repeated in each 503's log line */

#ifdef _WIN32
#include "python_loader.h"

/* Windows: no Python is linked. The loader of the core's platform layer
 * takes the DLL from WSGIPythonHome only (never the PATH, never LoadFile),
 * as sysgi.exe does from python-home, and leaves httpd's DLL search order
 * alone for the modules loaded after us. */
static const sysgi_pyload_opts ap_pyload = {
    "WSGIPythonHome",
    "mod_sysgi on Windows takes Python only from WSGIPythonHome: set it to "
    "a 64-bit CPython 3.8+ installation or virtual environment",
    "mod_sysgi", 0};
static char loaded_home[1024]; /* the home the table was filled from */
static int load_rc = -1;       /* -1 not tried, 0 loaded, else failed */
static char load_error[1024];

int sysgi_ap_load_python(void) {
  const char *home = sysgi_globals ? sysgi_globals->python_home : NULL;
  if (!home)
    home = "";
  /* Once per home: post_config runs more than once per process. Python
   * itself never starts here (that is child_init's business). */
  if (load_rc >= 0 && strcmp(home, loaded_home) == 0)
    return load_rc;
  if (sysgi_runtime_ready())
    return load_rc; /* a running Python is never swapped */
  apr_cpystrn(loaded_home, home, sizeof loaded_home);
  load_rc = sysgi_python_load_utf8(home, &ap_pyload, load_error,
                                   sizeof load_error, NULL, 0) == 0 ? 0 : 1;
  return load_rc;
}

int sysgi_ap_serving_process(apr_pool_t *p) {
  /* mpm_winnt starts its child with AP_PARENT_PID in the environment; -X
   * (ONE_PROCESS/DEBUG) serves from the only process there is. */
  char *pid = NULL;
  return apr_env_get(&pid, "AP_PARENT_PID", p) == APR_SUCCESS ||
         ap_exists_config_define("ONE_PROCESS") ||
         ap_exists_config_define("DEBUG");
}
#else
int sysgi_ap_load_python(void) { return 0; } /* linked with libpython */
int sysgi_ap_serving_process(apr_pool_t *p) { return 1; }
#endif

int sysgi_ap_log_level(int level) {
  switch (level) {
  case SYSGI_LOG_ERR:
    return APLOG_ERR;
  case SYSGI_LOG_WARN:
    return APLOG_WARNING;
  case SYSGI_LOG_INFO:
    return APLOG_INFO;
  default:
    return APLOG_DEBUG;
  }
}

/* Messages of the core outside any request (startup, import scripts). */
static void runtime_log(void *ctx, int level, const char *msg) {
  ap_log_error(APLOG_MARK, sysgi_ap_log_level(level), 0, (server_rec *)ctx,
               "mod_sysgi: %s", msg);
}

static apr_status_t child_exit(void *data) {
  /* Every worker thread has stopped when the child's pool is destroyed. */
  if (sysgi_runtime_ready())
    sysgi_runtime_shutdown();
  return APR_SUCCESS;
}

void sysgi_ap_child_init(apr_pool_t *pchild, server_rec *s) {
  sysgi_global_config *g = sysgi_globals;
  sysgi_runtime_config cfg;
  int threaded = 0, max_daemons = 1, rc, i;

  memset(&cfg, 0, sizeof(cfg));
  if (ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded) != APR_SUCCESS)
    threaded = AP_MPMQ_NOT_SUPPORTED;
  if (ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &max_daemons) != APR_SUCCESS)
    max_daemons = 1;
  cfg.multithread = threaded != AP_MPMQ_NOT_SUPPORTED;
  cfg.multiprocess = max_daemons > 1;
  if (g) {
    cfg.python_home = g->python_home;
    cfg.python_path = (const char *const *)g->python_path->elts;
    cfg.n_python_path = (size_t)g->python_path->nelts;
    cfg.dont_write_bytecode = g->dont_write_bytecode;
  }
  cfg.server_software = ap_get_server_banner();
#ifdef _WIN32
  if (sysgi_ap_load_python() != 0) {
    start_error = SYSGI_E_NOPYTHON;
    apr_snprintf(start_msg, sizeof start_msg, "%s", load_error);
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                 "mod_sysgi: %s; every WSGI request will answer 503",
                 load_error);
    return;
  }
#endif
  cfg.log = runtime_log;
  cfg.log_ctx = s;

  rc = sysgi_runtime_init(&cfg);
  if (rc != SYSGI_OK) {
    /* Logged once here; each request then answers 503 with a short line. */
    start_error = rc;
    apr_snprintf(start_msg, sizeof start_msg,
                 "Python failed to start (WSGIPythonHome %s): %s",
                 cfg.python_home ? cfg.python_home : "(default)",
                 sysgi_strerror(rc));
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                 "mod_sysgi: Python failed to start in this process "
                 "(WSGIPythonHome %s): %s; every WSGI request will answer "
                 "503",
                 cfg.python_home ? cfg.python_home : "(default)",
                 sysgi_strerror(rc));
    return;
  }
  apr_pool_cleanup_register(pchild, NULL, child_exit, apr_pool_cleanup_null);
  sysgi_ap_timeout_child_init(pchild, s); /* stopped before child_exit */

  for (i = 0; g && i < g->import_scripts->nelts; i++) {
    const sysgi_script *is = &APR_ARRAY_IDX(g->import_scripts, i, sysgi_script);
    const char *group =
        strcmp(is->application_group, "%{GLOBAL}") ? is->application_group : "";
    rc = sysgi_import_script(is->filename, group);
    if (rc != SYSGI_OK)
      ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                   "mod_sysgi: WSGIImportScript %s (application group '%s') "
                   "failed: %s",
                   is->filename, group, sysgi_strerror(rc));
  }
}

int sysgi_ap_runtime_check(request_rec *r) {
  if (sysgi_runtime_ready())
    return SYSGI_OK;
  ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                "mod_sysgi: 503, Python is not available in this process: "
                "%s (check WSGIPythonHome)",
                start_msg[0] ? start_msg
                             : sysgi_strerror(start_error ? start_error
                                                          : SYSGI_E_NOPYTHON));
  return SYSGI_E_NOPYTHON;
}
