/*
 * response.c: running one request. Loads the application, calls it, and
 * drives the returned iterable: the head is sent lazily with the first
 * non-empty chunk, Content-Length is enforced, close() is always called, and
 * errors become a 500 (head not sent yet) or an aborted connection.
 *
 * Buffer lifetime (CVE-2014-0242): every chunk handed to fe->send_body is
 * referenced by a send token until the front end says it is done with it,
 * synchronously (return 0) or later (SYSGI_PENDING, then
 * sysgi_send_complete() from any thread). Completed tokens are released at
 * safe points (the next send, the end of the request) with the GIL held.
 */
#include "sysgi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tokens --------------------------------------------------------------- */

void sysgi_send_complete(sysgi_send_token *t, int result) {
  if (!t)
    return;
  t->result = result;
  atomic_store_explicit(&t->done, 1, memory_order_release);
}

static struct sysgi_send_token *token_get(sysgi_req *rq, PyObject *obj) {
  struct sysgi_send_token *t = rq->free_tokens;
  if (t) {
    rq->free_tokens = t->next;
  } else {
    t = malloc(sizeof *t);
    if (!t)
      return NULL;
    t->heap = 1;
  }
  atomic_store_explicit(&t->done, 0, memory_order_relaxed);
  t->result = 0;
  t->next = NULL;
  Py_XINCREF(obj);
  t->obj = obj;
  return t;
}

static void token_put(sysgi_req *rq, struct sysgi_send_token *t) {
  Py_CLEAR(t->obj);
  if (t->heap) {
    free(t);
  } else {
    t->next = rq->free_tokens;
    rq->free_tokens = t;
  }
}

/* After fe->send_body/send_file returned `rc` for token `t`. */
static void token_after_send(sysgi_req *rq, struct sysgi_send_token *t,
                             int rc) {
  if (rc == SYSGI_PENDING) {
    t->next = rq->inflight;
    rq->inflight = t;
  } else {
    token_put(rq, t);
  }
}

void sysgi_tokens_reap(sysgi_req *rq) {
  for (struct sysgi_send_token **pp = &rq->inflight; *pp;) {
    struct sysgi_send_token *t = *pp;
    if (atomic_load_explicit(&t->done, memory_order_acquire)) {
      if (t->result < 0 && !rq->send_failed)
        rq->send_failed = t->result;
      *pp = t->next;
      token_put(rq, t);
    } else {
      pp = &t->next;
    }
  }
}

/* Waits (GIL released) until the front end is done with every buffer. */
static void finish_sends(sysgi_req *rq) {
  if (!rq->inflight)
    return;
  sysgi_tokens_reap(rq);
  const sysgi_request *r = rq->r;
  if (rq->inflight && r->fe->wait_sends)
    SYSGI_NOGIL(r->fe->wait_sends(r->conn));
  sysgi_tokens_reap(rq);
  if (!rq->inflight)
    return;
  /* A front end bug. The tokens of the inline pool live in sysgi_handle's
   * stack frame, so leaking them is not safe: a late sysgi_send_complete
   * would write into a dead frame. Wait for every one, however long it
   * takes (a stuck request is reported at shutdown; memory corruption
   * would not be). */
  size_t n = 0;
  for (struct sysgi_send_token *t = rq->inflight; t; t = t->next)
    n++;
  sysgi_log(rq, SYSGI_LOG_ERR, "sysgi: the front end's wait_sends returned "
            "with %zu sends still pending; waiting for their completion",
            n);
  PyObject *time = PyImport_ImportModule("time");
  while (rq->inflight) {
    if (r->fe->wait_sends)
      SYSGI_NOGIL(r->fe->wait_sends(r->conn));
    /* time.sleep releases the GIL. */
    PyObject *v = time ? PyObject_CallMethod(time, "sleep", "d", 0.002)
                       : NULL;
    if (!v)
      PyErr_Clear();
    Py_XDECREF(v);
    sysgi_tokens_reap(rq);
  }
  Py_XDECREF(time);
}

/* ---- sending -------------------------------------------------------------- */

/* Sends the head if not sent yet. Touches no Python object: called with
 * the GIL released (it is the first half of a send section, so head and
 * first chunk cost one GIL release, not two). */
