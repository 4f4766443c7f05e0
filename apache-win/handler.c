/*
 * handler.c: from request_rec to sysgi_request. translate_name maps a
 * WSGIScriptAlias'ed URL onto its script (the rest of the URL becomes
 * PATH_INFO through httpd's own directory walk, exactly as mod_wsgi and
 * mod_alias do), and the handler builds the CGI variables like mod_wsgi and
 * runs the application through the core.
 */
#include "mod_sysgi.h"

#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"
#include "apr_env.h"
#include "apr_strings.h"

APLOG_USE_MODULE(sysgi);

/* ---- translate_name ------------------------------------------------------ */

/* The prefix aliases' locations for the model's one mount matcher (NULL
 * where an alias is a regex, which the matcher skips). */
static const char **alias_mounts(request_rec *r, const apr_array_header_t *a) {
  const char **m = apr_palloc(r->pool, sizeof(char *) * (size_t)(a->nelts + 1));
  int i;
  for (i = 0; i < a->nelts; i++) {
    const sysgi_alias *x = &APR_ARRAY_IDX(a, i, sysgi_alias);
    m[i] = x->regex ? NULL : x->location;
  }
  return m;
}

/* Maps r->uri onto alias `a` whose mount covers its first `len` bytes. */
static int use_alias(request_rec *r, const sysgi_alias *a, const char *script,
                     int len) {
  sysgi_match *m = apr_pcalloc(r->pool, sizeof(*m));
  m->alias = a;
  m->script = script;
  ap_set_module_config(r->request_config, &sysgi_module, m);
  /* The directory walk finds the script file in this path and leaves
   * the remainder in r->path_info. */
  r->filename = apr_pstrcat(r->pool, script, r->uri + len, NULL);
  r->handler = SYSGI_HANDLER;
  apr_table_setn(r->notes, "alias-forced-type", r->handler);
  return OK;
}

int sysgi_ap_translate_name(request_rec *r) {
  sysgi_server_config *sc =
      ap_get_module_config(r->server->module_config, &sysgi_module);
  int i;
  if (!sc || r->uri[0] != '/')
    return DECLINED;
  /* Prefix aliases first, through the model's matcher (the longest mount
   * wins at a '/' boundary: "/app" serves "/app/x", never "/apple";
   * case-insensitive under WSGICaseSensitivity Off, the default on
   * Windows);
   * then the regex aliases in configuration order. */
  if (sc->aliases->nelts == 0)
    return DECLINED;
  {
    size_t mlen = 0;
    int k = sysgi_mount_match(alias_mounts(r, sc->aliases),
                              (size_t)sc->aliases->nelts, r->uri,
                              sysgi_ap_case_insensitive(), &mlen);
    if (k >= 0)
      return use_alias(r, &APR_ARRAY_IDX(sc->aliases, k, sysgi_alias),
                       APR_ARRAY_IDX(sc->aliases, k, sysgi_alias).target,
                       (int)mlen);
  }
  for (i = 0; i < sc->aliases->nelts; i++) {
    const sysgi_alias *a = &APR_ARRAY_IDX(sc->aliases, i, sysgi_alias);
    const char *script;
    ap_regmatch_t rm[AP_MAX_REG_MATCH];
    if (!a->regex)
      continue;
    if (ap_regexec(a->regex, r->uri, AP_MAX_REG_MATCH, rm, 0) != 0 ||
        rm[0].rm_so != 0)
      continue;
    script = ap_pregsub(r->pool, a->target, r->uri, AP_MAX_REG_MATCH, rm);
    if (script)
      script = ap_server_root_relative(r->pool, script);
    if (!script) {
      ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                    "mod_sysgi: WSGIScriptAliasMatch %s: cannot build the "
                    "script path from '%s'", a->location, a->target);
      return HTTP_INTERNAL_SERVER_ERROR;
    }
    return use_alias(r, a, script, (int)rm[0].rm_eo);
  }
  return DECLINED;
}

/* ---- application group ---------------------------------------------------- */

static const char *script_name(request_rec *r) {
  const char *sn = apr_table_get(r->subprocess_env, "SCRIPT_NAME");
  if (!sn) {
    /* Not computed yet (access hooks): the URI without its path info. */
    int n = ap_find_path_info(r->uri, r->path_info);
    sn = apr_pstrndup(r->pool, r->uri, n < 0 ? 0 : (apr_size_t)n);
  }
  return sn;
}

/* %{ENV:name}: the request's variables (SetEnv, SetEnvIf), then its
 * notes, then the process environment, as mod_wsgi looks them up. */
