/*
 * mod_sysgi.h: what the files of mod_sysgi share. Only APR and httpd APIs
 * are used here (never POSIX directly) so that the same source builds for
 * Apache on Windows (Apache Lounge) and on Linux (apxs).
 */
#ifndef MOD_SYSGI_H
#define MOD_SYSGI_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_tables.h"
#include "apr_hash.h"

#include "sysgi.h"
#include "sysgi_config.h"

extern module AP_MODULE_DECLARE_DATA sysgi_module;

#define SYSGI_HANDLER "wsgi-script"
#define SYSGI_HANDLER_MIME "application/x-httpd-wsgi"

/* ---- configuration (config.c) ------------------------------------------ */

/* One WSGIScriptAlias / WSGIScriptAliasMatch. Options left unset are NULL
 * and fall back on the per-directory directives. */
typedef struct sysgi_alias {
  const char *location;   /* URL prefix, trailing '/' removed ("/" -> "") */
  ap_regex_t *regex;      /* WSGIScriptAliasMatch, else NULL              */
  const char *target;     /* script file (may hold $1.. for a regex)      */
  const char *application_group;
  const char *callable_object;
  int pass_authorization; /* pass-authorization=, -1 unset        */
} sysgi_alias;

/* A script with an optional application-group= (WSGIAccessScript etc). */
typedef struct sysgi_script {
  const char *filename;
  const char *application_group; /* NULL: the request's own group */
} sysgi_script;

/* Per server (virtual host). Server-wide WSGIApplicationGroup and friends
 * live in the server's default per-directory config, which httpd merges
 * under every <Directory>/<Location>. */
typedef struct sysgi_server_config {
  apr_array_header_t *aliases;   /* of sysgi_alias, longest location first */
} sysgi_server_config;

/* Per directory. */
typedef struct sysgi_dir_config {
  const char *application_group;
  const char *callable_object;
  int enable_sendfile;           /* -1 unset */
  int pass_authorization;        /* -1 unset (WSGIPassAuthorization)  */
  int script_reloading;          /* -1 unset (WSGIScriptReloading)    */
  sysgi_script *access_script;
  sysgi_script *auth_user_script;
  sysgi_script *auth_group_script;
  int chunked_request;           /* -1 unset (WSGIChunkedRequest, on) */
  int error_override;            /* -1 unset (WSGIErrorOverride, off) */
  int map_head_to_get;           /* -1 unset, 0 Off, 1 On, 2 Auto     */
  apr_array_header_t *trusted_proxy_headers; /* of "HTTP_X_..." (proxy.c) */
  apr_array_header_t *trusted_proxies;       /* of apr_ipsubnet_t *        */
  apr_hash_t *handler_scripts;   /* WSGIHandlerScript: name -> sysgi_script* */
  sysgi_script *dispatch_script; /* WSGIDispatchScript                  */
  int request_timeout_ms;        /* -1 unset (WSGIRequestTimeout, off)  */
  int interrupt_timeout_ms;      /* -1 unset (WSGIInterruptTimeout)     */
} sysgi_dir_config;

/* Process-wide (global scope only), reset before each configuration read. */
typedef struct sysgi_global_config {
  const char *python_home;
  apr_array_header_t *python_path;    /* of const char *            */
  int dont_write_bytecode;
  apr_array_header_t *import_scripts; /* of sysgi_script            */
  int case_sensitivity;               /* WSGICaseSensitivity, -1 unset */
  /* compat.c: applied to the child's environment before Python starts */
  const char *python_optimize;        /* WSGIPythonOptimize, NULL unset */
  const char *python_hash_seed;       /* WSGIPythonHashSeed             */
  apr_array_header_t *python_warnings;/* WSGIPythonWarnings, of char *  */
  const char *python_eggs;            /* WSGIPythonEggs                 */
  int restrict_stdout, restrict_stdin;/* WSGIRestrict*, -1 unset (Off)  */
  apr_array_header_t *notices;        /* of char *: logged at startup   */
  int timeouts_used;                  /* a WSGIRequestTimeout was set   */
} sysgi_global_config;

extern sysgi_global_config *sysgi_globals;
extern const command_rec sysgi_directives[];

void *sysgi_create_server_config(apr_pool_t *p, server_rec *s);
void *sysgi_merge_server_config(apr_pool_t *p, void *base, void *add);
void *sysgi_create_dir_config(apr_pool_t *p, char *dir);
void *sysgi_merge_dir_config(apr_pool_t *p, void *base, void *add);
void sysgi_reset_globals(apr_pool_t *pconf);
/* Whether mounts compare case-insensitively: WSGICaseSensitivity, else
 * the platform's (Off on Windows, as mod_wsgi). */
int sysgi_ap_case_insensitive(void);

/* ---- mod_wsgi compatibility (compat.c) -------------------------------- */

/* Directives that configure nothing here: each records a notice (file,
 * line, why) that post_config logs. cmd->info is the reason. */
const char *sysgi_ap_no_effect(cmd_parms *cmd, void *mconfig,
                               const char *args);
/* <WSGIInterpreterOptions ...> ... </WSGIInterpreterOptions>: skipped, with
 * a notice. */
const char *sysgi_ap_interpreter_options(cmd_parms *cmd, void *mconfig,
                                         const char *args);