static int head_nogil(sysgi_req *rq) {
  if (rq->head_sent)
    return rq->send_failed;
  rq->head_sent = 1;
  sysgi__timeout_head_sent(rq);
  const sysgi_request *r = rq->r;
  int rc = r->fe->send_head(r->conn, rq->status, rq->status_line,
                            rq->headers, rq->n_headers, rq->content_length);
  if (rc < 0) {
    rq->send_failed = rc;
    return rc;
  }
  return 0;
}

int sysgi_send_head(sysgi_req *rq) {
  if (rq->head_sent)
    return rq->send_failed;
  int rc;
  SYSGI_NOGIL(rc = head_nogil(rq));
  return rc;
}

/* Applies the declared Content-Length to a chunk of `len` bytes. */
static int64_t clamp(sysgi_req *rq, int64_t len) {
  if (rq->content_length < 0)
    return len;
  int64_t left = rq->content_length - rq->body_sent;
  if (len <= left)
    return len;
  if (!rq->truncated) {
    rq->truncated = 1;
    sysgi_log(rq, SYSGI_LOG_WARN,
              "sysgi: content length mismatch: the application of '%s' "
              "returned more than the declared Content-Length of %lld "
              "bytes; the response was truncated",
              rq->r->script_filename, (long long)rq->content_length);
  }
  return left;
}

int sysgi_send_bytes(sysgi_req *rq, PyObject *obj, const char *data,
                     Py_ssize_t len) {
  if (rq->send_failed)
    return rq->send_failed;
  int64_t n = rq->is_head || rq->truncated ? 0 : clamp(rq, len);
  if (n <= 0) {
    int rc = sysgi_send_head(rq);
    return rc < 0 ? rc : 0;
  }
  const sysgi_request *r = rq->r;
  int rc;
  if (rq->head_sent && !rq->inflight && r->fe->try_send_body &&
      r->fe->flush) {
    /* GIL held: the front end writes without blocking; only what the OS
     * did not take costs a GIL release (see sysgi.h). */
    rc = r->fe->try_send_body(r->conn, data, (size_t)n);
    if (rc == SYSGI_PENDING)
      SYSGI_NOGIL(rc = r->fe->flush(r->conn));
    if (rc != SYSGI_E_UNSUPPORTED) {
      if (rc < 0)
        return rq->send_failed = rc;
      rq->body_sent += n;
      return rq->send_failed;
    }
  }
  struct sysgi_send_token *t = token_get(rq, obj);
  if (!t)
    return rq->send_failed = SYSGI_E_NOMEM;
  SYSGI_NOGIL(rc = head_nogil(rq);
              if (rc == 0)
                rc = r->fe->send_body(r->conn, data, (size_t)n, t));
  token_after_send(rq, t, rc);
  if (rc < 0)
    return rq->send_failed = rc;
  rq->body_sent += n;
  if (rq->inflight)
    sysgi_tokens_reap(rq);
  return rq->send_failed;
}

/* ---- the deferred response ------------------------------------------------
 * A list or tuple of bytes totalling at most COALESCE_MAX (the `return
 * [body]` of nearly every framework) is copied into one C buffer with the
 * GIL held; the head and that buffer are sent once the interpreter has been
 * left, so a request takes the GIL once. Nothing is delayed (PEP 3333): no
 * application code runs between the items of a list, and a list has no
 * close(). The buffer is C memory: no Python object is read after the GIL
 * is gone (CVE-2014-0242). */
#define COALESCE_MAX 65536

struct sysgi_deferred {
  struct sysgi_send_token token; /* obj NULL: the buffer is ours         */
  size_t len;
  char data[];
};

/* Returns 1 when `seq` was taken for the deferred send, 0 when the caller
 * should iterate it. */
