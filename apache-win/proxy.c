/*
 * proxy.c: mod_wsgi's WSGITrustedProxyHeaders and WSGITrustedProxies. The
 * headers named by WSGITrustedProxyHeaders rewrite what the application
 * sees (REMOTE_ADDR, HTTP_HOST, SERVER_NAME, SERVER_PORT, SCRIPT_NAME, the
 * scheme) when the peer is a trusted proxy (any peer when no
 * WSGITrustedProxies is given); the other headers of the same kind are
 * removed whatever the peer, so a client cannot spoof a synonym the proxy
 * does not set.
 */
#include "mod_sysgi.h"

#include "apr_lib.h"
#include "apr_network_io.h"
#include "apr_strings.h"

APLOG_USE_MODULE(sysgi);

enum kind { K_CLIENT = 1, K_HOST, K_SERVER, K_PORT, K_SCRIPT, K_SCHEME,
            K_COUNT };
enum how { SET_ADDR_LIST, SET_VERBATIM, SET_SCHEME, SET_SCHEME_BOOL };

static const struct {
  const char *env;  /* the header as a CGI variable */
  int kind, how;
  const char *var;  /* what it sets */
} headers[] = {
    {"HTTP_X_FORWARDED_FOR", K_CLIENT, SET_ADDR_LIST, "REMOTE_ADDR"},
    {"HTTP_X_CLIENT_IP", K_CLIENT, SET_VERBATIM, "REMOTE_ADDR"},
    {"HTTP_X_REAL_IP", K_CLIENT, SET_VERBATIM, "REMOTE_ADDR"},
    {"HTTP_X_FORWARDED_HOST", K_HOST, SET_VERBATIM, "HTTP_HOST"},
    {"HTTP_X_HOST", K_HOST, SET_VERBATIM, "HTTP_HOST"},
    {"HTTP_X_FORWARDED_SERVER", K_SERVER, SET_VERBATIM, "SERVER_NAME"},
    {"HTTP_X_FORWARDED_PORT", K_PORT, SET_VERBATIM, "SERVER_PORT"},
    {"HTTP_X_SCRIPT_NAME", K_SCRIPT, SET_VERBATIM, "SCRIPT_NAME"},
    {"HTTP_X_FORWARDED_SCRIPT_NAME", K_SCRIPT, SET_VERBATIM, "SCRIPT_NAME"},
    {"HTTP_X_FORWARDED_PROTO", K_SCHEME, SET_SCHEME, "HTTPS"},
    {"HTTP_X_FORWARDED_SCHEME", K_SCHEME, SET_SCHEME, "HTTPS"},
    {"HTTP_X_SCHEME", K_SCHEME, SET_SCHEME, "HTTPS"},
    {"HTTP_X_FORWARDED_HTTPS", K_SCHEME, SET_SCHEME_BOOL, "HTTPS"},
    {"HTTP_X_FORWARDED_SSL", K_SCHEME, SET_SCHEME_BOOL, "HTTPS"},
    {"HTTP_X_HTTPS", K_SCHEME, SET_SCHEME_BOOL, "HTTPS"},
};
#define N_HEADERS (sizeof headers / sizeof headers[0])

static int find(const char *env) {
  size_t i;
  for (i = 0; i < N_HEADERS; i++)
    if (!strcmp(headers[i].env, env))
      return (int)i;
  return -1;
}

/* "X-Forwarded-For" -> "HTTP_X_FORWARDED_FOR". */
static char *to_env(apr_pool_t *p, const char *h) {
  char *e = apr_pstrcat(p, "HTTP_", h, NULL), *c;
  for (c = e + 5; *c; c++)
    *c = *c == '-' ? '_' : (char)apr_toupper(*c);
  return e;
}

const char *sysgi_ap_set_trusted_proxy_headers(cmd_parms *cmd, void *mconfig,
                                               const char *args) {
  sysgi_dir_config *dc = mconfig;
  if (!*args)
    return apr_psprintf(cmd->pool, "%s needs header names", cmd->cmd->name);
  if (!dc->trusted_proxy_headers)
    dc->trusted_proxy_headers = apr_array_make(cmd->pool, 4, sizeof(char *));
  while (*args) {
    const char *h = ap_getword_conf(cmd->pool, &args);
    char *e;
    if (!*h)
      continue;
    e = to_env(cmd->pool, h);
    if (find(e) < 0)
      return apr_psprintf(cmd->pool, "%s: '%s' is not a proxy header mod_wsgi "
                          "knows (X-Forwarded-For, X-Client-IP, X-Real-IP, "
                          "X-Forwarded-Host, X-Host, X-Forwarded-Server, "
                          "X-Forwarded-Port, X-Script-Name, "
                          "X-Forwarded-Script-Name, X-Forwarded-Proto, "
                          "X-Forwarded-Scheme, X-Scheme, X-Forwarded-HTTPS, "
                          "X-Forwarded-SSL, X-HTTPS)", cmd->cmd->name, h);
    APR_ARRAY_PUSH(dc->trusted_proxy_headers, const char *) = e;
  }
  return NULL;
}

