/*
 * apps.c: the applications of one server and the choice among them per
 * request: the configuration model's mount matcher (longest mount wins,
 * at a '/' boundary), and the application group with its %{...} macros
 * expanded by the model for the listen URL the request came in on.
 */
#include "hs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysgi_config.h"

static char *dup_or(const char *s, const char *dflt) {
  if (!s)
    s = dflt;
  size_t n = strlen(s);
  char *d = malloc(n + 1);
  if (d)
    memcpy(d, s, n + 1);
  return d;
}

/* "" or "/app": no trailing slash, as the model and SCRIPT_NAME want. */
static char *norm_mount(const char *m) {
  size_t ml = m ? strlen(m) : 0;
  while (ml > 0 && m[ml - 1] == '/')
    ml--;
  char *d = malloc(ml + 1);
  if (d) {
    memcpy(d, m, ml);
    d[ml] = '\0';
  }
  return d;
}

static int copy_app(hs_app *d, const sysgi_httpsys_app *a) {
  d->mount = norm_mount(a->mount);
  d->script = dup_or(a->script_filename, "");
  d->group_spec = dup_or(a->application_group, "");
  d->callable = dup_or(a->callable_object, "application");
  d->pass_authorization = a->pass_authorization;
  d->enable_sendfile = a->enable_sendfile;
  d->script_reloading = a->script_reloading;
  d->limit_request_body = a->limit_request_body;
  d->request_timeout_ms = a->request_timeout_ms;
  d->interrupt_timeout_ms = a->interrupt_timeout_ms;
  if (!d->mount || !d->script || !d->group_spec || !d->callable)
    return SYSGI_E_NOMEM;
  return SYSGI_OK;
}

/* host and port of "http://host:port/path/" for %{SERVER}; the wildcards
 * '+' and '*' stand for every name of this machine, so its DNS host name
 * is used (what Apache takes when a virtual host has no ServerName). */
static int copy_listen(hs_listen *l, const char *url) {
  const char *h = strstr(url, "://");
  h = h ? h + 3 : url;
  const char *end = h;
  if (*end == '[')
    end = strchr(end, ']') ? strchr(end, ']') + 1 : end + strlen(end);
  while (*end && *end != ':' && *end != '/')
    end++;
  size_t hl = (size_t)(end - h);
  char host[256];
  if ((hl == 1 && (*h == '+' || *h == '*')) || hl == 0) {
    DWORD n = sizeof host;
    if (!GetComputerNameExA(ComputerNameDnsHostname, host, &n) || n == 0)
      snprintf(host, sizeof host, "localhost");
  } else {
    snprintf(host, sizeof host, "%.*s", (int)hl, h);
  }
  char port[8] = "";
  if (*end == ':') {
    size_t pl = strcspn(end + 1, "/");
    snprintf(port, sizeof port, "%.*s", (int)(pl < 6 ? pl : 6), end + 1);
  }
  l->port_num = (unsigned)strtoul(port[0] ? port : "0", NULL, 10);
  if (!port[0])
    l->port_num = _strnicmp(url, "https:", 6) == 0 ? 443 : 80;
  /* The scheme's own port is left out of %{SERVER}, as mod_wsgi does. */
  if (!strcmp(port, _strnicmp(url, "https:", 6) == 0 ? "443" : "80"))
    port[0] = '\0';
  l->host = dup_or(host, "");
  l->port = dup_or(port, "");
  return l->host && l->port ? SYSGI_OK : SYSGI_E_NOMEM;
}

