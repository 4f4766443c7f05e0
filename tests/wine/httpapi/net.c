/*
 * net.c: the network side. One listening socket per port and one thread
 * per connection, which alone touches its socket: it parses a request
 * head (parse.c), hands the request to its queue, then runs the body reads
 * and sends the application queues for it (reading the caller's buffers
 * and files outside the lock; respond.c) until the final send, drains
 * what is left of the body, and goes on with the next request on the
 * connection (pipelined or not). Malformed requests are answered here,
 * like http.sys, and never reach the application.
 */
#include "ha.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- socket helpers -------------------------------------------------------- */

/* Waits until `s` is readable (or writable): 1, or 0 once the connection
 * is aborted or the op cancelled. Polls so both are noticed. */
int ha_wait_sock(ha_conn *c, int write, volatile LONG *cancel) {
  int64_t start = ha_now_us();
  for (;;) {
    if (c->abort || (cancel && *cancel))
      return 0;
    /* An http.sys timer (timeouts.c) ends the wait. */
    int64_t now = ha_now_us(), left = 200000;
    if (c->timer && c->deadline_us) {
      if (now >= c->deadline_us) {
        ha_timer_expired(c, c->timer, NULL);
        return 0;
      }
      if (c->deadline_us - now < left)
        left = c->deadline_us - now;
    }
    if (c->timer && c->gap_us) {
      if (now - start >= c->gap_us) {
        ha_timer_expired(c, c->timer, "no bytes in time");
        return 0;
      }
      if (start + c->gap_us - now < left)
        left = start + c->gap_us - now;
    }
    /* One set only: Wine 8's wineserver asserts (and every process of
     * the prefix hangs) when a socket polled in two sets is reset
     * (server/sock.c complete_async_poll). Errors and resets make the
     * socket readable or writable anyway. */
    fd_set fs;
    FD_ZERO(&fs);
    FD_SET(c->s, &fs);
    struct timeval tv = {0, (long)(left > 0 ? left : 1)};
    int n = select(0, write ? NULL : &fs, write ? &fs : NULL, NULL, &tv);
    if (n != 0)
      return 1; /* ready or failed: the next call says which */
  }
}

/* Reads more bytes into c->buf. 1: got some; 0: end of stream; -1: error,
 * abort or cancel. */
int ha_fill(ha_conn *c, volatile LONG *cancel) {
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
  /* The socket is non-blocking: try first, wait only when nothing is
   * there (each select is a wineserver round trip). */
  for (;;) {
    if (c->abort || (cancel && *cancel))
      return -1;
    int n = recv(c->s, c->buf + c->len, (int)(c->cap - c->len), 0);
    if (n > 0) {
      c->len += (size_t)n;
      return 1;
    }
    if (n == 0)
      return 0;
    if (WSAGetLastError() != WSAEWOULDBLOCK || !ha_wait_sock(c, 0, cancel))
      return -1;
  }
}

/* MinSendRate (timeouts.c): a send the client holds up, measured from the
 * start of this call once it has lasted a second. Waits in slices of
 * 250 ms so the rate is checked while the socket stays full. Returns 0 to
 * go on waiting, -1 when the connection is dropped. */
static int wait_writable(ha_conn *c, volatile LONG *cancel, int64_t t0,
                         size_t sent) {
  unsigned long rate = ha_min_send_rate();
  if (!rate || c->timer)
    return ha_wait_sock(c, 1, cancel) ? 0 : -1;
  for (;;) {
    c->timer = HA_TO_MIN_SEND_RATE;
    c->gap_us = 250000;
    c->deadline_us = 0;
    int ok = ha_wait_sock(c, 1, cancel);
    int expired = !ok && c->timed_out;
    ha_timer_disarm(c);
    c->timed_out = 0;
    if (ok)
      return 0;
    if (!expired)
      return -1;
    int64_t us = ha_now_us() - t0;
    if (us >= 1000000 && (double)sent * 1e6 / (double)us < (double)rate) {
      char d[120];
      snprintf(d, sizeof d, "%zu bytes in %lld ms, below %lu bytes/s", sent,
               (long long)(us / 1000), rate);
      ha_timer_expired(c, HA_TO_MIN_SEND_RATE, d);
      c->dead = 1;
      return -1;
    }
  }
}

