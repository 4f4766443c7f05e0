/*
 * modwsgi_module.c: the `mod_wsgi` module of mod_wsgi 4.x (and `apache`,
 * when the front end is Apache) in every interpreter, so applications that
 * `import mod_wsgi` work: version, process_group, application_group,
 * maximum_processes, threads_per_process, mpm_name, active_requests,
 * request_data(), request_metrics(), process_metrics(), server_metrics(),
 * subscribe_events(), subscribe_shutdown(). Written in Python (run in the
 * module's namespace): none of it is on a hot path except the two calls
 * per request, _request_started and _request_finished.
 */
#include "sysgi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
  char mpm[32], server_version[32];
  int max_processes, threads_per_process;
} info = {"", "", 1, 1};

void sysgi_runtime_set_server_info(const char *mpm_name,
                                   const char *server_version,
                                   int max_processes,
                                   int threads_per_process) {
  snprintf(info.mpm, sizeof info.mpm, "%s", mpm_name ? mpm_name : "");
  snprintf(info.server_version, sizeof info.server_version, "%s",
           server_version ? server_version : "");
  info.max_processes = max_processes > 0 ? max_processes : 1;
  info.threads_per_process = threads_per_process > 0 ? threads_per_process
                                                     : 1;
}

static const char src[] =
    "import atexit as _atexit, os as _os, sys as _sys, threading as _th\n"
    "import time as _time\n"
    "active_requests = {}\n"
    "_local = _th.local()\n"
    "_subscribers = []\n"
    "_counts = [0]\n"
    "_start = _time.time()\n"
    "def request_data():\n"
    "    d = getattr(_local, 'data', None)\n"
    "    if d is None:\n"
    "        raise RuntimeError('no active request for the current thread')\n"
    "    return d\n"
    "def subscribe_events(callback):\n"
    "    _subscribers.append(callback)\n"
    "def subscribe_shutdown(callback):\n"
    "    def _on(name, **kwargs):\n"
    "        if name == 'process_stopping':\n"
    "            callback(name, **kwargs)\n"
    "    _subscribers.append(_on)\n"
    "def _publish(name, **kwargs):\n"
    "    for cb in list(_subscribers):\n"
    "        try:\n"
    "            cb(name, **kwargs)\n"
    "        except Exception:\n"
    "            import traceback\n"
    "            traceback.print_exc()\n"
    "def _request_started(environ):\n"
    "    rid = environ.get('mod_wsgi.request_id', '')\n"
    "    data = {}\n"
    "    _local.data = data\n"
    "    active_requests[rid] = data\n"
    "    if _subscribers:\n"
    "        _publish('request_started', request_id=rid,\n"
    "                 request_environ=environ, request_data=data,\n"
    "                 application_start=_time.time())\n"
    "def _request_finished(environ):\n"
    "    rid = environ.get('mod_wsgi.request_id', '')\n"
    "    data = active_requests.pop(rid, None)\n"
    "    _local.data = None\n"
    "    _counts[0] += 1\n"
    "    if _subscribers:\n"
    "        _publish('request_finished', request_id=rid,\n"
    "                 request_data=data, application_finish=_time.time())\n"
    "def _response_started(status, headers, exc_info):\n"
    "    _publish('response_started',\n"
    "             request_data=getattr(_local, 'data', None),\n"
    "             response_status=status, response_headers=headers,\n"
    "             exception_info=exc_info)\n"
    "def request_metrics():\n"
    "    return {'request_count': _counts[0],\n"
    "            'active_requests': len(active_requests),\n"
    "            'current_time': _time.time()}\n"
    "def process_metrics():\n"
    "    now = _time.time()\n"
    "    return {'pid': _os.getpid(), 'request_count': _counts[0],\n"
    "            'active_requests': len(active_requests),\n"
    "            'start_time': _start, 'current_time': now,\n"
    "            'running_time': now - _start,\n"
    "            'threads_per_process': threads_per_process}\n"
    "def server_metrics():\n"
    "    return None\n"
    "_atexit.register(lambda: _publish('process_stopping',\n"
    "                                  shutdown_reason='shutdown'))\n";

/* A new module `name` in sys.modules, its namespace returned (borrowed
 * from the module, which sys.modules keeps). */
static PyObject *new_module(sysgi_interp *ip, const char *name) {
  PyObject *m = PyModule_New(name);
  PyObject *mods = PySys_GetObject("modules"); /* borrowed */
  if (!m || !mods || PyDict_SetItemString(mods, name, m) < 0) {
    Py_XDECREF(m);
    return NULL;
  }
  Py_DECREF(m);
  PyObject *d = PyModule_GetDict(m);
  if (PyDict_SetItemString(d, "__builtins__", ip->builtins) < 0)
    return NULL;
  return d;
}

