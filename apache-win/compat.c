/*
 * compat.c: the mod_wsgi directives that have no place in the rest of
 * mod_sysgi. Some configure Python through the environment it reads when it
 * starts in the child (WSGIPythonOptimize, WSGIPythonHashSeed,
 * WSGIPythonWarnings, WSGIPythonEggs); the others exist for mod_wsgi's
 * daemon mode, its socket, its telemetry or its own internals, mean nothing
 * for applications embedded in Apache, and are accepted with a notice in
 * the error log so that a mod_wsgi configuration starts unchanged.
 */
#include "mod_sysgi.h"

#include "http_core.h"
#include "ap_mpm.h"
#include "apr_env.h"
#include "apr_lib.h"
#include "apr_strings.h"

APLOG_USE_MODULE(sysgi);

static sysgi_global_config *globals(cmd_parms *cmd) {
  if (!sysgi_globals)
    sysgi_reset_globals(cmd->server->process->pconf);
  return sysgi_globals;
}

/* Notices of sections (EXEC_ON_READ), which are handled while the file is
 * read, before pre_config resets the globals. In pconf, forgotten with it. */
static apr_array_header_t *read_notices;

static apr_status_t forget_read_notices(void *data) {
  read_notices = NULL;
  return APR_SUCCESS;
}

void sysgi_ap_notice(cmd_parms *cmd, const char *msg) {
  sysgi_global_config *g = globals(cmd);
  apr_pool_t *p = cmd->server->process->pconf;
  apr_array_header_t *to = g->notices;
  if (cmd->config_file) {
    if (!read_notices) {
      read_notices = apr_array_make(p, 2, sizeof(const char *));
      apr_pool_cleanup_register(p, NULL, forget_read_notices,
                                apr_pool_cleanup_null);
    }
    to = read_notices;
  }
  /* A section is handled while the file is read (EXEC_ON_READ): then the
   * file being read says where; otherwise the parsed directive does. */
  const char *file = cmd->config_file ? cmd->config_file->name
                     : cmd->directive ? cmd->directive->filename : "?";
  int line = cmd->config_file ? (int)cmd->config_file->line_number
             : cmd->directive ? cmd->directive->line_num : 0;
  APR_ARRAY_PUSH(to, const char *) =
      apr_psprintf(p, "%s:%d: %s: %s", file, line, cmd->cmd->name, msg);
}

const char *sysgi_ap_no_effect(cmd_parms *cmd, void *mconfig,
                               const char *args) {
  /* Still a mod_wsgi directive: it needs its argument. */
  if (!*args)
    return apr_psprintf(cmd->pool, "%s needs an argument", cmd->cmd->name);
  sysgi_ap_notice(cmd, apr_psprintf(cmd->pool, "has no effect in mod_sysgi "
                                    "(%s); accepted and ignored",
                                    (const char *)cmd->info));
  return NULL;
}

const char *sysgi_ap_interpreter_options(cmd_parms *cmd, void *mconfig,
                                         const char *args) {
  const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
  if (err)
    return err;
  sysgi_ap_notice(cmd, "has no effect in mod_sysgi (mod_wsgi 6's per-"
                       "interpreter options: free threading and per-"
                       "interpreter GIL); the section is skipped");
  return ap_soak_end_container(cmd, "<WSGIInterpreterOptions");
}

/* The model's check of `key`, the error naming the directive. */
static const char *check(cmd_parms *cmd, const char *key, const char *v) {
  char err[512];
  if (sysgi_config_check_value(sysgi_config_find(key), v, err, sizeof err))
    return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
  return NULL;
}

const char *sysgi_ap_set_python_env(cmd_parms *cmd, void *mconfig,
                                    const char *v) {
  sysgi_global_config *g = globals(cmd);
  const char *which = cmd->info, *err;
  apr_pool_t *p = cmd->server->process->pconf;
  if ((err = ap_check_cmd_context(cmd, GLOBAL_ONLY)))
    return err;
  if (!strcmp(which, "PYTHONOPTIMIZE")) {
    if ((err = check(cmd, "python-optimize", v)))
      return err;
    g->python_optimize = apr_pstrdup(p, v);
  } else if (!strcmp(which, "PYTHONHASHSEED")) {
    if ((err = check(cmd, "python-hash-seed", v)))
      return err;
    g->python_hash_seed = apr_pstrdup(p, v);
  } else if (!strcmp(which, "PYTHONWARNINGS")) {
    if ((err = check(cmd, "python-warnings", v)))
      return err;
    /* mod_wsgi adds each occurrence as a -W option. */
    APR_ARRAY_PUSH(g->python_warnings, const char *) = apr_pstrdup(p, v);
  } else {
    g->python_eggs = apr_pstrdup(p, v);
  }
  return NULL;
}

const char *sysgi_ap_set_restrict(cmd_parms *cmd, void *mconfig, int on) {
  sysgi_global_config *g = globals(cmd);
  const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
  if (err)
    return err;
  if (!strcmp(cmd->cmd->name, "WSGIRestrictStdout"))
    g->restrict_stdout = on;
  else
    g->restrict_stdin = on;
  return NULL;
}

void sysgi_ap_log_notices(server_rec *s) {
  int i;
  /* The configuration is read twice at startup; say it once. */
  if (!sysgi_globals ||
      ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
    return;
  for (i = 0; read_notices && i < read_notices->nelts; i++)
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "mod_sysgi: %s",
                 APR_ARRAY_IDX(read_notices, i, const char *));
  for (i = 0; i < sysgi_globals->notices->nelts; i++)
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "mod_sysgi: %s",
                 APR_ARRAY_IDX(sysgi_globals->notices, i, const char *));
}

static void put_env(apr_pool_t *p, server_rec *s, const char *name,
                    const char *v) {
  if (apr_env_set(name, v, p) != APR_SUCCESS)
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                 "mod_sysgi: cannot set %s=%s for Python", name, v);
}

void sysgi_ap_compat_child_init(apr_pool_t *pchild, server_rec *s) {
  sysgi_global_config *g = sysgi_globals;
  int i;
  if (!g)
    return;
  sysgi_runtime_set_stdio(g->restrict_stdout == 1, g->restrict_stdin == 1);
  {
    int procs = 1, threads = 1;
    if (ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &procs) != APR_SUCCESS)
      procs = 1;
    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS ||
        threads < 1)
      threads = 1;
    sysgi_runtime_set_server_info(ap_show_mpm(), sysgi_ap_version, procs,
                                  threads);
  }
  if (g->python_optimize)
    put_env(pchild, s, "PYTHONOPTIMIZE", g->python_optimize);
  if (g->python_hash_seed)
    put_env(pchild, s, "PYTHONHASHSEED", g->python_hash_seed);
  if (g->python_eggs)
    put_env(pchild, s, "PYTHON_EGG_CACHE", g->python_eggs);
  if (g->python_warnings->nelts) {
    const char *w = "";
    for (i = 0; i < g->python_warnings->nelts; i++)
      w = apr_pstrcat(pchild, w, i ? "," : "",
                      APR_ARRAY_IDX(g->python_warnings, i, const char *),
                      NULL);
    put_env(pchild, s, "PYTHONWARNINGS", w);
  }
}