static int coalesce(sysgi_req *rq, PyObject *seq) {
  int list = PyList_CheckExact(seq);
  if (!rq->started || rq->send_failed || rq->deferred_body ||
      !(list || PyTuple_CheckExact(seq)))
    return 0;
  Py_ssize_t k = list ? PyList_Size(seq) : PyTuple_Size(seq);
  size_t total = 0;
  for (Py_ssize_t i = 0; i < k; i++) {
    PyObject *o = list ? PyList_GetItem(seq, i) : PyTuple_GetItem(seq, i);
    if (!o || !PyBytes_Check(o)) {
      PyErr_Clear();
      return 0; /* the iteration reports it */
    }
    total += (size_t)PyBytes_Size(o);
    if (total > COALESCE_MAX)
      return 0;
  }
  /* The whole body is known: declare its length (as mod_wsgi does for a
   * one-item list), so the front end sends head and body in one call
   * rather than a chunked body ended by an empty send; Wine's http.sys,
   * for one, cannot do the latter. Not for bodiless statuses or HEAD. */
  if (rq->content_length < 0 && !rq->head_sent && !rq->is_head &&
      rq->status >= 200 &&
      rq->status != 204 && rq->status != 304)
    rq->content_length = (int64_t)total;
  int64_t n = rq->is_head || rq->truncated ? 0 : clamp(rq, (int64_t)total);
  if (n > 0) {
    struct sysgi_deferred *d = malloc(sizeof *d + (size_t)n);
    if (!d)
      return 0;
    d->len = 0;
    for (Py_ssize_t i = 0; i < k && d->len < (size_t)n; i++) {
      PyObject *o = list ? PyList_GetItem(seq, i) : PyTuple_GetItem(seq, i);
      char *p;
      Py_ssize_t m;
      if (PyBytes_AsStringAndSize(o, &p, &m) < 0) {
        PyErr_Clear();
        continue;
      }
      size_t c = (size_t)m < (size_t)n - d->len ? (size_t)m
                                                 : (size_t)n - d->len;
      memcpy(d->data + d->len, p, c);
      d->len += c;
    }
    rq->deferred_body = d;
    rq->body_sent += n; /* for the Content-Length check of run() */
  }
  rq->deferred = 1;
  return 1;
}

/* After the interpreter was left (no GIL, no Python object touched). */
static void send_deferred(sysgi_req *rq) {
  const sysgi_request *r = rq->r;
  struct sysgi_deferred *d = rq->deferred_body;
  rq->deferred_body = NULL;
  int rc = head_nogil(rq);
  if (!d)
    return;
  if (rc < 0) {
    free(d);
    return;
  }
  atomic_init(&d->token.done, 0);
  d->token.result = 0;
  d->token.obj = NULL;
  d->token.next = NULL;
  d->token.heap = 1;
  rc = r->fe->send_body(r->conn, d->data, d->len, &d->token);
  if (rc == SYSGI_PENDING) {
    if (r->fe->wait_sends)
      r->fe->wait_sends(r->conn);
    if (!atomic_load_explicit(&d->token.done, memory_order_acquire)) {
      /* A front end bug: leaking the buffer is the only safe thing. */
      sysgi_log_nogil(r, SYSGI_LOG_ERR, "sysgi: the front end did not "
                      "complete a pending send; its buffer is leaked");
      return;
    }
    rc = d->token.result;
  }
  if (rc < 0)
    rq->send_failed = rc;
  free(d);
}

/* ---- wsgi.file_wrapper through fe->send_file ------------------------------ */

static int64_t call_int(PyObject *o, PyObject *method) {
  PyObject *v = PyObject_CallMethodObjArgs(o, method, NULL);
  if (!v)
    return -1;
  long long n = PyLong_Check(v) ? PyLong_AsLongLong(v) : -1;
  Py_DECREF(v);
  return n;
}

/* Size of a regular file, or -1 (not a regular file / error). */
static int64_t regular_size(int fd) {
  PyObject *os = PyImport_ImportModule("os");
  PyObject *stat = PyImport_ImportModule("stat");
  PyObject *st = os ? PyObject_CallMethod(os, "fstat", "i", fd) : NULL;
  PyObject *mode = st ? PyObject_GetAttrString(st, "st_mode") : NULL;
  PyObject *reg = mode && stat ? PyObject_CallMethod(stat, "S_ISREG", "O",
                                                     mode) : NULL;
  PyObject *size = reg == Py_True ? PyObject_GetAttrString(st, "st_size")
                                  : NULL;
  int64_t n = size ? PyLong_AsLongLong(size) : -1;
  Py_XDECREF(size);
  Py_XDECREF(reg);
  Py_XDECREF(mode);
  Py_XDECREF(st);
  Py_XDECREF(stat);
  Py_XDECREF(os);
  return n;
}

