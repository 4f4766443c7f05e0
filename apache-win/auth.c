/*
 * auth.c: WSGIAccessScript (an access hook that runs after mod_ssl's, so
 * SSL variables are set), WSGIAuthUserScript (the authn provider "wsgi":
 * AuthBasicProvider wsgi) and WSGIAuthGroupScript (the authz provider
 * "wsgi-group": Require wsgi-group NAME...), as in mod_wsgi.
 */
#include "mod_sysgi.h"

#include "http_core.h"
#include "http_request.h"
#include "mod_auth.h"
#include "apr_strings.h"

APLOG_USE_MODULE(sysgi);

static sysgi_dir_config *dir_config(request_rec *r) {
  return ap_get_module_config(r->per_dir_config, &sysgi_module);
}

/* The request for an auth script: its own application-group= if given,
 * else the group the application of this URL would run in. */
static int prepare(request_rec *r, const sysgi_script *s, const char *what,
                   sysgi_request *req) {
  if (!s) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "mod_sysgi: %s is used here but no %s is configured for "
                  "this location", what,
                  !strcmp(what, "AuthBasicProvider wsgi") ? "WSGIAuthUserScript"
                                                          : "WSGIAuthGroupScript");
    return SYSGI_E_CONFIG;
  }
  if (sysgi_ap_runtime_check(r) != SYSGI_OK)
    return SYSGI_E_NOPYTHON;
  sysgi_ap_build_request(r, s->filename, s->application_group, NULL, req);
  return SYSGI_OK;
}

static int check_access(request_rec *r) {
  sysgi_dir_config *dc = dir_config(r);
  sysgi_request req;
  const char *host;
  int rc;
  if (!dc->access_script)
    return DECLINED;
  if ((rc = prepare(r, dc->access_script, "WSGIAccessScript", &req)))
    return rc == SYSGI_E_NOPYTHON ? HTTP_SERVICE_UNAVAILABLE
                                  : HTTP_INTERNAL_SERVER_ERROR;
  /* The client's name if HostnameLookups found one, else its address (as
   * mod_wsgi), seen through mod_remoteip when that is loaded. */
  host = ap_get_useragent_host(r, REMOTE_NAME, NULL);
  rc = sysgi_allow_access(&req, host);
  if (rc == 1)
    return OK;
  if (rc == 0) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "mod_sysgi: client denied by WSGIAccessScript %s: %s",
                  dc->access_script->filename, r->filename);
    return HTTP_FORBIDDEN;
  }
  ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                "mod_sysgi: WSGIAccessScript %s failed: %s",
                dc->access_script->filename, sysgi_strerror(rc));
  return rc == SYSGI_E_NOPYTHON ? HTTP_SERVICE_UNAVAILABLE
                                : HTTP_INTERNAL_SERVER_ERROR;
}

static authn_status check_password(request_rec *r, const char *user,
                                   const char *password) {
  sysgi_dir_config *dc = dir_config(r);
  sysgi_request req;
  int rc;
  if (prepare(r, dc->auth_user_script, "AuthBasicProvider wsgi", &req))
    return AUTH_GENERAL_ERROR;
  {
    char renamed[1024];
    rc = sysgi_check_password_user(&req, user, password, renamed,
                                   sizeof renamed);
    if (rc == 1 && renamed[0])
      r->user = apr_pstrdup(r->pool, renamed);
  }
  switch (rc) {
  case 1:
    return AUTH_GRANTED;
  case 0:
    return AUTH_DENIED;
  case SYSGI_AUTH_NO_USER:
    return AUTH_USER_NOT_FOUND;
  default:
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "mod_sysgi: WSGIAuthUserScript %s failed: %s",
                  dc->auth_user_script->filename, sysgi_strerror(rc));
    return AUTH_GENERAL_ERROR;
  }
}

static authz_status check_group(request_rec *r, const char *require_args,
                                const void *parsed) {
  sysgi_dir_config *dc = dir_config(r);
  sysgi_request req;
  char **groups = NULL;
  size_t n = 0, i;
  const char *t = require_args, *w;
  int rc, granted = 0;
  if (!r->user)
    return AUTHZ_DENIED_NO_USER;
  if (prepare(r, dc->auth_group_script, "Require wsgi-group", &req))
    return AUTHZ_GENERAL_ERROR;
  rc = sysgi_groups_for_user(&req, r->user, &groups, &n);
  if (rc < 0) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "mod_sysgi: WSGIAuthGroupScript %s failed: %s",
                  dc->auth_group_script->filename, sysgi_strerror(rc));
    return AUTHZ_GENERAL_ERROR;
  }
  while (!granted && *(w = ap_getword_conf(r->pool, &t))) {
    for (i = 0; i < n && !granted; i++)
      granted = !strcmp(groups[i], w);
  }
  sysgi_free_groups(groups, n);
  if (granted)
    return AUTHZ_GRANTED;
  ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                "mod_sysgi: user '%s' is in none of the groups '%s'", r->user,
                require_args);
  return AUTHZ_DENIED;
}

static const authn_provider authn_wsgi = {check_password, NULL};
static const authz_provider authz_wsgi_group = {check_group, NULL};

void sysgi_ap_register_auth_hooks(apr_pool_t *p) {
  /* mod_ssl first: its per-request SSL variables must exist when the access
   * script runs (mod_wsgi 3.4 "New Features" 3). */
  static const char *const after_ssl[] = {"mod_ssl.c", NULL};
  ap_hook_check_access(check_access, after_ssl, NULL, APR_HOOK_MIDDLE,
                       AP_AUTH_INTERNAL_PER_CONF);
  ap_register_auth_provider(p, AUTHN_PROVIDER_GROUP, "wsgi",
                            AUTHN_PROVIDER_VERSION, &authn_wsgi,
                            AP_AUTH_INTERNAL_PER_CONF);
  ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "wsgi-group",
                            AUTHZ_PROVIDER_VERSION, &authz_wsgi_group,
                            AP_AUTH_INTERNAL_PER_CONF);
}
