/*
 * file_wrapper.c: wsgi.file_wrapper(filelike, blksize=8192). Iterating it
 * reads blocks with filelike.read(blksize); close() closes the file. The
 * response driver recognises it and may hand the file to fe->send_file
 * instead (see response.c).
 */
#include "sysgi_internal.h"

typedef struct {
  PyObject_HEAD
  PyObject *filelike;
  Py_ssize_t blksize;
} fwrap;

static PyObject *fwrap_new(PyTypeObject *tp, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"filelike", "blksize", NULL};
  PyObject *filelike;
  Py_ssize_t blksize = 8192;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|n:FileWrapper", kwlist,
                                   &filelike, &blksize))
    return NULL;
  if (blksize <= 0) {
    PyErr_SetString(PyExc_ValueError, "blksize must be positive");
    return NULL;
  }
  PyObject *o = PyType_GenericAlloc(tp, 0);
  if (!o)
    return NULL;
  Py_INCREF(filelike);
  ((fwrap *)o)->filelike = filelike;
  ((fwrap *)o)->blksize = blksize;
  return o;
}

static void fwrap_dealloc(PyObject *self) {
  PyTypeObject *tp = Py_TYPE(self);
  Py_CLEAR(((fwrap *)self)->filelike);
  freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  f(self);
  Py_DECREF(tp);
}

static PyObject *fwrap_iter(PyObject *self) {
  Py_INCREF(self);
  return self;
}

static PyObject *fwrap_next(PyObject *self) {
  fwrap *w = (fwrap *)self;
  PyObject *data = PyObject_CallMethod(w->filelike, "read", "n", w->blksize);
  if (!data)
    return NULL;
  int t = PyObject_IsTrue(data);
  if (t <= 0) {
    Py_DECREF(data);
    return NULL; /* empty: StopIteration (or the error of IsTrue) */
  }
  return data;
}

static PyObject *fwrap_close(PyObject *self, PyObject *unused) {
  fwrap *w = (fwrap *)self;
  PyObject *close = PyObject_GetAttrString(w->filelike, "close");
  if (!close) {
    if (!PyErr_ExceptionMatches(PyExc_AttributeError))
      return NULL;
    PyErr_Clear();
    Py_RETURN_NONE;
  }
  PyObject *r = PyObject_CallObject(close, NULL);
  Py_DECREF(close);
  return r;
}

static PyObject *fwrap_get_filelike(PyObject *self, void *c) {
  PyObject *f = ((fwrap *)self)->filelike;
  Py_INCREF(f);
  return f;
}

static PyObject *fwrap_get_blksize(PyObject *self, void *c) {
  return PyLong_FromSsize_t(((fwrap *)self)->blksize);
}

static PyGetSetDef fwrap_getset[] = {
    {"filelike", fwrap_get_filelike, NULL, NULL, NULL},
    {"blksize", fwrap_get_blksize, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef fwrap_methods[] = {
    {"close", fwrap_close, METH_NOARGS, "close the wrapped file"},
    {NULL, NULL, 0, NULL}};

static PyType_Slot fwrap_slots[] = {{Py_tp_new, (void *)fwrap_new},
                                    {Py_tp_dealloc, (void *)fwrap_dealloc},
                                    {Py_tp_iter, (void *)fwrap_iter},
                                    {Py_tp_iternext, (void *)fwrap_next},
                                    {Py_tp_methods, fwrap_methods},
                                    {Py_tp_getset, fwrap_getset},
                                    {0, NULL}};

static PyType_Spec fwrap_spec = {"mod_wsgi.FileWrapper", sizeof(fwrap), 0,
                                 Py_TPFLAGS_DEFAULT, fwrap_slots};

PyObject *sysgi_file_wrapper_type_new(void) {
  return PyType_FromSpec(&fwrap_spec);
}

PyObject *sysgi_file_wrapper_filelike(sysgi_interp *ip, PyObject *obj) {
  if ((PyObject *)Py_TYPE(obj) != ip->file_wrapper_type)
    return NULL;
  return ((fwrap *)obj)->filelike;
}
