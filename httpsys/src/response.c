/*
 * response.c: the core's response -> http.sys.
 *
 * The head is kept (in C copies) until the first body chunk, or the end of
 * the response, so a response whose whole body comes in one piece, or has
 * no body, is one HttpSendHttpResponse without MORE_DATA. A longer body
 * goes out as HttpSendHttpResponse(MORE_DATA) then HttpSendResponseEntityBody
 * calls, MORE_DATA on all but the last; when Content-Length is known the
 * chunk that completes it is the last, otherwise an empty final call ends
 * the response (http.sys chunks it for HTTP/1.1).
 *
 * Every send is overlapped and at most one is in flight per request: the
 * callback returns SYSGI_PENDING, the app produces the next chunk while the
 * kernel reads this one, and the next send first waits for the previous
 * completion. The completion (on an I/O thread) releases the core's token;
 * our own copies (head, chunk descriptor) live until the request ends.
 */
#include "hs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Response headers http.sys knows, by HTTP_HEADER_ID. */
static const char *const known_resp[HttpHeaderResponseMaximum] = {
    "Cache-Control",     "Connection",       "Date",
    "Keep-Alive",        "Pragma",           "Trailer",
    "Transfer-Encoding", "Upgrade",          "Via",
    "Warning",           "Allow",            "Content-Length",
    "Content-Type",      "Content-Encoding", "Content-Language",
    "Content-Location",  "Content-MD5",      "Content-Range",
    "Expires",           "Last-Modified",    "Accept-Ranges",
    "Age",               "ETag",             "Location",
    "Proxy-Authenticate", "Retry-After",     "Server",
    "Set-Cookie",        "Vary",             "WWW-Authenticate",
};

static int known_id(const char *name) {
  for (int i = 0; i < HttpHeaderResponseMaximum; i++)
    if (_stricmp(name, known_resp[i]) == 0)
      return i;
  return -1;
}

int hs_response_init(hs_conn *c) {
  c->content_length = -1;
  c->send_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  c->read_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (!c->send_event || !c->read_event)
    return sysgi_httpsys_translate_error(GetLastError());
  return SYSGI_OK;
}

void hs_response_free(hs_conn *c) {
  free(c->head_block);
  free(c->unknown);
  free(c->file_buf);
  c->head_block = NULL;
  c->unknown = NULL;
  c->file_buf = NULL;
  if (c->send_event)
    CloseHandle(c->send_event);
  if (c->read_event)
    CloseHandle(c->read_event);
  c->send_event = c->read_event = NULL;
}

static void send_done(hs_op *op, DWORD err, DWORD bytes) {
  hs_conn *c = op->ctx;
  sysgi_send_token *tok = c->send_token;
  c->send_token = NULL;
  c->send_err = err;
  /* The kernel no longer reads the buffer: only now may the core drop it. */
  if (tok)
    sysgi_send_complete(tok, err ? sysgi_httpsys_translate_error(err) : 0);
  void (*after)(hs_conn *) = c->after_send;
  if (after) {
    after(c); /* nobody waits on this request: it is ours to end */
    return;
  }
  /* The last access to `c`: once the event is set, the worker may finish
   * the request, free `c` and close the event. */
  HANDLE ev = c->send_event;
  SetEvent(ev);
}

/* Waits for the send in flight; returns its result. */
static int wait_send(hs_conn *c) {
  if (c->send_inflight) {
    WaitForSingleObject(c->send_event, INFINITE);
    c->send_inflight = 0;
  }
  if (c->send_err != NO_ERROR && !c->send_failed) {
    c->send_failed = 1;
    int err = sysgi_httpsys_translate_error(c->send_err);
    if (err == SYSGI_E_CLIENT_GONE)
      c->client_gone = 1;
    /* A client that left mid-stream is not the server's problem: debug. */
    hs_log(c->srv, c->client_gone ? SYSGI_LOG_DEBUG : SYSGI_LOG_INFO,
           "sending the response failed: error %lu (%s)",
           (unsigned long)c->send_err, hs_limits_cause(err));
  }
  return c->send_failed ? (c->client_gone ? SYSGI_E_CLIENT_GONE : SYSGI_E_IO)
                        : 0;
}

