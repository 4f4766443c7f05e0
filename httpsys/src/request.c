/*
 * request.c: HTTP_REQUEST -> the CGI variables of a sysgi_request.
 *
 * Strings are byte strings: the core decodes every value as latin-1, like
 * Apache/mod_wsgi and other WSGI servers do, so a UTF-8 path arrives in
 * PATH_INFO as its bytes, percent-decoded.
 */
#include "hs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CGI names of the known request headers, by HTTP_HEADER_ID. */
static const char *const known_names[HttpHeaderRequestMaximum] = {
    [HttpHeaderCacheControl] = "HTTP_CACHE_CONTROL",
    [HttpHeaderConnection] = "HTTP_CONNECTION",
    [HttpHeaderDate] = "HTTP_DATE",
    [HttpHeaderKeepAlive] = "HTTP_KEEP_ALIVE",
    [HttpHeaderPragma] = "HTTP_PRAGMA",
    [HttpHeaderTrailer] = "HTTP_TRAILER",
    [HttpHeaderTransferEncoding] = "HTTP_TRANSFER_ENCODING",
    [HttpHeaderUpgrade] = "HTTP_UPGRADE",
    [HttpHeaderVia] = "HTTP_VIA",
    [HttpHeaderWarning] = "HTTP_WARNING",
    [HttpHeaderAllow] = "HTTP_ALLOW",
    [HttpHeaderContentLength] = "CONTENT_LENGTH",
    [HttpHeaderContentType] = "CONTENT_TYPE",
    [HttpHeaderContentEncoding] = "HTTP_CONTENT_ENCODING",
    [HttpHeaderContentLanguage] = "HTTP_CONTENT_LANGUAGE",
    [HttpHeaderContentLocation] = "HTTP_CONTENT_LOCATION",
    [HttpHeaderContentMd5] = "HTTP_CONTENT_MD5",
    [HttpHeaderContentRange] = "HTTP_CONTENT_RANGE",
    [HttpHeaderExpires] = "HTTP_EXPIRES",
    [HttpHeaderLastModified] = "HTTP_LAST_MODIFIED",
    [HttpHeaderAccept] = "HTTP_ACCEPT",
    [HttpHeaderAcceptCharset] = "HTTP_ACCEPT_CHARSET",
    [HttpHeaderAcceptEncoding] = "HTTP_ACCEPT_ENCODING",
    [HttpHeaderAcceptLanguage] = "HTTP_ACCEPT_LANGUAGE",
    [HttpHeaderAuthorization] = "HTTP_AUTHORIZATION",
    [HttpHeaderCookie] = "HTTP_COOKIE",
    [HttpHeaderExpect] = "HTTP_EXPECT",
    [HttpHeaderFrom] = "HTTP_FROM",
    [HttpHeaderHost] = "HTTP_HOST",
    [HttpHeaderIfMatch] = "HTTP_IF_MATCH",
    [HttpHeaderIfModifiedSince] = "HTTP_IF_MODIFIED_SINCE",
    [HttpHeaderIfNoneMatch] = "HTTP_IF_NONE_MATCH",
    [HttpHeaderIfRange] = "HTTP_IF_RANGE",
    [HttpHeaderIfUnmodifiedSince] = "HTTP_IF_UNMODIFIED_SINCE",
    [HttpHeaderMaxForwards] = "HTTP_MAX_FORWARDS",
    [HttpHeaderProxyAuthorization] = "HTTP_PROXY_AUTHORIZATION",
    [HttpHeaderReferer] = "HTTP_REFERER",
    [HttpHeaderRange] = "HTTP_RANGE",
    [HttpHeaderTe] = "HTTP_TE",
    [HttpHeaderTranslate] = "HTTP_TRANSLATE",
    [HttpHeaderUserAgent] = "HTTP_USER_AGENT",
};

