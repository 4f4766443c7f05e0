/*
 * fake_core.c: a test double of the core for the strict-fake tests. It
 * behaves like the real core towards the front end: body chunks live in
 * their own VirtualAlloc'ed pages, handed over with a send token, and are
 * released (VirtualFree) only in sysgi_send_complete() - so a front end
 * that reads a buffer after reporting its send complete faults. What it
 * does is chosen by PATH_INFO and the query string.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_httpapi.h"
#include "sysgi.h"

/* The real core keeps its tokens in sysgi_handle's stack frame. Here each
 * request has a frame record its tokens point to; it is marked dead when
 * sysgi_handle returns, so a completion that comes later (it would write
 * into a dead stack frame in the real core) is counted, and so is a
 * return while tokens are still out (the front end's wait_sends returned
 * too early). */
typedef struct fc_frame {
  volatile LONG alive;
  volatile LONG out;
} fc_frame;

struct sysgi_send_token {
  void *mem;
  HANDLE file;
  volatile LONG completed;
  fc_frame *frame;
};

volatile LONG fake_core_tokens_out;  /* tokens not yet completed */
volatile LONG fake_core_double_completions;
volatile LONG fake_core_late_completions;  /* after sysgi_handle returned */
volatile LONG fake_core_early_returns;     /* returned with tokens out */
HANDLE fake_core_gate;    /* /block waits for it */
HANDLE fake_core_entered; /* set when /block starts waiting */

static __thread fc_frame *cur_frame;

static sysgi_send_token *token_new(void) {
  sysgi_send_token *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->frame = cur_frame;
  InterlockedIncrement(&t->frame->out);
  InterlockedIncrement(&fake_core_tokens_out);
  return t;
}

void sysgi_send_complete(sysgi_send_token *t, int result) {
  (void)result;
  if (InterlockedExchange(&t->completed, 1)) {
    InterlockedIncrement(&fake_core_double_completions);
    return;
  }
  if (!t->frame->alive) {
    fprintf(stderr, "fake_core: a send token completed after its "
            "sysgi_handle returned\n");
    InterlockedIncrement(&fake_core_late_completions);
  }
  InterlockedDecrement(&t->frame->out);
  if (t->mem)
    VirtualFree(t->mem, 0, MEM_RELEASE);
  if (t->file)
    CloseHandle(t->file);
  free(t);
  InterlockedDecrement(&fake_core_tokens_out);
}

static const char *var(const sysgi_request *r, const char *name) {
  for (size_t i = 0; i < r->n_vars; i++)
    if (strcmp(r->vars[i].name, name) == 0)
      return r->vars[i].value;
  return NULL;
}

static long long qnum(const sysgi_request *r, const char *key, long long dflt) {
  const char *q = var(r, "QUERY_STRING");
  size_t kl = strlen(key);
  while (q && *q) {
    if (strncmp(q, key, kl) == 0 && q[kl] == '=')
      return _strtoi64(q + kl + 1, NULL, 10);
    q = strchr(q, '&');
    if (q)
      q++;
  }
  return dflt;
}

unsigned char fake_pattern(uint64_t i) {
  return (unsigned char)((i * 131 + (i >> 8)) & 0xff);
}

/* One body chunk in its own pages, sent with a token. */
static int send_chunk(const sysgi_request *r, uint64_t start, size_t len) {
  sysgi_send_token *t = token_new();
  unsigned char *m = VirtualAlloc(NULL, len, MEM_COMMIT | MEM_RESERVE,
                                  PAGE_READWRITE);
  if (!t || !m)
    return SYSGI_E_NOMEM;
  for (size_t i = 0; i < len; i++)
    m[i] = fake_pattern(start + i);
  t->mem = m;
  int rc = r->fe->send_body(r->conn, m, len, t);
  if (rc != SYSGI_PENDING) /* not taken: still ours */
    sysgi_send_complete(t, rc);
  return rc < 0 ? rc : 0;
}

