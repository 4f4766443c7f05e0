/* fake_frontend.c: see fake_frontend.h. */
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h> /* only to check that callbacks run without the GIL */

#include "fake_frontend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The core promises every callback runs with the GIL released. In 3.11 the
 * "current thread state" is process-wide (whoever holds the GIL), so the
 * check is: no thread state of THIS thread is current. */
static int this_thread_holds_gil(void) {
  PyThreadState *t = _PyThreadState_UncheckedGet();
  return t && t->thread_id == PyThread_get_thread_ident();
}

#define NO_GIL(c)                                                            \
  do {                                                                       \
    if (this_thread_holds_gil())                                             \
      (c)->gil_held++, (c)->gil_where = __func__;                            \
  } while (0)

static char *xdup(const char *s) {
  char *d = strdup(s ? s : "");
  if (!d)
    abort();
  return d;
}

static void append(fake_conn *c, const void *p, size_t n) {
  if (c->out_len + n + 1 > c->out_cap) {
    c->out_cap = (c->out_len + n + 1) * 2;
    c->out = realloc(c->out, c->out_cap);
    if (!c->out)
      abort();
  }
  memcpy(c->out + c->out_len, p, n);
  c->out_len += n;
  c->out[c->out_len] = '\0';
}

static int send_head(void *conn, int status, const char *line,
                     const sysgi_header *h, size_t n, int64_t clen) {
  fake_conn *c = conn;
  NO_GIL(c);
  c->head_calls++;
  c->status = status;
  snprintf(c->status_line, sizeof c->status_line, "%s", line);
  for (size_t i = 0; i < n && c->n_headers < FAKE_MAX_HEADERS; i++) {
    c->hname[c->n_headers] = xdup(h[i].name);
    c->hvalue[c->n_headers] = xdup(h[i].value);
    c->n_headers++;
  }
  c->content_length = clen;
  return 0;
}

/* Completes pending send i: the buffer must be unchanged (async data) or
 * the file still readable (async file). */
static void complete(fake_conn *c, int i) {
  fake_pending *p = &c->pend[i];
  if (p->data) {
    if (memcmp(p->data, p->copy, p->len) != 0)
      c->corrupted++;
    append(c, p->copy, p->len);
    free(p->copy);
  } else {
    char *buf = malloc(p->len ? p->len : 1);
    ssize_t got = pread((int)p->fd, buf, p->len, p->off);
    if (got != (ssize_t)p->len)
      c->corrupted++;
    else
      append(c, buf, p->len);
    free(buf);
  }
  c->completed++;
  sysgi_send_complete(p->token, 0);
}

static void complete_all(fake_conn *c) {
  for (int i = 0; i < c->n_pend; i++)
    complete(c, i);
  c->n_pend = 0;
}

static int send_body(void *conn, const void *data, size_t len,
                     sysgi_send_token *t) {
  fake_conn *c = conn;
  NO_GIL(c);
  if (c->held)
    c->held_violations++;
  if (!c->head_calls)
    c->body_before_head++;
  c->body_calls++;
  if (c->gone_after > 0 && c->body_calls > c->gone_after)
    return SYSGI_E_CLIENT_GONE;
  if (c->async && c->n_pend < FAKE_MAX_PENDING) {
    fake_pending *p = &c->pend[c->n_pend++];
    p->data = data;
    p->len = len;
    p->copy = malloc(len ? len : 1);
    memcpy(p->copy, data, len);
    p->token = t;
    /* Complete the older sends late: every other call, all but the newest
     * (so several buffers are in flight at once). */
    if (c->n_pend > 3 && (c->body_calls & 1)) {
      for (int i = 0; i < c->n_pend - 1; i++)
        complete(c, i);
      c->pend[0] = c->pend[c->n_pend - 1];
      c->n_pend = 1;
    }
    return SYSGI_PENDING;
  }
  append(c, data, len);
  return 0;
}

