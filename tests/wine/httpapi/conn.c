/*
 * conn.c: the network side. One listening socket per port and one thread
 * per connection, which alone touches its socket: it parses a request
 * head, hands the request to its queue, then runs the body reads and sends
 * the application queues for it (reading the caller's buffers and files
 * outside the lock) until the final send, drains what is left of the body,
 * and goes on with the next request on the connection (pipelined or not).
 * Malformed requests are answered here, like http.sys, and never reach
 * the application.
 */
#include "ha.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- socket helpers -------------------------------------------------------- */

/* Waits until `s` is readable (or writable): 1, or 0 once the connection
 * is aborted or the op cancelled. Polls so both are noticed. */
static int wait_sock(ha_conn *c, int write, volatile LONG *cancel) {
  for (;;) {
    if (c->abort || (cancel && *cancel))
      return 0;
    fd_set fs, es;
    FD_ZERO(&fs);
    FD_ZERO(&es);
    FD_SET(c->s, &fs);
    FD_SET(c->s, &es);
    struct timeval tv = {0, 200000};
    int n = select(0, write ? NULL : &fs, write ? &fs : NULL, &es, &tv);
    if (n != 0)
      return 1; /* ready or failed: the next call says which */
  }
}

/* Reads more bytes into c->buf. 1: got some; 0: end of stream; -1: error,
 * abort or cancel. */
static int fill(ha_conn *c, volatile LONG *cancel) {
  if (c->off == c->len)
    c->off = c->len = 0;
  if (c->len == c->cap) {
    if (c->off) {
      memmove(c->buf, c->buf + c->off, c->len - c->off);
      c->len -= c->off;
      c->off = 0;
    } else {
      size_t cap = c->cap ? c->cap * 2 : HA_BUF;
      char *b = cap <= HA_MAX_HEAD + HA_BUF ? realloc(c->buf, cap) : NULL;
      if (!b)
        return -1;
      c->buf = b;
      c->cap = cap;
    }
  }
  if (!wait_sock(c, 0, cancel))
    return -1;
  int n = recv(c->s, c->buf + c->len, (int)(c->cap - c->len), 0);
  if (n > 0) {
    c->len += (size_t)n;
    return 1;
  }
  return n == 0 ? 0 : -1;
}

