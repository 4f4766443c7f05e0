/*
 * echo_core.c: a C test double of the core (sysgi.h) for the http.sys front
 * end under Wine. sysgi_handle() answers with a JSON document describing
 * what the front end handed over: every CGI variable, url_scheme, the queue
 * time, the length and FNV-1a hash of the body (read through read_body in
 * odd-sized pieces), and, for PATH_INFO /echo-body, the body itself.
 * Bytes >= 0x80 are written as \u00XX: the values are latin-1, as in
 * environ.
 *
 * The answer is one Content-Length body in one send_body, so it works with
 * Wine's http.sys (no MORE_DATA); streaming is tested against the strict
 * fake (fake_core.c).
 */
#include "sysgi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The echo server main() sets this to end the process cleanly. */
extern void echo_request_stop(void);

struct sysgi_send_token {
  int unused;
};
void sysgi_send_complete(sysgi_send_token *token, int result) {
  (void)token;
  (void)result;
}

typedef struct buf {
  char *p;
  size_t len, cap;
  int oom;
} buf;

static void put(buf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = (b->cap ? b->cap * 2 : 4096) + n;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}
static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

static void put_json_str(buf *b, const char *s, size_t n) {
  put(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    char esc[8];
    if (ch == '"' || ch == '\\') {
      esc[0] = '\\';
      esc[1] = (char)ch;
      put(b, esc, 2);
    } else if (ch < 0x20 || ch >= 0x7f) {
      snprintf(esc, sizeof esc, "\\u%04x", ch);
      put(b, esc, 6);
    } else {
      put(b, (const char *)&ch, 1);
    }
  }
  put(b, "\"", 1);
}

static const char *var(const sysgi_request *r, const char *name) {
  for (size_t i = 0; i < r->n_vars; i++)
    if (strcmp(r->vars[i].name, name) == 0)
      return r->vars[i].value;
  return NULL;
}

int sysgi_handle(const sysgi_request *r) {
  const sysgi_frontend *fe = r->fe;
  const char *path = var(r, "PATH_INFO");
  buf body = {0}, out = {0};
  char tmp[128];
  /* Read the body in pieces of awkward sizes. */
  uint64_t h = 1469598103934665603ull;
  size_t total = 0;
  static const size_t sizes[] = {1, 7, 4096, 65536, 1000, 100000};
  char *rb = malloc(100000);
  if (!rb)
    return SYSGI_E_NOMEM;
  for (size_t k = 0;; k++) {
    size_t want = sizes[k % (sizeof sizes / sizeof sizes[0])];
    ptrdiff_t n = fe->read_body(r->conn, rb, want);
    if (n < 0) {
      free(rb);
      fe->log(r->conn, SYSGI_LOG_ERR, "echo: read_body failed");
      return (int)n;
    }
    if (n == 0)
      break;
    for (ptrdiff_t i = 0; i < n; i++) {
      h ^= (unsigned char)rb[i];
      h *= 1099511628211ull;
    }
    if (path && strcmp(path, "/echo-body") == 0)
      put(&body, rb, (size_t)n);
    total += (size_t)n;
  }
  free(rb);

  if (path && strcmp(path, "/__shutdown") == 0)
    echo_request_stop();

  const char *ctype = "application/json";
  if (path && strcmp(path, "/echo-body") == 0) {
    ctype = "application/octet-stream";
    if (body.len)
      put(&out, body.p, body.len);
  } else {
    puts_(&out, "{\"vars\": {");
    for (size_t i = 0; i < r->n_vars; i++) {
      if (i)
        puts_(&out, ", ");
      put_json_str(&out, r->vars[i].name, strlen(r->vars[i].name));
      puts_(&out, ": ");
      put_json_str(&out, r->vars[i].value, strlen(r->vars[i].value));
    }
    puts_(&out, "}, \"url_scheme\": ");
    put_json_str(&out, r->url_scheme, strlen(r->url_scheme));
    snprintf(tmp, sizeof tmp,
             ", \"queue_start_us\": %lld, \"body_len\": %zu, "
             "\"body_fnv\": \"%016llx\"",
             (long long)r->queue_start_us, total, (unsigned long long)h);
    puts_(&out, tmp);
    /* The application the front end chose (several apps per server). */
    const char *app_fields[3][2] = {
        {"script_filename", r->script_filename},
        {"application_group", r->application_group},
        {"callable_object", r->callable_object}};
    for (int i = 0; i < 3; i++) {
      const char *v = app_fields[i][1] ? app_fields[i][1] : "";
      puts_(&out, ", \"");
      puts_(&out, app_fields[i][0]);
      puts_(&out, "\": ");
      put_json_str(&out, v, strlen(v));
    }
    snprintf(tmp, sizeof tmp, ", \"enable_sendfile\": %d, "
             "\"script_mtime_set\": %d}", r->enable_sendfile,
             r->script_mtime_us != 0);
    puts_(&out, tmp);
  }
  free(body.p);
  if (out.oom) {
    free(out.p);
    return SYSGI_E_NOMEM;
  }
  sysgi_header hd[3] = {{"Content-Type", ctype},
                        {"X-Echo", "1"},
                        {"WWW-Authenticate", "Basic realm=\"a\""}};
  size_t n_hd = 2;
  if (path && strcmp(path, "/auth") == 0)
    n_hd = 3;
  sysgi_header hd2[4];
  memcpy(hd2, hd, sizeof hd);
  hd2[3] = (sysgi_header){"WWW-Authenticate", "Negotiate"};
  int rc = fe->send_head(r->conn, n_hd == 3 ? 401 : 200,
                         n_hd == 3 ? "401 Unauthorized" : "200 OK",
                         n_hd == 3 ? hd2 : hd, n_hd == 3 ? 4 : 2,
                         (int64_t)out.len);
  static sysgi_send_token tok;
  if (rc == 0 && out.len)
    rc = fe->send_body(r->conn, out.p, out.len, &tok);
  if (rc == SYSGI_PENDING)
    rc = fe->wait_sends(r->conn);
  free(out.p);
  return rc < 0 ? 0 : 0; /* a response was produced (or aborted) */
}
