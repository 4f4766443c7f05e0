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
 * Wine's http.sys (no MORE_DATA). Two more answers need a full HTTP
 * Server API (our test httpapi.dll, tests/wine/httpapi/):
 *   /stream?chunks=N&size=S[&cl=1]  N pieces of S bytes, each its own
 *       send_body (MORE_DATA + HttpSendResponseEntityBody), with a declared
 *       Content-Length if cl=1 (else chunked); each piece is a fresh heap
 *       buffer freed in sysgi_send_complete, so a late read sees poison;
 *   /file?size=N[&off=O&len=L][&keep=1]  a temporary file of N bytes sent
 *       with send_file (a file-handle chunk; needs ECHO_SENDFILE=1); made
 *       for each request, or with keep=1 once per size and process.
 * Their bytes are echo_pattern(i) for the i-th byte of the stream or file.
 */
#include <winsock2.h>
#include <windows.h>

#include "sysgi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The echo server main() sets this to end the process cleanly. */
extern void echo_request_stop(void);

struct sysgi_send_token {
  void *buf;
  int heap; /* token and buffer are freed on completion */
};
void sysgi_send_complete(sysgi_send_token *token, int result) {
  (void)result;
  if (token && token->heap) {
    free(token->buf);
    free(token);
  }
}

static unsigned char echo_pattern(uint64_t i) {
  return (unsigned char)((i * 131u + (i >> 9)) & 0xff);
}

/* The integer value of `key` in the query string, or `def`. */
static long long qint(const char *q, const char *key, long long def) {
  size_t kl = strlen(key);
  for (const char *p = q; p && *p;) {
    if (strncmp(p, key, kl) == 0 && p[kl] == '=')
      return strtoll(p + kl + 1, NULL, 10);
    p = strchr(p, '&');
    if (p)
      p++;
  }
  return def;
}

static int answer_stream(const sysgi_request *r, const char *q) {
  const sysgi_frontend *fe = r->fe;
  long long chunks = qint(q, "chunks", 4), size = qint(q, "size", 1000);
  int cl = qint(q, "cl", 0) != 0;
  if (chunks < 0 || size <= 0 || size > (64 << 20))
    return SYSGI_E_INVAL;
  sysgi_header hd = {"Content-Type", "application/octet-stream"};
  int rc = fe->send_head(r->conn, 200, "200 OK", &hd, 1,
                         cl ? chunks * size : -1);
  for (long long k = 0; rc >= 0 && k < chunks; k++) {
    unsigned char *b = malloc((size_t)size);
    sysgi_send_token *t = malloc(sizeof *t);
    if (!b || !t) {
      free(b);
      free(t);
      return SYSGI_E_NOMEM;
    }
    for (long long j = 0; j < size; j++)
      b[j] = echo_pattern((uint64_t)(k * size + j));
    t->buf = b;
    t->heap = 1;
    rc = fe->send_body(r->conn, b, (size_t)size, t);
    if (rc != SYSGI_PENDING) /* not kept: ours to free */
      sysgi_send_complete(t, rc);
  }
  if (fe->wait_sends)
    fe->wait_sends(r->conn);
  return 0;
}

/* Writes a temporary file of `size` pattern bytes; its name into `path`. */
static int make_file(long long size, char path[MAX_PATH]) {
  char dir[MAX_PATH];
  if (!GetTempPathA(MAX_PATH, dir) || !GetTempFileNameA(dir, "sgf", 0, path))
    return SYSGI_E_IO;
  FILE *f = fopen(path, "wb");
  if (!f)
    return SYSGI_E_IO;
  unsigned char block[65536];
  for (long long i = 0; i < size;) {
    size_t n = 0;
    for (; n < sizeof block && i < size; n++, i++)
      block[n] = echo_pattern((uint64_t)i);
    if (fwrite(block, 1, n, f) != n) {
      fclose(f);
      DeleteFileA(path);
      return SYSGI_E_IO;
    }
  }
  return fclose(f) == 0 ? 0 : SYSGI_E_IO;
}

