/*
 * config.c: mod_wsgi's directives, parsed into mod_sysgi's configuration,
 * and the per-server / per-directory merges. A bad value is a config error
 * that names the directive, so `apachectl configtest` points at it.
 */
#include "mod_sysgi.h"

#include "http_core.h"
#include "ap_regex.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "apr_file_info.h"

APLOG_USE_MODULE(sysgi);

sysgi_global_config *sysgi_globals;

void sysgi_reset_globals(apr_pool_t *pconf) {
  sysgi_globals = apr_pcalloc(pconf, sizeof(*sysgi_globals));
  sysgi_globals->python_path = apr_array_make(pconf, 4, sizeof(const char *));
  sysgi_globals->import_scripts = apr_array_make(pconf, 2, sizeof(sysgi_script));
  sysgi_globals->case_sensitivity = -1;
  sysgi_globals->python_warnings =
      apr_array_make(pconf, 2, sizeof(const char *));
  sysgi_globals->restrict_stdout = sysgi_globals->restrict_stdin = -1;
  sysgi_globals->notices = apr_array_make(pconf, 4, sizeof(const char *));
}

int sysgi_ap_case_insensitive(void) {
  if (sysgi_globals && sysgi_globals->case_sensitivity >= 0)
    return !sysgi_globals->case_sensitivity;
  return sysgi_config_default_case_insensitive();
}

/* Directives may be read before pre_config has run (httpd reads
 * LoadModule'd modules' directives in the same pass). */
static sysgi_global_config *globals(apr_pool_t *pconf) {
  if (!sysgi_globals)
    sysgi_reset_globals(pconf);
  return sysgi_globals;
}

/* ---- create / merge ----------------------------------------------------- */

void *sysgi_create_server_config(apr_pool_t *p, server_rec *s) {
  sysgi_server_config *c = apr_pcalloc(p, sizeof(*c));
  c->aliases = apr_array_make(p, 4, sizeof(sysgi_alias));
  return c;
}

/* Prefix aliases sorted longest location first (so "/app/api" wins over
 * "/app" and "/"); regex aliases keep their order, after the prefixes. */
static void insert_alias(apr_array_header_t *arr, const sysgi_alias *a) {
  sysgi_alias *slot = apr_array_push(arr);
  sysgi_alias *v = (sysgi_alias *)arr->elts;
  int i = arr->nelts - 1;
  if (!a->regex) {
    size_t len = strlen(a->location);
    while (i > 0 && (v[i - 1].regex || strlen(v[i - 1].location) < len)) {
      v[i] = v[i - 1];
      i--;
    }
  }
  (void)slot;
  v[i] = *a;
}

void *sysgi_merge_server_config(apr_pool_t *p, void *basev, void *addv) {
  sysgi_server_config *base = basev, *add = addv;
  sysgi_server_config *c = apr_pcalloc(p, sizeof(*c));
  int i;
  /* A virtual host sees its own aliases and the main server's, like
   * mod_alias and mod_wsgi. */
  c->aliases = apr_array_make(p, add->aliases->nelts + base->aliases->nelts,
                              sizeof(sysgi_alias));
  for (i = 0; i < add->aliases->nelts; i++)
    insert_alias(c->aliases, &APR_ARRAY_IDX(add->aliases, i, sysgi_alias));
  for (i = 0; i < base->aliases->nelts; i++)
    insert_alias(c->aliases, &APR_ARRAY_IDX(base->aliases, i, sysgi_alias));
  return c;
}

void *sysgi_create_dir_config(apr_pool_t *p, char *dir) {
  sysgi_dir_config *c = apr_pcalloc(p, sizeof(*c));
  c->enable_sendfile = -1;
  c->pass_authorization = -1;
  c->script_reloading = -1;
  c->chunked_request = -1;
  c->error_override = -1;
  c->map_head_to_get = -1;
  c->request_timeout_ms = -1;
  c->interrupt_timeout_ms = -1;
  return c;
}

