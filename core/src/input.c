/*
 * input.c: wsgi.input, a C type reading the request body through the
 * front end (fe->read_body, with the GIL released). It never asks for more
 * once read_body has returned 0 (end of body).
 *
 * read(n), and read() when CONTENT_LENGTH is known, read straight into the
 * result, releasing the GIL once for the whole read (one GIL round trip per
 * call, not per front-end read). The result grows in bounded steps (1 MiB,
 * doubling, at most 16 MiB at a time) as bytes actually arrive, never by
 * what was asked for or declared: a read(2**40) or a CONTENT_LENGTH of
 * 4 GB with 10 bytes behind it allocates 1 MiB (issue 14). The first step
 * is the size of a common upload, so that such a body is read straight
 * into its bytes object with no second copy: a 64 KiB first step cost a
 * 1 MiB POST 12% more CPU (bench/PROFILE.md), and 1 MiB per request
 * thread is what a lying client can make the server hold. A read that
 * fits in one step goes into the bytes object itself (no second copy); a
 * bigger one moves into the bytes object once half of it has arrived (the
 * result is then within the doubling bound) and reads the rest there. The
 * internal buffer serves readline() and read() of a body of unknown length
 * (chunked) only.
 *
 * The request's limit_request_body also stops a body of unknown length that
 * grows past it: the read raises OSError naming the limit and the response
 * becomes a 413 if the head was not sent. Every failed read names its cause
 * (timeout, client closed, bad chunk, over the limit) and is logged.
 */
#include "sysgi_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  PyObject_HEAD
  sysgi_req *rq;       /* NULL once the request has ended */
  char *buf;
  size_t start, end, cap;
  int eof;
  int busy;            /* a read is in progress with the GIL released */
  int cl_known;        /* CONTENT_LENGTH parsed (lazily, on first read) */
  int64_t declared;    /* CONTENT_LENGTH, or -1 (unknown or malformed) */
  int64_t total;       /* body bytes read from the front end so far */
} input;

#define CHUNK 65536
#define STEP_MIN ((size_t)1 << 20)        /* first step of a growing read  */
#define STEP_MAX ((size_t)16 << 20)       /* largest single growth step    */

/* The largest buffer a read of wsgi.input allocated in this process (for
 * tests/unit: the bounded-allocation check can see the C side too). */
size_t sysgi__input_largest_alloc;

static void note_alloc(size_t n) {
  if (n > sysgi__input_largest_alloc)
    sysgi__input_largest_alloc = n; /* under the GIL */
}

/* One front-end read (GIL released), bounded by limit_request_body: asks
 * for at most one byte past the limit, so a body that grows past it is
 * seen without reading much of it. Returns bytes read, 0, or an error. */
static ptrdiff_t fe_read(input *in, const sysgi_request *r, char *dst,
                         size_t len) {
  int64_t lim = r->limit_request_body;
  if (lim > 0) {
    int64_t room = lim - in->total + 1;
    if (room <= 0)
      return SYSGI_E_TOO_LARGE;
    if ((uint64_t)len > (uint64_t)room)
      len = (size_t)room;
  }
  ptrdiff_t n = r->fe->read_body(r->conn, dst, len);
  if (n > 0) {
    if ((size_t)n > len)
      n = (ptrdiff_t)len; /* a front end bug must not overrun us */
    in->total += n;
    if (lim > 0 && in->total > lim)
      return SYSGI_E_TOO_LARGE;
  }
  return n;
}

/* Sets OSError for a failed read, naming its cause, and logs it (a client
 * that left at debug level: not the server's problem). */
static void read_error(input *in, int err) {
  char what[200];
  const sysgi_request *r = in->rq->r;
  if (err == SYSGI_E_TOO_LARGE) {
    in->rq->body_too_large = 1;
    if (r->limit_request_body > 0)
      snprintf(what, sizeof what, "request body larger than "
               "limit-request-body %lld", (long long)r->limit_request_body);
    else
      snprintf(what, sizeof what, "request body larger than the server's "
               "limit (LimitRequestBody)");
  } else {
    snprintf(what, sizeof what, "%s", sysgi_strerror(err));
  }
  PyErr_Format(PyExc_OSError,
               "error reading the request body (wsgi.input): %s", what);
  sysgi_log(in->rq, err == SYSGI_E_CLIENT_GONE ? SYSGI_LOG_DEBUG
                                               : SYSGI_LOG_INFO,
            "sysgi: reading the request body of '%s' failed after %lld "
            "bytes: %s", r->script_filename ? r->script_filename : "",
            (long long)in->total, what);
}