int hs_apps_init(sysgi_httpsys *srv) {
  const sysgi_httpsys_config *cfg = &srv->cfg;
  sysgi_httpsys_app single;
  const sysgi_httpsys_app *src = cfg->apps;
  size_t n = cfg->n_apps;
  if (n == 0 && cfg->script_filename) {
    memset(&single, 0, sizeof single);
    single.mount = cfg->mount;
    single.script_filename = cfg->script_filename;
    single.application_group = cfg->application_group;
    single.callable_object = cfg->callable_object;
    single.enable_sendfile = cfg->enable_sendfile;
    single.pass_authorization = cfg->pass_authorization;
    single.script_reloading = 1;
    single.limit_request_body = cfg->limits.limit_request_body;
    src = &single;
    n = 1;
  }
  /* No application at all (a service installed before any was
   * configured) is allowed: every request then gets a 404 (request.c). */
  srv->apps = calloc(n ? n : 1, sizeof *srv->apps);
  srv->mounts = calloc(n ? n : 1, sizeof *srv->mounts);
  srv->listen = calloc(cfg->n_urls, sizeof *srv->listen);
  if (!srv->apps || !srv->mounts || !srv->listen)
    return SYSGI_E_NOMEM;
  srv->n_apps = n;
  srv->n_listen = cfg->n_urls;
  for (size_t i = 0; i < n; i++) {
    if (copy_app(&srv->apps[i], &src[i]) != SYSGI_OK)
      return SYSGI_E_NOMEM;
    const char *m = srv->apps[i].mount;
    if (*m && *m != '/') {
      hs_log(srv, SYSGI_LOG_ERR, "mount point %s must start with '/'", m);
      return SYSGI_E_CONFIG;
    }
    srv->mounts[i] = m;
  }
  for (size_t i = 0; i < cfg->n_urls; i++)
    if (copy_listen(&srv->listen[i], cfg->urls[i]) != SYSGI_OK)
      return SYSGI_E_NOMEM;
  /* Nothing of the caller's app table is read after start. */
  srv->cfg.apps = NULL;
  srv->cfg.mount = srv->cfg.script_filename = NULL;
  srv->cfg.application_group = srv->cfg.callable_object = NULL;
  return SYSGI_OK;
}

void hs_apps_free(sysgi_httpsys *srv) {
  for (size_t i = 0; srv->apps && i < srv->n_apps; i++) {
    free(srv->apps[i].mount);
    free(srv->apps[i].script);
    free(srv->apps[i].group_spec);
    free(srv->apps[i].callable);
  }
  for (size_t i = 0; srv->listen && i < srv->n_listen; i++) {
    free(srv->listen[i].host);
    free(srv->listen[i].port);
  }
  free(srv->apps);
  free(srv->mounts);
  free(srv->listen);
  srv->apps = NULL;
  srv->mounts = NULL;
  srv->listen = NULL;
  srv->n_apps = srv->n_listen = 0;
}

const hs_app *hs_app_match(const sysgi_httpsys *srv, const char *path,
                           size_t *mount_len) {
  size_t ml = 0;
  int i = sysgi_mount_match(srv->mounts, srv->n_apps, path,
                            !srv->cfg.case_sensitive_paths, &ml);
  if (i < 0)
    return NULL;
  *mount_len = ml;
  return &srv->apps[i];
}

static const char *process_getenv(void *ctx, const char *name) {
  (void)ctx;
  return getenv(name);
}

/* The listen URL a request came in on: its UrlContext (the URL's index),
 * checked against the local port, since Wine's http.sys reports the
 * context of a '+' URL for requests to other ports; else the first URL of
 * that port. */
static const hs_listen *request_listen(const hs_conn *c) {
  const sysgi_httpsys *srv = c->srv;
  const SOCKADDR *sa = c->req->Address.pLocalAddress;
  unsigned port = 0;
  if (sa && sa->sa_family == AF_INET)
    port = ntohs(((const SOCKADDR_IN *)sa)->sin_port);
  else if (sa && sa->sa_family == AF_INET6)
    port = ntohs(((const SOCKADDR_IN6 *)sa)->sin6_port);
  size_t li = (size_t)c->req->UrlContext;
  if (li < srv->n_listen && (!port || srv->listen[li].port_num == port))
    return &srv->listen[li];
  for (size_t i = 0; i < srv->n_listen; i++)
    if (srv->listen[i].port_num == port)
      return &srv->listen[i];
  return li < srv->n_listen ? &srv->listen[li] : NULL;
}

int hs_app_group(const hs_conn *c, char *out, size_t len) {
  const sysgi_httpsys *srv = c->srv;
  const hs_app *a = c->app;
  const hs_listen *l = request_listen(c);
  int rc = sysgi_expand_group(a->group_spec, l ? l->host : "",
                              l ? l->port : "", a->mount, process_getenv,
                              NULL, out, len);
  if (rc != 0)
    hs_log((sysgi_httpsys *)srv, SYSGI_LOG_ERR,
           "application-group %s of mount '%s' cannot be expanded: %s",
           a->group_spec, *a->mount ? a->mount : "/",
           rc == SYSGI_E_TOO_LARGE ? "the name is too long"
                                   : "an unknown %{...} macro");
  return rc;
}
