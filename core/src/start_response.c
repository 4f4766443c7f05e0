/*
 * start_response.c: the start_response callable and the write() callable
 * it returns (PEP 3333), as a small C type created per interpreter.
 */
#include "sysgi_internal.h"

typedef struct {
  PyObject_HEAD
  sysgi_req *rq; /* NULL once the request has ended */
} responder;

static void responder_dealloc(PyObject *self) {
  PyTypeObject *tp = Py_TYPE(self);
  freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  f(self);
  Py_DECREF(tp);
}

static PyObject *reraise(PyObject *exc_info) {
  if (!PyTuple_Check(exc_info) || PyTuple_Size(exc_info) != 3) {
    PyErr_SetString(PyExc_TypeError,
                    "exc_info must be a tuple (type, value, traceback)");
    return NULL;
  }
  PyObject *t = PyTuple_GetItem(exc_info, 0);
  PyObject *v = PyTuple_GetItem(exc_info, 1);
  PyObject *tb = PyTuple_GetItem(exc_info, 2);
  if (t == Py_None) {
    PyErr_SetString(PyExc_TypeError, "exc_info holds no exception");
    return NULL;
  }
  Py_INCREF(t);
  Py_INCREF(v);
  if (tb == Py_None)
    tb = NULL;
  Py_XINCREF(tb);
  PyErr_Restore(t, v, tb);
  return NULL;
}

static PyObject *responder_call(PyObject *self, PyObject *args,
                                PyObject *kw) {
  static char *kwlist[] = {"status", "response_headers", "exc_info", NULL};
  PyObject *status, *headers, *exc_info = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O:start_response", kwlist,
                                   &status, &headers, &exc_info))
    return NULL;
  sysgi_req *rq = ((responder *)self)->rq;
  if (!rq) {
    PyErr_SetString(PyExc_RuntimeError,
                    "start_response() called after the request ended");
    return NULL;
  }
  /* The front end reads the head without the GIL on the request's thread:
   * another thread must not replace it (nor set it) under that read. */
  if (sysgi_foreign_thread(rq, "start_response()"))
    return NULL;
  if (exc_info != Py_None) {
    /* PEP 3333: too late to change the response: re-raise. */
    if (rq->head_sent)
      return reraise(exc_info);
  } else if (rq->started) {
    PyErr_SetString(PyExc_RuntimeError,
                    "start_response() called a second time without "
                    "exc_info: the headers have already been set");
    return NULL;
  }
  if (sysgi_headers_copy(rq, status, headers) < 0)
    return NULL;
  rq->started = 1;
  if (sysgi__modwsgi_response_started(rq, status, headers, exc_info) < 0)
    return NULL;
  return PyObject_GetAttr(self, rq->ip->keys[K_S_WRITE]);
}

static PyObject *responder_write(PyObject *self, PyObject *data) {
  sysgi_req *rq = ((responder *)self)->rq;
  if (!rq) {
    PyErr_SetString(PyExc_RuntimeError,
                    "write() called after the request ended");
    return NULL;
  }
  if (!PyBytes_Check(data)) {
    PyObject *tn = PyObject_GetAttrString((PyObject *)Py_TYPE(data),
                                          "__name__");
    if (tn) {
      PyErr_Format(PyExc_TypeError, "write() argument must be bytes, not %U",
                   tn);
      Py_DECREF(tn);
    }
    return NULL;
  }
  if (sysgi_foreign_thread(rq, "write()"))
    return NULL;
  if (!rq->started) {
    PyErr_SetString(PyExc_RuntimeError,
                    "write() called before start_response()");
    return NULL;
  }
  char *p;
  Py_ssize_t n;
  if (PyBytes_AsStringAndSize(data, &p, &n) < 0)
    return NULL;
  /* The head goes out with the first bytes, in the same GIL release. */
  int rc = n > 0 ? sysgi_send_bytes(rq, data, p, n) : sysgi_send_head(rq);
  if (rc < 0) {
    PyErr_Format(PyExc_OSError, "write() failed: %s", sysgi_strerror(rc));
    return NULL;
  }
  Py_RETURN_NONE;
}

static PyMethodDef responder_methods[] = {
    {"write", responder_write, METH_O, "Write bytes to the response."},
    {NULL, NULL, 0, NULL}};

static PyType_Slot responder_slots[] = {
    {Py_tp_dealloc, (void *)responder_dealloc},
    {Py_tp_call, (void *)responder_call},
    {Py_tp_methods, responder_methods},
    {0, NULL}};

static PyType_Spec responder_spec = {"mod_wsgi.StartResponse",
                                     sizeof(responder), 0, Py_TPFLAGS_DEFAULT,
                                     responder_slots};

PyObject *sysgi_responder_type_new(void) {
  return PyType_FromSpec(&responder_spec);
}

PyObject *sysgi_responder_new(sysgi_req *rq) {
  PyObject *o = PyType_GenericAlloc((PyTypeObject *)rq->ip->responder_type, 0);
  if (o)
    ((responder *)o)->rq = rq;
  return o;
}

void sysgi_responder_detach(PyObject *o) {
  if (o)
    ((responder *)o)->rq = NULL;
}