/* Called with the GIL held (the contract): no NO_GIL check here. */
static int try_send_body(void *conn, const void *data, size_t len) {
  fake_conn *c = conn;
  c->try_calls++;
  if (c->held)
    c->held_violations++;
  if (c->try_mode == 3)
    return SYSGI_E_UNSUPPORTED;
  if (!c->head_calls)
    c->body_before_head++;
  append(c, data, len);
  if (c->try_mode == 2) {
    c->held = 1;
    return SYSGI_PENDING;
  }
  return 0;
}

static int flush(void *conn) {
  fake_conn *c = conn;
  NO_GIL(c);
  c->flush_calls++;
  c->held = 0;
  return 0;
}

static int send_file(void *conn, intptr_t fd, int64_t off, int64_t len,
                     sysgi_send_token *t) {
  fake_conn *c = conn;
  NO_GIL(c);
  c->file_calls++;
  if (c->file_unsupported)
    return SYSGI_E_UNSUPPORTED;
  c->file_fd = fd;
  c->file_off = off;
  c->file_len = len;
  if (c->async && c->n_pend < FAKE_MAX_PENDING) {
    fake_pending *p = &c->pend[c->n_pend++];
    p->data = NULL;
    p->len = (size_t)len;
    p->fd = fd;
    p->off = off;
    p->token = t;
    return SYSGI_PENDING;
  }
  char *buf = malloc((size_t)len + 1);
  ssize_t got = pread((int)fd, buf, (size_t)len, off);
  if (got > 0)
    append(c, buf, (size_t)got);
  free(buf);
  return got == (ssize_t)len ? 0 : SYSGI_E_IO;
}

static void *completer(void *arg) {
  complete_all(arg);
  return NULL;
}

static void *late_completer(void *arg) {
  fake_conn *c = arg;
  usleep((useconds_t)c->late_complete_ms * 1000);
  complete_all(c);
  c->late_done = 1;
  return NULL;
}

static int wait_sends(void *conn) {
  fake_conn *c = conn;
  NO_GIL(c);
  c->wait_calls++;
  if (c->late_complete_ms) {
    if (!c->late_started && c->n_pend > 0) {
      c->late_started = 1;
      pthread_create(&c->late_thread, NULL, late_completer, c);
    }
    return 0; /* the bug: the sends are still pending */
  }
  if (c->async_thread) {
    pthread_t th;
    pthread_create(&th, NULL, completer, c);
    pthread_join(th, NULL);
  } else {
    complete_all(c);
  }
  return 0;
}

static ptrdiff_t read_body(void *conn, void *buf, size_t len) {
  fake_conn *c = conn;
  NO_GIL(c);
  c->reads++;
  if (c->eof_seen)
    c->reads_after_eof++;
  if (c->read_error)
    return c->read_error < 0 ? c->read_error : SYSGI_E_IO;
  size_t left = c->body_len - c->body_pos;
  size_t n = len < left ? len : left;
  if (c->read_piece && n > c->read_piece)
    n = c->read_piece;
  if (n == 0) {
    c->eof_seen = 1;
    return 0;
  }
  memcpy(buf, c->body + c->body_pos, n);
  c->body_pos += n;
  return (ptrdiff_t)n;
}

static void fe_abort(void *conn) {
  fake_conn *c = conn;
  NO_GIL(c);
  c->aborted++;
}

static void fe_log(void *conn, int level, const char *msg) {
  fake_conn *c = conn;
  NO_GIL(c);
  pthread_mutex_lock(&c->mu);
  if (!c->quiet && getenv("SYSGI_TEST_VERBOSE"))
    fprintf(stderr, "  log[%d] %s\n", level, msg);
  if (c->n_logs < FAKE_MAX_LOGS) {
    c->log_level[c->n_logs] = level;
    c->logs[c->n_logs++] = xdup(msg);
  }
  pthread_mutex_unlock(&c->mu);
}

static int ssl_is_https(void *conn) {
  fake_conn *c = conn;
  NO_GIL(c);
  return c->ssl;
}

static const char *ssl_var_lookup(void *conn, const char *name) {
  NO_GIL((fake_conn *)conn);
  return strcmp(name, "SSL_CLIENT_S_DN_CN") == 0 ? "alice" : NULL;
}

