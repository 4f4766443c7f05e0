/*
 * hooks.c: WSGIAccessScript / WSGIAuthUserScript / WSGIAuthGroupScript.
 * The script is loaded like an application; the named function gets an
 * environ built from the request plus mod_ssl.is_https and
 * mod_ssl.var_lookup (callables backed by fe->ssl_*). Nothing is sent
 * through the front end; only fe->log is used.
 */
#include "sysgi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- mod_ssl.is_https() / mod_ssl.var_lookup(name) ---------------------- */

enum { SSL_IS_HTTPS, SSL_VAR_LOOKUP };

typedef struct {
  PyObject_HEAD
  const sysgi_request *r; /* NULL once the hook has returned */
  int kind;
} ssl_fn;

static void ssl_fn_dealloc(PyObject *self) {
  PyTypeObject *tp = Py_TYPE(self);
  freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
  f(self);
  Py_DECREF(tp);
}

static PyObject *ssl_fn_call(PyObject *self, PyObject *args, PyObject *kw) {
  ssl_fn *s = (ssl_fn *)self;
  const sysgi_request *r = s->r;
  if (s->kind == SSL_IS_HTTPS) {
    if (!PyArg_ParseTuple(args, ":is_https"))
      return NULL;
    int on = 0;
    if (r && r->fe->ssl_is_https)
      SYSGI_NOGIL(on = r->fe->ssl_is_https(r->conn));
    return PyBool_FromLong(on > 0);
  }
  PyObject *name;
  if (!PyArg_ParseTuple(args, "U:var_lookup", &name))
    return NULL;
  if (!r || !r->fe->ssl_var_lookup)
    Py_RETURN_NONE;
  PyObject *b = PyUnicode_AsLatin1String(name);
  if (!b)
    return NULL;
  /* Copied: the lookup runs without the GIL. */
  char buf[256];
  const char *v = NULL;
  Py_ssize_t n = PyBytes_Size(b);
  if (n >= (Py_ssize_t)sizeof buf) {
    Py_DECREF(b);
    Py_RETURN_NONE;
  }
  memcpy(buf, PyBytes_AsString(b), (size_t)n + 1);
  Py_DECREF(b);
  SYSGI_NOGIL(v = r->fe->ssl_var_lookup(r->conn, buf));
  if (!v)
    Py_RETURN_NONE;
  return PyUnicode_DecodeLatin1(v, (Py_ssize_t)strlen(v), NULL);
}

static PyType_Slot ssl_fn_slots[] = {{Py_tp_dealloc, (void *)ssl_fn_dealloc},
                                     {Py_tp_call, (void *)ssl_fn_call},
                                     {0, NULL}};

static PyType_Spec ssl_fn_spec = {"mod_wsgi.SSLFunction", sizeof(ssl_fn), 0,
                                  Py_TPFLAGS_DEFAULT, ssl_fn_slots};

PyObject *sysgi_ssl_fn_type_new(void) { return PyType_FromSpec(&ssl_fn_spec); }

PyObject *sysgi_ssl_fn_new(sysgi_interp *ip, const sysgi_request *r,
                           int kind) {
  PyObject *o = PyType_GenericAlloc((PyTypeObject *)ip->ssl_fn_type, 0);
  if (o) {
    ((ssl_fn *)o)->r = r;
    ((ssl_fn *)o)->kind = kind;
  }
  return o;
}

/* ---- running one hook ----------------------------------------------------- */

typedef int (*hook_result_fn)(sysgi_req *rq, PyObject *result, void *ctx);