static const char *const verbs[] = {
    [HttpVerbOPTIONS] = "OPTIONS",   [HttpVerbGET] = "GET",
    [HttpVerbHEAD] = "HEAD",         [HttpVerbPOST] = "POST",
    [HttpVerbPUT] = "PUT",           [HttpVerbDELETE] = "DELETE",
    [HttpVerbTRACE] = "TRACE",       [HttpVerbCONNECT] = "CONNECT",
    [HttpVerbTRACK] = "TRACK",       [HttpVerbMOVE] = "MOVE",
    [HttpVerbCOPY] = "COPY",         [HttpVerbPROPFIND] = "PROPFIND",
    [HttpVerbPROPPATCH] = "PROPPATCH", [HttpVerbMKCOL] = "MKCOL",
    [HttpVerbLOCK] = "LOCK",         [HttpVerbUNLOCK] = "UNLOCK",
    [HttpVerbSEARCH] = "SEARCH",
};

int64_t hs_now_us(void) {
  FILETIME ft;
  GetSystemTimePreciseAsFileTime(&ft);
  ULARGE_INTEGER t = {.LowPart = ft.dwLowDateTime,
                      .HighPart = ft.dwHighDateTime};
  /* 100 ns ticks since 1601 -> microseconds since 1970. */
  return (int64_t)(t.QuadPart / 10) - INT64_C(11644473600000000);
}

/* Adds name=value (value of `vlen` bytes) as one allocation. */
static int add_var(hs_conn *c, const char *name, size_t nlen, const char *value,
                   size_t vlen) {
  if (c->n_vars == c->cap_vars) {
    size_t cap = c->cap_vars ? c->cap_vars * 2 : 48;
    sysgi_header *v = realloc(c->vars, cap * sizeof *v);
    if (!v)
      return SYSGI_E_NOMEM;
    c->vars = v;
    c->cap_vars = cap;
  }
  char *block = malloc(nlen + vlen + 2);
  if (!block)
    return SYSGI_E_NOMEM;
  memcpy(block, name, nlen);
  block[nlen] = '\0';
  memcpy(block + nlen + 1, value, vlen);
  block[nlen + 1 + vlen] = '\0';
  c->vars[c->n_vars].name = block;
  c->vars[c->n_vars].value = block + nlen + 1;
  c->n_vars++;
  return SYSGI_OK;
}

static int add(hs_conn *c, const char *name, const char *value) {
  return add_var(c, name, strlen(name), value, strlen(value));
}

/* Appends ", value" to an existing variable (repeated unknown headers). */
static int append_var(hs_conn *c, size_t i, const char *value, size_t vlen) {
  const char *name = c->vars[i].name;
  size_t nlen = strlen(name), olen = strlen(c->vars[i].value);
  char *block = malloc(nlen + olen + vlen + 4);
  if (!block)
    return SYSGI_E_NOMEM;
  memcpy(block, name, nlen + 1);
  memcpy(block + nlen + 1, c->vars[i].value, olen);
  memcpy(block + nlen + 1 + olen, ", ", 2);
  memcpy(block + nlen + 3 + olen, value, vlen);
  block[nlen + 3 + olen + vlen] = '\0';
  free((void *)c->vars[i].name);
  c->vars[i].name = block;
  c->vars[i].value = block + nlen + 1;
  return SYSGI_OK;
}

/* "HTTP_" + upper-cased name with '-' -> '_'. Names holding '_' or
 * non-token bytes are refused (returns 0): "X_User" would otherwise pass
 * for "X-User" in environ, which Apache 2.4 guards against the same way. */
static int cgi_header_name(const char *name, size_t len, char *out,
                           size_t cap) {
  if (len == 0 || len + 6 > cap)
    return 0;
  memcpy(out, "HTTP_", 5);
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)name[i];
    if (ch == '-')
      ch = '_';
    else if ((ch >= 'a' && ch <= 'z'))
      ch = (unsigned char)(ch - 'a' + 'A');
    else if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               strchr("!#$%&'*+.^`|~", ch)))
      return 0;
    out[5 + i] = (char)ch;
  }
  out[5 + len] = '\0';
  return 1;
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