/* Posts one send of `chunk` (or none); HttpSendHttpResponse if the head
 * has not gone out yet. Returns the API's result. Everything the request
 * needs is written before the call: once a fire-and-forget send (after_send)
 * is posted its completion may end the request at any time, so `c` is not
 * touched after the call unless it failed without a completion (then it is
 * left as before: nothing was sent). */
static ULONG post_send(hs_conn *c, HTTP_DATA_CHUNK *chunk, int final,
                       sysgi_send_token *tok) {
  ULONG flags = final ? 0 : HTTP_SEND_RESPONSE_FLAG_MORE_DATA;
  if (final && (c->disconnect || c->failed))
    flags |= HTTP_SEND_RESPONSE_FLAG_DISCONNECT;
  if (chunk)
    c->send_chunk = *chunk;
  int first = !c->head_sent, was_final = c->final_sent;
  int owned = c->after_send == NULL;
  HANDLE queue = c->srv->queue;
  HTTP_REQUEST_ID id = c->id;
  HTTP_DATA_CHUNK *chunks = chunk ? &c->send_chunk : NULL;
  USHORT n = chunk ? 1 : 0;
  OVERLAPPED *ov = &c->send_op.ov;
  c->send_token = tok;
  c->send_err = NO_ERROR;
  c->send_is_file = chunk && chunk->DataChunkType == HttpDataChunkFromFileHandle;
  c->head_sent = 1;
  if (final)
    c->final_sent = 1;
  if (first) {
    c->resp.EntityChunkCount = n;
    c->resp.pEntityChunks = chunks;
  }
  ResetEvent(c->send_event);
  c->send_inflight = owned;
  hs_op_start(&c->srv->pool, &c->send_op, send_done, c);
  ULONG rc = first ? HttpSendHttpResponse(queue, id, flags, &c->resp, NULL,
                                          NULL, NULL, 0, ov, NULL)
                   : HttpSendResponseEntityBody(queue, id, flags, n, chunks,
                                                NULL, NULL, 0, ov, NULL);
  if (hs_io_will_complete(rc))
    return rc; /* `c` may be gone now (after_send) */
  hs_op_cancel(&c->srv->pool, &c->send_op);
  c->send_inflight = 0;
  c->send_token = NULL;
  c->head_sent = !first;
  c->final_sent = was_final;
  return rc;
}

/* Issues one send. Returns SYSGI_PENDING or a negative error (then the
 * token was not taken and nothing more may be sent). */
static int issue(hs_conn *c, HTTP_DATA_CHUNK *chunk, int final,
                 sysgi_send_token *tok) {
  ULONG rc = post_send(c, chunk, final, tok);
  if (hs_io_will_complete(rc))
    return SYSGI_PENDING;
  c->send_err = rc;
  c->final_sent = 1; /* nothing more may follow a failed send */
  return wait_send(c);
}

/* Sends `len` bytes of file `h` from `off` in memory chunks (read here in
 * C), when http.sys refused the file-handle chunk (Wine: error 120). The
 * buffer is reused only after each send completed. Returns 0 or an error. */
#define HS_FILE_BUF (256 * 1024)
static int send_file_buffered(hs_conn *c, HANDLE h, int64_t off, int64_t len,
                              int final) {
  if (!c->file_buf && !(c->file_buf = malloc(HS_FILE_BUF)))
    return SYSGI_E_NOMEM;
  while (len > 0) {
    DWORD want = len > HS_FILE_BUF ? HS_FILE_BUF : (DWORD)len, got = 0;
    OVERLAPPED o;
    ZeroMemory(&o, sizeof o);
    o.Offset = (DWORD)off;
    o.OffsetHigh = (DWORD)((uint64_t)off >> 32);
    BOOL ok = ReadFile(h, c->file_buf, want, &got, &o);
    if (!ok && GetLastError() == ERROR_IO_PENDING)
      ok = GetOverlappedResult(h, &o, &got, TRUE);
    if (!ok || got == 0) {
      hs_log(c->srv, SYSGI_LOG_ERR, "reading the file to send failed "
             "(error %lu) with %lld bytes left: closing the connection",
             ok ? 0ul : (unsigned long)GetLastError(), (long long)len);
      c->failed = 1;
      return SYSGI_E_IO;
    }
    HTTP_DATA_CHUNK ch;
    ZeroMemory(&ch, sizeof ch);
    ch.DataChunkType = HttpDataChunkFromMemory;
    ch.FromMemory.pBuffer = c->file_buf;
    ch.FromMemory.BufferLength = got;
    int rc = issue(c, &ch, final && (int64_t)got == len, NULL);
    if (rc == SYSGI_PENDING)
      rc = wait_send(c);
    if (rc)
      return rc;
    off += got;
    len -= got;
  }
  return 0;
}

