/*
 * runtime.c: starting and stopping the embedded Python, the version and
 * the error strings.
 */
#include "sysgi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

sysgi_runtime sysgi_rt;

const char *sysgi_version(void) { return "0.1.0"; }

void sysgi_python_version(char *buf, size_t len) {
  /* Py_GetVersion is one of the few calls allowed before Py_Initialize. */
  int major = 0, minor = 0;
  if (!len)
    return;
  buf[0] = '\0';
  if (sscanf(Py_GetVersion(), "%d.%d", &major, &minor) == 2)
    snprintf(buf, len, "%d.%d", major, minor);
}

const char *sysgi_strerror(int err) {
  switch (err) {
  case SYSGI_OK: return "success";
  case SYSGI_PENDING: return "send pending";
  case SYSGI_E_NOMEM: return "out of memory";
  case SYSGI_E_IO: return "I/O error on the connection";
  case SYSGI_E_CLIENT_GONE: return "client closed the connection";
  case SYSGI_E_NOPYTHON: return "the Python runtime is not available";
  case SYSGI_E_CONFIG: return "bad configuration value";
  case SYSGI_E_APP: return "the WSGI application failed to load or run";
  case SYSGI_E_INVAL: return "invalid argument";
  case SYSGI_E_TOO_LARGE: return "a size limit was exceeded";
  case SYSGI_E_UNSUPPORTED: return "operation not supported by the front end";
  case SYSGI_E_TIMEOUT: return "timeout";
  case SYSGI_E_BAD_CHUNK: return "bad chunk in the chunked request body";
  case SYSGI_E_BUSY: return "no capacity left";
  default: return "unknown error";
  }
}

/* Microseconds since the epoch. C11 timespec_get everywhere except the
 * msvcrt flavour of mingw-w64, which lacks it: _ftime64 (milliseconds). */