void *sysgi_merge_dir_config(apr_pool_t *p, void *basev, void *addv) {
  sysgi_dir_config *base = basev, *add = addv;
  sysgi_dir_config *c = apr_pcalloc(p, sizeof(*c));
#define PICK(f) c->f = add->f ? add->f : base->f
#define PICK_FLAG(f) c->f = add->f != -1 ? add->f : base->f
  PICK(application_group);
  PICK(callable_object);
  PICK(access_script);
  PICK(auth_user_script);
  PICK(auth_group_script);
  PICK(dispatch_script);
  PICK_FLAG(enable_sendfile);
  PICK_FLAG(pass_authorization);
  PICK_FLAG(script_reloading);
  PICK_FLAG(chunked_request);
  PICK_FLAG(error_override);
  PICK_FLAG(map_head_to_get);
  PICK_FLAG(request_timeout_ms);
  PICK_FLAG(interrupt_timeout_ms);
  PICK(trusted_proxy_headers);
  PICK(trusted_proxies);
  c->handler_scripts =
      add->handler_scripts && base->handler_scripts
          ? apr_hash_overlay(p, add->handler_scripts, base->handler_scripts)
          : add->handler_scripts ? add->handler_scripts
                                 : base->handler_scripts;
#undef PICK
#undef PICK_FLAG
  return c;
}

/* ---- value checks ------------------------------------------------------- */

/* Values go through the configuration model's parsers (the same as
 * sysgi.ini's and the registry's), so a value means the same everywhere;
 * the error names the directive. `key` is the model's name of the value. */
static const char *model_check(cmd_parms *cmd, const char *key,
                               const char *v) {
  char err[512];
  const sysgi_setting *s = sysgi_config_find(key);
  if (sysgi_config_check_value(s, v, err, sizeof err) == 0)
    return NULL;
  return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
}

/* %{GLOBAL}, %{SERVER}, %{RESOURCE}, %{ENV:name} or a literal name. */
static const char *check_group(cmd_parms *cmd, const char *v) {
  return model_check(cmd, "application-group", v);
}

static const char *check_callable(cmd_parms *cmd, const char *v) {
  return model_check(cmd, "callable-object", v);
}

/* Applications run embedded in Apache's own processes: there are no
 * daemon process groups in mod_sysgi. */
static const char *check_process_group(cmd_parms *cmd, const char *v) {
  const char *err = model_check(cmd, "process-group", v);
  if (err)
    return err;
  if (!*v || !strcmp(v, "%{GLOBAL}"))
    return NULL;
  return apr_psprintf(cmd->pool,
                      "%s: process group '%s' is not available in mod_sysgi, "
                      "which runs applications embedded in Apache; process "
                      "groups are provided by sysgi.exe on Windows (use "
                      "'%%{GLOBAL}' or remove the setting)",
                      cmd->cmd->name, v);
}

static const char *server_root_file(cmd_parms *cmd, const char *name,
                                    const char **out) {
  *out = ap_server_root_relative(cmd->pool, name);
  if (!*out)
    return apr_psprintf(cmd->pool, "%s: invalid file path '%s'",
                        cmd->cmd->name, name);
  return NULL;
}

/* Parses the key=value options after the fixed arguments. Allowed keys
 * are given by non-NULL out-pointers. */
static const char *parse_options(cmd_parms *cmd, const char **args,
                                 const char **group, const char **callable,
                                 int allow_process_group, int *pass_auth) {
  while (**args) {
    char *word = ap_getword_conf(cmd->pool, args);
    char *eq = strchr(word, '=');
    const char *err;
    if (!eq)
      return apr_psprintf(cmd->pool, "%s: invalid option '%s' (expected "
                          "name=value)", cmd->cmd->name, word);
    *eq++ = '\0';
    if (group && !strcmp(word, "application-group")) {
      if ((err = check_group(cmd, eq)))
        return err;
      *group = eq;
    } else if (callable && !strcmp(word, "callable-object")) {
      if ((err = check_callable(cmd, eq)))
        return err;
      *callable = eq;
    } else if (allow_process_group && !strcmp(word, "process-group")) {
      if ((err = check_process_group(cmd, eq)))
        return err;
    } else if (pass_auth && !strcmp(word, "pass-authorization")) {
      /* The model's boolean, as WSGIPassAuthorization (On/Off/...). */
      const sysgi_setting *st = sysgi_config_find("pass-authorization");
      char msg[256];
      if (sysgi_config_check_value(st, eq, msg, sizeof msg) ||
          sysgi_parse_bool(eq, pass_auth))
        return apr_psprintf(cmd->pool, "%s: pass-authorization: %s",
                            cmd->cmd->name, msg);
    } else {
      return apr_psprintf(cmd->pool, "%s: unknown option '%s'",
                          cmd->cmd->name, word);
    }
  }
  return NULL;
}