/* keep=1 files, one per size, made once: the benchmark (bench/httpsys.py)
 * measures sending a file, not writing one. Each is held open with
 * delete-on-close, so it goes when the process ends. */
#define KEPT_FILES 4
static struct {
  long long size;
  char path[MAX_PATH];
  HANDLE holder;
} kept[KEPT_FILES];
static SRWLOCK kept_lock = SRWLOCK_INIT;

static int kept_file(long long size, char path[MAX_PATH]) {
  int rc = SYSGI_E_NOMEM;
  AcquireSRWLockExclusive(&kept_lock);
  for (int i = 0; i < KEPT_FILES; i++) {
    if (kept[i].holder && kept[i].size == size) {
      strcpy(path, kept[i].path);
      rc = 0;
      break;
    }
    if (!kept[i].holder) {
      if ((rc = make_file(size, kept[i].path)) != 0)
        break;
      kept[i].holder = CreateFileA(
          kept[i].path, GENERIC_READ,
          FILE_SHARE_READ | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
          FILE_ATTRIBUTE_NORMAL | FILE_FLAG_DELETE_ON_CLOSE, NULL);
      if (kept[i].holder == INVALID_HANDLE_VALUE) {
        kept[i].holder = NULL;
        DeleteFileA(kept[i].path);
        rc = SYSGI_E_IO;
        break;
      }
      kept[i].size = size;
      strcpy(path, kept[i].path);
      break;
    }
  }
  ReleaseSRWLockExclusive(&kept_lock);
  return rc;
}

static int answer_file(const sysgi_request *r, const char *q) {
  const sysgi_frontend *fe = r->fe;
  long long size = qint(q, "size", 100000), off = qint(q, "off", 0);
  long long len = qint(q, "len", size - off);
  int keep = qint(q, "keep", 0) != 0;
  char path[MAX_PATH];
  if (size < 0 || off < 0 || len <= 0)
    return SYSGI_E_INVAL;
  int rc = keep ? kept_file(size, path) : make_file(size, path);
  if (rc != 0)
    return rc;
  /* A kept file is shared: this request's own handle, its own offsets. */
  DWORD flags = FILE_ATTRIBUTE_NORMAL | (keep ? 0 : FILE_FLAG_DELETE_ON_CLOSE);
  HANDLE h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE,
                         NULL, OPEN_EXISTING, flags, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    if (!keep)
      DeleteFileA(path);
    return SYSGI_E_IO;
  }
  sysgi_header hd = {"Content-Type", "application/octet-stream"};
  /* On this stack: the send is waited for before the frame ends. One per
   * request, never shared by concurrent ones. */
  sysgi_send_token tok = {NULL, 0};
  rc = fe->send_head(r->conn, 200, "200 OK", &hd, 1, len);
  if (rc == 0)
    rc = fe->send_file(r->conn, (intptr_t)h, off, len, &tok);
  if (rc == SYSGI_PENDING)
    rc = fe->wait_sends(r->conn);
  CloseHandle(h);
  return rc == SYSGI_E_UNSUPPORTED ? rc : 0;
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
  const char *query = var(r, "QUERY_STRING");
  if (path && strcmp(path, "/stream") == 0)
    return answer_stream(r, query);
  if (path && strcmp(path, "/file") == 0)
    return answer_file(r, query);

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
  /* /status?code=N: that status, with the usual body (the server drops
   * it for 204 and 304). */
  int status = n_hd == 3 ? 401 : 200;
  char status_line[32] = "200 OK";
  if (path && strcmp(path, "/status") == 0) {
    status = (int)qint(var(r, "QUERY_STRING"), "code", 200);
    snprintf(status_line, sizeof status_line, "%d Status", status);
  }
  int rc = fe->send_head(r->conn, status,
                         n_hd == 3 ? "401 Unauthorized" : status_line,
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

/* The front end's request-timeout watchdog calls this (only when a
 * timeout is configured): a C test core runs no Python to interrupt. */
int sysgi_expire_requests(int64_t now_us, sysgi_expire_stats *st) {
  (void)now_us;
  if (st)
    memset(st, 0, sizeof *st);
  return 0;
}
