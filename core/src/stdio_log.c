/*
 * stdio_log.c: sys.stdout and sys.stderr of every interpreter become
 * error-log lines, as mod_wsgi makes them: one log entry per line written,
 * through the front end's log (so with its prefix and the client) while a
 * request runs on the writing thread, else through the runtime's log. A
 * partial line waits for its newline or flush(). WSGIRestrictStdout /
 * WSGIRestrictStdin (mod_wsgi): writing stdout / reading stdin raises
 * OSError. Also sys.argv = ['mod_wsgi'], as mod_wsgi sets it.
 */
#include "sysgi_internal.h"

#include <stdlib.h>
#include <string.h>

/* The request running on this thread (sysgi_handle, the hooks), or NULL.
 * Read only by this thread: the request outlives every read. */
static _Thread_local const sysgi_request *current;

static int restrict_stdout, restrict_stdin;

const sysgi_request *sysgi__stdio_set_request(const sysgi_request *r) {
  const sysgi_request *prev = current;
  current = r;
  return prev;
}

void sysgi_runtime_set_stdio(int restrict_out, int restrict_in) {
  restrict_stdout = restrict_out;
  restrict_stdin = restrict_in;
}

typedef struct {
  PyObject_HEAD
  const char *name;   /* "<stdout>", "<stderr>", "<stdin>" (static) */
  int restricted;     /* every read/write raises OSError            */
  sysgi__linebuf lines;
} stdio_log;

static void stdio_dealloc(PyObject *self) {
  PyTypeObject *tp = Py_TYPE(self);
  sysgi__linebuf_free(&((stdio_log *)self)->lines);
  freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  f(self);
  Py_DECREF(tp);
}

static PyObject *restricted(stdio_log *o) {
  PyErr_Format(PyExc_OSError, "sys.%s access restricted by mod_wsgi",
               !strcmp(o->name, "<stdin>") ? "stdin" : "stdout");
  return NULL;
}

static int write_str(stdio_log *o, PyObject *s) {
  return sysgi__linebuf_write(&o->lines, s, current);
}

static PyObject *m_write(PyObject *self, PyObject *s) {
  stdio_log *o = (stdio_log *)self;
  if (o->restricted)
    return restricted(o);
  if (write_str(o, s) < 0)
    return NULL;
  return PyLong_FromSsize_t(PyUnicode_GetLength(s));
}

static PyObject *m_writelines(PyObject *self, PyObject *seq) {
  stdio_log *o = (stdio_log *)self;
  if (o->restricted)
    return restricted(o);
  PyObject *it = PyObject_GetIter(seq), *item;
  if (!it)
    return NULL;
  while ((item = PyIter_Next(it))) {
    int rc = write_str(o, item);
    Py_DECREF(item);
    if (rc < 0)
      break;
  }
  Py_DECREF(it);
  if (PyErr_Occurred())
    return NULL;
  Py_RETURN_NONE;
}

static PyObject *m_flush(PyObject *self, PyObject *unused) {
  stdio_log *o = (stdio_log *)self;
  sysgi__linebuf_flush(&o->lines, current);
  Py_RETURN_NONE;
}

static PyObject *m_read(PyObject *self, PyObject *args) {
  stdio_log *o = (stdio_log *)self;
  if (o->restricted)
    return restricted(o);
  PyErr_SetString(PyExc_OSError, "not readable: the error log");
  return NULL;
}

static PyObject *m_false(PyObject *self, PyObject *unused) {
  Py_RETURN_FALSE;
}

static PyObject *m_true(PyObject *self, PyObject *unused) {
  Py_RETURN_TRUE;
}

static PyObject *m_fileno(PyObject *self, PyObject *unused) {
  PyObject *io = PyImport_ImportModule("io");
  PyObject *exc = io ? PyObject_GetAttrString(io, "UnsupportedOperation")
                     : NULL;
  Py_XDECREF(io);
  if (exc) {
    PyErr_SetString(exc, "fileno: the error log has no file descriptor");
    Py_DECREF(exc);
  }
  return NULL;
}

