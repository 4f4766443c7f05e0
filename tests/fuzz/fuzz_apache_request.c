/*
 * fuzz_apache_request.c: mod_sysgi's request translation, request_rec ->
 * sysgi_request (apache-win/handler.c: translate_name, the CGI variables,
 * WSGIMapHEADToGET, WSGIPassAuthorization, the application group; and
 * apache-win/proxy.c: WSGITrustedProxyHeaders / WSGITrustedProxies),
 * natively against Debian's apache2-dev headers and the real APR, with a
 * request_rec filled from the input.
 *
 * The httpd functions these files call live in the httpd binary, not in
 * a library: below are stand-ins. ap_add_common_vars / ap_add_cgi_vars do
 * what httpd's do with the headers and the URL (HTTP_* names as httpd
 * makes them, REQUEST_URI, QUERY_STRING, SCRIPT_NAME, PATH_INFO); the
 * rest are constants. Only handler.c and proxy.c are under test.
 *
 * Input: byte 0 flags (bit 0 case-insensitive mounts, bit 1
 * WSGIPassAuthorization, bit 2 WSGITrustedProxies 10.0.0.0/8 ::1,
 * bit 3 HEAD, bits 4-5 WSGIMapHEADToGET Off/On/Auto, bit 6 an output
 * filter below AP_FTYPE_PROTOCOL); bytes 1-2 which proxy headers are
 * trusted (bit i: the i-th of proxy.c's table); then '\n'-separated
 * fields: the WSGIScriptAlias mounts (',' separated, at most 4), the
 * method, the unparsed URI, the peer address, then "Name: value" headers.
 * Invariants: no crash or leak; no client string reaches the resolver
 * (getaddrinfo below); every variable has a name and a value;
 * after the proxy headers at most one header of each trusted kind is
 * left, REMOTE_ADDR is set, and a REQUEST_METHOD of GET for a HEAD only
 * when WSGIMapHEADToGET says so.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT (apr-1-config passes it too) */
#endif
#include <dlfcn.h>
#include <netdb.h>
#include <arpa/inet.h>

#include "mod_sysgi.h"

#include "apr_lib.h"
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "util_script.h"

#include <stdio.h>
#include <stdlib.h>

#include "fuzz_util.h"

/* ---- stand-ins for httpd (the binary) and the rest of mod_sysgi -------- */

module AP_MODULE_DECLARE_DATA sysgi_module = {STANDARD20_MODULE_STUFF};
char sysgi_ap_version[32] = "2.4.55";
static int case_insensitive;

int sysgi_ap_case_insensitive(void) { return case_insensitive; }
sysgi_ap_conn *sysgi_ap_conn_create(request_rec *r) {
  return (sysgi_ap_conn *)r;
}
const sysgi_frontend *sysgi_ap_frontend(void) { return NULL; }
int sysgi_ap_conn_override_status(const sysgi_ap_conn *c) {
  (void)c;
  return 0;
}
int sysgi_ap_runtime_check(request_rec *r) {
  (void)r;
  return SYSGI_E_NOPYTHON;
}
int sysgi_handle(const sysgi_request *req) {
  (void)req;
  abort(); /* the handler is not driven */
}
int sysgi_dispatch(const sysgi_request *req, char *g, size_t gl, char *c,
                   size_t cl) {
  (void)req, (void)g, (void)gl, (void)c, (void)cl;
  abort();
}

const char *sysgi_strerror(int rc) {
  (void)rc;
  return "error";
}
AP_DECLARE(char *) ap_getword_conf(apr_pool_t *p, const char **line) {
  (void)p, (void)line;
  abort(); /* configuration time only */
}