static void input_dealloc(PyObject *self) {
  PyTypeObject *tp = Py_TYPE(self);
  free(((input *)self)->buf);
  freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  f(self);
  Py_DECREF(tp);
}

static int64_t remaining(input *in);

/* Reads once from the front end, making room for `want` bytes. Returns the
 * number of bytes added, 0 at the end of the body, -1 with an exception. */
static Py_ssize_t fill(input *in, size_t want) {
  if (in->eof)
    return 0;
  if (!in->rq || !in->rq->r->fe->read_body) {
    in->eof = 1;
    return 0;
  }
  if (sysgi_foreign_thread(in->rq, "wsgi.input"))
    return -1;
  if (in->busy) {
    PyErr_SetString(PyExc_RuntimeError,
                    "wsgi.input read concurrently from two threads");
    return -1;
  }
  int64_t rem = remaining(in);
  if (rem == 0) { /* the declared length has been read: the end */
    in->eof = 1;
    return 0;
  }
  if (want < 8192)
    want = 8192;
  if (in->start == in->end)
    in->start = in->end = 0;
  if (in->cap - in->end < want && in->start > 0) {
    memmove(in->buf, in->buf + in->start, in->end - in->start);
    in->end -= in->start;
    in->start = 0;
  }
  if (in->cap - in->end < want) {
    size_t cap = in->cap * 2 > in->end + want ? in->cap * 2 : in->end + want;
    char *b = realloc(in->buf, cap);
    if (!b) {
      PyErr_NoMemory();
      return -1;
    }
    in->buf = b;
    in->cap = cap;
    note_alloc(cap);
  }
  const sysgi_request *r = in->rq->r;
  char *dst = in->buf + in->end;
  size_t room = in->cap - in->end;
  if (rem > 0 && (uint64_t)room > (uint64_t)rem)
    room = (size_t)rem; /* never ask for more than was declared */
  ptrdiff_t n;
  in->busy = 1;
  SYSGI_NOGIL(n = fe_read(in, r, dst, room));
  in->busy = 0;
  if (n < 0) {
    read_error(in, (int)n);
    return -1;
  }
  if (n == 0) {
    in->eof = 1;
    return 0;
  }
  in->end += (size_t)n;
  return n;
}

/* The body bytes the front end still has: CONTENT_LENGTH minus what was
 * read, or -1 when unknown (no or a malformed CONTENT_LENGTH). */
static int64_t remaining(input *in) {
  if (!in->cl_known) {
    in->cl_known = 1;
    in->declared = -1;
    const sysgi_request *r = in->rq ? in->rq->r : NULL;
    for (size_t i = 0; r && i < r->n_vars; i++) {
      const char *nm = r->vars[i].name, *v = r->vars[i].value;
      if (!nm || !v || strcmp(nm, "CONTENT_LENGTH") != 0)
        continue;
      int64_t x = 0;
      const char *p = v;
      for (; *p >= '0' && *p <= '9' && x < ((int64_t)1 << 53); p++)
        x = x * 10 + (*p - '0');
      if (p != v && *p == '\0')
        in->declared = x;
      break;
    }
  }
  if (in->declared < 0)
    return -1;
  return in->declared > in->total ? in->declared - in->total : 0;
}

/* Puts `n` bytes back in front of the internal buffer (error path). */
static void unread(input *in, const char *p, size_t n) {
  size_t avail = in->end - in->start;
  char *b = malloc(n + avail ? n + avail : 1);
  if (!b)
    return; /* the body is broken anyway */
  if (n)
    memcpy(b, p, n);
  if (avail)
    memcpy(b + n, in->buf + in->start, avail);
  free(in->buf);
  in->buf = b;
  in->start = 0;
  in->end = in->cap = n + avail;
}

/* read(n) with fewer than n bytes buffered: copies what is buffered, then
 * reads straight into the result with the GIL released once, until n bytes
 * or the end of the body. n up to one step goes into the bytes object; a
 * larger n into a C buffer that grows with what arrives (at most one step
 * past it), copied into bytes at the end. */