static PyObject *m_none(PyObject *self, PyObject *unused) { Py_RETURN_NONE; }

static PyObject *g_name(PyObject *self, void *c) {
  return PyUnicode_FromString(((stdio_log *)self)->name);
}
static PyObject *g_encoding(PyObject *self, void *c) {
  return PyUnicode_FromString("utf-8");
}
static PyObject *g_errors(PyObject *self, void *c) {
  return PyUnicode_FromString("backslashreplace");
}
static PyObject *g_false(PyObject *self, void *c) { Py_RETURN_FALSE; }
static PyObject *g_true(PyObject *self, void *c) { Py_RETURN_TRUE; }

static PyMethodDef methods[] = {
    {"write", m_write, METH_O, "write(str): log it, one entry per line"},
    {"writelines", m_writelines, METH_O, "writelines(iterable of str)"},
    {"flush", m_flush, METH_NOARGS, "log a pending partial line"},
    {"read", m_read, METH_VARARGS, "not readable"},
    {"readline", m_read, METH_VARARGS, "not readable"},
    {"readlines", m_read, METH_VARARGS, "not readable"},
    {"isatty", m_false, METH_NOARGS, "False"},
    {"readable", m_false, METH_NOARGS, "False"},
    {"seekable", m_false, METH_NOARGS, "False"},
    {"writable", m_true, METH_NOARGS, "True"},
    {"fileno", m_fileno, METH_NOARGS, "raises io.UnsupportedOperation"},
    {"close", m_none, METH_NOARGS, "does nothing: the log stays open"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef getset[] = {
    {"name", g_name, NULL, NULL, NULL},
    {"encoding", g_encoding, NULL, NULL, NULL},
    {"errors", g_errors, NULL, NULL, NULL},
    {"closed", g_false, NULL, NULL, NULL},
    {"line_buffering", g_true, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}};

/* As mod_wsgi's Restricted object: every attribute raises. */
static PyObject *stdio_getattro(PyObject *self, PyObject *name) {
  stdio_log *o = (stdio_log *)self;
  if (o->restricted)
    return restricted(o);
  return PyObject_GenericGetAttr(self, name);
}

static PyType_Slot slots[] = {{Py_tp_dealloc, (void *)stdio_dealloc},
                              {Py_tp_getattro, (void *)stdio_getattro},
                              {Py_tp_methods, methods},
                              {Py_tp_getset, getset},
                              {0, NULL}};

static PyType_Spec spec = {"mod_wsgi.Log", sizeof(stdio_log), 0,
                           Py_TPFLAGS_DEFAULT, slots};

static int install(PyTypeObject *tp, const char *attr, const char *name,
                   int restrict_it) {
  PyObject *o = PyType_GenericAlloc(tp, 0);
  if (!o)
    return -1;
  ((stdio_log *)o)->name = name;
  ((stdio_log *)o)->restricted = restrict_it;
  int rc = PySys_SetObject(attr, o);
  Py_DECREF(o);
  return rc;
}

int sysgi__stdio_install(void) {
  PyObject *tp = PyType_FromSpec(&spec);
  if (!tp)
    return -1;
  int rc = install((PyTypeObject *)tp, "stdout", "<stdout>",
                   restrict_stdout) < 0 ||
                   install((PyTypeObject *)tp, "stderr", "<stderr>", 0) < 0 ||
                   (restrict_stdin &&
                    install((PyTypeObject *)tp, "stdin", "<stdin>", 1) < 0)
               ? -1
               : 0;
  Py_DECREF(tp);
  if (rc < 0)
    return -1;
  PyObject *argv = Py_BuildValue("[s]", "mod_wsgi");
  rc = argv ? PySys_SetObject("argv", argv) : -1;
  Py_XDECREF(argv);
  return rc;
}