static int fe_send_head(void *conn, int status, const char *status_line,
                        const sysgi_header *headers, size_t n_headers,
                        int64_t content_length) {
  hs_conn *c = conn;
  if (c->head_stored || status < 100 || status > 999)
    return SYSGI_E_INVAL;
  const char *reason = strchr(status_line ? status_line : "", ' ');
  reason = reason ? reason + 1 : "";
  size_t total = strlen(reason) + 1;
  for (size_t i = 0; i < n_headers; i++)
    total += strlen(headers[i].name) + strlen(headers[i].value) + 2;
  free(c->head_block); /* left by a failed earlier attempt */
  free(c->unknown);
  c->head_block = malloc(total);
  c->unknown = calloc(n_headers ? n_headers : 1, sizeof *c->unknown);
  if (!c->head_block || !c->unknown)
    return SYSGI_E_NOMEM;
  char *p = c->head_block;
  size_t n = strlen(reason);
  memcpy(p, reason, n + 1);
  ZeroMemory(&c->resp, sizeof c->resp);
  c->resp.Version.MajorVersion = 1;
  c->resp.Version.MinorVersion = 1;
  c->resp.StatusCode = (USHORT)status;
  c->resp.pReason = p;
  c->resp.ReasonLength = (USHORT)n;
  p += n + 1;

  USHORT n_unknown = 0;
  for (size_t i = 0; i < n_headers; i++) {
    size_t nl = strlen(headers[i].name), vl = strlen(headers[i].value);
    if (nl > 0xffff || vl > 0xffff)
      return SYSGI_E_TOO_LARGE;
    char *name = p, *value = p + nl + 1;
    memcpy(name, headers[i].name, nl + 1);
    memcpy(value, headers[i].value, vl + 1);
    p += nl + vl + 2;
    int id = known_id(name);
    if (id == HttpHeaderContentLength)
      continue; /* taken from content_length below */
    if (id == HttpHeaderConnection) {
      /* Hop-by-hop (PEP 3333): http.sys manages the connection; honour a
       * "close" by disconnecting after the response. */
      if (_stricmp(value, "close") == 0)
        c->disconnect = 1;
      continue;
    }
    if (id == HttpHeaderTransferEncoding || id == HttpHeaderKeepAlive ||
        id == HttpHeaderUpgrade) {
      hs_log(c->srv, SYSGI_LOG_WARN,
             "hop-by-hop response header %s dropped (PEP 3333)", name);
      continue;
    }
    HTTP_KNOWN_HEADER *k = id >= 0 ? &c->resp.Headers.KnownHeaders[id] : NULL;
    if (k && !k->pRawValue) {
      k->pRawValue = value;
      k->RawValueLength = (USHORT)vl;
    } else {
      /* Unknown names, and the second and later occurrences of a known one
       * (several Set-Cookie or WWW-Authenticate headers), go out as
       * separate header lines. */
      if (n_unknown == 0xffff)
        return SYSGI_E_TOO_LARGE;
      c->unknown[n_unknown].pName = name;
      c->unknown[n_unknown].NameLength = (USHORT)nl;
      c->unknown[n_unknown].pRawValue = value;
      c->unknown[n_unknown].RawValueLength = (USHORT)vl;
      n_unknown++;
    }
  }
  c->resp.Headers.UnknownHeaderCount = n_unknown;
  c->resp.Headers.pUnknownHeaders = n_unknown ? c->unknown : NULL;
  c->content_length = content_length;
  if (content_length >= 0) {
    int len = snprintf(c->content_length_str, sizeof c->content_length_str,
                       "%lld", (long long)content_length);
    HTTP_KNOWN_HEADER *k = &c->resp.Headers.KnownHeaders[HttpHeaderContentLength];
    k->pRawValue = c->content_length_str;
    k->RawValueLength = (USHORT)len;
  }
  c->head_stored = 1;
  return SYSGI_OK;
}