/* ---- directives --------------------------------------------------------- */

static const char *script_alias(cmd_parms *cmd, void *mconfig,
                                const char *args) {
  sysgi_server_config *sc =
      ap_get_module_config(cmd->server->module_config, &sysgi_module);
  int is_match = cmd->info != NULL;
  sysgi_alias a;
  const char *url, *file, *err;
  memset(&a, 0, sizeof(a));
  a.pass_authorization = -1;
  url = ap_getword_conf(cmd->pool, &args);
  file = ap_getword_conf(cmd->pool, &args);
  if (!*url || !*file)
    return apr_psprintf(cmd->pool, "%s needs a URL %s and a script file",
                        cmd->cmd->name, is_match ? "pattern" : "path");
  if ((err = parse_options(cmd, &args, &a.application_group,
                           &a.callable_object, 1, &a.pass_authorization)))
    return err;
  if (is_match) {
    a.regex = ap_pregcomp(cmd->pool, url, AP_REG_EXTENDED);
    if (!a.regex)
      return apr_psprintf(cmd->pool, "%s: invalid regular expression '%s'",
                          cmd->cmd->name, url);
    a.location = url;
    a.target = file; /* $N substituted per request, then made absolute */
  } else {
    char *loc = apr_pstrdup(cmd->pool, url);
    /* "/app/" mounts like "/app"; "/" becomes "" and matches every URL
     * (the model's normal form, which its matcher expects). */
    if (sysgi_mount_normalize(loc) != 0)
      return apr_psprintf(cmd->pool, "%s: URL path '%s' must start with '/'",
                          cmd->cmd->name, url);
    a.location = loc;
    if ((err = server_root_file(cmd, file, &a.target)))
      return err;
  }
  insert_alias(sc->aliases, &a);
  return NULL;
}

#define DIR_STRING(fn, field, check)                                       \
  static const char *fn(cmd_parms *cmd, void *mconfig, const char *v) {   \
    sysgi_dir_config *dc = mconfig;                                        \
    const char *err = check(cmd, v);                                       \
    if (err)                                                               \
      return err;                                                          \
    dc->field = v;                                                         \
    return NULL;                                                           \
  }
DIR_STRING(set_application_group, application_group, check_group)
DIR_STRING(set_callable_object, callable_object, check_callable)
#undef DIR_STRING

static const char *set_process_group(cmd_parms *cmd, void *mconfig,
                                     const char *v) {
  return check_process_group(cmd, v);
}

static const char *set_dir_flag(cmd_parms *cmd, void *mconfig, int on) {
  int *field = (int *)((char *)mconfig + (size_t)cmd->info);
  *field = on ? 1 : 0;
  return NULL;
}

static const char *set_map_head_to_get(cmd_parms *cmd, void *mconfig,
                                       const char *v) {
  sysgi_dir_config *dc = mconfig;
  if (!strcasecmp(v, "Auto"))
    dc->map_head_to_get = 2;
  else if (!strcasecmp(v, "On"))
    dc->map_head_to_get = 1;
  else if (!strcasecmp(v, "Off"))
    dc->map_head_to_get = 0;
  else
    return apr_psprintf(cmd->pool, "%s: '%s' is not On, Off or Auto",
                        cmd->cmd->name, v);
  return NULL;
}

static const char *set_script(cmd_parms *cmd, void *mconfig,
                              const char *args) {
  sysgi_dir_config *dc = mconfig;
  sysgi_script *s = apr_pcalloc(cmd->pool, sizeof(*s));
  const char *file = ap_getword_conf(cmd->pool, &args), *err;
  if (!*file)
    return apr_psprintf(cmd->pool, "%s needs a script file", cmd->cmd->name);
  if ((err = server_root_file(cmd, file, &s->filename)))
    return err;
  if ((err = parse_options(cmd, &args, &s->application_group, NULL, 0, NULL)))
    return err;
  *(sysgi_script **)((char *)dc + (size_t)cmd->info) = s;
  return NULL;
}

/* WSGIHandlerScript NAME FILE [application-group=G] [process-group=...]:
 * a request whose handler is NAME (SetHandler, AddHandler) runs FILE's
 * handle_request() (mod_wsgi's name) for the requested file
 * (mod_wsgi.handler_script). */
