/*
 * environ.c: the WSGI environ. The constant part (wsgi.version, the
 * mod_wsgi.* constants, ...) is built once per interpreter and copied with
 * PyDict_Copy; CGI variable names go through a per-interpreter cache of
 * interned str; the per-request keys are interned once.
 */
#include "sysgi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const key_names[K_COUNT] = {
    [K_WSGI_VERSION] = "wsgi.version",
    [K_WSGI_URL_SCHEME] = "wsgi.url_scheme",
    [K_WSGI_INPUT] = "wsgi.input",
    [K_WSGI_ERRORS] = "wsgi.errors",
    [K_WSGI_MULTITHREAD] = "wsgi.multithread",
    [K_WSGI_MULTIPROCESS] = "wsgi.multiprocess",
    [K_WSGI_RUN_ONCE] = "wsgi.run_once",
    [K_WSGI_INPUT_TERMINATED] = "wsgi.input_terminated",
    [K_WSGI_FILE_WRAPPER] = "wsgi.file_wrapper",
    [K_MW_VERSION] = "mod_wsgi.version",
    [K_MW_APPLICATION_GROUP] = "mod_wsgi.application_group",
    [K_MW_CALLABLE_OBJECT] = "mod_wsgi.callable_object",
    [K_MW_PROCESS_GROUP] = "mod_wsgi.process_group",
    [K_MW_SCRIPT_RELOADING] = "mod_wsgi.script_reloading",
    [K_MW_ENABLE_SENDFILE] = "mod_wsgi.enable_sendfile",
    [K_MW_QUEUE_START] = "mod_wsgi.queue_start",
    [K_MW_REQUEST_START] = "mod_wsgi.request_start",
    [K_MW_SCRIPT_START] = "mod_wsgi.script_start",
    [K_MW_THREAD_ID] = "mod_wsgi.thread_id",
    [K_MW_THREAD_REQUESTS] = "mod_wsgi.thread_requests",
    [K_MW_TOTAL_REQUESTS] = "mod_wsgi.total_requests",
    [K_MW_REQUEST_HANDLER] = "mod_wsgi.request_handler",
    [K_MW_HANDLER_SCRIPT] = "mod_wsgi.handler_script",
    [K_MW_IGNORE_ACTIVITY] = "mod_wsgi.ignore_activity",
    [K_MW_SCRIPT_NAME] = "mod_wsgi.script_name",
    [K_MW_PATH_INFO] = "mod_wsgi.path_info",
    [K_MW_LISTENER_HOST] = "mod_wsgi.listener_host",
    [K_MW_LISTENER_PORT] = "mod_wsgi.listener_port",
    [K_GATEWAY_INTERFACE] = "GATEWAY_INTERFACE",
    [K_SCRIPT_FILENAME] = "SCRIPT_FILENAME",
    [K_REQUEST_SCHEME] = "REQUEST_SCHEME",
    [K_SCRIPT_NAME] = "SCRIPT_NAME",
    [K_PATH_INFO] = "PATH_INFO",
    [K_SERVER_ADDR] = "SERVER_ADDR",
    [K_SERVER_PORT] = "SERVER_PORT",
    [K_REQUEST_METHOD] = "REQUEST_METHOD",
    [K_SSL_IS_HTTPS] = "mod_ssl.is_https",
    [K_SSL_VAR_LOOKUP] = "mod_ssl.var_lookup",
    [K_S_WRITE] = "write",
    [K_S_CLOSE] = "close",
    [K_S_READ] = "read",
    [K_S_FILENO] = "fileno",
    [K_S_TELL] = "tell",
};

static int set_str(PyObject *d, PyObject *key, const char *v) {
  PyObject *s = PyUnicode_DecodeLatin1(v, (Py_ssize_t)strlen(v), NULL);
  int rc = s ? PyDict_SetItem(d, key, s) : -1;
  Py_XDECREF(s);
  return rc;
}

