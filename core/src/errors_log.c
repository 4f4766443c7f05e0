/*
 * errors_log.c: wsgi.errors, a C type that turns what the application
 * writes into error-log lines (fe->log at ERR level, like mod_wsgi). A
 * partial line waits for its newline, flush(), or the end of the request.
 */
#include "sysgi_internal.h"

typedef struct {
  PyObject_HEAD
  sysgi_req *rq;  /* NULL once the request has ended: runtime log */
  sysgi__linebuf lines;
} errors;

static void errors_dealloc(PyObject *self) {
  PyTypeObject *tp = Py_TYPE(self);
  sysgi__linebuf_free(&((errors *)self)->lines);
  freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  f(self);
  Py_DECREF(tp);
}

/* Lines written by another thread (an app's background thread) go to the
 * runtime log: the front end may only be called on the request's thread,
 * and the request may end while this thread logs. */
static const sysgi_request *log_target(errors *e) {
  return e->rq && e->rq->owner == PyThread_get_thread_ident() ? e->rq->r
                                                               : NULL;
}

static int write_str(errors *e, PyObject *s) {
  return sysgi__linebuf_write(&e->lines, s, log_target(e));
}

static PyObject *errors_write(PyObject *self, PyObject *s) {
  if (write_str((errors *)self, s) < 0)
    return NULL;
  return PyLong_FromSsize_t(PyUnicode_GetLength(s));
}

static PyObject *errors_writelines(PyObject *self, PyObject *seq) {
  PyObject *it = PyObject_GetIter(seq);
  if (!it)
    return NULL;
  PyObject *item;
  while ((item = PyIter_Next(it))) {
    int rc = write_str((errors *)self, item);
    Py_DECREF(item);
    if (rc < 0)
      break;
  }
  Py_DECREF(it);
  if (PyErr_Occurred())
    return NULL;
  Py_RETURN_NONE;
}

static PyObject *errors_flush(PyObject *self, PyObject *unused) {
  errors *e = (errors *)self;
  sysgi__linebuf_flush(&e->lines, log_target(e));
  Py_RETURN_NONE;
}

/* What mod_wsgi 4's TextIOWrapper answers (name '<wsgi.errors>'). */
static PyObject *errors_false(PyObject *self, PyObject *unused) {
  Py_RETURN_FALSE;
}

static PyObject *errors_true(PyObject *self, PyObject *unused) {
  Py_RETURN_TRUE;
}

static PyObject *errors_fileno(PyObject *self, PyObject *unused) {
  PyObject *io = PyImport_ImportModule("io");
  PyObject *exc = io ? PyObject_GetAttrString(io, "UnsupportedOperation")
                     : NULL;
  Py_XDECREF(io);
  if (exc) {
    PyErr_SetString(exc, "fileno: wsgi.errors has no file descriptor");
    Py_DECREF(exc);
  }
  return NULL;
}

static PyObject *errors_get_name(PyObject *self, void *c) {
  return PyUnicode_FromString("<wsgi.errors>");
}
static PyObject *errors_get_encoding(PyObject *self, void *c) {
  return PyUnicode_FromString("utf-8");
}
static PyObject *errors_get_errors(PyObject *self, void *c) {
  return PyUnicode_FromString("backslashreplace");
}
static PyObject *errors_get_false(PyObject *self, void *c) {
  Py_RETURN_FALSE;
}

static PyGetSetDef errors_getset[] = {
    {"name", errors_get_name, NULL, NULL, NULL},
    {"encoding", errors_get_encoding, NULL, NULL, NULL},
    {"errors", errors_get_errors, NULL, NULL, NULL},
    {"closed", errors_get_false, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef errors_methods[] = {
    {"isatty", errors_false, METH_NOARGS, "False"},
    {"readable", errors_false, METH_NOARGS, "False"},
    {"seekable", errors_false, METH_NOARGS, "False"},
    {"writable", errors_true, METH_NOARGS, "True"},
    {"fileno", errors_fileno, METH_NOARGS, "raises io.UnsupportedOperation"},
    {"write", errors_write, METH_O, "write(str): log it"},
    {"writelines", errors_writelines, METH_O, "writelines(iterable of str)"},
    {"flush", errors_flush, METH_NOARGS, "log a pending partial line"},
    {NULL, NULL, 0, NULL}};

static PyType_Slot errors_slots[] = {{Py_tp_dealloc, (void *)errors_dealloc},
                                     {Py_tp_methods, errors_methods},
                                     {Py_tp_getset, errors_getset},
                                     {0, NULL}};

static PyType_Spec errors_spec = {"mod_wsgi.Log", sizeof(errors), 0,
                                  Py_TPFLAGS_DEFAULT, errors_slots};

PyObject *sysgi_errors_type_new(void) { return PyType_FromSpec(&errors_spec); }

PyObject *sysgi_errors_new(sysgi_req *rq) {
  PyObject *o = PyType_GenericAlloc((PyTypeObject *)rq->ip->errors_type, 0);
  if (o)
    ((errors *)o)->rq = rq;
  return o;
}

void sysgi_errors_detach(PyObject *o) {
  if (!o)
    return;
  errors *e = (errors *)o;
  sysgi__linebuf_flush(&e->lines, log_target(e));
  e->rq = NULL;
}