#if defined(_WIN32) && !defined(_UCRT)
#include <sys/timeb.h>
int64_t sysgi_now_us(void) {
  struct __timeb64 tb;
  _ftime64(&tb);
  return (int64_t)tb.time * 1000000 + (int64_t)tb.millitm * 1000;
}
#else
int64_t sysgi_now_us(void) {
  struct timespec ts;
  if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
    return 0;
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
#endif

int sysgi_runtime_ready(void) { return atomic_load(&sysgi_rt.ready); }

/* Py_SetPythonHome is deprecated from 3.11 on (PyConfig replaces it), but
 * PyConfig is not in the Stable ABI: the old call is the portable one. */
static int set_python_home(const char *home) {
  /* Python keeps the pointer: it must live as long as the runtime (and
   * PyMem_RawFree is not in the Stable ABI): it is never freed. */
  wchar_t *w = Py_DecodeLocale(home, NULL);
  if (!w)
    return -1;
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
  Py_SetPythonHome(w);
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
  return 0;
}

/* Frees the C copy of the settings every new interpreter gets. */
static void forget_sys_settings(void) {
  for (size_t i = 0; i < sysgi_rt.n_python_path; i++)
    free(sysgi_rt.python_path[i]);
  free(sysgi_rt.python_path);
  sysgi_rt.python_path = NULL;
  sysgi_rt.n_python_path = 0;
}

/* Keeps a C copy of the settings that apply to every interpreter: a
 * sub-interpreter starts with a fresh `sys` built from the interpreter's
 * configuration, not from the main interpreter's `sys`. */
static int remember_sys_settings(const sysgi_runtime_config *cfg) {
  forget_sys_settings();
  sysgi_rt.dont_write_bytecode = cfg->dont_write_bytecode;
  if (!cfg->n_python_path)
    return 0;
  sysgi_rt.python_path = calloc(cfg->n_python_path, sizeof(char *));
  if (!sysgi_rt.python_path)
    return -1;
  for (size_t i = 0; i < cfg->n_python_path; i++) {
    size_t n = strlen(cfg->python_path[i]) + 1;
    if (!(sysgi_rt.python_path[i] = malloc(n))) {
      sysgi_rt.n_python_path = i;
      forget_sys_settings();
      return -1;
    }
    memcpy(sysgi_rt.python_path[i], cfg->python_path[i], n);
  }
  sysgi_rt.n_python_path = cfg->n_python_path;
  return 0;
}

/* A virtual environment's site-packages (and its .pth files), and
 * sys.prefix / sys.exec_prefix set to the environment, as site.py does for
 * the environment's own python (sys.base_prefix stays the base). */
static int add_venv_site(const char *site) {
  if (!*site)
    return 0;
  if (sysgi_rt.venv_prefix[0]) {
    PyObject *pre = PyUnicode_DecodeFSDefault(sysgi_rt.venv_prefix);
    int bad = !pre || PySys_SetObject("prefix", pre) < 0 ||
              PySys_SetObject("exec_prefix", pre) < 0;
    Py_XDECREF(pre);
    if (bad)
      return -1;
  }
  PyObject *m = PyImport_ImportModule("site");
  PyObject *r = m ? PyObject_CallMethod(m, "addsitedir", "s", site) : NULL;
  Py_XDECREF(m);
  Py_XDECREF(r);
  return r ? 0 : -1;
}

int sysgi_runtime_setup_sys(void) {
  PyObject *path = PySys_GetObject("path"); /* borrowed */
  if (!path || !PyList_Check(path))
    return -1;
  /* Prepend in order: the first entry ends up first. */
  for (size_t i = sysgi_rt.n_python_path; i-- > 0;) {
    PyObject *p = PyUnicode_DecodeFSDefault(sysgi_rt.python_path[i]);
    if (!p || PyList_Insert(path, 0, p) < 0) {
      Py_XDECREF(p);
      return -1;
    }
    Py_DECREF(p);
  }
  if (sysgi_rt.dont_write_bytecode &&
      PySys_SetObject("dont_write_bytecode", Py_True) < 0)
    return -1;
  return add_venv_site(sysgi_rt.venv_site);
}

int sysgi_runtime_init(const sysgi_runtime_config *cfg) {
  static const sysgi_runtime_config defaults;
  if (!cfg)
    cfg = &defaults;
  if (atomic_load(&sysgi_rt.ready))
    return SYSGI_OK;
  sysgi_rt.log = cfg->log;
  sysgi_rt.log_ctx = cfg->log_ctx;
  sysgi_rt.multithread = cfg->multithread;
  sysgi_rt.multiprocess = cfg->multiprocess;
  sysgi_rt.generation++;
  static char base[1024];
  char *site = sysgi_rt.venv_site;
  site[0] = '\0';
  if (remember_sys_settings(cfg) < 0) {
    sysgi_log_nogil(NULL, SYSGI_LOG_ERR, "sysgi: out of memory");
    return SYSGI_E_NOMEM;
  }
  if (cfg->python_home && *cfg->python_home && !Py_IsInitialized()) {
    int rc = sysgi_pyhome_resolve(cfg->python_home, base, sizeof base, site,
                                  sizeof sysgi_rt.venv_site);
    if (rc < 0)
      return rc;
    sysgi_rt.venv_prefix[0] = '\0';
    if (site[0]) {
      size_t n = strlen(cfg->python_home);
      while (n > 1 && (cfg->python_home[n - 1] == '/' ||
                       cfg->python_home[n - 1] == '\\'))
        n--; /* "C:\venv\" -> "C:\venv", like sys.prefix */
      if (n < sizeof sysgi_rt.venv_prefix) {
        memcpy(sysgi_rt.venv_prefix, cfg->python_home, n);
        sysgi_rt.venv_prefix[n] = '\0';
      }
    }
    if (set_python_home(base) < 0) {
      sysgi_log_nogil(NULL, SYSGI_LOG_ERR,
                      "sysgi: cannot decode python home '%s'", base);
      return SYSGI_E_CONFIG;
    }
  }
  if (!Py_IsInitialized()) {
    /* 0: leave signal handling to the server. */
    Py_InitializeEx(0);
    if (!Py_IsInitialized()) {
      sysgi_log_nogil(NULL, SYSGI_LOG_ERR,
                      "sysgi: the Python interpreter failed to start "
                      "(python home '%s')",
                      cfg->python_home ? cfg->python_home : "(default)");
      return SYSGI_E_NOPYTHON;
    }
  }
  /* threading's idea of the main thread is the thread that imports it
   * first: make that this one, not a worker thread (Py_FinalizeEx would
   * otherwise wait for that worker's thread state). */
  PyObject *threading = PyImport_ImportModule("threading");
  Py_XDECREF(threading);
  if (!threading || sysgi_runtime_setup_sys() < 0) {
    sysgi_log_exception(NULL, "sysgi: cannot set up sys.path");
    sysgi_rt.init_tstate = PyEval_SaveThread();
    return SYSGI_E_NOPYTHON;
  }
  if (sysgi_interp_init_main() < 0) {
    sysgi_log_exception(NULL, "sysgi: cannot set up the main interpreter");
    sysgi_rt.init_tstate = PyEval_SaveThread();
    return SYSGI_E_NOPYTHON;
  }
  sysgi_rt.init_tstate = PyEval_SaveThread();
  atomic_store(&sysgi_rt.ready, 1);
  return SYSGI_OK;
}

void sysgi_runtime_shutdown(void) {
  if (!atomic_exchange(&sysgi_rt.ready, 0))
    return;
  if (sysgi_interp_shutdown_all() < 0) { /* returns with the main GIL held */
    /* Py_FinalizeEx() aborts the process while a sub-interpreter is
     * alive ("remaining subinterpreters"): leave it all to the exit. */
    PyEval_SaveThread();
    sysgi_rt.generation++;
    return;
  }
  Py_FinalizeEx();
  forget_sys_settings();
  sysgi_rt.generation++;
}