int sysgi_environ_setup(sysgi_interp *ip) {
  for (int k = 0; k < K_COUNT; k++)
    if (!(ip->keys[k] = PyUnicode_InternFromString(key_names[k])))
      return -1;
  PyObject *d = ip->base_environ = PyDict_New();
  if (!d)
    return -1;
  PyObject **K = ip->keys;
  PyObject *wv = Py_BuildValue("(ii)", 1, 0);
  PyObject *mv = Py_BuildValue("(iii)", SYSGI_VERSION_MAJOR,
                               SYSGI_VERSION_MINOR, SYSGI_VERSION_PATCH);
  int rc = (!wv || !mv) ? -1 : 0;
  if (rc == 0)
    rc = PyDict_SetItem(d, K[K_WSGI_VERSION], wv) |
         PyDict_SetItem(d, K[K_MW_VERSION], mv) |
         PyDict_SetItem(d, K[K_WSGI_MULTITHREAD],
                        sysgi_rt.multithread ? Py_True : Py_False) |
         PyDict_SetItem(d, K[K_WSGI_MULTIPROCESS],
                        sysgi_rt.multiprocess ? Py_True : Py_False) |
         PyDict_SetItem(d, K[K_WSGI_RUN_ONCE], Py_False) |
         PyDict_SetItem(d, K[K_WSGI_INPUT_TERMINATED], Py_True) |
         PyDict_SetItem(d, K[K_WSGI_FILE_WRAPPER], ip->file_wrapper_type) |
         set_str(d, K[K_MW_APPLICATION_GROUP], ip->name) |
         set_str(d, K[K_MW_SCRIPT_RELOADING], "1") |
         set_str(d, K[K_MW_REQUEST_HANDLER], "wsgi-script") |
         set_str(d, K[K_MW_HANDLER_SCRIPT], "") |
         set_str(d, K[K_MW_IGNORE_ACTIVITY], "0") |
         set_str(d, K[K_GATEWAY_INTERFACE], "CGI/1.1");
  Py_XDECREF(wv);
  Py_XDECREF(mv);
  return rc ? -1 : 0;
}

static uint32_t fnv1a(const char *s, size_t *len) {
  uint32_t h = 2166136261u;
  const char *p = s;
  for (; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  *len = (size_t)(p - s);
  return h;
}

static sysgi_keyptr_entry *keyptr_slot(sysgi_interp *ip, const char *name) {
  uintptr_t p = (uintptr_t)name;
  return &ip->keyptr[(p ^ (p >> 8) ^ (p >> 16)) & (SYSGI_KEYCACHE_SIZE - 1)];
}

PyObject *sysgi_key(sysgi_interp *ip, const char *name) {
  sysgi_keycache_entry *e;
  return sysgi_key_entry(ip, name, &e);
}

PyObject *sysgi_key_entry(sysgi_interp *ip, const char *name,
                          sysgi_keycache_entry **out) {
  sysgi_keyptr_entry *ps = keyptr_slot(ip, name);
  if (ps->ptr == name && ps->e && strcmp(ps->e->name, name) == 0) {
    *out = ps->e;
    Py_INCREF(ps->e->key);
    return ps->e->key;
  }
  *out = NULL;
  size_t len;
  uint32_t h = fnv1a(name, &len);
  size_t mask = SYSGI_KEYCACHE_SIZE - 1;
  sysgi_keycache_entry *slot = NULL;
  for (size_t i = 0; i < SYSGI_KEYCACHE_SIZE; i++) {
    sysgi_keycache_entry *e = &ip->keycache[(h + i) & mask];
    if (!e->name) {
      slot = e;
      break;
    }
    if (e->hash == h && strcmp(e->name, name) == 0) {
      ps->ptr = name;
      ps->e = *out = e;
      Py_INCREF(e->key);
      return e->key;
    }
  }
  PyObject *key = PyUnicode_DecodeLatin1(name, (Py_ssize_t)len, NULL);
  if (!key)
    return NULL;
  /* Fill at most 3/4 of the table; arbitrary request header names beyond
   * that are simply not cached. */
  if (slot && ip->keycache_used < SYSGI_KEYCACHE_SIZE * 3 / 4) {
    char *copy = malloc(len + 1);
    if (copy) {
      memcpy(copy, name, len + 1);
      PyUnicode_InternInPlace(&key);
      slot->hash = h;
      slot->name = copy;
      slot->key = key;
      slot->val = NULL;
      Py_INCREF(key);
      ip->keycache_used++;
      ps->ptr = name;
      ps->e = *out = slot;
    }
  }
  return key;
}

static int truthy(const char *v) {
  static const char *const yes[] = {"on", "1", "yes", "true"};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
    const char *a = v, *b = yes[i];
    while (*a && *b && (*a | 0x20) == *b)
      a++, b++;
    if (!*a && !*b)
      return 1;
  }
  return 0;
}