static const char *group_env(void *ctx, const char *name) {
  request_rec *r = ctx;
  const char *v = apr_table_get(r->subprocess_env, name);
  char *ev = NULL;
  if (!v)
    v = apr_table_get(r->notes, name);
  if (!v && apr_env_get(&ev, name, r->pool) == APR_SUCCESS)
    v = ev;
  return v;
}

const char *sysgi_ap_expand_group(request_rec *r, const char *g) {
  char port[8] = "";
  apr_port_t p = ap_get_server_port(r);
  apr_size_t cap = 256;
  char *out = apr_palloc(r->pool, cap);
  /* SCRIPT_NAME costs a table lookup: only %{RESOURCE} needs it. */
  const char *sn = (!g || !strcmp(g, "%{RESOURCE}")) ? script_name(r) : "";
  int rc;
  /* mod_wsgi leaves the default ports out of %{SERVER}. */
  if (p != DEFAULT_HTTP_PORT && p != DEFAULT_HTTPS_PORT)
    apr_snprintf(port, sizeof port, "%u", (unsigned)p);
  for (;;) {
    rc = sysgi_expand_group(g, ap_get_server_name(r), port, sn, group_env, r,
                            out, cap);
    if (rc != SYSGI_E_TOO_LARGE || cap >= (1u << 20))
      break;
    cap *= 4;
    out = apr_palloc(r->pool, cap);
  }
  if (rc != SYSGI_OK) {
    /* Checked at configuration time; only a huge %{ENV:x} gets here. */
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "mod_sysgi: application group '%s' cannot be expanded (%s);"
                  " using the main interpreter", g ? g : "%{RESOURCE}",
                  sysgi_strerror(rc));
    return "";
  }
  return out;
}

/* ---- the environment -------------------------------------------------------- */

/* Decimal of `x` into `b` (24 bytes), returned: apr_psprintf's formatter
 * costs ~10 times more. */
static const char *dec(char *b, apr_int64_t x) {
  char t[24], *p = t + sizeof t;
  apr_uint64_t u = x < 0 ? 0 - (apr_uint64_t)x : (apr_uint64_t)x;
  size_t n;
  *--p = '\0';
  do
    *--p = (char)('0' + u % 10);
  while (u /= 10);
  if (x < 0)
    *--p = '-';
  n = (size_t)(t + sizeof t - p);
  memcpy(b, p, n);
  return b;
}

static void add_modwsgi_vars(request_rec *r, const char *group,
                             const char *callable, int sendfile,
                             int reloading) {
  apr_table_t *e = r->subprocess_env;
  conn_rec *c = r->connection;
  const char *v;
  /* The first time for this request (the usual case) the keys are new:
   * apr_table_addn appends without scanning the table (apr_table_setn
   * compares every "mod_..." key with strcasecmp). Later calls (after an
   * access/auth script) replace. */
  void (*put)(apr_table_t *, const char *, const char *) =
      apr_table_get(e, "mod_wsgi.script_start") ? apr_table_setn
                                                : apr_table_addn;
  char *num = apr_palloc(r->pool, 3 * 24);
  if (!r->log_id)
    ap_run_generate_log_id(c, r, &r->log_id);
  put(e, "mod_wsgi.application_group", group);
  put(e, "mod_wsgi.callable_object", callable);
  put(e, "mod_wsgi.enable_sendfile", sendfile ? "1" : "0");
  v = apr_table_get(r->notes, "sysgi-handler-script");
  put(e, "mod_wsgi.handler_script", v ? v : "");
  put(e, "mod_wsgi.ignore_activity", "0");
  put(e, "mod_wsgi.listener_host",
      c->local_addr->hostname ? c->local_addr->hostname : "");
  put(e, "mod_wsgi.listener_port",
      dec(num, (apr_int64_t)c->local_addr->port));
  v = apr_table_get(e, "PATH_INFO");
  put(e, "mod_wsgi.path_info", v ? v : "");
  put(e, "mod_wsgi.process_group", "");
  put(e, "mod_wsgi.request_handler", r->handler ? r->handler : "");
  put(e, "mod_wsgi.request_id", r->log_id ? r->log_id : "");
  put(e, "mod_wsgi.request_start",
      dec(num + 24, (apr_int64_t)r->request_time));
  v = apr_table_get(e, "SCRIPT_NAME");
  put(e, "mod_wsgi.script_name", v ? v : "");
  put(e, "mod_wsgi.script_reloading", reloading ? "1" : "0");
  put(e, "mod_wsgi.script_start", dec(num + 48, (apr_int64_t)apr_time_now()));
  /* The core turns "X.Y.Z" into mod_wsgi's tuple (2, 4, 55). */
  put(e, "apache.version", sysgi_ap_version);
}

