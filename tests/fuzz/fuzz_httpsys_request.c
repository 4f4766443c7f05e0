/*
 * fuzz_httpsys_request.c: the http.sys request translation
 * (httpsys/src/request.c: HTTP_REQUEST -> the CGI variables of a core
 * request, path normalisation and mount choice included), compiled
 * natively against shim/ with the request built from the input.
 *
 * Input: 4 bytes (verb, major, minor version, flags: bit 0 TLS, bit 1
 * pass-authorization, bit 2 IPv6 addresses, bit 3 case-sensitive mounts),
 * then fields separated by '\n': the mounts (',' separated, at most 4),
 * the unknown verb, the raw URL, then one header per field: a first byte
 * below 41 is a known header id and the rest its value, anything else an
 * unknown header "name:value". Every string handed to request.c is an
 * exact-size heap copy without a NUL, as http.sys gives lengths.
 * Invariants: the result is 0, 400 or 404; on 0 the variables every
 * request has are there, PATH_INFO has no '.', '..' or empty segment,
 * SCRIPT_NAME is a configured mount, credentials are passed only when
 * allowed, every variable name is a CGI name.
 */
#include <stdarg.h>
#include <stdio.h>

#include "fuzz_util.h"
#include "hs.h"
#include "sysgi_config.h"

void hs_log(struct sysgi_httpsys *srv, int level, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  (void)srv;
  (void)level;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
}

/* As apps.c (which needs the rest of Win32). */
const hs_app *hs_app_match(const struct sysgi_httpsys *srv, const char *path,
                           size_t *mount_len) {
  size_t ml = 0;
  int i = sysgi_mount_match(srv->mounts, srv->n_apps, path,
                            !srv->cfg.case_sensitive_paths, &ml);
  if (i < 0)
    return NULL;
  *mount_len = ml;
  return &srv->apps[i];
}

/* An exact-size copy without a NUL (NULL for an empty one, sometimes). */
static char *raw(const char *s, size_t n, USHORT *len) {
  char *p = malloc(n ? n : 1);
  if (!p)
    abort();
  memcpy(p, s, n);
  *len = (USHORT)(n > 65535 ? 65535 : n);
  return p;
}

static const char *var(const hs_conn *c, const char *name) {
  for (size_t i = 0; i < c->n_vars; i++)
    if (!strcmp(c->vars[i].name, name))
      return c->vars[i].value;
  return NULL;
}