int ha_send_all(ha_conn *c, const char *p, size_t n, volatile LONG *cancel) {
  int64_t t0 = ha_now_us();
  size_t sent = 0;
  while (n > 0) {
    if (c->abort || (cancel && *cancel))
      return -1;
    int k = send(c->s, p, n > (1 << 20) ? (1 << 20) : (int)n, 0);
    if (k < 0 && WSAGetLastError() == WSAEWOULDBLOCK) {
      if (wait_writable(c, cancel, t0, sent) < 0)
        return -1;
      continue;
    }
    if (k > 0)
      sent += (size_t)k;
    if (k <= 0) {
      c->dead = 1;
      return -1;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
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
    if (op->r != r) {
      /* A body read for the request before, issued after its final send
       * while the connection drained it: that request is over. */
      ha_complete_later(op, ST_CONNECTION_INVALID, 0);
      continue;
    }
    c->running = op;
    LeaveCriticalSection(&G.lock);
    if (op->kind == OP_BODY)
      ha_run_body(c, r, op);
    else
      ha_run_send(c, r, op);
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
  ha_timer_arm(c, HA_TO_DRAIN, 0);
  while (tmp && total < (16 << 20) &&
         (n = ha_read_body(c, r, tmp, HA_BUF, NULL)) > 0)
    total += n;
  ha_timer_disarm(c);
  free(tmp);
  return tmp && n == 0 ? 0 : -1;
}

/* Fails the ops still queued for a request that is over (G.lock held). */
static void fail_leftovers(ha_conn *c) {
  for (ha_op *op = c->work_head, *next; op; op = next) {
    next = op->next;
    ha_complete_later(op, ST_CONNECTION_INVALID, 0);
  }
  c->work_head = c->work_tail = NULL;
}

static DWORD WINAPI conn_main(void *arg) {
  ha_conn *c = arg;
  for (int served = 0;; served++) {
    ha_req *r = NULL;
    if (served && c->off == c->len) {
      /* Kept alive: IdleConnection until the next request begins. */
      ha_timer_arm(c, HA_TO_IDLE, 0);
      int ok = !c->timer || ha_wait_sock(c, 0, NULL);
      ha_timer_disarm(c);
      if (!ok)
        break;
    }
    /* HeaderWait: the whole head within it. */
    ha_timer_arm(c, HA_TO_HEADER, 0);
    int st = ha_read_head(c, &r);
    ha_timer_disarm(c);
    if (st > 0 && c->timed_out)
      st = -1; /* http.sys closes without an answer */
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
      ha_send_error(c, st, !keep);
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
    EnterCriticalSection(&G.lock);
    fail_leftovers(c);
    LeaveCriticalSection(&G.lock);
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
  fail_leftovers(c);
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
    /* Non-blocking: a connection reset before we take it must not leave
     * us in accept() where `stop` is never seen. */
    SOCKET s = accept(l->s, (SOCKADDR *)&remote, &rl);
    if (s == INVALID_SOCKET)
      continue;
    ha_conn *c = calloc(1, sizeof *c);
    if (!c) {
      closesocket(s);
      continue;
    }
    BOOL one = TRUE;
    u_long nb = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    ioctlsocket(s, FIONBIO, &nb);
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

/* Returns 0 if the thread did not end: `l` must then stay allocated. */
static int stop_listener(ha_listener *l) {
  l->stop = 1;
  /* The thread closes the socket; wait so the port is free again. */
  LeaveCriticalSection(&G.lock);
  DWORD w = WaitForSingleObject(l->thread, 5000);
  EnterCriticalSection(&G.lock);
  CloseHandle(l->thread);
  return w == WAIT_OBJECT_0;
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
  u_long nb = 1;
  ioctlsocket(l->s, FIONBIO, &nb);
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
    if (stop_listener(l)) /* the list may change while the lock is dropped */
      free(l);
    p = &G.listeners;
  }
}