/* Common part of send_body and send_file. */
static int send_chunk(hs_conn *c, HTTP_DATA_CHUNK *chunk, int64_t len,
                      sysgi_send_token *tok) {
  if (!c->head_stored)
    return SYSGI_E_INVAL;
  int rc = wait_send(c);
  if (rc)
    return rc;
  if (len == 0)
    return 0;
  if (c->final_sent) {
    hs_log(c->srv, SYSGI_LOG_WARN, "response body beyond Content-Length "
           "dropped");
    return 0;
  }
  int final = 0;
  if (c->content_length >= 0) {
    int64_t left = c->content_length - c->body_sent;
    if (len >= left) {
      final = 1;
      if (len > left) {
        hs_log(c->srv, SYSGI_LOG_WARN, "response body beyond Content-Length "
               "truncated");
        len = left;
      }
      if (chunk->DataChunkType == HttpDataChunkFromMemory)
        chunk->FromMemory.BufferLength = (ULONG)len;
      else
        chunk->FromFileHandle.ByteRange.Length.QuadPart = (ULONGLONG)len;
    }
  }
  c->body_sent += len;
  if (chunk->DataChunkType != HttpDataChunkFromFileHandle)
    return issue(c, chunk, final, tok);
  ULONG wrc = post_send(c, chunk, final, tok);
  if (hs_io_will_complete(wrc))
    return SYSGI_PENDING;
  if (sysgi_httpsys_translate_error(wrc) == SYSGI_E_CLIENT_GONE) {
    c->send_err = wrc;
    c->final_sent = 1;
    return wait_send(c);
  }
  /* Refused before anything of it was sent: the same range from memory. */
  hs_log(c->srv, SYSGI_LOG_INFO, "file-handle send refused (error %lu): "
         "sending the %lld bytes from memory", (unsigned long)wrc,
         (long long)len);
  return send_file_buffered(c, chunk->FromFileHandle.FileHandle,
                            (int64_t)chunk->FromFileHandle.ByteRange
                                .StartingOffset.QuadPart,
                            len, final);
}

static int fe_send_body(void *conn, const void *data, size_t len,
                        sysgi_send_token *tok) {
  HTTP_DATA_CHUNK chunk;
  if (len > 0xffffffffu)
    return SYSGI_E_TOO_LARGE; /* the core sends Python bytes objects */
  ZeroMemory(&chunk, sizeof chunk);
  chunk.DataChunkType = HttpDataChunkFromMemory;
  chunk.FromMemory.pBuffer = (void *)data;
  chunk.FromMemory.BufferLength = (ULONG)len;
  return send_chunk(conn, &chunk, (int64_t)len, tok);
}

static int fe_send_file(void *conn, intptr_t os_handle, int64_t offset,
                        int64_t len, sysgi_send_token *tok) {
  HTTP_DATA_CHUNK chunk;
  hs_conn *c = conn;
  /* enable-sendfile off: no kernel file send; the core then reads the
   * file in blocks (sysgi.h, enable_sendfile). The matched application's
   * setting: the server's one is only the default of its apps. */
  if (!(c->app ? c->app->enable_sendfile : c->srv->cfg.enable_sendfile))
    return SYSGI_E_UNSUPPORTED;
  if (offset < 0 || len < 0)
    return SYSGI_E_INVAL;
  ZeroMemory(&chunk, sizeof chunk);
  chunk.DataChunkType = HttpDataChunkFromFileHandle;
  chunk.FromFileHandle.ByteRange.StartingOffset.QuadPart = (ULONGLONG)offset;
  chunk.FromFileHandle.ByteRange.Length.QuadPart = (ULONGLONG)len;
  chunk.FromFileHandle.FileHandle = (HANDLE)os_handle;
  return send_chunk(conn, &chunk, len, tok);
}

static int fe_wait_sends(void *conn) { return wait_send(conn); }

static int fe_client_gone(void *conn) { return ((hs_conn *)conn)->client_gone; }

static void fe_abort(void *conn) {
  hs_conn *c = conn;
  c->failed = 1;
}

static void fe_log(void *conn, int level, const char *msg) {
  hs_log(((hs_conn *)conn)->srv, level, "%s", msg);
}