static int set_int(PyObject *d, const char *k, long v) {
  PyObject *o = PyLong_FromLong(v);
  int rc = o ? PyDict_SetItemString(d, k, o) : -1;
  Py_XDECREF(o);
  return rc;
}

static int set_str(PyObject *d, const char *k, const char *v) {
  PyObject *o = PyUnicode_FromString(v);
  int rc = o ? PyDict_SetItemString(d, k, o) : -1;
  Py_XDECREF(o);
  return rc;
}

static int set_obj(PyObject *d, const char *k, PyObject *o) {
  int rc = o ? PyDict_SetItemString(d, k, o) : -1;
  Py_XDECREF(o);
  return rc;
}

static PyObject *version_tuple(const char *v) {
  int a = 0, b = 0, c = 0;
  if (sscanf(v, "%d.%d.%d", &a, &b, &c) < 1)
    return PyTuple_New(0);
  return Py_BuildValue("(iii)", a, b, c);
}

int sysgi__modwsgi_install(sysgi_interp *ip) {
  PyObject *d = new_module(ip, "mod_wsgi");
  if (!d ||
      set_obj(d, "version", Py_BuildValue("(iii)", SYSGI_VERSION_MAJOR,
                                          SYSGI_VERSION_MINOR,
                                          SYSGI_VERSION_PATCH)) < 0 ||
      set_str(d, "process_group", "") < 0 ||
      set_str(d, "application_group", ip->name) < 0 ||
      set_int(d, "maximum_processes", info.max_processes) < 0 ||
      set_int(d, "threads_per_process", info.threads_per_process) < 0 ||
      set_str(d, "mpm_name", info.mpm) < 0)
    return -1;
  /* Py_CompileString + PyEval_EvalCode: PyRun_String is not in the
   * Stable ABI. */
  PyObject *code = Py_CompileString(src, "<mod_wsgi>", Py_file_input);
  PyObject *r = code ? PyEval_EvalCode(code, d, d) : NULL;
  Py_XDECREF(code);
  if (!r)
    return -1;
  Py_DECREF(r);
  ip->mw_started = PyDict_GetItemString(d, "_request_started");
  ip->mw_finished = PyDict_GetItemString(d, "_request_finished");
  ip->mw_response = PyDict_GetItemString(d, "_response_started");
  ip->mw_subscribers = PyDict_GetItemString(d, "_subscribers");
  if (!ip->mw_started || !ip->mw_finished || !ip->mw_response ||
      !ip->mw_subscribers || !PyList_Check(ip->mw_subscribers)) {
    ip->mw_started = ip->mw_finished = ip->mw_response = NULL;
    ip->mw_subscribers = NULL;
    PyErr_SetString(PyExc_RuntimeError, "mod_wsgi module incomplete");
    return -1;
  }
  Py_INCREF(ip->mw_started);
  Py_INCREF(ip->mw_finished);
  Py_INCREF(ip->mw_response);
  Py_INCREF(ip->mw_subscribers);
  /* request-timeout: a BaseException, so that `except Exception` in an
   * application does not swallow it (timeout.c raises it). */
  ip->timeout_exc = PyErr_NewExceptionWithDoc(
      "mod_wsgi.RequestTimeout",
      "Raised in a request's thread when it ran past request-timeout.",
      PyExc_BaseException, NULL);
  if (!ip->timeout_exc ||
      PyDict_SetItemString(d, "RequestTimeout", ip->timeout_exc) < 0)
    return -1;
  if (!info.server_version[0])
    return 0; /* not Apache: no `apache` module */
  d = new_module(ip, "apache");
  if (!d || set_obj(d, "version", version_tuple(info.server_version)) < 0 ||
      set_str(d, "mpm_name", info.mpm) < 0 ||
      set_int(d, "maximum_processes", info.max_processes) < 0 ||
      set_int(d, "threads_per_process", info.threads_per_process) < 0)
    return -1;
  return 0;
}

/* Calls the module's hook `fn` with the environ; a failure is logged and
 * does not fail the request. */
void sysgi__modwsgi_call(sysgi_req *rq, PyObject *fn, PyObject *env) {
  if (!fn || !env)
    return;
  PyObject *r = PyObject_CallFunctionObjArgs(fn, env, NULL);
  if (!r)
    sysgi_log_exception(rq, "sysgi: the mod_wsgi module's request hook "
                            "failed");
  Py_XDECREF(r);
}

int sysgi__modwsgi_response_started(sysgi_req *rq, PyObject *status,
                                    PyObject *headers, PyObject *exc_info) {
  sysgi_interp *ip = rq->ip;
  if (!ip->mw_subscribers || PyList_Size(ip->mw_subscribers) <= 0)
    return 0;
  PyObject *r = PyObject_CallFunctionObjArgs(ip->mw_response, status, headers,
                                             exc_info, NULL);
  if (!r) /* _publish logs a subscriber's error itself: this is ours */
    return -1;
  Py_DECREF(r);
  return 0;
}