static int reply(const sysgi_request *r, int status, const char *line,
                 const char *text) {
  sysgi_header h = {"Content-Type", "text/plain"};
  const char *method = var(r, "REQUEST_METHOD");
  int rc = r->fe->send_head(r->conn, status, line, &h, 1,
                            (int64_t)strlen(text));
  /* As the real core: a HEAD response has its length but no body. */
  if (rc == 0 && *text && strcmp(method, "HEAD") != 0) {
    sysgi_send_token *t = token_new();
    size_t n = strlen(text);
    char *m = VirtualAlloc(NULL, n, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    memcpy(m, text, n);
    t->mem = m;
    rc = r->fe->send_body(r->conn, m, n, t);
    if (rc != SYSGI_PENDING)
      sysgi_send_complete(t, rc);
    if (qnum(r, "late", 0)) {
      /* Come to the wait only once the completion is signalling. */
      WaitForSingleObject(fake_hold_started, 10000);
    }
  }
  if (r->fe->wait_sends)
    r->fe->wait_sends(r->conn);
  return 0;
}

static int handle(const sysgi_request *r) {
  const sysgi_frontend *fe = r->fe;
  const char *path = var(r, "PATH_INFO");
  char text[4096];
  int rc = 0;
  if (!path)
    return SYSGI_E_INVAL;

  if (!strcmp(path, "/hello"))
    return reply(r, 200, "200 OK", "hello");
  if (!strcmp(path, "/empty"))
    return reply(r, 200, "200 OK", "");
  if (!strcmp(path, "/error"))
    return SYSGI_E_APP;
  if (!strcmp(path, "/nopython"))
    return SYSGI_E_NOPYTHON;
  if (!strcmp(path, "/vars")) {
    /* SCRIPT_NAME|PATH_INFO|QUERY_STRING|number of HTTP_X_ vars */
    int nx = 0;
    for (size_t i = 0; i < r->n_vars; i++)
      if (!strncmp(r->vars[i].name, "HTTP_X_", 7))
        nx++;
    snprintf(text, sizeof text, "%s|%s|%s|%d|%s", var(r, "SCRIPT_NAME"),
             path, var(r, "QUERY_STRING"), nx, r->url_scheme);
    return reply(r, 200, "200 OK", text);
  }
  if (!strcmp(path, "/notmodified")) {
    /* 304 with the length the full response would have (RFC 9110). */
    rc = fe->send_head(r->conn, 304, "304 Not Modified", NULL, 0, 1234);
    fe->wait_sends(r->conn);
    return rc < 0 ? rc : 0;
  }
  if (!strcmp(path, "/nocontent")) {
    rc = fe->send_head(r->conn, 204, "204 No Content", NULL, 0, 0);
    fe->wait_sends(r->conn);
    return rc < 0 ? rc : 0;
  }
  if (!strcmp(path, "/env")) {
    /* The value of the variable named by the query string, or <unset>. */
    const char *v = var(r, var(r, "QUERY_STRING"));
    return reply(r, 200, "200 OK", v ? v : "<unset>");
  }
  if (!strncmp(path, "/echo", 5)) {
    snprintf(text, sizeof text, "%s|%s", var(r, "SCRIPT_NAME"), path);
    return reply(r, 200, "200 OK", text);
  }
  if (!strcmp(path, "/block")) {
    SetEvent(fake_core_entered);
    WaitForSingleObject(fake_core_gate, INFINITE);
    return reply(r, 200, "200 OK", "unblocked");
  }
  if (!strcmp(path, "/upload")) {
    /* Reads the body in 64 KiB pieces; answers "len fnv". */
    static __thread unsigned char buf[65536];
    uint64_t h = 1469598103934665603ull, total = 0;
    for (;;) {
      ptrdiff_t n = fe->read_body(r->conn, buf, sizeof buf);
      if (n < 0)
        return (int)n;
      if (n == 0)
        break;
      for (ptrdiff_t i = 0; i < n; i++) {
        h ^= buf[i];
        h *= 1099511628211ull;
      }
      total += (uint64_t)n;
    }
    snprintf(text, sizeof text, "%llu %016llx", (unsigned long long)total,
             (unsigned long long)h);
    return reply(r, 200, "200 OK", text);
  }
  if (!strcmp(path, "/auth")) {
    sysgi_header h[5] = {{"Content-Type", "text/plain"},
                         {"WWW-Authenticate", "Basic realm=\"x\""},
                         {"WWW-Authenticate", "Negotiate"},
                         {"Set-Cookie", "a=1"},
                         {"Set-Cookie", "b=2"}};
    rc = fe->send_head(r->conn, 401, "401 Unauthorized", h, 5, 0);
    fe->wait_sends(r->conn);
    return rc < 0 ? rc : 0;
  }
  if (!strcmp(path, "/stream") || !strcmp(path, "/short") ||
      !strcmp(path, "/abort") || !strcmp(path, "/overflow")) {
    /* n chunks of size bytes; cl=1: declare Content-Length. */
    long long n = qnum(r, "n", 3), size = qnum(r, "size", 1000);
    long long declared = qnum(r, "cl", 0) ? n * size : -1;
    if (!strcmp(path, "/short"))
      declared = n * size + 100;
    if (!strcmp(path, "/overflow"))
      declared = size + size / 2; /* less than n * size */
    sysgi_header h = {"Content-Type", "application/octet-stream"};
    rc = fe->send_head(r->conn, 200, "200 OK", &h, 1, declared);
    for (long long i = 0; rc == 0 && i < n; i++) {
      if (i == 1 && qnum(r, "late", 0))
        WaitForSingleObject(fake_hold_started, 10000);
      rc = send_chunk(r, (uint64_t)(i * size), (size_t)size);
      if (rc == 0 && !strcmp(path, "/abort") && i == n / 2) {
        fe->abort(r->conn);
        break;
      }
    }
    fe->wait_sends(r->conn);
    return 0;
  }
  if (!strcmp(path, "/file")) {
    /* A temp file of `size` pattern bytes, sent from `offset`, after a
     * memory chunk of `pre` bytes. */
    long long size = qnum(r, "size", 100000), off = qnum(r, "offset", 0);
    long long pre = qnum(r, "pre", 0);
    wchar_t dir[MAX_PATH], name[MAX_PATH];
    GetTempPathW(MAX_PATH, dir);
    GetTempFileNameW(dir, L"sgf", 0, name);
    HANDLE f = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ,
                           NULL, CREATE_ALWAYS,
                           FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE,
                           NULL);
    if (f == INVALID_HANDLE_VALUE)
      return SYSGI_E_IO;
    static __thread unsigned char buf[65536];
    for (long long w = 0; w < size;) {
      DWORD n = (DWORD)(size - w > 65536 ? 65536 : size - w), put = 0;
      for (DWORD i = 0; i < n; i++)
        buf[i] = fake_pattern((uint64_t)(w + i));
      WriteFile(f, buf, n, &put, NULL);
      w += n;
    }
    sysgi_header h = {"Content-Type", "application/octet-stream"};
    rc = fe->send_head(r->conn, 200, "200 OK", &h, 1, pre + size - off);
    if (rc == 0 && pre)
      rc = send_chunk(r, 0, (size_t)pre);
    sysgi_send_token *t = token_new();
    t->file = f;
    if (rc == 0)
      rc = fe->send_file(r->conn, (intptr_t)f, off, size - off, t);
    if (rc != SYSGI_PENDING)
      sysgi_send_complete(t, rc);
    fe->wait_sends(r->conn);
    return 0;
  }
  return reply(r, 404, "404 Not Found", "no such test path");
}

int sysgi_handle(const sysgi_request *r) {
  fc_frame *f = calloc(1, sizeof *f);
  if (!f)
    return SYSGI_E_NOMEM;
  f->alive = 1;
  cur_frame = f;
  int rc = handle(r);
  cur_frame = NULL;
  InterlockedExchange(&f->alive, 0);
  if (InterlockedCompareExchange(&f->out, 0, 0) != 0) {
    fprintf(stderr, "fake_core: sysgi_handle returns with %ld send "
            "token(s) still out\n", (long)f->out);
    InterlockedIncrement(&fake_core_early_returns);
    /* f stays allocated: the late completion still points to it. */
  } else {
    free(f);
  }
  if (qnum(r, "late", 0))
    SetEvent(fake_handler_returned);
  return rc;
}

/* The front end's request-timeout watchdog calls this (only when a
 * timeout is configured): a C test core runs no Python to interrupt. */
int sysgi_expire_requests(int64_t now_us, sysgi_expire_stats *st) {
  (void)now_us;
  if (st)
    memset(st, 0, sizeof *st);
  return 0;
}
