/*
 * log.c: log lines to the front end (during a request) or to the runtime's
 * log function, and Python tracebacks as one log entry per line, the way
 * mod_wsgi writes them to Apache's error log.
 */
#include "sysgi_internal.h"

#include <stdio.h>
#include <string.h>

static void emit(const sysgi_request *r, int level, const char *msg) {
  if (r && r->fe && r->fe->log)
    r->fe->log(r->conn, level, msg);
  else if (sysgi_rt.log)
    sysgi_rt.log(sysgi_rt.log_ctx, level, msg);
  else
    fprintf(stderr, "%s\n", msg);
}

void sysgi_log_nogil(const sysgi_request *r, int level, const char *fmt,
                     ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  emit(r, level, buf);
}

void sysgi_log(sysgi_req *rq, int level, const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  const sysgi_request *r = rq ? rq->r : NULL;
  SYSGI_NOGIL(emit(r, level, buf));
}

/* Logs one (possibly multi-line) Python str, one entry per line. */
static void log_lines(sysgi_req *rq, PyObject *text) {
  PyObject *b = PyUnicode_AsEncodedString(text, "utf-8", "backslashreplace");
  if (!b) {
    PyErr_Clear();
    return;
  }
  char *s;
  Py_ssize_t n;
  if (PyBytes_AsStringAndSize(b, &s, &n) == 0) {
    /* Copy: the log call runs without the GIL, outside any Python object. */
    char *copy = PyMem_Malloc((size_t)n + 1);
    if (copy) {
      memcpy(copy, s, (size_t)n);
      copy[n] = '\0';
      const sysgi_request *r = rq ? rq->r : NULL;
      PyThreadState *save = PyEval_SaveThread();
      char *line = copy;
      while (*line) {
        char *nl = strchr(line, '\n');
        if (nl)
          *nl = '\0';
        if (*line)
          emit(r, SYSGI_LOG_ERR, line);
        if (!nl)
          break;
        line = nl + 1;
      }
      PyEval_RestoreThread(save);
      PyMem_Free(copy);
    }
  }
  Py_DECREF(b);
}

void sysgi_log_exception(sysgi_req *rq, const char *what) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  if (what)
    sysgi_log(rq, SYSGI_LOG_ERR, "%s", what);
  if (!type)
    return;
  PyErr_NormalizeException(&type, &value, &tb);
  PyObject *fmt = rq && rq->ip ? rq->ip->format_exception : NULL;
  PyObject *mod = NULL, *lines = NULL, *text = NULL, *sep = NULL;
  if (fmt) {
    Py_INCREF(fmt);
  } else {
    mod = PyImport_ImportModule("traceback");
    fmt = mod ? PyObject_GetAttrString(mod, "format_exception") : NULL;
  }
  if (fmt)
    lines = PyObject_CallFunctionObjArgs(fmt, type, value ? value : Py_None,
                                         tb ? tb : Py_None, NULL);
  sep = PyUnicode_FromString("");
  if (lines && sep)
    text = PyUnicode_Join(sep, lines);
  if (text) {
    log_lines(rq, text);
  } else {
    /* The traceback machinery itself failed: log at least the exception. */
    PyErr_Clear();
    PyObject *m = PyUnicode_FromFormat("%S: %S", type,
                                       value ? value : Py_None);
    if (m)
      log_lines(rq, m);
    else
      sysgi_log(rq, SYSGI_LOG_ERR, "(the exception could not be formatted)");
    Py_XDECREF(m);
  }
  PyErr_Clear();
  Py_XDECREF(text);
  Py_XDECREF(sep);
  Py_XDECREF(lines);
  Py_XDECREF(fmt);
  Py_XDECREF(mod);
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
}