static int send_all(ha_conn *c, const char *p, size_t n, volatile LONG *cancel) {
  while (n > 0) {
    if (!wait_sock(c, 1, cancel))
      return -1;
    int k = send(c->s, p, n > (1 << 20) ? (1 << 20) : (int)n, 0);
    if (k <= 0) {
      c->dead = 1;
      return -1;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

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
  int rc = b->oom ? -1 : send_all(c, b->p, b->len, cancel);
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
static void send_error(ha_conn *c, int status, int close_after) {
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
  if (send_all(c, head, (size_t)hl, NULL) == 0)
    send_all(c, body, (size_t)bl, NULL);
}

/* ---- request head ----------------------------------------------------------- */

static int is_tchar(unsigned char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int has_token(const char *v, const char *tok) {
  size_t n = strlen(tok);
  for (const char *p = v; *p;) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    const char *e = p;
    while (*e && *e != ',')
      e++;
    const char *t = e;
    while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
      t--;
    if ((size_t)(t - p) == n && _strnicmp(p, tok, n) == 0)
      return 1;
    p = e;
  }
  return 0;
}

/* Parses the head in r->block (NUL-terminated, `n` bytes). Returns 0 or
 * the status to answer. */
static int parse_head(ha_req *r, char *s) {
  char *line = s, *eol;
  size_t cap = 16;
  r->names = malloc(cap * sizeof *r->names);
  r->values = malloc(cap * sizeof *r->values);
  if (!r->names || !r->values)
    return 503;
  /* Request line. */
  eol = strchr(line, '\n');
  *eol = '\0';
  if (eol > line && eol[-1] == '\r')
    eol[-1] = '\0';
  char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
  if (!sp1 || !sp2 || strchr(sp2 + 1, ' '))
    return 400;
  *sp1 = *sp2 = '\0';
  r->method = line;
  r->raw_url = sp1 + 1;
  char *ver = sp2 + 1;
  for (char *p = r->method; *p; p++)
    if (!is_tchar((unsigned char)*p))
      return 400;
  if (!*r->method || !*r->raw_url)
    return 400;
  for (unsigned char *p = (unsigned char *)r->raw_url; *p; p++)
    if (*p < 0x21 || *p == 0x7f)
      return 400; /* bytes >= 0x80 pass through raw */
  if (r->raw_url[0] != '/' && _strnicmp(r->raw_url, "http://", 7) != 0 &&
      strcmp(r->raw_url, "*") != 0)
    return 400;
  if (strlen(r->raw_url) > 0xfff0)
    return 400;
  if (strncmp(ver, "HTTP/", 5) != 0 || ver[5] < '0' || ver[5] > '9' ||
      ver[6] != '.' || ver[7] < '0' || ver[7] > '9' || ver[8])
    return 400;
  r->major = (USHORT)(ver[5] - '0');
  r->minor = (USHORT)(ver[7] - '0');
  if (r->major != 1 || r->minor > 1)
    return 505;

  /* Headers. */
  int64_t cl = -1;
  const char *te = NULL, *conn = NULL, *expect = NULL;
  int n_host = 0;
  for (line = eol + 1; *line; line = eol + 1) {
    eol = strchr(line, '\n');
    *eol = '\0';
    if (eol > line && eol[-1] == '\r')
      eol[-1] = '\0';
    if (!*line)
      break;
    if (*line == ' ' || *line == '\t')
      return 400; /* obsolete line folding */
    char *colon = strchr(line, ':');
    if (!colon || colon == line)
      return 400;
    for (char *p = line; p < colon; p++)
      if (!is_tchar((unsigned char)*p))
        return 400;
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
      v++;
    char *e = v + strlen(v);
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
      *--e = '\0';
    for (unsigned char *p = (unsigned char *)v; *p; p++)
      if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
        return 400;
    if (e - v > 0xfff0 || colon - line > 0xfff0)
      return 400;
    if (r->n_headers == cap) {
      cap *= 2;
      char **nn = realloc(r->names, cap * sizeof *nn);
      if (nn)
        r->names = nn;
      char **nv = realloc(r->values, cap * sizeof *nv);
      if (nv)
        r->values = nv;
      if (!nn || !nv)
        return 503;
    }
    r->names[r->n_headers] = line;
    r->values[r->n_headers++] = v;
    if (_stricmp(line, "Host") == 0) {
      n_host++;
      r->host = v;
    } else if (_stricmp(line, "Content-Length") == 0) {
      if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 18)
        return 400;
      int64_t n = _strtoi64(v, NULL, 10);
      if (cl >= 0 && n != cl)
        return 400;
      cl = n;
    } else if (_stricmp(line, "Transfer-Encoding") == 0) {
      if (te)
        return 501;
      te = v;
    } else if (_stricmp(line, "Connection") == 0) {
      conn = v;
    } else if (_stricmp(line, "Expect") == 0) {
      expect = v;
    }
  }
  if (n_host > 1 || (r->minor == 1 && n_host == 0))
    return 400;
  if (te) {
    if (_stricmp(te, "chunked") != 0)
      return 501;
    if (cl >= 0)
      return 400;
    r->chunked = 1;
  }
  r->has_body = r->chunked || cl > 0;
  r->body_left = r->chunked ? 0 : (cl > 0 ? cl : 0);
  if (expect) {
    if (_stricmp(expect, "100-continue") != 0)
      return 417;
    r->expect_continue = r->minor == 1 && r->has_body;
  }
  r->keep_alive = r->minor == 1 ? !(conn && has_token(conn, "close"))
                                : (conn && has_token(conn, "keep-alive"));
  r->head_only = strcmp(r->method, "HEAD") == 0;
  return 0;
}

/* Reads and parses the next request head. Returns 0 (with *out), -1 when
 * the connection ends, or the status to answer before closing. */
static int read_head(ha_conn *c, ha_req **out) {
  size_t scanned = 0;
  for (;;) {
    /* Empty lines before a request line are ignored (RFC 9112). */
    while (c->off < c->len &&
           (c->buf[c->off] == '\r' || c->buf[c->off] == '\n'))
      c->off++;
    char *b = c->buf + c->off;
    size_t n = c->len - c->off, end = 0;
    for (size_t i = scanned; i < n && !end; i++)
      if (b[i] == '\n' &&
          ((i >= 1 && b[i - 1] == '\n') ||
           (i >= 2 && b[i - 1] == '\r' && b[i - 2] == '\n')))
        end = i + 1;
    if (end) {
      ha_req *r = calloc(1, sizeof *r);
      if (!r || !(r->block = malloc(end + 1))) {
        free(r);
        return 503;
      }
      memcpy(r->block, b, end);
      r->block[end] = '\0';
      r->head_bytes = end;
      c->off += end;
      r->c = c;
      r->resp_cl = -1;
      int st = memchr(r->block, '\0', end) ? 400 : parse_head(r, r->block);
      *out = r;
      return st;
    }
    scanned = n > 3 ? n - 3 : 0;
    if (n > HA_MAX_HEAD)
      return 400;
    int k = fill(c, NULL);
    if (k <= 0)
      return n && k == 0 ? 400 : -1;
  }
}

/* ---- request body ----------------------------------------------------------- */

/* Reads one CRLF-terminated line of a chunked body into `line`. */
static int body_line(ha_conn *c, char *line, size_t cap,
                     volatile LONG *cancel) {
  for (;;) {
    char *nl = memchr(c->buf + c->off, '\n', c->len - c->off);
    if (nl) {
      size_t n = (size_t)(nl - (c->buf + c->off));
      if (n >= cap)
        return -1;
      memcpy(line, c->buf + c->off, n);
      if (n && line[n - 1] == '\r')
        n--;
      line[n] = '\0';
      c->off += (size_t)(nl - (c->buf + c->off)) + 1;
      return 0;
    }
    if (c->len - c->off > 4096 || fill(c, cancel) <= 0)
      return -1;
  }
}

/* Up to `len` body bytes into `out`: >0, 0 at the end, -1 when the
 * connection failed, -2 when cancelled. */
static ptrdiff_t read_body(ha_conn *c, ha_req *r, char *out, size_t len,
                           volatile LONG *cancel) {
  if (r->pre_off < r->pre_len && !r->pre_given) {
    size_t n = r->pre_len - r->pre_off;
    if (n > len)
      n = len;
    memcpy(out, r->pre + r->pre_off, n);
    r->pre_off += n;
    return (ptrdiff_t)n;
  }
  for (;;) {
    if (r->body_done)
      return 0;
    if (r->chunked && !r->in_chunk) {
      char line[512];
      if (body_line(c, line, sizeof line, cancel) < 0)
        return cancel && *cancel ? -2 : -1;
      char *end;
      unsigned long long size = strtoull(line, &end, 16);
      if (end == line || (*end && *end != ';' && *end != ' '))
        return -1;
      if (size == 0) {
        do { /* trailers, up to the empty line */
          if (body_line(c, line, sizeof line, cancel) < 0)
            return -1;
        } while (line[0]);
        r->body_done = 1;
        return 0;
      }
      r->body_left = (int64_t)size;
      r->in_chunk = 1;
    }
    if (!r->chunked && r->body_left == 0) {
      r->body_done = 1;
      return 0;
    }
    if (c->off == c->len) {
      int k = fill(c, cancel);
      if (k <= 0)
        return cancel && *cancel ? -2 : -1;
    }
    size_t n = c->len - c->off;
    if ((int64_t)n > r->body_left)
      n = (size_t)r->body_left;
    if (n > len)
      n = len;
    memcpy(out, c->buf + c->off, n);
    c->off += n;
    r->body_left -= (int64_t)n;
    if (r->chunked && r->body_left == 0) {
      char line[8];
      if (body_line(c, line, sizeof line, cancel) < 0 || line[0])
        return -1;
      r->in_chunk = 0;
    } else if (!r->chunked && r->body_left == 0) {
      r->body_done = 1;
    }
    return (ptrdiff_t)n;
  }
}

static void run_body(ha_conn *c, ha_req *r, ha_op *op) {
  if (r->expect_continue && !r->continue_sent && !r->head_sent) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    r->continue_sent = 1;
    if (send_all(c, cont, sizeof cont - 1, &op->cancel) < 0) {
      op->status = op->cancel ? ST_CANCELLED : ST_CONNECTION_INVALID;
      return;
    }
  }
  size_t got = 0;
  while (got < op->len) {
    ptrdiff_t n = read_body(c, r, (char *)op->buf + got, op->len - got,
                            &op->cancel);
    if (n == -2) {
      op->status = ST_CANCELLED;
      return;
    }
    if (n < 0) {
      c->dead = 1;
      op->status = ST_CONNECTION_INVALID;
      return;
    }
    got += (size_t)n;
    if (n == 0 || !(op->flags & HTTP_RECEIVE_REQUEST_ENTITY_BODY_FLAG_FILL_BUFFER))
      break;
  }
  op->bytes = got;
  op->status = got ? ST_SUCCESS : ST_END_OF_FILE;
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
  if (cn->pRawValue && has_token(cn->pRawValue, "close"))
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

static void run_send(ha_conn *c, ha_req *r, ha_op *op) {
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
          rc = send_all(c, ch->FromMemory.pBuffer,
                        ch->FromMemory.BufferLength, cancel);
        }
        continue;
      }
      ULONGLONG off = ch->FromFileHandle.ByteRange.StartingOffset.QuadPart;
      int64_t left = file_len(ch);
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

/* ---- the connection thread ------------------------------------------------------ */

void ha_conn_push(ha_conn *c, ha_op *op) {
  op->next = NULL;
  if (c->work_tail)
    c->work_tail->next = op;
  else
    c->work_head = op;
  c->work_tail = op;
  WakeAllConditionVariable(&c->cv);
}

/* Runs the request's body reads and sends until its final send is
 * written, it is cancelled or the connection fails. */
static void serve(ha_conn *c, ha_req *r) {
  EnterCriticalSection(&G.lock);
  while (!r->done && !c->abort && !c->dead) {
    ha_op *op = c->work_head;
    if (!op) {
      SleepConditionVariableCS(&c->cv, &G.lock, INFINITE);
      continue;
    }
    c->work_head = op->next;
    if (!c->work_head)
      c->work_tail = NULL;
    c->running = op;
    LeaveCriticalSection(&G.lock);
    if (op->kind == OP_BODY)
      run_body(c, r, op);
    else
      run_send(c, r, op);
    EnterCriticalSection(&G.lock);
    c->running = NULL;
    if (op->kind == OP_SEND && !(op->flags & HTTP_SEND_RESPONSE_FLAG_MORE_DATA))
      r->done = 1;
    ha_complete_later(op, op->status, op->bytes);
  }
  LeaveCriticalSection(&G.lock);
}

/* Reads what is left of the body so the next request can be parsed.
 * Returns 0 to keep the connection. */
static int drain(ha_conn *c, ha_req *r) {
  if (!r->has_body)
    return 0;
  if (r->expect_continue && !r->continue_sent)
    return -1; /* the client may be waiting to send it: close instead */
  char *tmp = malloc(HA_BUF);
  int64_t total = 0;
  ptrdiff_t n = 0;
  r->pre_given = 1;
  while (tmp && total < (16 << 20) &&
         (n = read_body(c, r, tmp, HA_BUF, NULL)) > 0)
    total += n;
  free(tmp);
  return tmp && n == 0 ? 0 : -1;
}

static DWORD WINAPI conn_main(void *arg) {
  ha_conn *c = arg;
  for (;;) {
    ha_req *r = NULL;
    int st = read_head(c, &r);
    if (st < 0)
      break;
    if (st == 0) {
      EnterCriticalSection(&G.lock);
      if (!r->host) {
        /* HTTP/1.0 without Host: the local address stands in. */
        const unsigned char *a = (const unsigned char *)&c->local.sin_addr;
        snprintf(r->host_buf, sizeof r->host_buf, "%u.%u.%u.%u:%u", a[0],
                 a[1], a[2], a[3], ntohs(c->local.sin_port));
        r->host = r->host_buf;
      }
      st = ha_route(r);
      if (st == 0) {
        if (G.n_reqs == G.cap_reqs) {
          size_t cap = G.cap_reqs ? G.cap_reqs * 2 : 1024;
          ha_req **n = realloc(G.reqs, cap * sizeof *n);
          if (n) {
            G.reqs = n;
            G.cap_reqs = cap;
          }
        }
        if (G.n_reqs < G.cap_reqs) {
          r->id = ID_BASE + G.n_reqs;
          G.reqs[G.n_reqs++] = r;
          c->cur = r;
          ha_trace("request %llu: %s %s", (unsigned long long)r->id,
                   r->method, r->raw_url);
          ha_queue_request(r);
        } else {
          st = 503;
        }
      }
      LeaveCriticalSection(&G.lock);
    }
    if (st > 0) {
      int keep = r && r->keep_alive && !r->has_body && (st == 404 || st == 503);
      send_error(c, st, !keep);
      if (r) {
        free(r->names);
        free(r->values);
        free(r->block);
        free(r);
      }
      if (!keep)
        break;
      continue;
    }
    serve(c, r);
    if (c->abort || c->dead || r->resp_close || !r->done || drain(c, r) != 0)
      break;
  }
  EnterCriticalSection(&G.lock);
  c->dead = 1;
  /* Off the list of live connections; the record stays for the requests
   * that point to it. */
  for (ha_conn **p = &G.conns; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  for (ha_op *op = c->work_head, *next; op; op = next) {
    next = op->next;
    ha_complete_later(op, ST_CONNECTION_INVALID, 0);
  }
  c->work_head = c->work_tail = NULL;
  LeaveCriticalSection(&G.lock);
  /* Lingering close: let the client read the answer before a reset. */
  shutdown(c->s, SD_SEND);
  closesocket(c->s);
  free(c->buf);
  c->buf = NULL;
  c->off = c->len = c->cap = 0;
  return 0;
}

/* ---- listening ---------------------------------------------------------------- */

static DWORD WINAPI listen_main(void *arg) {
  ha_listener *l = arg;
  while (!l->stop) {
    fd_set fs;
    FD_ZERO(&fs);
    FD_SET(l->s, &fs);
    struct timeval tv = {0, 200000};
    int n = select(0, &fs, NULL, NULL, &tv);
    if (l->stop)
      break;
    if (n < 0) {
      Sleep(50);
      continue;
    }
    if (n == 0)
      continue;
    SOCKADDR_IN remote;
    int rl = sizeof remote;
    SOCKET s = accept(l->s, (SOCKADDR *)&remote, &rl);
    if (s == INVALID_SOCKET)
      continue;
    ha_conn *c = calloc(1, sizeof *c);
    if (!c) {
      closesocket(s);
      continue;
    }
    BOOL one = TRUE;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    c->s = s;
    c->remote = remote;
    int ll = sizeof c->local;
    getsockname(s, (SOCKADDR *)&c->local, &ll);
    InitializeConditionVariable(&c->cv);
    EnterCriticalSection(&G.lock);
    c->id = G.next_conn++;
    c->next = G.conns;
    G.conns = c;
    LeaveCriticalSection(&G.lock);
    HANDLE t = CreateThread(NULL, 0, conn_main, c, 0, NULL);
    if (t)
      CloseHandle(t);
    else
      c->dead = 1, closesocket(s);
  }
  closesocket(l->s);
  return 0;
}

static void stop_listener(ha_listener *l) {
  l->stop = 1;
  /* The thread closes the socket; wait so the port is free again. */
  LeaveCriticalSection(&G.lock);
  WaitForSingleObject(l->thread, 5000);
  EnterCriticalSection(&G.lock);
  CloseHandle(l->thread);
}

ULONG ha_listen(unsigned short port, int any) {
  ha_listener **p = &G.listeners;
  for (; *p; p = &(*p)->next)
    if ((*p)->port == port)
      break;
  if (*p && ((*p)->any || !any))
    return NO_ERROR;
  if (*p) { /* bound to 127.0.0.1, now needed on every address */
    ha_listener *old = *p;
    *p = old->next;
    stop_listener(old);
  }
  ha_listener *l = calloc(1, sizeof *l);
  if (!l)
    return ERROR_NOT_ENOUGH_MEMORY;
  l->s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  SOCKADDR_IN a;
  ZeroMemory(&a, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK);
  if (l->s == INVALID_SOCKET || bind(l->s, (SOCKADDR *)&a, sizeof a) != 0 ||
      listen(l->s, SOMAXCONN) != 0) {
    int err = WSAGetLastError();
    if (l->s != INVALID_SOCKET)
      closesocket(l->s);
    free(l);
    ha_trace("listening on port %u failed: %d", port, err);
    return err == WSAEADDRINUSE || err == WSAEACCES ? ERROR_SHARING_VIOLATION
                                                    : (ULONG)err;
  }
  l->port = port;
  l->any = any;
  l->thread = CreateThread(NULL, 0, listen_main, l, 0, NULL);
  if (!l->thread) {
    closesocket(l->s);
    free(l);
    return GetLastError();
  }
  l->next = G.listeners;
  G.listeners = l;
  return NO_ERROR;
}

void ha_unlisten_unused(void) {
  for (ha_listener **p = &G.listeners; *p;) {
    ha_listener *l = *p;
    int used = 0;
    for (ha_url *u = G.urls; u && !used; u = u->next)
      used = u->port == l->port;
    if (used) {
      p = &l->next;
      continue;
    }
    *p = l->next;
    stop_listener(l); /* the list may change while the lock is dropped */
    free(l);
    p = &G.listeners;
  }
}
