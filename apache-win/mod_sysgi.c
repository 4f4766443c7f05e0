/*
 * mod_sysgi.c: the module table and the hooks it registers. The work is
 * elsewhere: directives in config.c, Python's life in runtime.c, requests
 * in handler.c and frontend.c, access/authn/authz in auth.c.
 *
 *   LoadModule sysgi_module modules/mod_sysgi.so
 */
#include "mod_sysgi.h"

#include "http_core.h"
#include "http_request.h"
#include "ap_release.h"
#include "apr_strings.h"


static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp) {
  /* Directives read since the last (re)start begin from a clean slate. */
  sysgi_reset_globals(pconf);
  return OK;
}

char sysgi_ap_version[32] = "2.4.0";

static int post_config(apr_pool_t *pconf, apr_pool_t *plog,
                       apr_pool_t *ptemp, server_rec *s) {
  /* "Server: Apache/2.4 ... mod_sysgi/0.1.0 Python/3.11", like mod_wsgi,
   * with the version of the Python library actually loaded (on Windows the
   * one WSGIPythonHome names, whatever the build's headers were). Without
   * a loadable Python the banner names none; child_init logs why. On
   * Windows only the child (which sends the banner) loads the DLL: the
   * parent never touches Python. */
  char pyver[32] = "";
  if (sysgi_ap_serving_process(ptemp) && sysgi_ap_load_python() == 0)
    sysgi_python_version(pyver, sizeof pyver);
  ap_add_version_component(
      pconf, pyver[0] ? apr_psprintf(ptemp, "mod_sysgi/%s Python/%s",
                                     sysgi_version(), pyver)
                      : apr_psprintf(ptemp, "mod_sysgi/%s", sysgi_version()));
  sysgi_ap_retrieve_ssl_fns();
  ap_version_t v;
  ap_get_server_revision(&v);
  apr_snprintf(sysgi_ap_version, sizeof sysgi_ap_version, "%d.%d.%d",
               v.major, v.minor, v.patch);
  sysgi_ap_log_notices(s);
  return OK;
}

static void register_hooks(apr_pool_t *p) {
  /* After mod_alias (a plain Alias or Redirect of the same URL is the more
   * specific intent), before userdir/vhost_alias, as mod_wsgi does. */
  static const char *const translate_pre[] = {"mod_alias.c", NULL};
  static const char *const translate_succ[] = {"mod_userdir.c",
                                               "mod_vhost_alias.c", NULL};
  ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
  ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
  /* The environment Python reads (WSGIPythonHashSeed & co) first. */
  ap_hook_child_init(sysgi_ap_compat_child_init, NULL, NULL, APR_HOOK_FIRST);
  ap_hook_child_init(sysgi_ap_child_init, NULL, NULL, APR_HOOK_MIDDLE);
  ap_hook_translate_name(sysgi_ap_translate_name, translate_pre,
                         translate_succ, APR_HOOK_MIDDLE);
  ap_hook_handler(sysgi_ap_handler, NULL, NULL, APR_HOOK_MIDDLE);
  sysgi_ap_register_auth_hooks(p);
}

AP_DECLARE_MODULE(sysgi) = {
    STANDARD20_MODULE_STUFF,
    sysgi_create_dir_config,
    sysgi_merge_dir_config,
    sysgi_create_server_config,
    sysgi_merge_server_config,
    sysgi_directives,
    register_hooks,
#ifdef AP_MODULE_FLAG_NONE
    AP_MODULE_FLAG_NONE
#endif
};