/* The OS handle fe->send_file wants: the fd on POSIX; on Windows the HANDLE
 * from python.dll's own CRT (msvcrt.get_osfhandle): our CRT's fd table is
 * not Python's. */
static int os_handle(int fd, intptr_t *h) {
#ifdef _WIN32
  PyObject *m = PyImport_ImportModule("msvcrt");
  PyObject *v = m ? PyObject_CallMethod(m, "get_osfhandle", "i", fd) : NULL;
  long long x = v ? PyLong_AsLongLong(v) : -1;
  Py_XDECREF(v);
  Py_XDECREF(m);
  if (x == -1)
    return -1;
  *h = (intptr_t)x;
#else
  *h = (intptr_t)fd;
#endif
  return 0;
}

/* Returns 1 when the body went through fe->send_file, 0 when the caller
 * should iterate the wrapper instead, -1 when the client went away. */
static int try_send_file(sysgi_req *rq, PyObject *wrapper,
                         PyObject *filelike) {
  const sysgi_request *r = rq->r;
  /* Offered whatever enable_sendfile says: the front end decides how
   * (sysgi.h). */
  if (!r->fe->send_file || !rq->started)
    return 0;
  PyObject **K = rq->ip->keys;
  int64_t fd = call_int(filelike, K[K_S_FILENO]);
  int64_t pos = fd >= 0 ? call_int(filelike, K[K_S_TELL]) : -1;
  int64_t size = pos >= 0 && fd <= 0x7fffffff ? regular_size((int)fd) : -1;
  intptr_t h;
  if (size < 0 || os_handle((int)fd, &h) < 0) {
    PyErr_Clear(); /* no usable file descriptor: read it instead */
    return 0;
  }
  int64_t n = size > pos ? size - pos : 0;
  /* A Content-Length shorter than the file selects its first bytes, as in
   * mod_wsgi (no warning); what write() already sent counts against it. */
  if (rq->content_length >= 0 && rq->content_length - rq->body_sent < n)
    n = rq->content_length - rq->body_sent;
  if (rq->is_head || rq->truncated || n <= 0)
    return sysgi_send_head(rq) < 0 ? -1 : 1;
  struct sysgi_send_token *t = token_get(rq, wrapper);
  if (!t) {
    rq->send_failed = SYSGI_E_NOMEM;
    return -1;
  }
  int rc;
  SYSGI_NOGIL(rc = head_nogil(rq);
              if (rc == 0)
                rc = r->fe->send_file(r->conn, h, pos, n, t));
  token_after_send(rq, t, rc);
  if (rc == SYSGI_E_UNSUPPORTED && !rq->send_failed)
    return 0;
  if (rc < 0) {
    rq->send_failed = rc;
    return -1;
  }
  rq->body_sent += n;
  return 1;
}

/* ---- the driver ----------------------------------------------------------- */

static const char body_500[] =
    "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n"
    "<html><head>\n<title>500 Internal Server Error</title>\n</head><body>\n"
    "<h1>Internal Server Error</h1>\n"
    "<p>The server encountered an internal error or\nmisconfiguration and "
    "was unable to complete\nyour request.</p>\n</body></html>\n";
static const sysgi_header headers_500[] = {
    {"Content-Type", "text/html; charset=iso-8859-1"}};

/* 500 (its body as mod_wsgi's), a limit's 413/414/431 or a request
 * timeout's 504 (pages in limits.c). */
static void send_page(sysgi_req *rq, int status) {
  const char *line = "500 Internal Server Error", *body = body_500;
  size_t len = sizeof body_500 - 1;
  if (status != 500) {
    body = sysgi__status_page(status, &line);
    len = strlen(body);
  }
  rq->status = status;
  rq->status_line = line;
  rq->headers = (sysgi_header *)headers_500;
  rq->n_headers = 1;
  rq->content_length = (int64_t)len;
  rq->body_sent = 0;
  rq->truncated = 0;
  sysgi_send_bytes(rq, NULL, body, (Py_ssize_t)len);
}