AP_DECLARE(void) ap_log_rerror_(const char *file, int line, int module_index,
                                int level, apr_status_t status,
                                const request_rec *r, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  (void)file, (void)line, (void)module_index, (void)level, (void)status;
  va_start(ap, fmt);
  apr_vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  (void)r;
}
AP_DECLARE(apr_port_t) ap_get_server_port(const request_rec *r) {
  return r->parsed_uri.port ? r->parsed_uri.port : 8080;
}
AP_DECLARE(const char *) ap_get_server_name(request_rec *r) {
  return r->hostname ? r->hostname : "www.example.com";
}
AP_DECLARE(int) ap_run_generate_log_id(const conn_rec *c, const request_rec *r,
                                       const char **id) {
  (void)c, (void)r;
  *id = "fuzz-log-id";
  return OK;
}
AP_DECLARE(const char *) ap_run_http_scheme(const request_rec *r) {
  (void)r;
  return "http";
}
AP_DECLARE(int) ap_regexec(const ap_regex_t *preg, const char *string,
                           apr_size_t nmatch, ap_regmatch_t *pmatch,
                           int eflags) {
  (void)preg, (void)string, (void)nmatch, (void)pmatch, (void)eflags;
  return 1; /* no regex aliases here */
}
AP_DECLARE(char *) ap_pregsub(apr_pool_t *p, const char *input,
                              const char *source, apr_size_t nmatch,
                              ap_regmatch_t pmatch[]) {
  (void)p, (void)input, (void)source, (void)nmatch, (void)pmatch;
  abort();
}
AP_DECLARE(char *) ap_server_root_relative(apr_pool_t *p, const char *fname) {
  return apr_pstrdup(p, fname);
}
/* As httpd's util_script.c: where path_info starts in uri. */
AP_DECLARE(int) ap_find_path_info(const char *uri, const char *path_info) {
  int lu = (int)strlen(uri), lp = (int)strlen(path_info);
  while (lu-- && lp-- && uri[lu] == path_info[lp]) {
    if (path_info[lp] == '/')
      while (lu && uri[lu - 1] == '/')
        lu--;
  }
  if (lu == -1)
    lu = 0;
  while (uri[lu] != '\0' && uri[lu] != '/')
    lu++;
  return lu;
}
/* httpd's http2env: "HTTP_" + upper case, other than alnum -> '_'; httpd
 * 2.4 drops names with characters other than alnum and '-'. */
static char *http2env(request_rec *r, const char *w) {
  char *res = apr_pstrcat(r->pool, "HTTP_", w, NULL), *cp = res + 5;
  for (; *cp; cp++) {
    if (apr_isalnum(*cp))
      *cp = (char)apr_toupper(*cp);
    else if (*cp == '-')
      *cp = '_';
    else
      return NULL;
  }
  return res;
}
AP_DECLARE(void) ap_add_common_vars(request_rec *r) {
  const apr_array_header_t *a = apr_table_elts(r->headers_in);
  const apr_table_entry_t *h = (const apr_table_entry_t *)a->elts;
  apr_table_t *e = r->subprocess_env;
  int i;
  for (i = 0; i < a->nelts; i++) {
    if (!h[i].key)
      continue;
    if (!strcasecmp(h[i].key, "Content-type"))
      apr_table_addn(e, "CONTENT_TYPE", h[i].val);
    else if (!strcasecmp(h[i].key, "Content-length"))
      apr_table_addn(e, "CONTENT_LENGTH", h[i].val);
    else if (!strcasecmp(h[i].key, "Authorization") ||
             !strcasecmp(h[i].key, "Proxy-Authorization"))
      continue;
    else {
      char *k = http2env(r, h[i].key);
      if (k)
        apr_table_addn(e, k, h[i].val);
    }
  }
  apr_table_addn(e, "SERVER_NAME", ap_get_server_name(r));
  apr_table_addn(e, "SERVER_PORT", "8080");
  apr_table_addn(e, "REMOTE_ADDR", r->useragent_ip);
  apr_table_addn(e, "PATH", "/usr/bin:/bin");
}
AP_DECLARE(void) ap_add_cgi_vars(request_rec *r) {
  apr_table_t *e = r->subprocess_env;
  apr_table_setn(e, "GATEWAY_INTERFACE", "CGI/1.1");
  apr_table_setn(e, "SERVER_PROTOCOL", r->protocol);
  apr_table_setn(e, "REQUEST_METHOD", r->method);
  apr_table_setn(e, "QUERY_STRING", r->args ? r->args : "");
  apr_table_setn(e, "REQUEST_URI", r->unparsed_uri);
  if (r->path_info && *r->path_info) {
    int n = ap_find_path_info(r->uri, r->path_info);
    apr_table_setn(e, "SCRIPT_NAME", apr_pstrndup(r->pool, r->uri, (apr_size_t)n));
    apr_table_setn(e, "PATH_INFO", r->path_info);
  } else {
    apr_table_setn(e, "SCRIPT_NAME", r->uri);
  }
}

/* A header value is the client's word: the translation must never hand it
 * to the resolver (a DNS query per request, chosen by the client). Every
 * getaddrinfo of this process goes through here; a name that is not a
 * literal address aborts. */
int getaddrinfo(const char *node, const char *service,
                const struct addrinfo *hints, struct addrinfo **res) {
  static int (*real)(const char *, const char *, const struct addrinfo *,
                     struct addrinfo **);
  unsigned char buf[16];
  if (node && inet_pton(AF_INET, node, buf) != 1 &&
      inet_pton(AF_INET6, node, buf) != 1)
    abort(); /* name resolution of a client-supplied string */
  if (!real)
    real = (int (*)(const char *, const char *, const struct addrinfo *,
                    struct addrinfo **))dlsym(RTLD_NEXT, "getaddrinfo");
  return real(node, service, hints, res);
}