static const char *set_handler_script(cmd_parms *cmd, void *mconfig,
                                      const char *args) {
  sysgi_dir_config *dc = mconfig;
  sysgi_script *s = apr_pcalloc(cmd->pool, sizeof(*s));
  const char *name = ap_getword_conf(cmd->pool, &args);
  const char *file = ap_getword_conf(cmd->pool, &args), *err;
  if (!*name || !*file)
    return apr_psprintf(cmd->pool, "%s needs a handler name and a script "
                        "file", cmd->cmd->name);
  if ((err = server_root_file(cmd, file, &s->filename)))
    return err;
  if ((err = parse_options(cmd, &args, &s->application_group, NULL, 1, NULL)))
    return err;
  if (!dc->handler_scripts)
    dc->handler_scripts = apr_hash_make(cmd->pool);
  apr_hash_set(dc->handler_scripts, name, APR_HASH_KEY_STRING, s);
  return NULL;
}

/* A wrong Python home or path is not a configuration error in mod_sysgi
 * (Apache starts, the cause is logged, WSGI requests answer 503), but the
 * model's check says at once what is wrong. */
static void warn_if_invalid(cmd_parms *cmd, const char *key, const char *v) {
  const char *err = model_check(cmd, key, v);
  if (err)
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cmd->server,
                 "mod_sysgi: %s:%d: %s", cmd->directive->filename,
                 cmd->directive->line_num, err);
}

static const char *set_python_home(cmd_parms *cmd, void *mconfig,
                                   const char *v) {
  const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
  if (err)
    return err;
  warn_if_invalid(cmd, "python-home", v);
  globals(cmd->server->process->pconf)->python_home = v;
  return NULL;
}

/* ':'-separated on Unix, ';' on Windows: APR knows which. */
static const char *set_python_path(cmd_parms *cmd, void *mconfig,
                                   const char *v) {
  sysgi_global_config *g = globals(cmd->server->process->pconf);
  apr_array_header_t *parts;
  const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
  int i;
  if (err)
    return err;
  warn_if_invalid(cmd, "python-path", v);
  if (apr_filepath_list_split(&parts, v, cmd->pool) != APR_SUCCESS)
    return apr_psprintf(cmd->pool, "%s: invalid path list '%s'",
                        cmd->cmd->name, v);
  for (i = 0; i < parts->nelts; i++) {
    const char *e = APR_ARRAY_IDX(parts, i, const char *);
    if (*e)
      APR_ARRAY_PUSH(g->python_path, const char *) = e;
  }
  return NULL;
}

static const char *set_dont_write_bytecode(cmd_parms *cmd, void *mconfig,
                                           int on) {
  const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
  if (err)
    return err;
  globals(cmd->server->process->pconf)->dont_write_bytecode = on;
  return NULL;
}

static const char *set_case_sensitivity(cmd_parms *cmd, void *mconfig,
                                        int on) {
  const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
  if (err)
    return err;
  globals(cmd->server->process->pconf)->case_sensitivity = on ? 1 : 0;
  return NULL;
}

static const char *import_script(cmd_parms *cmd, void *mconfig,
                                 const char *args) {
  sysgi_script s = {NULL, NULL};
  const char *file = ap_getword_conf(cmd->pool, &args), *err;
  if (!*file)
    return apr_psprintf(cmd->pool, "%s needs a script file", cmd->cmd->name);
  if ((err = server_root_file(cmd, file, &s.filename)))
    return err;
  if ((err = parse_options(cmd, &args, &s.application_group, NULL, 1, NULL)))
    return err;
  /* Imported before any request: only a group that does not depend on a
   * request can be named. */
  if (!s.application_group)
    return apr_psprintf(cmd->pool, "%s: application-group= is required",
                        cmd->cmd->name);
  if ((err = check_group(cmd, s.application_group)))
    return err;
  if (!strncmp(s.application_group, "%{", 2) &&
      strcmp(s.application_group, "%{GLOBAL}"))
    return apr_psprintf(cmd->pool, "%s: application-group must be %%{GLOBAL} "
                        "or a literal name, not '%s'",
                        cmd->cmd->name, s.application_group);
  APR_ARRAY_PUSH(globals(cmd->server->process->pconf)->import_scripts,
                 sysgi_script) = s;
  return NULL;
}