void sysgi_ap_build_request(request_rec *r, const char *script,
                            const char *group, const char *callable,
                            sysgi_request *out) {
  sysgi_dir_config *dc =
      ap_get_module_config(r->per_dir_config, &sysgi_module);
  sysgi_match *m = ap_get_module_config(r->request_config, &sysgi_module);
  const apr_array_header_t *arr;
  const apr_table_entry_t *elts;
  sysgi_header *vars;
  int reloading = dc->script_reloading != 0;
  int sendfile = dc->enable_sendfile == 1;
  int i, n;

  ap_add_common_vars(r);
  ap_add_cgi_vars(r);
  /* The server's own PATH (and on Windows its system variables) are the
   * process environment, not the request's: mod_wsgi leaves them out. */
  apr_table_unset(r->subprocess_env, "PATH");
#ifdef WIN32
  apr_table_unset(r->subprocess_env, "SystemRoot");
  apr_table_unset(r->subprocess_env, "COMSPEC");
  apr_table_unset(r->subprocess_env, "PATHEXT");
  apr_table_unset(r->subprocess_env, "WINDIR");
#endif
  /* Always present, as in mod_wsgi: "" when the URL is the mount itself. */
  if (!apr_table_get(r->subprocess_env, "PATH_INFO"))
    apr_table_setn(r->subprocess_env, "PATH_INFO", "");
  sysgi_ap_apply_proxy_headers(r, dc);
  /* mod_wsgi's WSGIMapHEADToGET, default Auto: a HEAD reaches the
   * application as GET when an output filter (mod_deflate, ...) might
   * change the headers a GET would get. */
  if (r->header_only && r->method_number == M_GET &&
      (dc->map_head_to_get == 1 ||
       (dc->map_head_to_get != 0 && r->output_filters &&
        r->output_filters->frec &&
        r->output_filters->frec->ftype < AP_FTYPE_PROTOCOL)))
    apr_table_setn(r->subprocess_env, "REQUEST_METHOD", "GET");
  if (m && m->alias->pass_authorization != -1
          ? m->alias->pass_authorization == 1
          : dc->pass_authorization == 1) {
    const char *auth = apr_table_get(r->headers_in, "Authorization");
    if (auth)
      apr_table_setn(r->subprocess_env, "HTTP_AUTHORIZATION", auth);
  }

  if (!group)
    group = (m && m->alias->application_group) ? m->alias->application_group
                                               : dc->application_group;
  group = sysgi_ap_expand_group(r, group);
  if (!callable)
    callable = (m && m->alias->callable_object) ? m->alias->callable_object
               : dc->callable_object ? dc->callable_object
                                     : "application";
  add_modwsgi_vars(r, group, callable, sendfile, reloading);

  arr = apr_table_elts(r->subprocess_env);
  elts = (const apr_table_entry_t *)arr->elts;
  vars = apr_palloc(r->pool, sizeof(*vars) * (size_t)(arr->nelts + 1));
  for (i = 0, n = 0; i < arr->nelts; i++) {
    if (!elts[i].key || !elts[i].val)
      continue;
    vars[n].name = elts[i].key;
    vars[n].value = elts[i].val;
    n++;
  }

  memset(out, 0, sizeof(*out));
  out->vars = vars;
  out->n_vars = (size_t)n;
  out->url_scheme = ap_http_scheme(r);
  /* limit-request-body maps onto Apache's LimitRequestBody (issue 14): the
   * core answers a declared length over it with 413 before the app runs
   * and names it when a chunked body grows past it; httpd's HTTP_IN
   * filter enforces it too. Header limits stay httpd's own
   * (LimitRequestFields, LimitRequestFieldSize, LimitRequestLine: 400
   * before any module runs), so the core's are off here. */
  out->limit_request_body = (int64_t)ap_get_limit_req_body(r);
  out->queue_start_us = (int64_t)r->request_time;
  out->script_filename = script;
  /* The core reloads the script when this differs from what it loaded. */
  if (reloading) {
    apr_finfo_t fi;
    if (r->finfo.filetype == APR_REG && !strcmp(script, r->filename))
      out->script_mtime_us = (int64_t)r->finfo.mtime;
    else if (apr_stat(&fi, script, APR_FINFO_MTIME, r->pool) == APR_SUCCESS)
      out->script_mtime_us = (int64_t)fi.mtime;
  }
  out->application_group = group;
  out->callable_object = callable;
  out->process_group = "";
  out->enable_sendfile = sendfile;
  out->conn = sysgi_ap_conn_create(r);
  out->fe = sysgi_ap_frontend();
  sysgi_ap_request_timeouts(dc, out);
}