static void send_500(sysgi_req *rq) { send_page(rq, 500); }

/* After sysgi__timeout_end() said RequestTimeout was raised in rq. */
static void log_timeout(sysgi_req *rq, int failed) {
  const sysgi_tmo_entry *e = &rq->tmo;
  const char *what =
      !failed ? "the application returned normally (it caught the "
                "exception, or ended before it was raised)"
      : !rq->head_sent ? (rq->r->error_page_by_frontend
                              ? "answered 504 Gateway Timeout by the server"
                              : "answered 504 Gateway Timeout")
                       : "the response had started: the connection is "
                         "aborted";
  sysgi_log(rq, SYSGI_LOG_ERR, "sysgi: request timeout: %s %s of '%s' "
            "unwound after %.1f s: %s", e->method, e->uri, e->app,
            sysgi__timeout_elapsed(rq), what);
}

static void log_app_error(sysgi_req *rq, const char *what) {
  char msg[1200];
  snprintf(msg, sizeof msg, "sysgi: %s '%s'.", what, rq->r->script_filename);
  sysgi_log_exception(rq, msg);
}

static PyObject *type_name(PyObject *o) {
  return PyObject_GetAttrString((PyObject *)Py_TYPE(o), "__name__");
}

/* Iterates `result`. Returns 1 (ended normally), 0 (stopped: client gone
 * or truncated) or -1 (the application failed; logged). */
static int drive(sysgi_req *rq, PyObject *result) {
  PyObject *filelike = sysgi_file_wrapper_filelike(rq->ip, result);
  if (filelike) {
    int s = try_send_file(rq, result, filelike);
    if (s)
      return s > 0 ? 1 : 0;
  }
  if (coalesce(rq, result))
    return 1;
  PyObject *it = PyObject_GetIter(result);
  if (!it) {
    log_app_error(rq, "the WSGI application returned a non-iterable object:"
                      " script");
    return -1;
  }
  int status = 1;
  while (!rq->send_failed && !rq->truncated) {
    PyObject *item = PyIter_Next(it);
    if (!item) {
      if (PyErr_Occurred()) {
        log_app_error(rq, "Exception occurred processing WSGI script");
        status = -1;
      }
      break;
    }
    char *p;
    Py_ssize_t n;
    if (!PyBytes_Check(item)) {
      PyObject *tn = type_name(item);
      if (tn) {
        PyErr_Format(PyExc_TypeError, "sequence of byte string values "
                     "expected, value of type %U found", tn);
        Py_DECREF(tn);
      }
      Py_DECREF(item);
      log_app_error(rq, "Exception occurred processing WSGI script");
      status = -1;
      break;
    }
    if (PyBytes_AsStringAndSize(item, &p, &n) < 0 || n == 0) {
      Py_DECREF(item);
      PyErr_Clear();
      continue;
    }
    if (!rq->started) {
      Py_DECREF(item);
      PyErr_SetString(PyExc_RuntimeError, "response has not been started: "
                      "the application returned data before calling "
                      "start_response()");
      log_app_error(rq, "Exception occurred processing WSGI script");
      status = -1;
      break;
    }
    sysgi_send_bytes(rq, item, p, n);
    Py_DECREF(item);
  }
  Py_DECREF(it);
  if (status > 0 && (rq->send_failed || rq->truncated))
    status = 0;
  return status;
}

static void call_close(sysgi_req *rq, PyObject *result) {
  /* The common case has no close(): skip the failing lookup (it costs an
   * AttributeError with a formatted message). */
  if (PyList_CheckExact(result) || PyTuple_CheckExact(result))
    return;
  PyObject *close = PyObject_GetAttr(result, rq->ip->keys[K_S_CLOSE]);
  if (!close) {
    PyErr_Clear();
    return;
  }
  PyObject *r = PyObject_CallObject(close, NULL);
  Py_DECREF(close);
  if (!r)
    log_app_error(rq, "Exception occurred calling close() of the response "
                      "of WSGI script");
  Py_XDECREF(r);
}