static const char *restrict_embedded(cmd_parms *cmd, void *mconfig, int on) {
  const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
  if (err)
    return err;
  if (on)
    return apr_psprintf(cmd->pool, "%s On: mod_sysgi only runs applications "
                        "embedded in Apache (daemon process groups are "
                        "provided by sysgi.exe on Windows)", cmd->cmd->name);
  return NULL;
}

/* Process groups are sysgi.exe's, so the directive is an error here; its
 * options are still checked by the model (as [process-group:NAME] of
 * sysgi.ini), so the message says what else is wrong with the line. */
static const char *daemon_process(cmd_parms *cmd, void *mconfig,
                                  const char *args) {
  const char *name = ap_getword_conf(cmd->pool, &args), *section;
  sysgi_origin origin = {SYSGI_ORIGIN_DIRECTIVE, NULL, 0};
  sysgi_config *cfg;
  char *msg = NULL;
  size_t i, n;
  origin.where = cmd->cmd->name;
  if (!*name)
    return apr_psprintf(cmd->pool, "%s needs a process group name",
                        cmd->cmd->name);
  if (!(cfg = sysgi_config_new(sysgi_config_default_case_insensitive())))
    return apr_psprintf(cmd->pool, "%s: out of memory", cmd->cmd->name);
  section = apr_pstrcat(cmd->pool, "process-group:", name, NULL);
  sysgi_config_add_section(cfg, section, &origin);
  while (*args) {
    char *word = ap_getword_conf(cmd->pool, &args);
    char *eq = strchr(word, '=');
    if (!*word)
      continue;
    if (!eq) {
      sysgi_config_add_error(cfg, &origin, section, word,
                             "invalid option (expected name=value)");
      continue;
    }
    *eq++ = '\0';
    sysgi_config_set(cfg, section, word, eq, &origin);
  }
  n = sysgi_config_n_errors(cfg);
  for (i = 0; i < n; i++)
    msg = apr_pstrcat(cmd->pool, msg ? msg : "", msg ? "; " : "",
                      sysgi_config_error(cfg, i), NULL);
  sysgi_config_free(cfg);
  if (msg)
    return msg;
  return apr_psprintf(cmd->pool, "%s: daemon mode is not available in "
                      "mod_sysgi; process groups are provided by sysgi.exe "
                      "on Windows", cmd->cmd->name);
}

#define DIR_OFF(f) ((void *)APR_OFFSETOF(sysgi_dir_config, f))