void fake_var(fake_conn *c, const char *name, const char *value) {
  for (int i = 0; i < c->n_vars; i++)
    if (strcmp(c->vars[i].name, name) == 0) {
      c->vars[i].value = value;
      return;
    }
  if (c->n_vars < FAKE_MAX_VARS) {
    c->vars[c->n_vars].name = name;
    c->vars[c->n_vars].value = value;
    c->n_vars++;
  }
}

void fake_init(fake_conn *c, const char *method, const char *path,
               const char *script) {
  memset(c, 0, sizeof *c);
  pthread_mutex_init(&c->mu, NULL);
  c->content_length = -2;
  fake_var(c, "REQUEST_METHOD", method);
  fake_var(c, "SCRIPT_NAME", "");
  fake_var(c, "PATH_INFO", path);
  fake_var(c, "QUERY_STRING", "");
  fake_var(c, "REQUEST_URI", path);
  fake_var(c, "SERVER_NAME", "127.0.0.1");
  fake_var(c, "SERVER_PORT", "8080");
  fake_var(c, "SERVER_ADDR", "127.0.0.1");
  fake_var(c, "SERVER_PROTOCOL", "HTTP/1.1");
  fake_var(c, "REMOTE_ADDR", "127.0.0.1");
  fake_var(c, "REMOTE_PORT", "50000");
  fake_var(c, "HTTP_HOST", "127.0.0.1:8080");
  c->fe.send_head = send_head;
  c->fe.send_body = send_body;
  c->fe.flush = flush;
  c->fe.send_file = send_file;
  c->fe.wait_sends = wait_sends;
  c->fe.read_body = read_body;
  c->fe.abort = fe_abort;
  c->fe.log = fe_log;
  c->req.url_scheme = "http";
  c->req.queue_start_us = 1700000000000000LL;
  c->req.script_filename = script;
  c->req.application_group = "";
  c->req.callable_object = "application";
  c->req.process_group = "";
}

int fake_run(fake_conn *c) {
  fake_run_prepare(c);
  return sysgi_handle(&c->req);
}

void fake_run_prepare(fake_conn *c) {
  if (c->no_send_file)
    c->fe.send_file = NULL;
  if (c->try_mode)
    c->fe.try_send_body = try_send_body;
  if (c->ssl) {
    c->fe.ssl_is_https = ssl_is_https;
    c->fe.ssl_var_lookup = ssl_var_lookup;
  }
  c->req.vars = c->vars;
  c->req.n_vars = (size_t)c->n_vars;
  c->req.conn = c;
  c->req.fe = &c->fe;
}

void fake_free(fake_conn *c) {
  for (int i = 0; i < c->n_headers; i++) {
    free(c->hname[i]);
    free(c->hvalue[i]);
  }
  for (int i = 0; i < c->n_logs; i++)
    free(c->logs[i]);
  for (int i = 0; i < c->n_pend; i++)
    free(c->pend[i].copy);
  free(c->out);
  pthread_mutex_destroy(&c->mu);
}

const char *fake_header(const fake_conn *c, const char *name) {
  for (int i = 0; i < c->n_headers; i++)
    if (strcasecmp(c->hname[i], name) == 0)
      return c->hvalue[i];
  return NULL;
}

int fake_header_count(const fake_conn *c, const char *name) {
  int n = 0;
  for (int i = 0; i < c->n_headers; i++)
    n += strcasecmp(c->hname[i], name) == 0;
  return n;
}

int fake_log_find(const fake_conn *c, const char *needle) {
  for (int i = 0; i < c->n_logs; i++)
    if (strstr(c->logs[i], needle))
      return i;
  return -1;
}

void fake_dump(const fake_conn *c) {
  fprintf(stderr, "  status=%d '%s' head_calls=%d body=%zu bytes\n",
          c->status, c->status_line, c->head_calls, c->out_len);
  for (int i = 0; i < c->n_headers; i++)
    fprintf(stderr, "  header %s: %s\n", c->hname[i], c->hvalue[i]);
  for (int i = 0; i < c->n_logs; i++)
    fprintf(stderr, "  log[%d] %s\n", c->log_level[i], c->logs[i]);
  if (c->out_len < 2000)
    fprintf(stderr, "  body: %.*s\n", (int)c->out_len, c->out ? c->out : "");
}