static PyObject *read_direct(input *in, size_t n) {
  if (sysgi_foreign_thread(in->rq, "wsgi.input"))
    return NULL;
  if (in->busy) {
    PyErr_SetString(PyExc_RuntimeError,
                    "wsgi.input read concurrently from two threads");
    return NULL;
  }
  size_t got = in->end - in->start;
  PyObject *b = NULL;
  char *dst, *heap = NULL;
  size_t cap;
  if (n <= STEP_MIN) {
    if (!(b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n)))
      return NULL;
    dst = PyBytes_AsString(b);
    cap = n;
  } else {
    cap = got > STEP_MIN ? got : STEP_MIN;
    if (!(heap = dst = malloc(cap)))
      return PyErr_NoMemory();
  }
  if (got)
    memcpy(dst, in->buf + in->start, got);
  in->start = in->end = 0;
  const sysgi_request *r = in->rq->r;
  ptrdiff_t rc = 1;
  in->busy = 1;
  for (;;) {
    SYSGI_NOGIL(while (got < n) {
      if (got == cap) { /* only a heap buffer fills before n */
        if (n - got <= got)
          break; /* the rest is no more than what arrived: see below */
        size_t step = cap < STEP_MAX ? cap : STEP_MAX;
        size_t ncap = n - cap < step ? n : cap + step;
        char *nb = realloc(heap, ncap);
        if (!nb) {
          rc = SYSGI_E_NOMEM;
          break;
        }
        heap = dst = nb;
        cap = ncap;
      }
      rc = fe_read(in, r, dst + got, cap - got);
      if (rc <= 0)
        break;
      got += (size_t)rc;
    });
    if (!heap || rc <= 0 || got == n || got < cap)
      break;
    /* At least half of n has arrived: the result itself, n bytes, is
     * within the doubling bound, so the rest is read straight into it
     * instead of growing the heap buffer to n and copying that into a
     * bytes object at the end (1 MiB POST: 2 MiB of copies and the page
     * faults of the last realloc saved; bench/PROFILE.md). */
    if (!(b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n))) {
      in->busy = 0;
      free(heap);
      return NULL;
    }
    note_alloc(n);
    dst = PyBytes_AsString(b);
    memcpy(dst, heap, got);
    free(heap);
    heap = NULL;
    cap = n;
  }
  in->busy = 0;
  note_alloc(cap);
  if (rc < 0) {
    if (rc != SYSGI_E_TOO_LARGE)
      unread(in, dst, got);
    Py_XDECREF(b);
    free(heap);
    if (rc == SYSGI_E_NOMEM)
      return PyErr_NoMemory();
    read_error(in, (int)rc);
    return NULL;
  }
  if (rc == 0)
    in->eof = 1;
  if (heap) {
    PyObject *s = PyBytes_FromStringAndSize(heap, (Py_ssize_t)got);
    free(heap);
    return s;
  }
  if (got < n) {
    PyObject *s = PyBytes_FromStringAndSize(dst, (Py_ssize_t)got);
    Py_DECREF(b);
    return s;
  }
  return b;
}

static PyObject *take(input *in, size_t n) {
  if (n == 0)
    return PyBytes_FromStringAndSize("", 0);
  PyObject *b = PyBytes_FromStringAndSize(in->buf + in->start, (Py_ssize_t)n);
  if (b)
    in->start += n;
  return b;
}

/* None or a negative int: no limit (-1). */
static int size_arg(PyObject *o, Py_ssize_t *size) {
  *size = -1;
  if (!o || o == Py_None)
    return 0;
  if (!PyLong_Check(o)) {
    PyErr_SetString(PyExc_TypeError, "size must be an int or None");
    return -1;
  }
  *size = PyLong_AsSsize_t(o);
  if (*size == -1 && PyErr_Occurred())
    return -1;
  if (*size < 0)
    *size = -1;
  return 0;
}

static PyObject *input_read(PyObject *self, PyObject *args) {
  input *in = (input *)self;
  PyObject *o = NULL;
  Py_ssize_t size;
  if (!PyArg_ParseTuple(args, "|O:read", &o) || size_arg(o, &size) < 0)
    return NULL;
  size_t avail = in->end - in->start;
  if (size >= 0 && avail >= (size_t)size)
    return take(in, (size_t)size);
  if (!in->eof && in->rq && in->rq->r->fe->read_body) {
    /* How much can still come bounds the result; read_direct grows it
     * only as bytes arrive. */
    int64_t rem = remaining(in);
    if (rem >= 0) {
      uint64_t total = (uint64_t)avail + (uint64_t)rem;
      if (size < 0 || (uint64_t)size > total)
        size = (Py_ssize_t)total;
      if ((size_t)size <= avail)
        return take(in, (size_t)size);
      return read_direct(in, (size_t)size);
    }
    if (size >= 0)
      return read_direct(in, (size_t)size);
  }
  for (;;) {
    size_t avail = in->end - in->start;
    if (size >= 0 && avail >= (size_t)size)
      return take(in, (size_t)size);
    size_t want = CHUNK;
    if (size >= 0 && (size_t)size - avail < want)
      want = (size_t)size - avail;
    Py_ssize_t n = fill(in, want);
    if (n < 0)
      return NULL;
    if (n == 0)
      return take(in, in->end - in->start);
  }
}