static int unreserved(unsigned char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
         (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
         ch == '~';
}

/* The path of the request line as Apache 2.4 maps it to r->uri (and
 * mod_wsgi to SCRIPT_NAME + PATH_INFO), in place; `p` holds `len` bytes
 * and room for a NUL:
 *  1. %XX of unreserved characters are decoded (so "%2e" is a dot), other
 *     escapes are kept; a malformed escape is a 400;
 *  2. repeated slashes are merged (MergeSlashes On);
 *  3. "." and ".." segments are removed (RFC 3986 remove_dot_segments); a
 *     ".." above the root is a 400;
 *  4. the remaining escapes are decoded; "%2F" and "%00" are a 404
 *     (AllowEncodedSlashes Off; Apache answers 404 to an encoded NUL too).
 * Returns the new length, or -400 / -404. */
static ptrdiff_t normalize_path(char *p, size_t len) {
  size_t w = 0;
  for (size_t i = 0; i < len; i++) { /* 1 */
    if (p[i] == '%') {
      int hi = i + 1 < len ? hexval(p[i + 1]) : -1;
      int lo = i + 2 < len ? hexval(p[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return -400;
      unsigned char ch = (unsigned char)(hi * 16 + lo);
      if (unreserved(ch)) {
        p[w++] = (char)ch;
        i += 2;
        continue;
      }
    }
    p[w++] = p[i];
  }
  len = w;
  w = 0;
  for (size_t i = 0; i < len;) { /* 2 and 3: segment by segment */
    if (p[i] == '/' && w > 0 && p[w - 1] == '/') {
      i++;
      continue;
    }
    if (p[i] == '.' && w > 0 && p[w - 1] == '/') {
      size_t n = i + 1 < len && p[i + 1] == '.' ? 2 : 1;
      if (i + n == len || p[i + n] == '/') {
        if (n == 2) { /* drop the previous segment, keep its slash */
          if (w == 1)
            return -400;
          w--;
          while (w > 0 && p[w - 1] != '/')
            w--;
        }
        i += n + (i + n < len); /* and the slash after it */
        continue;
      }
    }
    p[w++] = p[i++];
  }
  len = w;
  w = 0;
  for (size_t i = 0; i < len; i++) { /* 4 */
    if (p[i] != '%') {
      p[w++] = p[i];
      continue;
    }
    char ch = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
    if (ch == '/' || ch == '\0')
      return -404;
    p[w++] = ch;
    i += 2;
  }
  p[w] = '\0';
  return (ptrdiff_t)w;
}

static void format_addr(const SOCKADDR *sa, char *host, size_t hcap,
                        char *port, size_t pcap) {
  host[0] = '\0';
  port[0] = '\0';
  if (!sa)
    return;
  if (sa->sa_family == AF_INET) {
    const SOCKADDR_IN *in = (const SOCKADDR_IN *)sa;
    const unsigned char *b = (const unsigned char *)&in->sin_addr;
    snprintf(host, hcap, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    snprintf(port, pcap, "%u", ntohs(in->sin_port));
  } else if (sa->sa_family == AF_INET6) {
    const SOCKADDR_IN6 *in6 = (const SOCKADDR_IN6 *)sa;
    if (!inet_ntop(AF_INET6, (void *)&in6->sin6_addr, host, hcap))
      host[0] = '\0';
    snprintf(port, pcap, "%u", ntohs(in6->sin6_port));
  }
}

/* SERVER_NAME: the Host header without its port, else the local address. */
static int add_server_name(hs_conn *c, const char *local_host) {
  const HTTP_KNOWN_HEADER *h = &c->req->Headers.KnownHeaders[HttpHeaderHost];
  if (h->pRawValue && h->RawValueLength) {
    const char *v = h->pRawValue;
    size_t n = h->RawValueLength;
    if (v[0] == '[') { /* [v6]:port */
      const char *end = memchr(v, ']', n);
      if (end)
        return add_var(c, "SERVER_NAME", 11, v, (size_t)(end - v) + 1);
    } else {
      const char *colon = memchr(v, ':', n);
      if (colon)
        n = (size_t)(colon - v);
    }
    return add_var(c, "SERVER_NAME", 11, v, n);
  }
  return add(c, "SERVER_NAME", local_host);
}

static int add_headers(hs_conn *c) {
  const HTTP_REQUEST_HEADERS *hd = &c->req->Headers;
  int rc;
  for (int i = 0; i < HttpHeaderRequestMaximum; i++) {
    const HTTP_KNOWN_HEADER *h = &hd->KnownHeaders[i];
    if (!h->pRawValue || !known_names[i])
      continue;
    /* Credentials stay with the server, as in Apache: Authorization only
     * with WSGIPassAuthorization (the app's pass-authorization),
     * Proxy-Authorization never. */
    if ((i == HttpHeaderAuthorization && !c->app->pass_authorization) ||
        i == HttpHeaderProxyAuthorization)
      continue;
    rc = add_var(c, known_names[i], strlen(known_names[i]), h->pRawValue,
                 h->RawValueLength);
    if (rc)
      return rc;
  }
  for (USHORT i = 0; i < hd->UnknownHeaderCount; i++) {
    const HTTP_UNKNOWN_HEADER *h = &hd->pUnknownHeaders[i];
    char name[300];
    if (!h->pName || !cgi_header_name(h->pName, h->NameLength, name,
                                      sizeof name)) {
      hs_log(c->srv, SYSGI_LOG_DEBUG, "request header %.*s ignored",
             (int)(h->pName ? h->NameLength : 0), h->pName ? h->pName : "");
      continue;
    }
    const char *v = h->pRawValue ? h->pRawValue : "";
    size_t i_var = c->n_vars;
    for (size_t j = 0; j < c->n_vars; j++) {
      if (strcmp(c->vars[j].name, name) == 0) {
        i_var = j;
        break;
      }
    }
    rc = i_var < c->n_vars ? append_var(c, i_var, v, h->RawValueLength)
                           : add_var(c, name, strlen(name), v,
                                     h->RawValueLength);
    if (rc)
      return rc;
  }
  return SYSGI_OK;
}

/* Splits the raw URL into REQUEST_URI, SCRIPT_NAME, PATH_INFO and
 * QUERY_STRING. Returns 0, 400 or 404. */
static int add_path(hs_conn *c) {
  const char *raw = c->req->pRawUrl ? c->req->pRawUrl : "";
  size_t len = c->req->pRawUrl ? c->req->RawUrlLength : 0;
  /* Absolute form (a proxy-style request line): drop scheme and host. */
  if (len > 7 && (_strnicmp(raw, "http://", 7) == 0 ||
                  (len > 8 && _strnicmp(raw, "https://", 8) == 0))) {
    const char *p = memchr(raw + 8, '/', len - 8);
    len = p ? len - (size_t)(p - raw) : 0;
    raw = p ? p : "";
  }
  if (len == 0 || raw[0] != '/')
    return 400;
  /* A raw NUL would end the variables early, so "/x/..\0" would reach
   * the app as PATH_INFO "/x/.." after normalisation (found by
   * tests/fuzz); Apache answers 400 to it too. */
  if (memchr(raw, '\0', len)) {
    hs_log(c->srv, SYSGI_LOG_INFO, "400: a NUL byte in the URL");
    return 400;
  }
  const char *q = memchr(raw, '?', len);
  size_t plen = q ? (size_t)(q - raw) : len;
  int rc = add_var(c, "REQUEST_URI", 11, raw, len);
  if (!rc)
    rc = q ? add_var(c, "QUERY_STRING", 12, q + 1, len - plen - 1)
           : add(c, "QUERY_STRING", "");
  if (rc)
    return rc;

  char *path = malloc(plen + 1);
  if (!path)
    return SYSGI_E_NOMEM;
  memcpy(path, raw, plen);
  ptrdiff_t dlen = normalize_path(path, plen);
  if (dlen < 0) {
    free(path);
    hs_log(c->srv, SYSGI_LOG_INFO, dlen == -400
           ? "400: malformed escape or '..' above the root in URL %.*s"
           : "404: encoded '/' or NUL in URL %.*s (as Apache's "
             "AllowEncodedSlashes Off)", (int)len, raw);
    return (int)-dlen;
  }
  size_t mlen;
  c->app = hs_app_match(c->srv, path, &mlen);
  if (!c->app) {
    if (c->srv->n_apps == 0)
      hs_log(c->srv, SYSGI_LOG_WARN, "404: no application is configured "
             "(add an [app:/MOUNT] section naming a script)");
    free(path);
    return 404;
  }
  rc = add(c, "SCRIPT_NAME", c->app->mount);
  if (!rc)
    rc = add_var(c, "PATH_INFO", 9, path + mlen, (size_t)dlen - mlen);
  free(path);
  return rc;
}

int hs_request_map(hs_conn *c) {
  const HTTP_REQUEST *r = c->req;
  char buf[64], host[INET6_ADDRSTRLEN + 8], port[8];
  int rc;

  const char *verb = (r->Verb >= 0 && (size_t)r->Verb < sizeof verbs /
                      sizeof verbs[0]) ? verbs[r->Verb] : NULL;
  if (verb)
    rc = add(c, "REQUEST_METHOD", verb);
  else if (r->pUnknownVerb && r->UnknownVerbLength)
    rc = add_var(c, "REQUEST_METHOD", 14, r->pUnknownVerb,
                 r->UnknownVerbLength);
  else
    return 400;
  if (rc)
    return rc;

  rc = add_path(c);
  if (rc)
    return rc;

  snprintf(buf, sizeof buf, "HTTP/%u.%u", r->Version.MajorVersion,
           r->Version.MinorVersion);
  if ((rc = add(c, "SERVER_PROTOCOL", buf)))
    return rc;

  format_addr(r->Address.pLocalAddress, host, sizeof host, port, sizeof port);
  if ((rc = add(c, "SERVER_ADDR", host)) || (rc = add(c, "SERVER_PORT", port)) ||
      (rc = add_server_name(c, host)))
    return rc;
  format_addr(r->Address.pRemoteAddress, host, sizeof host, port, sizeof port);
  if ((rc = add(c, "REMOTE_ADDR", host)) || (rc = add(c, "REMOTE_PORT", port)))
    return rc;

  const char *scheme = r->pSslInfo ? "https" : "http";
  c->url_scheme = (char *)scheme;
  if ((rc = add(c, "REQUEST_SCHEME", scheme)) ||
      (rc = add(c, "GATEWAY_INTERFACE", "CGI/1.1")) ||
      (rc = add(c, "SERVER_SOFTWARE", SYSGI_HTTPSYS_SOFTWARE)))
    return rc;
  /* mod_wsgi gives Apache's unique log id; http.sys's own request id is
   * unique among the requests in flight, which is what logs correlate. */
  snprintf(buf, sizeof buf, "%016llx", (unsigned long long)r->RequestId);
  if ((rc = add(c, "mod_wsgi.request_id", buf)))
    return rc;
  if (*c->app->script && (rc = add(c, "SCRIPT_FILENAME", c->app->script)))
    return rc;
  return add_headers(c);
}

void hs_request_free(hs_conn *c) {
  for (size_t i = 0; i < c->n_vars; i++)
    free((void *)c->vars[i].name);
  free(c->vars);
  c->vars = NULL;
  c->n_vars = c->cap_vars = 0;
}