static int run(sysgi_req *rq) {
  const sysgi_request *r = rq->r;
  const char *callable = r->callable_object && *r->callable_object
                             ? r->callable_object
                             : "application";
  /* The clock starts before the script is loaded: a slow import counts. */
  sysgi__timeout_begin(rq);
  PyObject *app = sysgi_script_get(rq->ip, rq, r->script_filename,
                                   r->script_mtime_us, callable);
  if (!app) {
    if (!sysgi__timeout_end(rq))
      return SYSGI_E_APP;
    rq->timed_out = 1;
    log_timeout(rq, 1);
    if (r->error_page_by_frontend) {
      rq->failed_early = 1;
    } else {
      send_page(rq, 504);
      finish_sends(rq);
    }
    return 0;
  }
  PyObject *env = NULL, *args = NULL, *result = NULL;
  rq->input = sysgi_input_new(rq);
  rq->errors = sysgi_errors_new(rq);
  rq->responder = sysgi_responder_new(rq);
  if (rq->input && rq->errors && rq->responder)
    env = sysgi_environ_build(rq);
  if (env)
    args = PyTuple_Pack(2, env, rq->responder);
  int status;
  if (!args) {
    log_app_error(rq, "cannot build the WSGI environ for script");
    status = -1;
  } else {
    sysgi__modwsgi_call(rq, rq->ip->mw_started, env);
    result = PyObject_Call(app, args, NULL);
    if (!result) {
      log_app_error(rq, "Exception occurred processing WSGI script");
      status = -1;
    } else {
      status = drive(rq, result);
    }
  }
  if (status > 0 && !rq->started) {
    sysgi_log(rq, SYSGI_LOG_ERR, "sysgi: the WSGI application of '%s' "
              "returned without calling start_response()",
              r->script_filename);
    status = -1;
  }
  if (status > 0 && !rq->head_sent)
    rq->deferred = 1; /* the head is still due: sent after leaving */
  /* The front end must be done with every buffer (and file) before the
   * iterable is closed. */
  finish_sends(rq);
  if (result)
    call_close(rq, result);
  /* The application is done: out of the registry before anything else
   * runs (mod_wsgi's request_finished event is Python code too). */
  if (sysgi__timeout_end(rq)) {
    rq->timed_out = 1;
    log_timeout(rq, status < 0);
  }
  /* HEAD, 1xx, 204 and 304 never have a body (RFC 9110 6.4.1): their
   * Content-Length is not a promise of body bytes. */
  int bodyless = rq->is_head || rq->status < 200 || rq->status == 204 ||
                 rq->status == 304;
  if (status > 0 && !bodyless && !rq->send_failed &&
      rq->content_length >= 0 && rq->body_sent < rq->content_length) {
    /* The client waits for the missing bytes: on a kept-alive connection
     * it would take the next response for them. Only closing the
     * connection ends this response honestly. */
    rq->short_body = 1;
    sysgi_log(rq, SYSGI_LOG_WARN, "sysgi: content length mismatch: the "
              "application of '%s' returned %lld of the %lld bytes its "
              "Content-Length declared; the connection is closed",
              r->script_filename, (long long)rq->body_sent,
              (long long)rq->content_length);
  }
  if (status < 0) {
    if (!rq->head_sent && rq->body_too_large && !r->error_page_by_frontend) {
      send_page(rq, 413); /* the app let the limit's OSError out */
      finish_sends(rq);
    } else if (!rq->head_sent && r->error_page_by_frontend) {
      rq->failed_early = 1; /* the front end answers */
    } else if (!rq->head_sent && rq->timed_out) {
      send_page(rq, 504);
      finish_sends(rq);
    } else if (!rq->head_sent) {
      send_500(rq);
      finish_sends(rq);
    } else if (r->fe->abort) {
      SYSGI_NOGIL(r->fe->abort(r->conn));
    }
  }
  if (args)
    sysgi__modwsgi_call(rq, rq->ip->mw_finished, env);
  sysgi_responder_detach(rq->responder);
  sysgi_input_detach(rq->input);
  sysgi_errors_detach(rq->errors);
  Py_XDECREF(result);
  Py_XDECREF(args);
  Py_XDECREF(env);
  Py_CLEAR(rq->responder);
  Py_CLEAR(rq->input);
  Py_CLEAR(rq->errors);
  Py_DECREF(app);
  /* Anything the last DECREFs released is freed; the arena goes too. */
  finish_sends(rq);
  return 0;
}