static int run_hook(const sysgi_request *r, const char *fn_name,
                    PyObject *(*make_args)(PyObject *env, void *ctx),
                    hook_result_fn use, void *ctx) {
  if (!r || !r->fe || !r->fe->log)
    return SYSGI_E_INVAL;
  if (!sysgi_runtime_ready()) {
    sysgi_log_nogil(r, SYSGI_LOG_ERR,
                    "sysgi: the Python runtime is not available");
    return SYSGI_E_NOPYTHON;
  }
  if (!r->script_filename || !*r->script_filename)
    return SYSGI_E_INVAL;
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
  PyObject *fn = sysgi_script_get(ip, rq, r->script_filename,
                                  r->script_mtime_us, fn_name);
  PyObject *env = NULL, *is_https = NULL, *lookup = NULL, *args = NULL,
           *res = NULL;
  rc = SYSGI_E_APP;
  if (fn) {
    rq->input = sysgi_input_new(rq);
    rq->errors = sysgi_errors_new(rq);
    is_https = sysgi_ssl_fn_new(ip, r, SSL_IS_HTTPS);
    lookup = sysgi_ssl_fn_new(ip, r, SSL_VAR_LOOKUP);
    if (rq->input && rq->errors && is_https && lookup)
      env = sysgi_environ_build(rq);
    if (env &&
        PyDict_SetItem(env, ip->keys[K_SSL_IS_HTTPS], is_https) == 0 &&
        PyDict_SetItem(env, ip->keys[K_SSL_VAR_LOOKUP], lookup) == 0)
      args = make_args(env, ctx);
    if (args)
      res = PyObject_Call(fn, args, NULL);
    if (res)
      rc = use(rq, res, ctx);
    if (rc == SYSGI_E_APP) {
      char what[1200];
      snprintf(what, sizeof what, "sysgi: Exception occurred processing %s() "
               "of script '%s'.", fn_name, r->script_filename);
      sysgi_log_exception(rq, what);
    }
  }
  if (is_https)
    ((ssl_fn *)is_https)->r = NULL;
  if (lookup)
    ((ssl_fn *)lookup)->r = NULL;
  sysgi_input_detach(rq->input);
  sysgi_errors_detach(rq->errors);
  Py_XDECREF(res);
  Py_XDECREF(args);
  Py_XDECREF(env);
  Py_XDECREF(lookup);
  Py_XDECREF(is_https);
  Py_XDECREF(rq->input);
  Py_XDECREF(rq->errors);
  Py_XDECREF(fn);
  sysgi__stdio_set_request(outer);
  sysgi_interp_leave();
  free(rq);
  return rc;
}

static PyObject *str_or_none(const char *s) {
  if (!s)
    Py_RETURN_NONE;
  return PyUnicode_DecodeLatin1(s, (Py_ssize_t)strlen(s), NULL);
}

/* allow_access(environ, host) ------------------------------------------- */

static PyObject *access_args(PyObject *env, void *ctx) {
  PyObject *host = str_or_none(ctx);
  PyObject *a = host ? PyTuple_Pack(2, env, host) : NULL;
  Py_XDECREF(host);
  return a;
}

static int check_bool(PyObject *res, int allow_none, const char *fn) {
  if (res == Py_True)
    return 1;
  if (res == Py_False)
    return 0;
  if (allow_none && res == Py_None)
    return SYSGI_AUTH_NO_USER;
  PyErr_Format(PyExc_TypeError, "%s must return True or False%s", fn,
               allow_none ? " or None" : "");
  return SYSGI_E_APP;
}

static int access_result(sysgi_req *rq, PyObject *res, void *ctx) {
  return check_bool(res, 0, "allow_access()");
}

int sysgi_allow_access(const sysgi_request *r, const char *host) {
  return run_hook(r, "allow_access", access_args, access_result,
                  (void *)host);
}

/* check_password(environ, user, password) ------------------------------- */

struct pw {
  const char *user, *password;
  char *user_out; /* NULL: a str result is not wanted */
  size_t user_out_len;
};

static PyObject *pw_args(PyObject *env, void *ctx) {
  struct pw *p = ctx;
  PyObject *u = str_or_none(p->user), *w = str_or_none(p->password);
  PyObject *a = u && w ? PyTuple_Pack(3, env, u, w) : NULL;
  Py_XDECREF(u);
  Py_XDECREF(w);
  return a;
}

static int pw_result(sysgi_req *rq, PyObject *res, void *ctx) {
  struct pw *p = ctx;
  if (PyUnicode_Check(res) && p->user_out) {
    /* mod_wsgi 4.x: a str grants access and is the user's name from now
     * on (REMOTE_USER, the access log). */
    PyObject *b = PyUnicode_AsLatin1String(res);
    char *s;
    Py_ssize_t n;
    if (!b)
      return SYSGI_E_APP;
    if (PyBytes_AsStringAndSize(b, &s, &n) < 0 || n == 0 ||
        strlen(s) != (size_t)n) {
      Py_DECREF(b);
      PyErr_SetString(PyExc_ValueError, "check_password() returned an "
                      "empty user name or one with a NUL character");
      return SYSGI_E_APP;
    }
    if ((size_t)n >= p->user_out_len) {
      Py_DECREF(b);
      PyErr_SetString(PyExc_ValueError, "check_password() returned a user "
                      "name that is too long");
      return SYSGI_E_APP;
    }
    memcpy(p->user_out, s, (size_t)n + 1);
    Py_DECREF(b);
    return 1;
  }
  return check_bool(res, 1, "check_password()");
}

int sysgi_check_password(const sysgi_request *r, const char *user,
                         const char *password) {
  struct pw p = {user ? user : "", password ? password : "", NULL, 0};
  return run_hook(r, "check_password", pw_args, pw_result, &p);
}