static Py_ssize_t line_len(input *in, Py_ssize_t size, int *complete) {
  size_t avail = in->end - in->start;
  size_t lim = size >= 0 && (size_t)size < avail ? (size_t)size : avail;
  char *nl = lim ? memchr(in->buf + in->start, '\n', lim) : NULL;
  *complete = nl != NULL || (size >= 0 && avail >= (size_t)size);
  return nl ? (Py_ssize_t)(nl - (in->buf + in->start)) + 1 : (Py_ssize_t)lim;
}

static PyObject *readline(input *in, Py_ssize_t size) {
  int complete;
  Py_ssize_t n;
  while (!(n = line_len(in, size, &complete), complete)) {
    Py_ssize_t got = fill(in, 8192);
    if (got < 0)
      return NULL;
    if (got == 0)
      break;
  }
  return take(in, (size_t)n);
}

static PyObject *input_readline(PyObject *self, PyObject *args) {
  PyObject *o = NULL;
  Py_ssize_t size;
  if (!PyArg_ParseTuple(args, "|O:readline", &o) || size_arg(o, &size) < 0)
    return NULL;
  return readline((input *)self, size);
}

static PyObject *input_readlines(PyObject *self, PyObject *args) {
  PyObject *o = NULL;
  Py_ssize_t hint;
  if (!PyArg_ParseTuple(args, "|O:readlines", &o) || size_arg(o, &hint) < 0)
    return NULL;
  PyObject *list = PyList_New(0);
  Py_ssize_t total = 0;
  while (list) {
    PyObject *line = readline((input *)self, -1);
    if (!line) {
      Py_CLEAR(list);
      break;
    }
    Py_ssize_t n = PyBytes_Size(line);
    if (n == 0) {
      Py_DECREF(line);
      break;
    }
    if (PyList_Append(list, line) < 0)
      Py_CLEAR(list);
    Py_DECREF(line);
    total += n;
    if (hint > 0 && total >= hint)
      break;
  }
  return list;
}

static PyObject *input_iter(PyObject *self) {
  Py_INCREF(self);
  return self;
}

static PyObject *input_next(PyObject *self) {
  PyObject *line = readline((input *)self, -1);
  if (line && PyBytes_Size(line) == 0) {
    Py_DECREF(line);
    return NULL; /* StopIteration */
  }
  return line;
}

/* mod_wsgi 4.x's Input has close(); it does nothing there either (the
 * server owns the connection). */
static PyObject *input_close(PyObject *self, PyObject *unused) {
  Py_RETURN_NONE;
}

static PyMethodDef input_methods[] = {
    {"close", input_close, METH_NOARGS, "close(): does nothing"},
    {"read", input_read, METH_VARARGS, "read([size]) -> bytes"},
    {"readline", input_readline, METH_VARARGS, "readline([size]) -> bytes"},
    {"readlines", input_readlines, METH_VARARGS, "readlines([hint]) -> list"},
    {NULL, NULL, 0, NULL}};

static PyType_Slot input_slots[] = {{Py_tp_dealloc, (void *)input_dealloc},
                                    {Py_tp_iter, (void *)input_iter},
                                    {Py_tp_iternext, (void *)input_next},
                                    {Py_tp_methods, input_methods},
                                    {0, NULL}};

static PyType_Spec input_spec = {"mod_wsgi.Input", sizeof(input), 0,
                                 Py_TPFLAGS_DEFAULT, input_slots};

PyObject *sysgi_input_type_new(void) { return PyType_FromSpec(&input_spec); }

PyObject *sysgi_input_new(sysgi_req *rq) {
  PyObject *o = PyType_GenericAlloc((PyTypeObject *)rq->ip->input_type, 0);
  if (o)
    ((input *)o)->rq = rq;
  return o;
}

void sysgi_input_detach(PyObject *o) {
  if (o)
    ((input *)o)->rq = NULL;
}