const char *sysgi_ap_set_trusted_proxies(cmd_parms *cmd, void *mconfig,
                                         const char *args) {
  sysgi_dir_config *dc = mconfig;
  if (!*args)
    return apr_psprintf(cmd->pool, "%s needs addresses", cmd->cmd->name);
  if (!dc->trusted_proxies)
    dc->trusted_proxies =
        apr_array_make(cmd->pool, 4, sizeof(apr_ipsubnet_t *));
  while (*args) {
    char *w = ap_getword_conf(cmd->pool, &args), *mask;
    apr_ipsubnet_t *sn;
    if (!*w)
      continue;
    if ((mask = strchr(w, '/')))
      *mask++ = '\0';
    if (apr_ipsubnet_create(&sn, w, mask, cmd->pool) != APR_SUCCESS)
      return apr_psprintf(cmd->pool, "%s: '%s%s%s' is not an IP address or "
                          "network", cmd->cmd->name, w, mask ? "/" : "",
                          mask ? mask : "");
    APR_ARRAY_PUSH(dc->trusted_proxies, apr_ipsubnet_t *) = sn;
  }
  return NULL;
}

/* Four dotted decimals from 0 to 255 without leading zeros (which
 * inet_aton would read as octal). */
static int dotted_quad(const char *s) {
  int dots = 0, digits = 0, value = 0;
  for (; *s; s++) {
    if (*s == '.') {
      if (!digits || ++dots > 3)
        return 0;
      digits = value = 0;
    } else if (apr_isdigit(*s) && !(digits && value == 0)) {
      value = value * 10 + (*s - '0');
      if (++digits > 3 || value > 255)
        return 0;
    } else {
      return 0;
    }
  }
  return dots == 3 && digits;
}

/* Whether `s` is a literal address, in the one form every resolver reads
 * as a number: a dotted quad, or IPv6 (hex digits and ':', an embedded
 * IPv4 tail a dotted quad) that APR's strict parser takes. Anything else
 * would make apr_sockaddr_info_get resolve it: a DNS query per request on
 * a name the client chose in X-Forwarded-For (found by tests/fuzz). */
static int literal_ip(apr_pool_t *p, const char *s) {
  apr_ipsubnet_t *sn;
  const char *c, *tail;
  int digits;
  size_t n;
  if (!strchr(s, ':'))
    return dotted_quad(s) &&
           apr_ipsubnet_create(&sn, s, NULL, p) == APR_SUCCESS;
  /* APR's parser is laxer than the C library's in two places (a single
   * ':' at the end, more than 4 digits in a group), where the resolver
   * would go to DNS: those are refused here. */
  for (c = s, digits = 0; *c; c++) {
    if (*c == ':' || *c == '.') /* the IPv4 tail: dotted_quad below */
      digits = 0;
    else if (apr_isxdigit(*c) && ++digits <= 4)
      continue;
    else
      return 0;
  }
  n = strlen(s);
  if ((s[0] == ':' && s[1] != ':') ||
      (s[n - 1] == ':' && (n < 2 || s[n - 2] != ':')))
    return 0;
  tail = strrchr(s, ':') + 1;
  if (strchr(tail, '.') && !dotted_quad(tail))
    return 0;
  return apr_ipsubnet_create(&sn, s, NULL, p) == APR_SUCCESS;
}

static int trusted(request_rec *r, const apr_array_header_t *nets,
                   const char *ip) {
  apr_sockaddr_t *sa;
  int i;
  if (!ip || !literal_ip(r->pool, ip) ||
      apr_sockaddr_info_get(&sa, ip, APR_UNSPEC, 0, 0, r->pool) !=
          APR_SUCCESS)
    return 0;
  for (i = 0; i < nets->nelts; i++)
    if (apr_ipsubnet_test(APR_ARRAY_IDX(nets, i, apr_ipsubnet_t *), sa))
      return 1;
  return 0;
}