const command_rec sysgi_directives[] = {
    AP_INIT_RAW_ARGS("WSGIScriptAlias", script_alias, NULL, RSRC_CONF,
                     "URL-path script-file [application-group=...] "
                     "[callable-object=...] [process-group=...]"),
    AP_INIT_RAW_ARGS("WSGIScriptAliasMatch", script_alias, (void *)1,
                     RSRC_CONF,
                     "URL-regex script-file ($1..$9 substituted) [options]"),
    AP_INIT_TAKE1("WSGIApplicationGroup", set_application_group, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "%{GLOBAL}, %{SERVER}, %{RESOURCE}, %{ENV:name} or a name"),
    AP_INIT_TAKE1("WSGICallableObject", set_callable_object, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "name of the WSGI callable (default 'application')"),
    AP_INIT_TAKE1("WSGIProcessGroup", set_process_group, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "only %{GLOBAL} (embedded) is available"),
    AP_INIT_FLAG("WSGIEnableSendfile", set_dir_flag,
                 DIR_OFF(enable_sendfile), RSRC_CONF | ACCESS_CONF,
                 "On: wsgi.file_wrapper sends files with the kernel"),
    AP_INIT_FLAG("WSGIPassAuthorization", set_dir_flag,
                 DIR_OFF(pass_authorization), RSRC_CONF | ACCESS_CONF,
                 "On: pass the Authorization header as HTTP_AUTHORIZATION"),
    AP_INIT_FLAG("WSGIScriptReloading", set_dir_flag,
                 DIR_OFF(script_reloading), RSRC_CONF | ACCESS_CONF,
                 "On (default): reload a script when its file changes"),
    AP_INIT_RAW_ARGS("WSGIAccessScript", set_script,
                     (void *)APR_OFFSETOF(sysgi_dir_config, access_script),
                     ACCESS_CONF | OR_AUTHCFG,
                     "script-file [application-group=...]"),
    AP_INIT_RAW_ARGS("WSGIAuthUserScript", set_script,
                     (void *)APR_OFFSETOF(sysgi_dir_config, auth_user_script),
                     ACCESS_CONF | OR_AUTHCFG,
                     "script-file [application-group=...]"),
    AP_INIT_RAW_ARGS("WSGIAuthGroupScript", set_script,
                     (void *)APR_OFFSETOF(sysgi_dir_config, auth_group_script),
                     ACCESS_CONF | OR_AUTHCFG,
                     "script-file [application-group=...]"),
    AP_INIT_TAKE1("WSGIPythonHome", set_python_home, NULL, RSRC_CONF,
                  "Python installation or virtual environment directory"),
    AP_INIT_TAKE1("WSGIPythonPath", set_python_path, NULL, RSRC_CONF,
                  "extra sys.path entries (':' separated, ';' on Windows)"),
    AP_INIT_FLAG("WSGIDontWriteBytecode", set_dont_write_bytecode, NULL,
                 RSRC_CONF, "On: never write .pyc files"),
    AP_INIT_FLAG("WSGICaseSensitivity", set_case_sensitivity, NULL,
                 RSRC_CONF, "Off: WSGIScriptAlias mounts match any case "
                 "(default Off on Windows, On elsewhere)"),
    AP_INIT_RAW_ARGS("WSGIImportScript", import_script, NULL, RSRC_CONF,
                     "script-file application-group=... [process-group=...]"),
    AP_INIT_FLAG("WSGIRestrictEmbedded", restrict_embedded, NULL, RSRC_CONF,
                 "accepted for compatibility; only Off"),
    AP_INIT_RAW_ARGS("WSGIDaemonProcess", daemon_process, NULL, RSRC_CONF,
                     "not available: use sysgi.exe process groups"),
    AP_INIT_FLAG("WSGIChunkedRequest", set_dir_flag,
                 DIR_OFF(chunked_request), RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                 "On (default): accept chunked request bodies; Off: 411"),
    AP_INIT_FLAG("WSGIErrorOverride", set_dir_flag, DIR_OFF(error_override),
                 RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                 "On: an error status of the application is answered by "
                 "Apache (ErrorDocument)"),
    AP_INIT_TAKE1("WSGIMapHEADToGET", set_map_head_to_get, NULL,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "Auto (default), On or Off: HEAD reaches the application "
                  "as GET"),
    AP_INIT_TAKE1("WSGIRequestTimeout", sysgi_ap_set_timeout,
                  "request-timeout", RSRC_CONF | ACCESS_CONF,
                  "seconds a request may run before RequestTimeout is raised "
                  "in it (0: no limit)"),
    AP_INIT_TAKE1("WSGIInterruptTimeout", sysgi_ap_set_timeout,
                  "interrupt-timeout", RSRC_CONF | ACCESS_CONF,
                  "seconds a timed-out request gets to unwind before it is "
                  "reported stuck (0: never)"),
    AP_INIT_TAKE1("WSGIPythonOptimize", sysgi_ap_set_python_env,
                  (void *)"PYTHONOPTIMIZE", RSRC_CONF,
                  "Python's optimisation level (0, 1 or 2)"),
    AP_INIT_TAKE1("WSGIPythonHashSeed", sysgi_ap_set_python_env,
                  (void *)"PYTHONHASHSEED", RSRC_CONF,
                  "Python's hash seed: 'random' or 0 to 4294967295"),
    AP_INIT_TAKE1("WSGIPythonWarnings", sysgi_ap_set_python_env,
                  (void *)"PYTHONWARNINGS", RSRC_CONF,
                  "a Python -W warnings filter (repeatable)"),
    AP_INIT_TAKE1("WSGIPythonEggs", sysgi_ap_set_python_env,
                  (void *)"PYTHON_EGG_CACHE", RSRC_CONF,
                  "the eggs cache directory (PYTHON_EGG_CACHE)"),
    AP_INIT_FLAG("WSGIRestrictStdout", sysgi_ap_set_restrict, NULL, RSRC_CONF,
                 "On: writing to sys.stdout raises IOError"),
    AP_INIT_FLAG("WSGIRestrictStdin", sysgi_ap_set_restrict, NULL, RSRC_CONF,
                 "On: reading sys.stdin raises IOError"),
    AP_INIT_RAW_ARGS("WSGITrustedProxyHeaders",
                     sysgi_ap_set_trusted_proxy_headers, NULL,
                     RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                     "proxy headers (X-Forwarded-For, ...) to trust"),
    AP_INIT_RAW_ARGS("WSGITrustedProxies", sysgi_ap_set_trusted_proxies, NULL,
                     RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                     "addresses or networks (10.0.0.0/8) of trusted proxies"),
    AP_INIT_RAW_ARGS("<WSGIInterpreterOptions", sysgi_ap_interpreter_options,
                     NULL, RSRC_CONF | EXEC_ON_READ, "mod_wsgi 6: skipped"),
    AP_INIT_RAW_ARGS("WSGIAcceptMutex", sysgi_ap_no_effect,
                     (void *)"the accept mutex of mod_wsgi's daemon processes", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGISocketPrefix", sysgi_ap_no_effect,
                     (void *)"the sockets of mod_wsgi's daemon processes", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGISocketRotation", sysgi_ap_no_effect,
                     (void *)"the sockets of mod_wsgi's daemon processes", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGILazyInitialization", sysgi_ap_no_effect,
                     (void *)"Python always starts in the child processes, never in Apache's parent", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGIVerboseDebugging", sysgi_ap_no_effect,
                     (void *)"mod_wsgi's own debugging messages; use LogLevel sysgi:debug", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGIDestroyInterpreter", sysgi_ap_no_effect,
                     (void *)"interpreters are always destroyed when the child exits, except one with a running daemon thread", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGIRestrictSignal", sysgi_ap_no_effect,
                     (void *)"Python's signal handlers are never installed in Apache's processes", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGIRestrictProcess", sysgi_ap_no_effect,
                     (void *)"there are no daemon process groups to choose from", ACCESS_CONF | RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGIPassApacheRequest", sysgi_ap_no_effect,
                     (void *)"Apache's request_rec is never handed to Python", ACCESS_CONF | RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGIIgnoreActivity", sysgi_ap_no_effect,
                     (void *)"the inactivity timeout of mod_wsgi's daemon processes", OR_FILEINFO,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGIServerMetrics", sysgi_ap_no_effect,
                     (void *)"mod_wsgi.server_metrics() reads nothing from Apache's scoreboard", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGINewRelicConfigFile", sysgi_ap_no_effect,
                     (void *)"New Relic agent integration", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGINewRelicEnvironment", sysgi_ap_no_effect,
                     (void *)"New Relic agent integration", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGIUserAuthoritative", sysgi_ap_no_effect,
                     (void *)"Apache 2.4's AuthBasicProvider list decides which provider follows", OR_AUTHCFG,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGIGroupAuthoritative", sysgi_ap_no_effect,
                     (void *)"Apache 2.4's Require lines decide which provider follows", OR_AUTHCFG,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGISwitchInterval", sysgi_ap_no_effect,
                     (void *)"Python's default GIL switch interval is kept", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGIPerInterpreterGIL", sysgi_ap_no_effect,
                     (void *)"sub-interpreters share the main GIL (the Stable ABI has no per-interpreter GIL)", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGIFreeThreading", sysgi_ap_no_effect,
                     (void *)"free-threaded Python builds are not supported", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGISlowRequests", sysgi_ap_no_effect,
                     (void *)"mod_wsgi 6's telemetry", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGITelemetryService", sysgi_ap_no_effect,
                     (void *)"mod_wsgi 6's telemetry", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGITelemetryOptions", sysgi_ap_no_effect,
                     (void *)"mod_wsgi 6's telemetry", RSRC_CONF,
                     "mod_wsgi compatibility: no effect"),
    AP_INIT_RAW_ARGS("WSGIHandlerScript", set_handler_script, NULL,
                     RSRC_CONF | ACCESS_CONF,
                     "handler-name script-file [application-group=...]: "
                     "requests with that handler run the script"),
    AP_INIT_RAW_ARGS("WSGIDispatchScript", set_script,
                     (void *)APR_OFFSETOF(sysgi_dir_config, dispatch_script),
                     RSRC_CONF | ACCESS_CONF,
                     "script-file [application-group=...]: chooses the "
                     "application group and callable per request"),
    {NULL}};
