/*
 * fuzz_start_response.c: the status and header validation of
 * start_response() (sysgi_headers_copy in core/src/headers.c, what the
 * start_response callable runs on its arguments), with real CPython
 * objects built from the input: str statuses and header lists holding
 * any code point, non-latin-1 text, bytes, wrong tuple sizes, non-lists.
 *
 * Why not a refactored pure-C validator: the checks that matter are on
 * Python objects (types, latin-1 encodability, embedded NULs seen
 * through the encoder), and headers.c stays as the defects work needs it.
 *
 * Input: byte 0 flags (bit 0: status from UTF-8 with surrogateescape
 * instead of latin-1, bit 1: status as bytes, bit 2: headers as a tuple);
 * then length-prefixed strings (1 byte of length): the status, then per
 * header a mode byte, a name and a value. Modes: 0 (str, str) from
 * latin-1, 1 value from UTF-8 (replace), 2 name as bytes, 3 a 3-tuple,
 * 4 a list instead of a tuple, 5 an int value, else as 0.
 * Invariants on success: the status code is the three leading digits, the
 * status line is what was given, every name is a non-empty token, no
 * value holds CR, LF or NUL, Content-Length is what a header said.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sysgi_internal.h"

/* CPython keeps interned strings and caches across inputs and until exit:
 * not leaks of the code under test. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=0"; }

static void fe_log(void *conn, int level, const char *msg) {
  (void)conn;
  (void)level;
  (void)msg;
}

static sysgi_frontend fe = {.log = fe_log};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  Py_InitializeEx(0);
  return 0;
}

typedef struct {
  const uint8_t *p, *end;
} in_t;

/* The next length-prefixed string (NULL at the end). */
static const char *next(in_t *in, size_t *n) {
  if (in->p >= in->end)
    return NULL;
  size_t want = *in->p++;
  size_t have = (size_t)(in->end - in->p);
  *n = want < have ? want : have;
  const char *s = (const char *)in->p;
  in->p += *n;
  return s;
}

static PyObject *text(const char *s, size_t n, int utf8) {
  PyObject *o = utf8 ? PyUnicode_DecodeUTF8(s, (Py_ssize_t)n, "surrogateescape")
                     : PyUnicode_DecodeLatin1(s, (Py_ssize_t)n, NULL);
  if (!o)
    abort();
  return o;
}

static int ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if ((*a | 0x20) != (*b | 0x20))
      return 0;
  return *a == *b;
}

static int is_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  in_t in = {data + 1, data + size};
  unsigned flags = data[0];
  size_t n;
  const char *s = next(&in, &n);
  if (!s)
    return 0;
  PyObject *status = (flags & 2) ? PyBytes_FromStringAndSize(s, (Py_ssize_t)n)
                                 : text(s, n, flags & 1);
  PyObject *list = PyList_New(0);
  while (in.p < in.end) {
    unsigned mode = *in.p++;
    size_t nn = 0, vn = 0;
    const char *name = next(&in, &nn);
    const char *value = name ? next(&in, &vn) : NULL;
    if (!value) {
      value = "";
      vn = 0;
    }
    if (!name) {
      name = "";
      nn = 0;
    }
    PyObject *no = mode == 2 ? PyBytes_FromStringAndSize(name, (Py_ssize_t)nn)
                             : text(name, nn, 0);
    PyObject *vo = mode == 5 ? PyLong_FromLong((long)vn)
                             : text(value, vn, mode == 1);
    PyObject *item = mode == 3   ? PyTuple_Pack(3, no, vo, vo)
                     : mode == 4 ? PyList_New(0)
                                 : PyTuple_Pack(2, no, vo);
    if (mode == 4) {
      PyList_Append(item, no);
      PyList_Append(item, vo);
    }
    PyList_Append(list, item);
    Py_DECREF(item);
    Py_DECREF(no);
    Py_DECREF(vo);
  }
  PyObject *headers = list;
  if (flags & 4) {
    headers = PyList_AsTuple(list);
    Py_DECREF(list);
  }

  sysgi_request r;
  memset(&r, 0, sizeof r);
  r.fe = &fe;
  r.script_filename = "/fuzz/app.py";
  sysgi_req *rq = calloc(1, sizeof *rq);
  if (!rq)
    abort();
  rq->r = &r;
  rq->content_length = -1;
  int rc = sysgi_headers_copy(rq, status, headers);
  if (rc == 0) {
    if (PyErr_Occurred())
      abort();
    const char *sl = rq->status_line;
    if (!sl || strlen(sl) < 5 || sl[3] != ' ' ||
        rq->status != (sl[0] - '0') * 100 + (sl[1] - '0') * 10 + (sl[2] - '0'))
      abort();
    if (strchr(sl, '\r') || strchr(sl, '\n'))
      abort();
    for (size_t i = 0; i < rq->n_headers; i++) {
      const char *hn = rq->headers[i].name, *hv = rq->headers[i].value;
      if (!*hn)
        abort();
      for (const char *c = hn; *c; c++)
        if (!is_tchar((unsigned char)*c))
          abort();
      if (strpbrk(hv, "\r\n"))
        abort();
      if (ieq(hn, "transfer-encoding"))
        abort(); /* dropped: the server frames the body */
    }
    if (rq->content_length < -1)
      abort();
  } else {
    if (!PyErr_Occurred())
      abort(); /* a refusal raises, with a message */
    PyErr_Clear();
  }
  sysgi_arena_reset(&rq->arena);
  free(rq);
  Py_DECREF(status);
  Py_DECREF(headers);
  return 0;
}
