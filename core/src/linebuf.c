/*
 * linebuf.c: the line buffering shared by wsgi.errors (errors_log.c) and
 * sys.stdout/sys.stderr (stdio_log.c). Both turn written text into one
 * error-log entry per line; a partial line waits for its newline or a
 * flush. The two differ only in which request's log a line goes to, which
 * the caller decides.
 */
#include "sysgi_internal.h"

#include <stdlib.h>
#include <string.h>

void sysgi__linebuf_free(sysgi__linebuf *lb) {
  free(lb->buf);
  lb->buf = NULL;
  lb->len = lb->cap = 0;
}

/* Logs the first `n` buffered bytes as lines (the last may lack its
 * newline) and drops them. They are moved out first because the GIL is
 * released while logging and another thread may write to the same object
 * meanwhile. */
static void emit(sysgi__linebuf *lb, size_t n, const sysgi_request *r) {
  if (n == 0)
    return;
  char *lines = malloc(n + 1);
  if (!lines)
    return;
  memcpy(lines, lb->buf, n);
  lines[n] = '\0';
  memmove(lb->buf, lb->buf + n, lb->len - n);
  lb->len -= n;
  PyThreadState *save = PyEval_SaveThread();
  char *p = lines;
  while (p < lines + n) {
    char *nl = memchr(p, '\n', (size_t)(lines + n - p));
    if (nl)
      *nl = '\0';
    sysgi_log_nogil(r, SYSGI_LOG_ERR, "%s", p);
    if (!nl)
      break;
    p = nl + 1;
  }
  PyEval_RestoreThread(save);
  free(lines);
}

void sysgi__linebuf_flush(sysgi__linebuf *lb, const sysgi_request *r) {
  emit(lb, lb->len, r);
}

int sysgi__linebuf_write(sysgi__linebuf *lb, PyObject *s,
                         const sysgi_request *r) {
  if (!PyUnicode_Check(s)) {
    PyObject *tn = PyObject_GetAttrString((PyObject *)Py_TYPE(s), "__name__");
    if (tn) {
      PyErr_Format(PyExc_TypeError, "write() argument must be str, not %U",
                   tn);
      Py_DECREF(tn);
    }
    return -1;
  }
  PyObject *b = PyUnicode_AsEncodedString(s, "utf-8", "backslashreplace");
  char *p;
  Py_ssize_t n;
  if (!b || PyBytes_AsStringAndSize(b, &p, &n) < 0) {
    Py_XDECREF(b);
    return -1;
  }
  if (lb->len + (size_t)n > lb->cap) {
    size_t cap = lb->cap ? lb->cap : 256;
    while (cap < lb->len + (size_t)n)
      cap *= 2;
    char *nb = realloc(lb->buf, cap);
    if (!nb) {
      Py_DECREF(b);
      PyErr_NoMemory();
      return -1;
    }
    lb->buf = nb;
    lb->cap = cap;
  }
  memcpy(lb->buf + lb->len, p, (size_t)n);
  lb->len += (size_t)n;
  Py_DECREF(b);
  /* Everything up to the last newline is complete lines. */
  size_t k = lb->len;
  while (k > 0 && lb->buf[k - 1] != '\n')
    k--;
  emit(lb, k, r);
  return 0;
}
