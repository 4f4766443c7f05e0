/*
 * headers.c: validating the status and headers an application passes to
 * start_response() and copying them into request memory (never keeping a
 * pointer into a Python object: CVE-2014-0242), in a single pass.
 */
#include "sysgi_internal.h"

#include <string.h>

/* RFC 9110 token characters. */
static int is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9')
    return 1;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
    return 1;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if ((*a | 0x20) != (*b | 0x20))
      return 0;
  return *a == *b;
}

static PyObject *type_name(PyObject *o) {
  PyObject *n = PyObject_GetAttrString((PyObject *)Py_TYPE(o), "__name__");
  if (!n) {
    PyErr_Clear();
    n = PyUnicode_FromString("?");
  }
  return n;
}

static void type_error(const char *fmt, PyObject *a, PyObject *o) {
  PyObject *tn = type_name(o);
  if (!tn)
    return;
  if (a)
    PyErr_Format(PyExc_TypeError, fmt, a, tn);
  else
    PyErr_Format(PyExc_TypeError, fmt, tn);
  Py_DECREF(tn);
}

/* Latin-1 bytes of str `s` copied into the arena, NUL-terminated. */
static char *copy_latin1(sysgi_req *rq, PyObject *s, size_t *len,
                         const char *what, PyObject *name) {
  PyObject *b = PyUnicode_AsLatin1String(s);
  if (!b) {
    PyErr_Clear();
    if (name)
      PyErr_Format(PyExc_ValueError, "value of response header %R is not "
                   "latin-1 encodable: %R", name, s);
    else
      PyErr_Format(PyExc_ValueError, "%s is not latin-1 encodable: %R", what,
                   s);
    return NULL;
  }
  char *p;
  Py_ssize_t n;
  char *out = NULL;
  if (PyBytes_AsStringAndSize(b, &p, &n) == 0) {
    out = sysgi_arena_alloc(&rq->arena, (size_t)n + 1);
    if (out) {
      memcpy(out, p, (size_t)n);
      out[n] = '\0';
      *len = (size_t)n;
    } else {
      PyErr_NoMemory();
    }
  }
  Py_DECREF(b);
  return out;
}

size_t sysgi_split_www_authenticate(const char *v, size_t len,
                                    size_t (*spans)[2], size_t max) {
  size_t n = 0, i = 0;
  while (i < len) {
    /* One comma-separated element: [s, e). Commas inside quoted strings
     * (with backslash escapes) do not end it. */
    size_t s = i;
    int q = 0;
    for (; i < len; i++) {
      if (q && v[i] == '\\' && i + 1 < len)
        i++;
      else if (v[i] == '"')
        q = !q;
      else if (!q && v[i] == ',')
        break;
    }
    size_t e = i;
    if (i < len)
      i++; /* skip the comma */
    while (s < e && (v[s] == ' ' || v[s] == '\t'))
      s++;
    while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
      e--;
    if (s == e)
      continue;
    /* An element that is "token" or "token SP ..." starts a challenge;
     * "token = ..." is an auth-param of the current one. */
    size_t t = s;
    while (t < e && is_tchar((unsigned char)v[t]))
      t++;
    size_t u = t;
    while (u < e && (v[u] == ' ' || v[u] == '\t'))
      u++;
    int param = t > s && u < e && v[u] == '=';
    if (!param || n == 0) {
      if (n == max)
        return n + 1; /* caller: more than `max` */
      spans[n][0] = s;
      spans[n][1] = e;
      n++;
    } else {
      spans[n - 1][1] = e;
    }
  }
  return n;
}

static int parse_status(sysgi_req *rq, PyObject *status, int *code,
                        const char **line) {
  if (!PyUnicode_Check(status)) {
    type_error("expected str object for status, value of type %U found",
               NULL, status);
    return -1;
  }
  size_t n;
  char *s = copy_latin1(rq, status, &n, "status line", NULL);
  if (!s)
    return -1;
  /* As mod_wsgi: any three digits ("099 Low" included: Apache sends the
   * status line as given), then a space and a reason phrase. */
  const char *why = NULL;
  if (n < 3 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
      s[2] < '0' || s[2] > '9' || (n > 3 && s[3] >= '0' && s[3] <= '9'))
    why = "the status code must be a 3 digit integer";
  else if (n == 3 || s[3] != ' ')
    why = "the status code must be followed by a space and a reason phrase";
  /* A NUL too: front ends read the status line as a C string, so
   * "200 OK\0..." would be cut (found by tests/fuzz). */
  for (size_t i = 4; !why && i < n; i++)
    if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
      why = "the status line must not contain CR, LF or NUL";
  if (!why) {
    int blank = 1;
    for (size_t i = 4; i < n; i++)
      if (s[i] != ' ' && s[i] != '\t')
        blank = 0;
    if (blank)
      why = "the reason phrase after the status code is missing";
  }
  if (why) {
    PyErr_Format(PyExc_ValueError, "invalid status %R: %s, e.g. '200 OK'",
                 status, why);
    return -1;
  }
  *code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
  *line = s;
  return 0;
}