static int set_owned(PyObject *d, PyObject *key, PyObject *v) {
  int rc = v ? PyDict_SetItem(d, key, v) : -1;
  Py_XDECREF(v);
  return rc;
}

/* Decimal str of a timestamp (snprintf costs ~10 times more). */
static PyObject *us_str(int64_t us) {
  char b[24], *p = b + sizeof b;
  uint64_t u = us < 0 ? 0 - (uint64_t)us : (uint64_t)us;
  do
    *--p = (char)('0' + u % 10);
  while (u /= 10);
  if (us < 0)
    *--p = '-';
  return PyUnicode_DecodeLatin1(p, (Py_ssize_t)(b + sizeof b - p), NULL);
}

/* Sets `key` to a copy of `from` (or "") when the front end did not. */
static int set_default(PyObject *d, PyObject *key, PyObject *from) {
  if (PyDict_GetItem(d, key))
    return 0;
  PyObject *v = from ? PyDict_GetItem(d, from) : NULL;
  if (v)
    return PyDict_SetItem(d, key, v);
  return set_str(d, key, "");
}

/* Sets d[name] to the tuple of the dot-separated integers of v ("2.4.55"
 * -> (2, 4, 55)); a part that is not a number ends the tuple. */
static int set_version_tuple(sysgi_interp *ip, PyObject *d, const char *name,
                             const char *v) {
  long parts[4];
  int n = 0;
  while (n < 4 && *v >= '0' && *v <= '9') {
    long x = 0;
    while (*v >= '0' && *v <= '9' && x < 100000000)
      x = x * 10 + (*v++ - '0');
    parts[n++] = x;
    if (*v != '.')
      break;
    v++;
  }
  PyObject *t = PyTuple_New(n);
  for (int i = 0; t && i < n; i++) {
    PyObject *x = PyLong_FromLong(parts[i]);
    if (!x || PyTuple_SetItem(t, i, x) < 0) {
      Py_CLEAR(t);
      break;
    }
  }
  PyObject *key = t ? sysgi_key(ip, name) : NULL;
  int rc = key ? PyDict_SetItem(d, key, t) : -1;
  Py_XDECREF(key);
  Py_XDECREF(t);
  return rc;
}