int sysgi_foreign_thread(sysgi_req *rq, const char *what) {
  if (PyThread_get_thread_ident() == rq->owner)
    return 0;
  PyErr_Format(PyExc_RuntimeError, "%s used from another thread than the "
               "one running the request: not supported", what);
  return 1;
}

static void rq_init(sysgi_req *rq, const sysgi_request *r, sysgi_interp *ip) {
  rq->r = r;
  rq->ip = ip;
  rq->owner = PyThread_get_thread_ident();
  const char *m = NULL;
  for (size_t i = 0; i < r->n_vars && !m; i++)
    if (r->vars[i].name && strcmp(r->vars[i].name, "REQUEST_METHOD") == 0)
      m = r->vars[i].value;
  rq->is_head = m && strcmp(m, "HEAD") == 0;
  rq->started = rq->head_sent = 0;
  rq->status = 0;
  rq->status_line = NULL;
  rq->headers = NULL;
  rq->n_headers = 0;
  rq->content_length = -1;
  rq->arena.inline_used = 0;
  rq->arena.blocks = NULL;
  rq->body_sent = 0;
  rq->truncated = rq->send_failed = rq->short_body = rq->failed_early = 0;
  rq->body_too_large = 0;
  rq->free_tokens = NULL;
  for (int i = SYSGI_TOKEN_POOL; i-- > 0;) {
    rq->pool[i].heap = 0;
    rq->pool[i].obj = NULL;
    rq->pool[i].next = rq->free_tokens;
    rq->free_tokens = &rq->pool[i];
  }
  rq->inflight = NULL;
  rq->deferred = 0;
  rq->deferred_body = NULL;
  rq->responder = rq->input = rq->errors = NULL;
  rq->tmo.state = 0;
  rq->timed_out = 0;
}

int sysgi_handle(const sysgi_request *r) {
  if (!r || !r->fe || !r->fe->send_head || !r->fe->send_body ||
      !r->fe->log)
    return SYSGI_E_INVAL;
  if (!sysgi_runtime_ready()) {
    sysgi_log_nogil(r, SYSGI_LOG_ERR,
                    "sysgi: the Python runtime is not available");
    return SYSGI_E_NOPYTHON;
  }
  if (!r->script_filename || !*r->script_filename) {
    sysgi_log_nogil(r, SYSGI_LOG_ERR, "sysgi: no WSGI script configured");
    return SYSGI_E_INVAL;
  }
  /* Limits first: a refused request loads no script and builds no
   * environ (it still needs the interpreter for the shared send path). */
  int refuse = sysgi__limits_check(r);
  sysgi_interp *ip;
  int rc = sysgi_interp_enter(r->application_group, &ip, r);
  if (rc < 0)
    return rc;
  sysgi_req rq;
  rq_init(&rq, r, ip);
  const sysgi_request *outer = sysgi__stdio_set_request(r);
  if (refuse == 413 && r->error_page_by_frontend) {
    rc = SYSGI_E_TOO_LARGE; /* the front end answers 413 its own way */
  } else if (refuse) {
    send_page(&rq, refuse);
    finish_sends(&rq);
    rc = 0;
  } else {
    rc = run(&rq);
  }
  sysgi__stdio_set_request(outer);
  if (rc == 0 && rq.failed_early)
    rc = rq.body_too_large ? SYSGI_E_TOO_LARGE
         : rq.timed_out    ? SYSGI_E_TIMEOUT
                           : SYSGI_E_APP;
  sysgi_interp_leave();
  if (rq.deferred)
    send_deferred(&rq);
  if (rq.short_body && r->fe->abort)
    r->fe->abort(r->conn); /* after the bytes there are went out */
  sysgi_arena_reset(&rq.arena);
  return rc;
}
