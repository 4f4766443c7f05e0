/*
 * parse.c: request heads (RFC 9112 as http.sys applies it: raw bytes >=
 * 0x80 allowed in the target and in header values, 400/501/505 for the
 * rest) and request bodies (Content-Length or de-chunked), read from the
 * connection's buffer.
 */
#include "ha.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- request head ----------------------------------------------------------- */

static int is_tchar(unsigned char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

int ha_has_token(const char *v, const char *tok) {
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
    if (r->n_headers >= 4000)
      return 400; /* the counts in HTTP_REQUEST are USHORTs */
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
  r->keep_alive = r->minor == 1 ? !(conn && ha_has_token(conn, "close"))
                                : (conn && ha_has_token(conn, "keep-alive"));
  r->head_only = strcmp(r->method, "HEAD") == 0;
  return 0;
}

/* Reads and parses the next request head. Returns 0 (with *out), -1 when
 * the connection ends, or the status to answer before closing. */
int ha_read_head(ha_conn *c, ha_req **out) {
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
    int k = ha_fill(c, NULL);
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
    if (c->len - c->off > 4096 || ha_fill(c, cancel) <= 0)
      return -1;
  }
}

/* Up to `len` body bytes into `out`: >0, 0 at the end, -1 when the
 * connection failed, -2 when cancelled. */
ptrdiff_t ha_read_body(ha_conn *c, ha_req *r, char *out, size_t len,
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
      int k = ha_fill(c, cancel);
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

void ha_run_body(ha_conn *c, ha_req *r, ha_op *op) {
  if (r->expect_continue && !r->continue_sent && !r->head_sent) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    r->continue_sent = 1;
    if (ha_send_all(c, cont, sizeof cont - 1, &op->cancel) < 0) {
      op->status = op->cancel ? ST_CANCELLED : ST_CONNECTION_INVALID;
      return;
    }
  }
  size_t got = 0;
  /* EntityBody: each wait for more body bytes is bounded (timeouts.c). */
  ha_timer_arm(c, HA_TO_ENTITY_BODY, 1);
  while (got < op->len) {
    ptrdiff_t n = ha_read_body(c, r, (char *)op->buf + got, op->len - got,
                            &op->cancel);
    if (n == -2) {
      ha_timer_disarm(c);
      op->status = ST_CANCELLED;
      return;
    }
    if (n < 0) {
      ha_timer_disarm(c);
      c->dead = 1;
      op->status = ST_CONNECTION_INVALID;
      return;
    }
    got += (size_t)n;
    if (n == 0 || !(op->flags & HTTP_RECEIVE_REQUEST_ENTITY_BODY_FLAG_FILL_BUFFER))
      break;
  }
  ha_timer_disarm(c);
  op->bytes = got;
  op->status = got ? ST_SUCCESS : ST_END_OF_FILE;
}