/* ---- the target --------------------------------------------------------- */

static apr_pool_t *root;
static const char *const proxy_names[] = {
    "X-Forwarded-For", "X-Client-IP", "X-Real-IP", "X-Forwarded-Host",
    "X-Host", "X-Forwarded-Server", "X-Forwarded-Port", "X-Script-Name",
    "X-Forwarded-Script-Name", "X-Forwarded-Proto", "X-Forwarded-Scheme",
    "X-Scheme", "X-Forwarded-HTTPS", "X-Forwarded-SSL", "X-HTTPS"};
/* The kind of each (proxy.c's table): at most one of a kind is left. */
static const int proxy_kind[] = {1, 1, 1, 2, 2, 3, 4, 5, 5, 6, 6, 6, 6, 6, 6};
#define N_PROXY (sizeof proxy_names / sizeof proxy_names[0])

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  apr_initialize();
  apr_pool_create(&root, NULL);
  sysgi_module.module_index = 0; /* the config vectors below have one slot */
  return 0;
}

static char *env_name(apr_pool_t *p, const char *h) {
  char *e = apr_pstrcat(p, "HTTP_", h, NULL), *c;
  for (c = e + 5; *c; c++)
    *c = *c == '-' ? '_' : (char)apr_toupper(*c);
  return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3)
    return 0;
  unsigned flags = data[0], trust = data[1] | (unsigned)data[2] << 8;
  fz in = {data + 3, data + size};
  apr_pool_t *p;
  apr_pool_create(&p, root);
  case_insensitive = flags & 1;

  /* Configuration: the server's aliases and the directory's settings. */
  sysgi_server_config sc;
  sc.aliases = apr_array_make(p, 4, sizeof(sysgi_alias));
  char *mf = fz_field(&in, '\n', NULL);
  fz m = {(const uint8_t *)(mf ? mf : ""),
          (const uint8_t *)(mf ? mf + strlen(mf) : "")};
  char *mount;
  while (sc.aliases->nelts < 4 && (mount = fz_field(&m, ',', NULL))) {
    if (sysgi_mount_normalize(mount) == 0) {
      sysgi_alias *a = apr_array_push(sc.aliases);
      memset(a, 0, sizeof *a);
      a->location = apr_pstrdup(p, mount);
      a->target = apr_psprintf(p, "/srv/app%d.wsgi", sc.aliases->nelts);
      a->pass_authorization = sc.aliases->nelts == 2 ? 1 : -1;
      a->application_group = sc.aliases->nelts == 3 ? "%{SERVER}" : NULL;
    }
    free(mount);
  }
  free(mf);
  sysgi_dir_config dc;
  memset(&dc, 0, sizeof dc);
  dc.enable_sendfile = dc.script_reloading = dc.chunked_request = -1;
  dc.error_override = -1;
  dc.script_reloading = 0; /* no stat() of the fuzzed names */
  dc.pass_authorization = (flags & 2) ? 1 : -1;
  dc.map_head_to_get = (int)((flags >> 4) & 3) == 3 ? -1 : (int)((flags >> 4) & 3);
  if (dc.map_head_to_get == 2)
    dc.map_head_to_get = 2;
  if (trust) {
    dc.trusted_proxy_headers = apr_array_make(p, 4, sizeof(char *));
    for (size_t i = 0; i < N_PROXY; i++)
      if (trust & (1u << i))
        APR_ARRAY_PUSH(dc.trusted_proxy_headers, const char *) =
            env_name(p, proxy_names[i]);
  }
  if (flags & 4) {
    apr_ipsubnet_t *sn;
    dc.trusted_proxies = apr_array_make(p, 2, sizeof(apr_ipsubnet_t *));
    if (apr_ipsubnet_create(&sn, "10.0.0.0", "8", p) == APR_SUCCESS)
      APR_ARRAY_PUSH(dc.trusted_proxies, apr_ipsubnet_t *) = sn;
    if (apr_ipsubnet_create(&sn, "::1", NULL, p) == APR_SUCCESS)
      APR_ARRAY_PUSH(dc.trusted_proxies, apr_ipsubnet_t *) = sn;
  }
  void *server_cfg[1] = {&sc}, *dir_cfg[1] = {&dc}, *req_cfg[1] = {NULL};

  /* The request. */
  server_rec s;
  conn_rec c;
  request_rec r;
  apr_sockaddr_t *local;
  memset(&s, 0, sizeof s);
  memset(&c, 0, sizeof c);
  memset(&r, 0, sizeof r);
  apr_sockaddr_info_get(&local, "127.0.0.1", APR_INET, 8080, 0, p);
  s.module_config = (ap_conf_vector_t *)server_cfg;
  c.local_addr = local;
  c.pool = p;
  r.pool = p;
  r.server = &s;
  r.connection = &c;
  r.per_dir_config = (ap_conf_vector_t *)dir_cfg;
  r.request_config = (ap_conf_vector_t *)req_cfg;
  r.headers_in = apr_table_make(p, 8);
  r.subprocess_env = apr_table_make(p, 32);
  r.notes = apr_table_make(p, 4);
  r.protocol = "HTTP/1.1";
  r.request_time = apr_time_from_sec(1700000000);
  char *f = fz_field(&in, '\n', NULL);
  r.method = apr_pstrdup(p, f && *f ? f : "GET");
  free(f);
  r.header_only = (flags & 8) != 0;
  r.method_number = r.header_only || !strcmp(r.method, "GET") ? M_GET : M_POST;
  ap_filter_rec_t frec;
  ap_filter_t filt;
  memset(&frec, 0, sizeof frec);
  memset(&filt, 0, sizeof filt);
  frec.ftype = (flags & 64) ? AP_FTYPE_RESOURCE : AP_FTYPE_PROTOCOL;
  filt.frec = &frec;
  r.output_filters = &filt;
  f = fz_field(&in, '\n', NULL);
  r.unparsed_uri = apr_pstrdup(p, f ? f : "/");
  free(f);
  char *q = strchr(r.unparsed_uri, '?');
  r.uri = q ? apr_pstrndup(p, r.unparsed_uri, (apr_size_t)(q - r.unparsed_uri))
            : r.unparsed_uri;
  r.args = q ? q + 1 : NULL;
  f = fz_field(&in, '\n', NULL);
  r.useragent_ip = apr_pstrdup(p, f && *f ? f : "192.0.2.1");
  c.client_ip = r.useragent_ip;
  free(f);
  size_t n;
  while ((f = fz_field(&in, '\n', &n)) != NULL) {
    char *colon = memchr(f, ':', n);
    if (colon) {
      *colon = '\0';
      const char *v = colon + 1;
      while (*v == ' ')
        v++;
      if (*f)
        apr_table_add(r.headers_in, f, v);
    }
    free(f);
  }

  /* translate_name, then what httpd's directory walk leaves. */
  int rc = sysgi_ap_translate_name(&r);
  sysgi_match *mt = req_cfg[0];
  if (rc == OK) {
    if (!mt || !r.filename || strncmp(r.filename, mt->script,
                                      strlen(mt->script)))
      abort();
    r.path_info = r.filename + strlen(mt->script);
    r.filename = apr_pstrdup(p, mt->script);
    r.finfo.filetype = APR_REG;
  } else if (rc != DECLINED) {
    abort();
  }
  sysgi_request out;
  sysgi_ap_build_request(&r, rc == OK ? mt->script : "/srv/none.wsgi", NULL,
                         NULL, &out);
  int kinds[8] = {0};
  const char *method = NULL, *remote = NULL;
  for (size_t i = 0; i < out.n_vars; i++) {
    if (!out.vars[i].name || !out.vars[i].value)
      abort();
    if (!strcmp(out.vars[i].name, "REQUEST_METHOD"))
      method = out.vars[i].value;
    if (!strcmp(out.vars[i].name, "REMOTE_ADDR"))
      remote = out.vars[i].value;
    if (!strcmp(out.vars[i].name, "PATH"))
      abort(); /* the server's own PATH is not the request's */
    for (size_t k = 0; k < N_PROXY; k++)
      if ((trust >> k) & 1 || 0) {
        /* counted below */
      }
  }
  if (!method || !remote)
    abort();
  if (r.header_only && !strcmp(method, "GET") && strcmp(r.method, "GET") &&
      dc.map_head_to_get == 0)
    abort();
  if (trust) {
    /* Every header of a trusted kind but the one applied is gone. */
    for (size_t k = 0; k < N_PROXY; k++) {
      int kind_trusted = 0;
      for (size_t j = 0; j < N_PROXY; j++)
        if ((trust >> j & 1) && proxy_kind[j] == proxy_kind[k])
          kind_trusted = 1;
      if (kind_trusted &&
          apr_table_get(r.subprocess_env, env_name(p, proxy_names[k])))
        kinds[proxy_kind[k]]++;
    }
    for (int k = 0; k < 8; k++)
      if (kinds[k] > 1)
        abort();
  }
  apr_pool_destroy(p);
  return 0;
}