static char *trim(char *s) {
  char *e;
  while (apr_isspace(*s))
    s++;
  e = s + strlen(s);
  while (e > s && apr_isspace(e[-1]))
    *--e = '\0';
  return s;
}

/* X-Forwarded-For: without trusted proxies, the first address is the
 * client; with them, the address just before the trusted ones at the end
 * (the list is kept from there on). */
static void forwarded_for(request_rec *r, const apr_array_header_t *nets,
                          const char *value) {
  apr_array_header_t *items = apr_array_make(r->pool, 4, sizeof(char *));
  char *list = apr_pstrdup(r->pool, value), *tok, *state;
  const char *out;
  int i, first;
  for (tok = apr_strtok(list, ",", &state); tok;
       tok = apr_strtok(NULL, ",", &state)) {
    tok = trim(tok);
    if (*tok) /* empty elements are ignored (RFC 9110 5.6.1) */
      APR_ARRAY_PUSH(items, char *) = tok;
  }
  if (!items->nelts)
    return;
  if (!nets) {
    apr_table_setn(r->subprocess_env, "REMOTE_ADDR",
                   APR_ARRAY_IDX(items, 0, char *));
    return;
  }
  first = items->nelts - 1;
  while (first >= 0 && trusted(r, nets, APR_ARRAY_IDX(items, first, char *)))
    first--;
  if (first < 0)
    first = 0; /* every hop trusted: the first one is the client */
  apr_table_setn(r->subprocess_env, "REMOTE_ADDR",
                 APR_ARRAY_IDX(items, first, char *));
  out = APR_ARRAY_IDX(items, first, char *);
  for (i = first + 1; i < items->nelts; i++)
    out = apr_pstrcat(r->pool, out, ", ", APR_ARRAY_IDX(items, i, char *),
                      NULL);
  apr_table_setn(r->subprocess_env, "HTTP_X_FORWARDED_FOR", out);
}

static void apply(request_rec *r, const sysgi_dir_config *dc, int k,
                  const char *v) {
  apr_table_t *e = r->subprocess_env;
  switch (headers[k].how) {
  case SET_ADDR_LIST:
    forwarded_for(r, dc->trusted_proxies, v);
    break;
  case SET_VERBATIM:
    apr_table_setn(e, headers[k].var, v);
    if (headers[k].kind == K_SCRIPT)
      apr_table_setn(e, "mod_wsgi.mount_point", v);
    break;
  case SET_SCHEME:
    if (!strcasecmp(v, "https"))
      apr_table_setn(e, "HTTPS", "1");
    else if (!strcasecmp(v, "http"))
      apr_table_unset(e, "HTTPS");
    break;
  default:
    if (!strcasecmp(v, "on") || !strcasecmp(v, "true") || !strcmp(v, "1"))
      apr_table_setn(e, "HTTPS", "1");
    else if (!strcasecmp(v, "off") || !strcasecmp(v, "false") ||
             !strcmp(v, "0"))
      apr_table_unset(e, "HTTPS");
  }
}

void sysgi_ap_apply_proxy_headers(request_rec *r, const sysgi_dir_config *dc) {
  const char *kept[K_COUNT] = {NULL};
  int matched[K_COUNT] = {0};
  int peer_ok, i;
  size_t j;
  if (!dc->trusted_proxy_headers)
    return;
  peer_ok = !dc->trusted_proxies ||
            trusted(r, dc->trusted_proxies,
                    apr_table_get(r->subprocess_env, "REMOTE_ADDR"));
  for (i = 0; i < dc->trusted_proxy_headers->nelts; i++) {
    const char *name = APR_ARRAY_IDX(dc->trusted_proxy_headers, i, char *);
    int k = find(name);
    const char *v;
    if (k < 0)
      continue;
    matched[headers[k].kind] = 1;
    /* In the configured order: a later header of a kind wins, as in
     * mod_wsgi. */
    if (!peer_ok || !(v = apr_table_get(r->subprocess_env, name)))
      continue;
    apply(r, dc, k, v);
    kept[headers[k].kind] = name;
  }
  /* The untrusted synonyms of every kind the administrator named go. */
  for (j = 0; j < N_HEADERS; j++)
    if (matched[headers[j].kind] &&
        (!kept[headers[j].kind] || strcmp(kept[headers[j].kind],
                                          headers[j].env)))
      apr_table_unset(r->subprocess_env, headers[j].env);
}