int sysgi_check_password_user(const sysgi_request *r, const char *user,
                              const char *password, char *user_out,
                              size_t user_out_len) {
  struct pw p = {user ? user : "", password ? password : "", user_out,
                 user_out_len};
  if (!user_out || !user_out_len)
    return SYSGI_E_INVAL;
  user_out[0] = '\0';
  return run_hook(r, "check_password", pw_args, pw_result, &p);
}

/* groups_for_user(environ, user) ----------------------------------------- */

struct groups {
  const char *user;
  char **list;
  size_t n;
};

static PyObject *groups_args(PyObject *env, void *ctx) {
  struct groups *g = ctx;
  PyObject *u = str_or_none(g->user);
  PyObject *a = u ? PyTuple_Pack(2, env, u) : NULL;
  Py_XDECREF(u);
  return a;
}

static int groups_result(sysgi_req *rq, PyObject *res, void *ctx) {
  struct groups *g = ctx;
  PyObject *it = PyObject_GetIter(res);
  if (!it)
    return SYSGI_E_APP;
  PyObject *item;
  size_t cap = 0;
  int rc = 0;
  while (rc == 0 && (item = PyIter_Next(it))) {
    PyObject *b = NULL;
    if (PyUnicode_Check(item))
      b = PyUnicode_AsLatin1String(item);
    else if (PyBytes_Check(item))
      b = (Py_INCREF(item), item);
    else
      PyErr_SetString(PyExc_TypeError,
                      "groups_for_user() must return an iterable of str");
    Py_DECREF(item);
    if (!b) {
      rc = SYSGI_E_APP;
      break;
    }
    if (g->n == cap) {
      cap = cap ? cap * 2 : 8;
      char **l = realloc(g->list, cap * sizeof *l);
      if (!l) {
        Py_DECREF(b);
        rc = SYSGI_E_NOMEM;
        break;
      }
      g->list = l;
    }
    Py_ssize_t n = PyBytes_Size(b);
    char *s = malloc((size_t)n + 1);
    if (!s) {
      rc = SYSGI_E_NOMEM;
    } else {
      memcpy(s, PyBytes_AsString(b), (size_t)n + 1);
      g->list[g->n++] = s;
    }
    Py_DECREF(b);
  }
  Py_DECREF(it);
  if (rc == 0 && PyErr_Occurred())
    rc = SYSGI_E_APP;
  return rc;
}

int sysgi_groups_for_user(const sysgi_request *r, const char *user,
                          char ***groups, size_t *n_groups) {
  if (!groups || !n_groups)
    return SYSGI_E_INVAL;
  struct groups g = {user ? user : "", NULL, 0};
  int rc = run_hook(r, "groups_for_user", groups_args, groups_result, &g);
  if (rc < 0) {
    sysgi_free_groups(g.list, g.n);
    *groups = NULL;
    *n_groups = 0;
    return rc;
  }
  *groups = g.list;
  *n_groups = g.n;
  return 0;
}

void sysgi_free_groups(char **groups, size_t n) {
  if (!groups)
    return;
  for (size_t i = 0; i < n; i++)
    free(groups[i]);
  free(groups);
}

/* ---- WSGIImportScript ----------------------------------------------------- */

static void import_log(void *conn, int level, const char *msg) {
  sysgi_log_nogil(NULL, level, "%s", msg);
}

int sysgi_import_script(const char *script_filename,
                        const char *application_group) {
  return sysgi_import_script_at(script_filename, application_group, 0);
}

int sysgi_import_script_at(const char *script_filename,
                           const char *application_group, int64_t mtime_us) {
  static const sysgi_frontend fe = {.log = import_log};
  if (!script_filename || !*script_filename)
    return SYSGI_E_INVAL;
  if (!sysgi_runtime_ready())
    return SYSGI_E_NOPYTHON;
  sysgi_request r = {.script_filename = script_filename,
                     .application_group = application_group,
                     .fe = &fe};
  sysgi_interp *ip;
  int rc = sysgi_interp_enter(application_group, &ip, &r);
  if (rc < 0)
    return rc;
  sysgi_req *rq = calloc(1, sizeof *rq);
  if (rq) {
    rq->r = &r;
    rq->ip = ip;
    /* Loading is the point; "__file__" always exists once it is loaded. */
    PyObject *f =
        sysgi_script_get(ip, rq, script_filename, mtime_us, "__file__");
    rc = f ? 0 : SYSGI_E_APP;
    Py_XDECREF(f);
    free(rq);
  } else {
    rc = SYSGI_E_NOMEM;
  }
  sysgi_interp_leave();
  return rc;
}