const sysgi_frontend hs_frontend = {
    .send_head = fe_send_head,
    .send_body = fe_send_body,
    .send_file = fe_send_file,
    .wait_sends = fe_wait_sends,
    .read_body = hs_read_body,
    .client_gone = fe_client_gone,
    .abort = fe_abort,
    .log = fe_log,
    .ssl_is_https = NULL,
    .ssl_var_lookup = NULL,
};

int hs_send_simple(hs_conn *c, USHORT status, const char *reason) {
  char line[96], body[160];
  snprintf(line, sizeof line, "%u %s", status, reason);
  int blen = snprintf(body, sizeof body, "%u %s\n", status, reason);
  sysgi_header h = {"Content-Type", "text/plain; charset=utf-8"};
  int rc = fe_send_head(c, status, line, &h, 1, blen);
  if (rc == 0)
    rc = fe_send_body(c, body, (size_t)blen, NULL);
  if (rc >= 0)
    rc = wait_send(c); /* `body` lives on this stack frame */
  return rc;
}

/* A response that never has a body (RFC 9110 6.4.1): to HEAD, or 1xx, 204,
 * 304. Its Content-Length describes the body it would have had. */
static int bodyless(hs_conn *c) {
  USHORT st = c->resp.StatusCode;
  return (c->req && c->req->Verb == HttpVerbHEAD) || st < 200 || st == 204 ||
         st == 304;
}

void hs_response_finish(hs_conn *c, int rc) {
  int wrc = wait_send(c);
  if (!c->head_stored && !c->head_sent) {
    /* Nothing was sent: answer for the core (sysgi.h). */
    if (rc == SYSGI_E_NOPYTHON || rc == SYSGI_E_BUSY)
      hs_send_simple(c, 503, "Service Unavailable");
    else
      hs_send_simple(c, 500, "Internal Server Error");
    return;
  }
  if (c->send_failed && !c->client_gone) {
    /* The response cannot be completed and http.sys still holds the
     * request: cancel it, so the client sees the connection close now
     * rather than waiting for its own timeout. */
    hs_log(c->srv, SYSGI_LOG_WARN, "a %ssend failed (error %lu) after part "
           "of the response: request cancelled",
           c->send_is_file ? "file-handle " : "", (unsigned long)c->send_err);
    HttpCancelHttpRequest(c->srv->queue, c->id, NULL);
    return;
  }
  if (c->final_sent || wrc)
    return;
  if (c->failed && c->content_length < 0 && !bodyless(c)) {
    /* fe->abort on a chunked response (the application failed, or ran
     * past request-timeout, after its head): a final send would end the
     * chunked body as if it were complete. Cancel the request instead, so
     * the client sees the connection drop. */
    hs_log(c->srv, SYSGI_LOG_INFO, "response aborted after %lld body "
           "bytes: request cancelled", (long long)c->body_sent);
    HttpCancelHttpRequest(c->srv->queue, c->id, NULL);
    return;
  }
  /* Short body against a declared length: the response cannot be
   * completed honestly, so the connection is closed after it. */
  if (c->content_length >= 0 && c->body_sent < c->content_length &&
      !bodyless(c)) {
    hs_log(c->srv, SYSGI_LOG_WARN, "response shorter than its Content-Length "
           "(%lld of %lld bytes): closing the connection",
           (long long)c->body_sent, (long long)c->content_length);
    c->failed = 1;
  }
  if (issue(c, NULL, 1, NULL) == SYSGI_PENDING)
    wait_send(c);
}

void hs_send_busy(hs_conn *c) {
  static const char body[] = "503 Service Unavailable: server busy\n";
  sysgi_header h[2] = {{"Content-Type", "text/plain; charset=utf-8"},
                       {"Retry-After", "1"}};
  HTTP_DATA_CHUNK chunk;
  if (fe_send_head(c, 503, "503 Service Unavailable", h, 2,
                   (int64_t)sizeof body - 1) != 0) {
    hs_conn_end(c);
    return;
  }
  ZeroMemory(&chunk, sizeof chunk);
  chunk.DataChunkType = HttpDataChunkFromMemory;
  chunk.FromMemory.pBuffer = (void *)body;
  chunk.FromMemory.BufferLength = sizeof body - 1;
  c->body_sent = sizeof body - 1;
  c->after_send = hs_conn_end;
  if (issue(c, &chunk, 1, NULL) != SYSGI_PENDING) {
    c->after_send = NULL;
    hs_conn_end(c);
  }
}