/* ---- the content handler ---------------------------------------------------- */

int sysgi_ap_handler(request_rec *r) {
  sysgi_dir_config *dc =
      ap_get_module_config(r->per_dir_config, &sysgi_module);
  sysgi_request req;
  const sysgi_script *hs = NULL;
  int rc;

  /* WSGIHandlerScript: the handler's script serves the requested file. */
  if (r->handler && dc->handler_scripts)
    hs = apr_hash_get(dc->handler_scripts, r->handler, APR_HASH_KEY_STRING);
  if (!hs && (!r->handler || (strcmp(r->handler, SYSGI_HANDLER) &&
                              strcmp(r->handler, SYSGI_HANDLER_MIME))))
    return DECLINED;

  /* A handler script decides about the requested resource itself (it may
   * be virtual), as in mod_wsgi. */
  if (!hs && r->finfo.filetype == APR_NOFILE) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "mod_sysgi: target WSGI script not found or unable to "
                  "stat: %s", r->filename);
    return HTTP_NOT_FOUND;
  }
  if (!hs && r->finfo.filetype != APR_REG) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "mod_sysgi: target WSGI script is not a regular file "
                  "(a directory?): %s", r->filename);
    return HTTP_FORBIDDEN;
  }
  if (r->used_path_info == AP_REQ_REJECT_PATH_INFO && r->path_info &&
      *r->path_info) {
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "mod_sysgi: path info '%s' rejected by AcceptPathInfo Off",
                  r->path_info);
    return HTTP_NOT_FOUND;
  }
  {
    /* WSGIChunkedRequest Off: mod_wsgi's 411 (the default here is On:
     * RFC 9112 requires a server to accept a chunked body). */
    const char *te = apr_table_get(r->headers_in, "Transfer-Encoding");
    if (te && dc->chunked_request == 0) {
      ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                    "mod_sysgi: the request body is chunked, and "
                    "WSGIChunkedRequest is Off: 411 Length Required");
      return HTTP_LENGTH_REQUIRED;
    }
  }
  if (sysgi_ap_runtime_check(r) != SYSGI_OK)
    return HTTP_SERVICE_UNAVAILABLE;

  if (hs)
    apr_table_setn(r->notes, "sysgi-handler-script", hs->filename);
  {
    const char *group = hs ? hs->application_group : NULL;
    const char *callable = hs ? "handle_request" : NULL; /* mod_wsgi's */
    char dgroup[512], dcallable[256];
    if (dc->dispatch_script) {
      /* WSGIDispatchScript runs first, in its own group (default: the
       * main interpreter), with the request's environ. */
      sysgi_request dreq;
      const char *g = dc->dispatch_script->application_group;
      sysgi_ap_build_request(r, dc->dispatch_script->filename,
                             g ? g : "%{GLOBAL}", "application", &dreq);
      rc = sysgi_dispatch(&dreq, dgroup, sizeof dgroup, dcallable,
                          sizeof dcallable);
      if (rc != SYSGI_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "mod_sysgi: WSGIDispatchScript %s failed: %s",
                      dc->dispatch_script->filename, sysgi_strerror(rc));
        return HTTP_INTERNAL_SERVER_ERROR;
      }
      if (dgroup[0])
        group = dgroup;
      if (dcallable[0])
        callable = dcallable;
    }
    sysgi_ap_build_request(r, hs ? hs->filename : r->filename, group,
                           callable, &req);
  }
  /* A failure before the head is Apache's to answer (its page, or
   * ErrorDocument 500), as with mod_wsgi. */
  req.error_page_by_frontend = 1;
  rc = sysgi_handle(&req);
  if (sysgi_ap_conn_body_answered(req.conn))
    return OK; /* httpd's HTTP_IN has answered 413 or 400 for the body */
  if (rc == SYSGI_OK) {
    int ov = sysgi_ap_conn_override_status(req.conn);
    return ov ? ov : OK;
  }
  if (rc == SYSGI_E_TOO_LARGE)
    return HTTP_REQUEST_ENTITY_TOO_LARGE; /* logged by the core */
  ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                "mod_sysgi: %s failed before a response was sent: %s",
                r->filename, sysgi_strerror(rc));
  if (rc == SYSGI_E_TIMEOUT) /* WSGIRequestTimeout, before the head */
    return HTTP_GATEWAY_TIME_OUT;
  return rc == SYSGI_E_NOPYTHON ? HTTP_SERVICE_UNAVAILABLE
                                : HTTP_INTERNAL_SERVER_ERROR;
}