static int ci_contains(const char *s, size_t n, const char *word) {
  size_t w = strlen(word);
  for (size_t i = 0; i + w <= n; i++)
    if (!_strnicmp(s + i, word, w))
      return 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4)
    return 0;
  fz in = {data + 4, data + size};
  unsigned flags = data[3];
  void *owned[64];
  size_t n_owned = 0;

  struct sysgi_httpsys srv;
  memset(&srv, 0, sizeof srv);
  srv.cfg.case_sensitive_paths = (flags & 8) != 0;
  hs_app apps[4];
  const char *mounts[4];
  char *mount_field = fz_field(&in, '\n', NULL);
  fz mf = {(const uint8_t *)(mount_field ? mount_field : ""),
           (const uint8_t *)(mount_field ? mount_field + strlen(mount_field)
                                         : "")};
  while (srv.n_apps < 4) {
    char *m = fz_field(&mf, ',', NULL);
    if (!m)
      break;
    if (sysgi_mount_normalize(m) != 0) {
      free(m);
      continue;
    }
    hs_app *a = &apps[srv.n_apps];
    memset(a, 0, sizeof *a);
    a->mount = m;
    a->script = (char *)(srv.n_apps & 1 ? "" : "/srv/app.py");
    a->pass_authorization = (flags & 2) != 0;
    mounts[srv.n_apps++] = m;
  }
  free(mount_field);
  srv.apps = apps;
  srv.mounts = mounts;

  HTTP_REQUEST req;
  memset(&req, 0, sizeof req);
  req.Verb = (HTTP_VERB)(data[0] % (HttpVerbMaximum + 2));
  req.Version.MajorVersion = data[1];
  req.Version.MinorVersion = data[2];
  req.RequestId = 0x1234;
  if (flags & 1)
    req.pSslInfo = (PHTTP_SSL_INFO)&req; /* only compared with NULL */
  struct sockaddr_in l4 = {0}, r4 = {0};
  struct sockaddr_in6 l6 = {0}, r6 = {0};
  l4.sin_family = r4.sin_family = AF_INET;
  l4.sin_port = htons(8080);
  l6.sin6_family = r6.sin6_family = AF_INET6;
  l6.sin6_port = htons(443);
  r6.sin6_addr.s6_addr[15] = 1;
  req.Address.pLocalAddress = (flags & 4) ? (SOCKADDR *)&l6 : (SOCKADDR *)&l4;
  req.Address.pRemoteAddress = (flags & 4) ? (SOCKADDR *)&r6 : (SOCKADDR *)&r4;

  size_t n;
  char *f = fz_field(&in, '\n', &n);
  if (f && n) {
    req.pUnknownVerb = owned[n_owned++] = raw(f, n, &req.UnknownVerbLength);
  }
  free(f);
  f = fz_field(&in, '\n', &n);
  if (f) {
    req.pRawUrl = owned[n_owned++] = raw(f, n, &req.RawUrlLength);
  }
  free(f);
  HTTP_UNKNOWN_HEADER unknown[16];
  int auth_like = 0;
  while (n_owned < 60 && (f = fz_field(&in, '\n', &n)) != NULL) {
    unsigned char id = n ? (unsigned char)f[0] : 255;
    if (id < HttpHeaderRequestMaximum) {
      HTTP_KNOWN_HEADER *h = &req.Headers.KnownHeaders[id];
      h->pRawValue = owned[n_owned++] = raw(f + 1, n - 1, &h->RawValueLength);
    } else if (req.Headers.UnknownHeaderCount < 16) {
      HTTP_UNKNOWN_HEADER *h = &unknown[req.Headers.UnknownHeaderCount++];
      const char *colon = memchr(f, ':', n);
      size_t nl = colon ? (size_t)(colon - f) : n;
      h->pName = owned[n_owned++] = raw(f, nl, &h->NameLength);
      if (colon)
        h->pRawValue = owned[n_owned++] =
            raw(colon + 1, n - nl - 1, &h->RawValueLength);
      else
        h->pRawValue = NULL, h->RawValueLength = 0;
      auth_like |= ci_contains(f, nl, "authorization");
    }
    free(f);
  }
  req.Headers.pUnknownHeaders = unknown;

  hs_conn *c = calloc(1, sizeof *c);
  if (!c)
    abort();
  c->srv = &srv;
  c->req = &req;
  int rc = hs_request_map(c);
  if (rc != 0 && rc != 400 && rc != 404)
    abort();
  if (rc == 0) {
    const char *must[] = {"REQUEST_METHOD", "REQUEST_URI", "QUERY_STRING",
                          "SCRIPT_NAME", "PATH_INFO", "SERVER_PROTOCOL",
                          "SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR",
                          "REQUEST_SCHEME"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
      if (!var(c, must[i]))
        abort();
    const char *pi = var(c, "PATH_INFO"), *sn = var(c, "SCRIPT_NAME");
    if (*pi && pi[0] != '/')
      abort();
    if (strstr(pi, "//") || strstr(pi, "/./") || strstr(pi, "/../"))
      abort();
    size_t pl = strlen(pi);
    if ((pl >= 2 && !strcmp(pi + pl - 2, "/.")) ||
        (pl >= 3 && !strcmp(pi + pl - 3, "/..")))
      abort();
    int found = 0;
    for (size_t i = 0; i < srv.n_apps; i++)
      found |= !strcmp(mounts[i], sn);
    if (!found || c->app == NULL)
      abort();
    if (!auth_like && var(c, "HTTP_PROXY_AUTHORIZATION"))
      abort();
    if (!auth_like && !(flags & 2) && var(c, "HTTP_AUTHORIZATION"))
      abort();
    for (size_t i = 0; i < c->n_vars; i++) {
      const char *nm = c->vars[i].name;
      if (!strncmp(nm, "HTTP_", 5))
        for (const char *p = nm + 5; *p; p++)
          if ((*p >= 'a' && *p <= 'z') || *p == '-' || (unsigned char)*p < 0x21 ||
              (unsigned char)*p > 0x7e)
            abort();
    }
  }
  hs_request_free(c);
  free(c);
  for (size_t i = 0; i < n_owned; i++)
    free(owned[i]);
  for (size_t i = 0; i < srv.n_apps; i++)
    free(apps[i].mount);
  return 0;
}