/* WSGIPythonOptimize / HashSeed / Warnings / Eggs, WSGIRestrictStd*. */
const char *sysgi_ap_set_python_env(cmd_parms *cmd, void *mconfig,
                                    const char *v);
const char *sysgi_ap_set_restrict(cmd_parms *cmd, void *mconfig, int on);
/* post_config: logs the notices once (not in the first, pre-flight pass). */
void sysgi_ap_log_notices(server_rec *s);
/* child_init, before Python starts: the environment Python reads. */
void sysgi_ap_compat_child_init(apr_pool_t *pchild, server_rec *s);
/* Records a notice "FILE:LINE: DIRECTIVE: message". */
void sysgi_ap_notice(cmd_parms *cmd, const char *msg);

/* ---- WSGITrustedProxyHeaders / WSGITrustedProxies (proxy.c) ------------ */

const char *sysgi_ap_set_trusted_proxy_headers(cmd_parms *cmd, void *mconfig,
                                               const char *args);
const char *sysgi_ap_set_trusted_proxies(cmd_parms *cmd, void *mconfig,
                                         const char *args);
/* Rewrites r->subprocess_env (after ap_add_cgi_vars) from the trusted
 * proxy headers, and removes their untrusted synonyms. */
void sysgi_ap_apply_proxy_headers(request_rec *r, const sysgi_dir_config *dc);

/* ---- runtime (runtime.c): Python per child process --------------------- */

void sysgi_ap_child_init(apr_pool_t *pchild, server_rec *s);
/* Windows: loads the Python DLL of WSGIPythonHome (not starting Python),
 * so the banner can name its version; once per home and process. Returns
 * 0 when Python's functions are callable. Elsewhere always 0. */
int sysgi_ap_load_python(void);
/* Nonzero in a process that serves requests (and so may load Python):
 * on Windows the mpm_winnt child, or the one process of -X; not the
 * parent, which never touches Python. Elsewhere always nonzero (post_config
 * runs before the fork; Linux links libpython anyway). */
int sysgi_ap_serving_process(apr_pool_t *p);

/* "major.minor.patch" of the running httpd (set in post_config), passed to
 * the core as the variable apache.version. */
extern char sysgi_ap_version[32];
/* 0 when Python is up; else logs a line for this request and returns the
 * error (the caller answers 503). */
int sysgi_ap_runtime_check(request_rec *r);

/* ---- the request (handler.c) -------------------------------------------- */

/* What translate_name found, kept in r->request_config. */
typedef struct sysgi_match {
  const sysgi_alias *alias;
  const char *script;        /* target with $N substituted */
} sysgi_match;

/* Fills `out` for script `script` in `group` (NULL: the configured group,
 * macros expanded). Adds the CGI variables to r->subprocess_env. */
void sysgi_ap_build_request(request_rec *r, const char *script,
                            const char *group, const char *callable,
                            sysgi_request *out);
/* Expands %{GLOBAL}, %{SERVER}, %{RESOURCE}, %{ENV:x} for this request. */
const char *sysgi_ap_expand_group(request_rec *r, const char *group);
int sysgi_ap_translate_name(request_rec *r);
int sysgi_ap_handler(request_rec *r);

/* ---- the callbacks (frontend.c) ----------------------------------------- */

typedef struct sysgi_ap_conn sysgi_ap_conn;
/* The per-request object behind sysgi_request.conn. */
sysgi_ap_conn *sysgi_ap_conn_create(request_rec *r);
const sysgi_frontend *sysgi_ap_frontend(void);
/* The error status the application sent under WSGIErrorOverride On (the
 * handler returns it to Apache), or 0. */
int sysgi_ap_conn_override_status(const sysgi_ap_conn *c);
/* Nonzero once httpd's HTTP_IN filter has answered (413, 400) for the
 * request body: the handler returns OK, nothing else is sent. */
int sysgi_ap_conn_body_answered(const sysgi_ap_conn *c);
/* Called once from post_config: picks up mod_ssl's optional functions. */
void sysgi_ap_retrieve_ssl_fns(void);
int sysgi_ap_log_level(int sysgi_level);

/* ---- the request body (body.c) ------------------------------------------ */

/* Reads up to `len` body bytes (after ap_setup_client_block), like
 * ap_get_client_block: bytes read, 0 at the end, or a SYSGI_E_* naming the
 * cause (logged; a client that left at debug level). Sets *answered when
 * httpd has already sent an error response (413, 400) for the body. */
ptrdiff_t sysgi_ap_read_body_block(request_rec *r, char *buf, size_t len,
                                   int *answered);
/* ---- WSGIRequestTimeout / WSGIInterruptTimeout (timeout.c) -------------- */

/* The directives; cmd->info is the model's key ("request-timeout"). */
const char *sysgi_ap_set_timeout(cmd_parms *cmd, void *mconfig,
                                 const char *v);
/* The request's timeouts from its directory configuration. */
void sysgi_ap_request_timeouts(const sysgi_dir_config *dc, sysgi_request *out);
/* child_init, after Python started: the watchdog thread of this child,
 * stopped by a cleanup of pchild before Python is finalized. */
void sysgi_ap_timeout_child_init(apr_pool_t *pchild, server_rec *s);

/* ---- auth (auth.c) ------------------------------------------------------ */

void sysgi_ap_register_auth_hooks(apr_pool_t *p);

#endif /* MOD_SYSGI_H */
