/*
 * script.c: loading WSGI scripts the way mod_wsgi does. The code is
 * compiled from the file and executed in a fresh module named
 * "_mod_wsgi_" + md5(path), whose __file__ is the script path; the module
 * is cached per interpreter and replaced when the front end reports a
 * different modification time (script reloading).
 */
#include "sysgi_internal.h"

#include <stdio.h>

/* "_mod_wsgi_" + md5 hex of the path. */
static PyObject *module_name(PyObject *path) {
  PyObject *hashlib = PyImport_ImportModule("hashlib");
  PyObject *md5 = hashlib ? PyObject_GetAttrString(hashlib, "md5") : NULL;
  PyObject *data = PyUnicode_AsEncodedString(path, "utf-8", "surrogateescape");
  PyObject *h = NULL, *hex = NULL, *name = NULL;
  if (md5 && data) {
    /* Not a security use: tell FIPS-mode OpenSSL so (3.9+); retry for 3.8. */
    PyObject *args = PyTuple_Pack(1, data);
    PyObject *kw = Py_BuildValue("{s:O}", "usedforsecurity", Py_False);
    if (args && kw)
      h = PyObject_Call(md5, args, kw);
    if (!h && args && PyErr_ExceptionMatches(PyExc_TypeError)) {
      PyErr_Clear();
      h = PyObject_Call(md5, args, NULL);
    }
    Py_XDECREF(args);
    Py_XDECREF(kw);
  }
  if (h)
    hex = PyObject_CallMethod(h, "hexdigest", NULL);
  if (hex)
    name = PyUnicode_FromFormat("_mod_wsgi_%U", hex);
  Py_XDECREF(hex);
  Py_XDECREF(h);
  Py_XDECREF(data);
  Py_XDECREF(md5);
  Py_XDECREF(hashlib);
  return name;
}

static PyObject *read_source(PyObject *path) {
  PyObject *io = PyImport_ImportModule("io");
  PyObject *f = io ? PyObject_CallMethod(io, "open_code", "O", path) : NULL;
  PyObject *src = f ? PyObject_CallMethod(f, "read", NULL) : NULL;
  if (f) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *r = PyObject_CallMethod(f, "close", NULL);
    Py_XDECREF(r);
    if (type)
      PyErr_Restore(type, value, tb);
    else if (!r)
      Py_CLEAR(src);
  }
  Py_XDECREF(f);
  Py_XDECREF(io);
  return src;
}

/* Loads the script into a fresh module. Returns a new reference, or NULL
 * with an exception set; never a module with an exception set (issue 14). */
static PyObject *load(sysgi_interp *ip, PyObject *path) {
  PyObject *name = module_name(path);
  PyObject *modules = PySys_GetObject("modules"); /* borrowed, no error */
  PyObject *src = NULL, *code = NULL, *mod = NULL, *res = NULL;
  if (!name)
    goto done;
  if (!modules) {
    PyErr_SetString(PyExc_RuntimeError, "sys.modules is missing: the "
                    "script cannot be loaded as a module");
    goto done;
  }
  if (!(src = read_source(path)))
    goto done;
  code = PyObject_CallMethod(ip->builtins, "compile", "OOsii", src, path,
                             "exec", 0, 1);
  if (!code)
    goto done;
  mod = PyModule_NewObject(name);
  if (!mod)
    goto done;
  PyObject *d = PyModule_GetDict(mod); /* borrowed */
  if (PyDict_SetItemString(d, "__file__", path) < 0 ||
      PyDict_SetItemString(d, "__builtins__", ip->builtins) < 0) {
    Py_CLEAR(mod);
    goto done;
  }
  /* In sys.modules while it runs, like an import (pickle, dataclasses).
   * sys.modules may be any mapping the application put there. */
  if (PyObject_SetItem(modules, name, mod) < 0) {
    Py_CLEAR(mod);
    goto done;
  }
  res = PyEval_EvalCode(code, d, d);
  if (!res) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (PyObject_DelItem(modules, name) < 0)
      PyErr_Clear();
    PyErr_Restore(type, value, tb);
    Py_CLEAR(mod);
  }
done:
  Py_XDECREF(res);
  Py_XDECREF(code);
  Py_XDECREF(src);
  Py_XDECREF(name);
  return mod;
}

PyObject *sysgi_script_get(sysgi_interp *ip, sysgi_req *rq, const char *path,
                           int64_t mtime_us, const char *attr) {
  char what[1200];
  PyObject *key = PyUnicode_DecodeFSDefault(path);
  if (!key) {
    snprintf(what, sizeof what, "sysgi: bad script path '%s'", path);
    sysgi_log_exception(rq, what);
    return NULL;
  }
  PyObject *entry = PyDict_GetItem(ip->scripts, key); /* borrowed */
  PyObject *mod = NULL;
  if (entry && (mtime_us == 0 ||
                PyLong_AsLongLong(PyTuple_GetItem(entry, 1)) == mtime_us)) {
    mod = PyTuple_GetItem(entry, 0);
    Py_INCREF(mod);
  } else {
    /* One loader at a time per interpreter; wait without the GIL. */
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(ip->load_lock, WAIT_LOCK);
    Py_END_ALLOW_THREADS
    entry = PyDict_GetItem(ip->scripts, key);
    if (entry && (mtime_us == 0 ||
                  PyLong_AsLongLong(PyTuple_GetItem(entry, 1)) == mtime_us)) {
      mod = PyTuple_GetItem(entry, 0);
      Py_INCREF(mod);
    } else {
      mod = load(ip, key);
      PyObject *t = mod ? Py_BuildValue("(OL)", mod, (long long)mtime_us)
                        : NULL;
      if (mod && (!t || PyDict_SetItem(ip->scripts, key, t) < 0))
        Py_CLEAR(mod);
      Py_XDECREF(t);
      if (!mod) {
        snprintf(what, sizeof what,
                 "sysgi: Failed to exec Python script file '%s'.", path);
        sysgi_log_exception(rq, what);
      }
    }
    PyThread_release_lock(ip->load_lock);
  }
  Py_DECREF(key);
  if (!mod)
    return NULL;
  PyObject *obj = PyObject_GetAttrString(mod, attr);
  Py_DECREF(mod);
  if (!obj && PyErr_ExceptionMatches(PyExc_AttributeError)) {
    PyErr_Clear();
    sysgi_log(rq, SYSGI_LOG_ERR,
              "sysgi: Target WSGI script '%s' does not contain WSGI "
              "application '%s'.", path, attr);
  } else if (!obj) {
    /* A module __getattr__ (PEP 562) failed: that is the cause. */
    snprintf(what, sizeof what, "sysgi: Failed to get WSGI application '%s' "
             "of script '%s'.", attr, path);
    sysgi_log_exception(rq, what);
  }
  return obj;
}