PyObject *sysgi_environ_build(sysgi_req *rq) {
  sysgi_interp *ip = rq->ip;
  const sysgi_request *r = rq->r;
  PyObject **K = ip->keys;
  PyObject *d = PyDict_Copy(ip->base_environ);
  if (!d)
    return NULL;
  const char *scheme =
      r->url_scheme && *r->url_scheme ? r->url_scheme : "http";
  for (size_t i = 0; i < r->n_vars; i++) {
    const char *n = r->vars[i].name, *v = r->vars[i].value;
    if (!n || !v)
      continue;
    /* Seed change 1: HTTPS only steers wsgi.url_scheme, never appears. */
    if (n[0] == 'H' && strcmp(n, "HTTPS") == 0) {
      if (truthy(v))
        scheme = "https";
      continue;
    }
    /* mod_wsgi gives apache.version as a tuple of ints (apps compare it
     * with (2, 4)); the contract carries strings, so it is "X.Y.Z". */
    if (n[0] == 'a' && strcmp(n, "apache.version") == 0) {
      if (set_version_tuple(ip, d, n, v) < 0)
        goto fail;
      continue;
    }
    sysgi_keycache_entry *e;
    PyObject *key = sysgi_key_entry(ip, n, &e);
    if (!key)
      goto fail;
    PyObject *val;
    if (e && e->val && strcmp(e->vbuf, v) == 0) {
      val = e->val; /* the same value as last time: share the str */
      Py_INCREF(val);
    } else {
      size_t vlen = strlen(v);
      val = PyUnicode_DecodeLatin1(v, (Py_ssize_t)vlen, NULL);
      if (e && val && vlen < SYSGI_VALCACHE_LEN) {
        PyObject *old = e->val;
        Py_INCREF(val);
        e->val = val;
        Py_XDECREF(old);
        memcpy(e->vbuf, v, vlen + 1);
      }
    }
    int rc = val ? PyDict_SetItem(d, key, val) : -1;
    Py_XDECREF(val);
    Py_DECREF(key);
    if (rc < 0)
      goto fail;
  }
  int64_t now = sysgi_now_us();
  int64_t queued = r->queue_start_us > 0 ? r->queue_start_us : now;
  const char *callable = r->callable_object && *r->callable_object
                             ? r->callable_object
                             : "application";
  long long total = atomic_fetch_add(&sysgi_rt.total_requests, 1) + 1;
  if (set_str(d, K[K_WSGI_URL_SCHEME], scheme) < 0 ||
      PyDict_SetItem(d, K[K_WSGI_INPUT], rq->input) < 0 ||
      PyDict_SetItem(d, K[K_WSGI_ERRORS], rq->errors) < 0 ||
      set_owned(d, K[K_MW_QUEUE_START], us_str(queued)) < 0 ||
      set_owned(d, K[K_MW_REQUEST_START], us_str(queued)) < 0 ||
      set_owned(d, K[K_MW_SCRIPT_START], us_str(now)) < 0 ||
      set_owned(d, K[K_MW_THREAD_ID], PyLong_FromLong(sysgi_thread_id())) <
          0 ||
      set_owned(d, K[K_MW_THREAD_REQUESTS],
                PyLong_FromLong(sysgi_thread_count_request())) < 0 ||
      set_owned(d, K[K_MW_TOTAL_REQUESTS], PyLong_FromLongLong(total)) < 0 ||
      set_str(d, K[K_MW_CALLABLE_OBJECT], callable) < 0 ||
      set_str(d, K[K_MW_PROCESS_GROUP],
              r->process_group ? r->process_group : "") < 0 ||
      set_str(d, K[K_MW_ENABLE_SENDFILE], r->enable_sendfile ? "1" : "0") <
          0)
    goto fail;
  /* What Apache would have set, when this front end did not. */
  if (!PyDict_GetItem(d, K[K_SCRIPT_FILENAME]) &&
      set_owned(d, K[K_SCRIPT_FILENAME],
                PyUnicode_DecodeFSDefault(r->script_filename)) < 0)
    goto fail;
  if (!PyDict_GetItem(d, K[K_REQUEST_SCHEME]) &&
      set_str(d, K[K_REQUEST_SCHEME], scheme) < 0)
    goto fail;
  if (set_default(d, K[K_MW_SCRIPT_NAME], K[K_SCRIPT_NAME]) < 0 ||
      set_default(d, K[K_MW_PATH_INFO], K[K_PATH_INFO]) < 0 ||
      set_default(d, K[K_MW_LISTENER_HOST], K[K_SERVER_ADDR]) < 0 ||
      set_default(d, K[K_MW_LISTENER_PORT], K[K_SERVER_PORT]) < 0)
    goto fail;
  return d;
fail:
  Py_DECREF(d);
  return NULL;
}
