/*
 * respond.c: writing responses like http.sys: the status line, the known
 * and unknown headers as given (each unknown one on its own line), Date and
 * Server when missing, the framing (the given Content-Length; computed for
 * a complete response; chunked for a streamed HTTP/1.1 one; close-delimited
 * for HTTP/1.0; none for HEAD, 1xx, 204, 304), memory and file-handle
 * chunks; the error answers the DLL gives itself.
 */
#include "ha.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable output buffer. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void sb_put(sbuf *b, const void *s, size_t n) {
  if (b->oom)
    return;
  if (b->len + n > b->cap) {
    size_t cap = (b->cap ? b->cap * 2 : 4096) + n;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static int sb_flush(ha_conn *c, sbuf *b, volatile LONG *cancel) {
  int rc = b->oom ? -1 : ha_send_all(c, b->p, b->len, cancel);
  b->len = 0;
  return rc;
}

void ha_format_date(char *out, size_t cap) {
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
  SYSTEMTIME t;
  GetSystemTime(&t);
  snprintf(out, cap, "%s, %02u %s %04u %02u:%02u:%02u GMT",
           days[t.wDayOfWeek % 7], t.wDay, months[(t.wMonth + 11) % 12],
           t.wYear, t.wHour, t.wMinute, t.wSecond);
}

/* The error answers http.sys gives itself. `close_after`: the connection
 * ends after it. */
void ha_send_error(ha_conn *c, int status, int close_after) {
  const char *reason = status == 400   ? "Bad Request"
                       : status == 404 ? "Not Found"
                       : status == 501 ? "Not Implemented"
                       : status == 503 ? "Service Unavailable"
                       : status == 505 ? "HTTP Version Not Supported"
                       : status == 417 ? "Expectation Failed"
                                       : "Error";
  char body[256], head[512], date[64];
  int bl = snprintf(body, sizeof body,
                    "<h2>%s</h2><hr><p>HTTP Error %d. %s</p>\r\n", reason,
                    status, reason);
  ha_format_date(date, sizeof date);
  int hl = snprintf(head, sizeof head,
                    "HTTP/1.1 %d %s\r\nContent-Type: text/html; "
                    "charset=us-ascii\r\nServer: Microsoft-HTTPAPI/2.0\r\n"
                    "Date: %s\r\n%sContent-Length: %d\r\n\r\n",
                    status, reason, date,
                    close_after ? "Connection: close\r\n" : "", bl);
  ha_trace("answered %d without the application", status);
  if (ha_send_all(c, head, (size_t)hl, NULL) == 0)
    ha_send_all(c, body, (size_t)bl, NULL);
}

/* ---- responses ---------------------------------------------------------------- */

static const char *const known_resp[HttpHeaderResponseMaximum] = {
    "Cache-Control", "Connection", "Date", "Keep-Alive", "Pragma", "Trailer",
    "Transfer-Encoding", "Upgrade", "Via", "Warning", "Allow",
    "Content-Length", "Content-Type", "Content-Encoding", "Content-Language",
    "Content-Location", "Content-MD5", "Content-Range", "Expires",
    "Last-Modified", "Accept-Ranges", "Age", "ETag", "Location",
    "Proxy-Authenticate", "Retry-After", "Server", "Set-Cookie", "Vary",
    "WWW-Authenticate"};

/* Bytes of a file chunk (HTTP_BYTE_RANGE_TO_EOF: to the end), or -1. */
static int64_t file_len(const HTTP_DATA_CHUNK *ch) {
  ULONGLONG off = ch->FromFileHandle.ByteRange.StartingOffset.QuadPart;
  ULONGLONG len = ch->FromFileHandle.ByteRange.Length.QuadPart;
  if (len != HTTP_BYTE_RANGE_TO_EOF)
    return (int64_t)len;
  LARGE_INTEGER size;
  if (!GetFileSizeEx(ch->FromFileHandle.FileHandle, &size) ||
      (ULONGLONG)size.QuadPart < off)
    return -1;
  return (int64_t)((ULONGLONG)size.QuadPart - off);
}

/* Positioned read that never queues a packet on a completion port the
 * handle may be bound to (low bit of hEvent). */
static int read_file_at(HANDLE f, ULONGLONG off, char *buf, DWORD want,
                        DWORD *got) {
  HANDLE ev = CreateEventW(NULL, TRUE, FALSE, NULL);
  OVERLAPPED o;
  ZeroMemory(&o, sizeof o);
  o.Offset = (DWORD)off;
  o.OffsetHigh = (DWORD)(off >> 32);
  o.hEvent = (HANDLE)((ULONG_PTR)ev | 1);
  BOOL ok = ReadFile(f, buf, want, got, &o);
  if (!ok && GetLastError() == ERROR_IO_PENDING) {
    WaitForSingleObject(ev, INFINITE);
    ok = GetOverlappedResult(f, &o, got, FALSE);
  }
  CloseHandle(ev);
  return ok && *got > 0;
}

static void head_lines(ha_req *r, const HTTP_RESPONSE *rs, ULONG flags,
                       int64_t size, sbuf *b) {
  char tmp[256];
  const HTTP_RESPONSE_HEADERS *hd = &rs->Headers;
  int final = !(flags & HTTP_SEND_RESPONSE_FLAG_MORE_DATA);
  snprintf(tmp, sizeof tmp, "HTTP/1.1 %u ", rs->StatusCode);
  sb_str(b, tmp);
  if (rs->pReason)
    sb_put(b, rs->pReason, rs->ReasonLength);
  sb_str(b, "\r\n");
  r->resp_no_body = rs->StatusCode < 200 || rs->StatusCode == 204 ||
                    rs->StatusCode == 304;
  const HTTP_KNOWN_HEADER *cl = &hd->KnownHeaders[HttpHeaderContentLength];
  const HTTP_KNOWN_HEADER *te = &hd->KnownHeaders[HttpHeaderTransferEncoding];
  const HTTP_KNOWN_HEADER *cn = &hd->KnownHeaders[HttpHeaderConnection];
  int add_cl = 0;
  if (r->resp_no_body || cl->pRawValue) {
  } else if (te->pRawValue) {
    r->resp_chunked = 1; /* we chunk the application's bytes */
  } else if (final) {
    add_cl = 1;
  } else if (r->minor == 1) {
    r->resp_chunked = 1;
  } else {
    r->resp_close = 1; /* HTTP/1.0: the end of the body is the close */
  }
  if (cn->pRawValue && ha_has_token(cn->pRawValue, "close"))
    r->resp_close = 1;
  if ((final && (flags & HTTP_SEND_RESPONSE_FLAG_DISCONNECT)) ||
      !r->keep_alive)
    r->resp_close = 1;
  /* No Content-Length or Transfer-Encoding on 1xx and 204 (RFC 9110
   * 8.6); a 304 keeps the length of what it stands for. */
  int no_framing = rs->StatusCode < 200 || rs->StatusCode == 204;
  for (int i = 0; i < HttpHeaderResponseMaximum; i++) {
    const HTTP_KNOWN_HEADER *k = &hd->KnownHeaders[i];
    if (!k->pRawValue || (no_framing && (i == HttpHeaderContentLength ||
                                         i == HttpHeaderTransferEncoding)))
      continue;
    sb_str(b, known_resp[i]);
    sb_str(b, ": ");
    sb_put(b, k->pRawValue, k->RawValueLength);
    sb_str(b, "\r\n");
  }
  for (USHORT i = 0; i < hd->UnknownHeaderCount; i++) {
    const HTTP_UNKNOWN_HEADER *u = &hd->pUnknownHeaders[i];
    sb_put(b, u->pName, u->NameLength);
    sb_str(b, ": ");
    if (u->pRawValue)
      sb_put(b, u->pRawValue, u->RawValueLength);
    sb_str(b, "\r\n");
  }
  if (!hd->KnownHeaders[HttpHeaderDate].pRawValue) {
    ha_format_date(tmp, sizeof tmp);
    sb_str(b, "Date: ");
    sb_str(b, tmp);
    sb_str(b, "\r\n");
  }
  if (!hd->KnownHeaders[HttpHeaderServer].pRawValue)
    sb_str(b, "Server: Microsoft-HTTPAPI/2.0\r\n");
  if (add_cl) {
    snprintf(tmp, sizeof tmp, "Content-Length: %lld\r\n", (long long)size);
    sb_str(b, tmp);
    r->resp_cl = size;
  }
  if (r->resp_chunked && !te->pRawValue)
    sb_str(b, "Transfer-Encoding: chunked\r\n");
  if (!cn->pRawValue) {
    if (r->resp_close)
      sb_str(b, "Connection: close\r\n");
    else if (r->minor == 0)
      sb_str(b, "Connection: keep-alive\r\n");
  }
  sb_str(b, "\r\n");
}

void ha_run_send(ha_conn *c, ha_req *r, ha_op *op) {
  volatile LONG *cancel = &op->cancel;
  int final = !(op->flags & HTTP_SEND_RESPONSE_FLAG_MORE_DATA);
  int64_t size = 0;
  sbuf b = {0};
  for (USHORT i = 0; i < op->n_chunks; i++) {
    HTTP_DATA_CHUNK *ch = &op->chunks[i];
    int64_t n = ch->DataChunkType == HttpDataChunkFromMemory
                    ? (int64_t)ch->FromMemory.BufferLength
                    : file_len(ch);
    if (n < 0) {
      ha_violation("request %llu: file-handle chunk %u unreadable",
                   (unsigned long long)r->id, i);
      c->abort = 1;
      op->status = ST_CONNECTION_INVALID;
      return;
    }
    size += n;
  }
  if (op->first)
    head_lines(r, op->resp, op->flags, size, &b);
  int body = !r->resp_no_body && !r->head_only;
  r->resp_sent += size;
  if (body && r->resp_cl >= 0 && r->resp_sent > r->resp_cl)
    ha_violation("request %llu: %lld body bytes for Content-Length %lld",
                 (unsigned long long)r->id, (long long)r->resp_sent,
                 (long long)r->resp_cl);
  if (body && final && r->resp_cl >= 0 && r->resp_sent < r->resp_cl &&
      !(op->flags & HTTP_SEND_RESPONSE_FLAG_DISCONNECT))
    ha_violation("request %llu: response ended after %lld body bytes of "
                 "Content-Length %lld", (unsigned long long)r->id,
                 (long long)r->resp_sent, (long long)r->resp_cl);
  int rc = 0;
  if (body && size > 0) {
    char tmp[32];
    if (r->resp_chunked) {
      snprintf(tmp, sizeof tmp, "%llx\r\n", (unsigned long long)size);
      sb_str(&b, tmp);
    }
    for (USHORT i = 0; i < op->n_chunks && rc == 0; i++) {
      HTTP_DATA_CHUNK *ch = &op->chunks[i];
      if (ch->DataChunkType == HttpDataChunkFromMemory) {
        if (b.len + ch->FromMemory.BufferLength <= HA_BUF) {
          sb_put(&b, ch->FromMemory.pBuffer, ch->FromMemory.BufferLength);
        } else if ((rc = sb_flush(c, &b, cancel)) == 0) {
          rc = ha_send_all(c, ch->FromMemory.pBuffer,
                        ch->FromMemory.BufferLength, cancel);
        }
        continue;
      }
      ULONGLONG off = ch->FromFileHandle.ByteRange.StartingOffset.QuadPart;
      int64_t left = file_len(ch);
      /* Always logged: tests check that a file went out as a file. */
      char note[96];
      snprintf(note, sizeof note, "request %llu: file-handle chunk of %lld "
               "bytes", (unsigned long long)r->id, (long long)left);
      ha_log_line("FILE", note);
      char *fb = malloc(HA_BUF);
      while (rc == 0 && left > 0) {
        DWORD got = 0, want = left > HA_BUF ? HA_BUF : (DWORD)left;
        if (!fb || !read_file_at(ch->FromFileHandle.FileHandle, off, fb, want,
                                 &got)) {
          ha_violation("request %llu: file-handle chunk beyond the end of "
                       "the file or unreadable (error %lu)",
                       (unsigned long long)r->id, GetLastError());
          c->abort = 1;
          rc = -1;
          break;
        }
        sb_put(&b, fb, got);
        if (b.len >= HA_BUF)
          rc = sb_flush(c, &b, cancel);
        off += got;
        left -= got;
      }
      free(fb);
    }
    if (r->resp_chunked)
      sb_str(&b, "\r\n");
  }
  if (rc == 0 && final && body && r->resp_chunked)
    sb_str(&b, "0\r\n\r\n");
  if (rc == 0)
    rc = sb_flush(c, &b, cancel);
  free(b.p);
  op->bytes = (SIZE_T)size;
  if (rc != 0) {
    op->status = *cancel ? ST_CANCELLED : ST_CONNECTION_INVALID;
    c->dead = 1;
    return;
  }
  op->status = ST_SUCCESS;
  if (final && r->resp_close)
    shutdown(c->s, SD_SEND);
}

