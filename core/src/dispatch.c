/*
 * dispatch.c: mod_wsgi's WSGIDispatchScript. The script's optional
 * application_group(environ) and callable_object(environ) choose, per
 * request, where and what the application is; None (or no such function)
 * keeps the configured value. process_group(environ) may only name the
 * embedded group ('' or None).
 */
#include "sysgi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Calls `name`(environ) from the script's namespace `ns` if it is there;
 * a str result is copied into out (latin-1). 1: copied, 0: no override,
 * negative: error (logged by the caller). */
static int call_one(PyObject *ns, const char *name, PyObject *env, char *out,
                    size_t out_len) {
  PyObject *fn = PyDict_GetItemString(ns, name); /* borrowed */
  if (!fn || !out)
    return 0;
  PyObject *res = PyObject_CallFunctionObjArgs(fn, env, NULL);
  if (!res)
    return SYSGI_E_APP;
  int rc = 0;
  if (res == Py_None) {
    rc = 0;
  } else if (!PyUnicode_Check(res)) {
    PyErr_Format(PyExc_TypeError, "%s() of the dispatch script must return "
                 "a str or None", name);
    rc = SYSGI_E_APP;
  } else {
    PyObject *b = PyUnicode_AsLatin1String(res);
    char *s;
    Py_ssize_t n;
    if (!b || PyBytes_AsStringAndSize(b, &s, &n) < 0 ||
        (size_t)n >= out_len || strlen(s) != (size_t)n) {
      if (b && !PyErr_Occurred())
        PyErr_Format(PyExc_ValueError, "%s() of the dispatch script "
                     "returned a value that is too long or holds a NUL",
                     name);
      rc = SYSGI_E_APP;
    } else if (n == 0) {
      /* '' is the main interpreter: said as the macro, so that "no
       * override" (out[0] == '\0') stays distinct. */
      snprintf(out, out_len, "%%{GLOBAL}");
      rc = 1;
    } else {
      memcpy(out, s, (size_t)n + 1);
      rc = 1;
    }
    Py_XDECREF(b);
  }
  Py_DECREF(res);
  return rc;
}

int sysgi_dispatch(const sysgi_request *r, char *group, size_t group_len,
                   char *callable, size_t callable_len) {
  if (!r || !r->fe || !r->fe->log || !group || !callable || !group_len ||
      !callable_len)
    return SYSGI_E_INVAL;
  group[0] = callable[0] = '\0';
  if (!sysgi_runtime_ready())
    return SYSGI_E_NOPYTHON;
  sysgi_interp *ip;
  int rc = sysgi_interp_enter(r->application_group, &ip, r);
  if (rc < 0)
    return rc;
  sysgi_req *rq = calloc(1, sizeof *rq);
  if (!rq) {
    sysgi_interp_leave();
    return SYSGI_E_NOMEM;
  }
  rq->r = r;
  rq->ip = ip;
  rq->owner = PyThread_get_thread_ident();
  rq->content_length = -1;
  const sysgi_request *outer = sysgi__stdio_set_request(r);
  /* The module's namespace: every function is optional. */
  PyObject *ns = sysgi_script_get(ip, rq, r->script_filename,
                                  r->script_mtime_us, "__dict__");
  PyObject *env = NULL;
  char pg[256];
  rc = SYSGI_E_APP;
  if (ns) {
    rq->input = sysgi_input_new(rq);
    rq->errors = sysgi_errors_new(rq);
    if (rq->input && rq->errors)
      env = sysgi_environ_build(rq);
  }
  if (env) {
    int a = call_one(ns, "process_group", env, pg, sizeof pg);
    if (a == 1 && pg[0]) {
      PyErr_Format(PyExc_ValueError, "process_group() of the dispatch script "
                   "returned '%s': only the embedded group ('') exists here; "
                   "process groups are provided by sysgi.exe", pg);
      a = SYSGI_E_APP;
    }
    int b = a < 0 ? a : call_one(ns, "application_group", env, group,
                                 group_len);
    int c = b < 0 ? b : call_one(ns, "callable_object", env, callable,
                                 callable_len);
    rc = c < 0 ? c : SYSGI_OK;
    if (rc != SYSGI_OK) {
      char what[1200];
      snprintf(what, sizeof what, "sysgi: Exception occurred processing the "
               "dispatch script '%s'.", r->script_filename);
      sysgi_log_exception(rq, what);
      group[0] = callable[0] = '\0';
    }
  }
  sysgi_input_detach(rq->input);
  sysgi_errors_detach(rq->errors);
  Py_XDECREF(env);
  Py_XDECREF(rq->input);
  Py_XDECREF(rq->errors);
  Py_XDECREF(ns);
  sysgi__stdio_set_request(outer);
  sysgi_interp_leave();
  free(rq);
  return rc;
}