static int parse_length(const char *v, int64_t *out) {
  while (*v == ' ' || *v == '\t')
    v++;
  if (!*v)
    return -1;
  int64_t n = 0;
  for (; *v >= '0' && *v <= '9'; v++) {
    if (n > (INT64_MAX - 9) / 10)
      return -1;
    n = n * 10 + (*v - '0');
  }
  while (*v == ' ' || *v == '\t')
    v++;
  if (*v)
    return -1;
  *out = n;
  return 0;
}

int sysgi_headers_copy(sysgi_req *rq, PyObject *status, PyObject *headers) {
  const char *status_line;
  int code;
  if (parse_status(rq, status, &code, &status_line) < 0)
    return -1;
  if (!PyList_Check(headers)) {
    type_error("expected list object for response headers, value of type "
               "%U found", NULL, headers);
    return -1;
  }
  Py_ssize_t count = PyList_Size(headers);
  size_t cap = (size_t)count + 4;
  sysgi_header *out = sysgi_arena_alloc(&rq->arena, cap * sizeof *out);
  if (!out) {
    PyErr_NoMemory();
    return -1;
  }
  size_t n = 0;
  int64_t clen = -1;
  for (Py_ssize_t i = 0; i < count; i++) {
    PyObject *item = PyList_GetItem(headers, i); /* borrowed */
    if (!PyTuple_Check(item) || PyTuple_Size(item) != 2) {
      type_error("expected tuple object of 2 str for response header, "
                 "value of type %U found", NULL, item);
      return -1;
    }
    PyObject *name = PyTuple_GetItem(item, 0);
    PyObject *value = PyTuple_GetItem(item, 1);
    if (!PyUnicode_Check(name)) {
      type_error("expected str object for response header name, value of "
                 "type %U found", NULL, name);
      return -1;
    }
    if (!PyUnicode_Check(value)) {
      type_error("expected str object for value of response header %R, "
                 "value of type %U found", name, value);
      return -1;
    }
    size_t nl, vl;
    char *ns = copy_latin1(rq, name, &nl, "response header name", NULL);
    if (!ns)
      return -1;
    int ok = nl > 0;
    for (size_t k = 0; ok && k < nl; k++)
      ok = is_tchar((unsigned char)ns[k]);
    if (!ok) {
      PyErr_Format(PyExc_ValueError, "invalid response header name %R: "
                   "only token characters are allowed", name);
      return -1;
    }
    char *vs = copy_latin1(rq, value, &vl, NULL, name);
    if (!vs)
      return -1;
    if (strlen(vs) != vl || strpbrk(vs, "\r\n")) {
      PyErr_Format(PyExc_ValueError, "value of response header %R contains "
                   "a CR, LF or NUL character: %R", name, value);
      return -1;
    }
    if (ieq(ns, "content-length")) {
      if (parse_length(vs, &clen) < 0) {
        PyErr_Format(PyExc_ValueError, "invalid Content-Length response "
                     "header value %R", value);
        return -1;
      }
    }
    if (ieq(ns, "transfer-encoding")) {
      /* The server frames the body (RFC 9112: Content-Length or its own
       * chunking); an application's Transfer-Encoding would mis-frame it
       * (PEP 3333 forbids hop-by-hop headers). Dropped, and said so. */
      sysgi_log(rq, SYSGI_LOG_WARN, "sysgi: the application of '%s' set "
                "'Transfer-Encoding: %s', a hop-by-hop header that is the "
                "server's to set: dropped, the server frames the body",
                rq->r->script_filename, vs);
      continue;
    }
    size_t spans[16][2];
    size_t ns_count = 1;
    if (ieq(ns, "www-authenticate") && strchr(vs, ',')) {
      ns_count = sysgi_split_www_authenticate(vs, vl, spans, 16);
      if (ns_count > 16 || ns_count == 0)
        ns_count = 1; /* absurd: send it as it came */
    }
    if (n + ns_count > cap) {
      size_t ncap = (n + ns_count) * 2;
      sysgi_header *bigger = sysgi_arena_alloc(&rq->arena,
                                               ncap * sizeof *bigger);
      if (!bigger) {
        PyErr_NoMemory();
        return -1;
      }
      memcpy(bigger, out, n * sizeof *out);
      out = bigger;
      cap = ncap;
    }
    if (ns_count == 1) {
      out[n].name = ns;
      out[n].value = vs;
      n++;
    } else {
      for (size_t k = 0; k < ns_count; k++) {
        /* Cut in place: the spans do not overlap, each gets its own NUL. */
        vs[spans[k][1]] = '\0';
        out[n].name = ns;
        out[n].value = vs + spans[k][0];
        n++;
      }
    }
  }
  rq->status_line = status_line;
  rq->status = code;
  rq->headers = out;
  rq->n_headers = n;
  rq->content_length = clen;
  return 0;
}
