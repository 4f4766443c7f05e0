/*
 * server.c: the HTTP Server API objects (session, one URL group per URL,
 * request queue), the receive loop, the life of one request, start/stop.
 */
#include "hs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* First receive buffer; grown on ERROR_MORE_DATA up to HS_RECV_MAX. */
#define HS_RECV_SIZE (16 * 1024)
#define HS_RECV_MAX (1024 * 1024)

void hs_log(sysgi_httpsys *srv, int level, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  if (!srv->cfg.log)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  srv->cfg.log(srv->cfg.log_ctx, level, msg);
}

/* ---- one request --------------------------------------------------------- */

/* SYSGI_HS_TEST_GUARD (the strict-fake tests): each request in its own
 * pages, released when it ends, so that any use after free faults. */
hs_conn *hs_conn_new(void) {
#ifdef SYSGI_HS_TEST_GUARD
  return VirtualAlloc(NULL, sizeof(hs_conn), MEM_COMMIT | MEM_RESERVE,
                      PAGE_READWRITE);
#else
  return calloc(1, sizeof(hs_conn));
#endif
}

static void conn_free(hs_conn *c) {
#ifdef SYSGI_HS_TEST_GUARD
  if (c)
    VirtualFree(c, 0, MEM_RELEASE);
#else
  free(c);
#endif
}

void hs_conn_end(hs_conn *c) {
  sysgi_httpsys *srv = c->srv;
  hs_op_release(&c->read_op);
  hs_op_release(&c->send_op);
  hs_request_free(c);
  hs_response_free(c);
  free(c->req);
  conn_free(c);
  InterlockedDecrement(&srv->active);
}

/* The script's modification time in microseconds since the epoch, or 0
 * when it cannot be read (the core then keeps what it loaded). Read per
 * request so that an edited script is reloaded, as mod_wsgi does. */
static int64_t script_mtime_us(const char *path) {
  wchar_t w[MAX_PATH * 2];
  WIN32_FILE_ATTRIBUTE_DATA fa;
  if (!*path || !MultiByteToWideChar(CP_UTF8, 0, path, -1, w, MAX_PATH * 2) ||
      !GetFileAttributesExW(w, GetFileExInfoStandard, &fa))
    return 0;
  ULARGE_INTEGER t;
  t.LowPart = fa.ftLastWriteTime.dwLowDateTime;
  t.HighPart = fa.ftLastWriteTime.dwHighDateTime;
  /* FILETIME counts 100 ns since 1601-01-01. */
  return (int64_t)((t.QuadPart - 116444736000000000ULL) / 10);
}


static void conn_run(hs_work *w) {
  hs_conn *c = (hs_conn *)w;
  sysgi_httpsys *srv = c->srv;
  int st = hs_request_map(c);
  if (st == 400)
    hs_send_simple(c, 400, "Bad Request");
  else if (st == 404)
    hs_send_simple(c, 404, "Not Found");
  else if (st != 0)
    hs_send_simple(c, 500, "Internal Server Error");
  else {
    sysgi_request r;
    ZeroMemory(&r, sizeof r);
    r.vars = c->vars;
    r.n_vars = c->n_vars;
    r.url_scheme = c->url_scheme;
    r.queue_start_us = c->queue_start_us;
    const hs_app *app = c->app;
    char group[512];
    r.script_filename = app->script;
    r.script_mtime_us = app->script_reloading ? script_mtime_us(app->script) : 0;
    r.application_group = group;
    r.callable_object = app->callable;
    r.process_group = srv->cfg.process_group ? srv->cfg.process_group : "";
    r.enable_sendfile = app->enable_sendfile;
    r.conn = c;
    r.fe = &hs_frontend;
    hs_limits_apply(srv, app, &r);
    hs_timeout_fill(c, &r);
    int rc = hs_app_group(c, group, sizeof group);
    if (rc == 0)
      rc = srv->cfg.handle(&r);
    hs_response_finish(c, rc);
  }
  hs_conn_end(c);
}

/* ---- receiving ----------------------------------------------------------- */

static void recv_done(hs_op *op, DWORD err, DWORD bytes);
static void recv_post(hs_recv *r);

#define HS_BACKOFF_MIN_MS 10
#define HS_BACKOFF_MAX_MS 2000

static void CALLBACK recv_timer(PTP_CALLBACK_INSTANCE inst, void *ctx,
                                PTP_TIMER t) {
  (void)inst;
  (void)t;
  recv_post(ctx);
}

/* A receive failed (error `rc`): post it again later, never lose the slot
 * (with every slot lost the server would stop accepting for good). */
static void recv_retry(hs_recv *r, ULONG rc) {
  sysgi_httpsys *srv = r->srv;
  AcquireSRWLockExclusive(&srv->retry_lock);
  if (srv->stopping) {
    ReleaseSRWLockExclusive(&srv->retry_lock);
    return;
  }
  r->failures++;
  r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : HS_BACKOFF_MIN_MS;
  if (r->backoff_ms > HS_BACKOFF_MAX_MS)
    r->backoff_ms = HS_BACKOFF_MAX_MS;
  if (r->failures <= 10 || r->failures % 100 == 0)
    hs_log(srv, SYSGI_LOG_ERR, "HttpReceiveHttpRequest failed: error %lu "
           "(%u time(s) in a row); posting it again in %u ms",
           (unsigned long)rc, r->failures, r->backoff_ms);
  if (!r->retry)
    r->retry = CreateThreadpoolTimer(recv_timer, r, NULL);
  if (!r->retry) {
    hs_log(srv, SYSGI_LOG_ERR, "cannot create a timer (error %lu): one "
           "receive fewer", (unsigned long)GetLastError());
  } else {
    /* Relative due time, in 100 ns units, negative. */
    ULARGE_INTEGER due;
    due.QuadPart = (ULONGLONG)(-(LONGLONG)r->backoff_ms * 10000);
    FILETIME ft = {due.LowPart, due.HighPart};
    SetThreadpoolTimer(r->retry, &ft, 0, 0);
  }
  ReleaseSRWLockExclusive(&srv->retry_lock);
}

/* maximum-requests: a post takes one request of the budget, a receive
 * that ends without a request gives it back. */
static int budget_take(sysgi_httpsys *srv) {
  if (!srv->cfg.max_requests)
    return 1;
  if (InterlockedDecrement64(&srv->recv_budget) >= 0)
    return 1;
  InterlockedIncrement64(&srv->recv_budget);
  return 0;
}

static void budget_give(sysgi_httpsys *srv) {
  if (srv->cfg.max_requests)
    InterlockedIncrement64(&srv->recv_budget);
}

static void recv_post(hs_recv *r) {
  sysgi_httpsys *srv = r->srv;
  for (;;) {
    /* Checked and posted under post_lock: a receive posted after stop's
     * CancelIoEx would stay posted (a worker's queue is held open by the
     * other processes, so closing our handle does not end it). */
    AcquireSRWLockShared(&srv->post_lock);
    if (srv->stopping || !budget_take(srv)) {
      ReleaseSRWLockShared(&srv->post_lock);
      return;
    }
    hs_op_start(&srv->pool, &r->op, recv_done, r);
    ULONG rc = HttpReceiveHttpRequest(srv->queue, r->id, 0, r->buf, r->size,
                                      NULL, &r->op.ov);
    ReleaseSRWLockShared(&srv->post_lock);
    if (hs_io_will_complete(rc))
      return;
    hs_op_cancel(&srv->pool, &r->op);
    budget_give(srv);
    if (r->id != HTTP_NULL_ID) {
      /* The request we were re-reading into a bigger buffer is gone. */
      r->id = HTTP_NULL_ID;
      continue;
    }
    recv_retry(r, rc);
    return;
  }
}

static void recv_done(hs_op *op, DWORD err, DWORD bytes) {
  hs_recv *r = op->ctx;
  sysgi_httpsys *srv = r->srv;
  if (err != NO_ERROR)
    budget_give(srv); /* no request (yet: ERROR_MORE_DATA posts again) */
  if (srv->stopping && err != NO_ERROR && err != ERROR_MORE_DATA)
    return; /* our receive, cancelled by stop */
  if (srv->stopping && !(srv->worker && err == NO_ERROR)) {
    /* A request that arrived as we stop: answer it (503), never drop it.
     * A worker that drains serves it instead (it left the shared queue,
     * and the other workers would have served it). The send needs only
     * the request id, even of a partial read. */
    hs_conn *c = hs_conn_new();
    if (c && hs_response_init(c) == 0) {
      c->srv = srv;
      c->id = r->buf->RequestId;
      InterlockedIncrement(&srv->active);
      hs_send_busy(c);
    } else if (c) {
      hs_response_free(c);
      conn_free(c);
    }
    return;
  }
  if (err == ERROR_MORE_DATA) {
    /* Headers bigger than the buffer: read the same request again into a
     * buffer of the size http.sys asks for. */
    ULONG need = bytes > r->size ? bytes : r->size * 2;
    HTTP_REQUEST *nb = need <= HS_RECV_MAX ? malloc(need) : NULL;
    r->id = r->buf->RequestId;
    if (!nb) {
      hs_log(srv, SYSGI_LOG_WARN, "request head of %lu bytes refused",
             (unsigned long)need);
      /* Answer from the worker side is impossible without the request;
       * dropping the connection is what http.sys does on limits too. */
      HttpCancelHttpRequest(srv->queue, r->id, NULL);
      r->id = HTTP_NULL_ID;
    } else {
      free(r->buf);
      r->buf = nb;
      r->size = need;
    }
    recv_post(r);
    return;
  }
  if (err != NO_ERROR) {
    r->id = HTTP_NULL_ID;
    if (err == ERROR_CONNECTION_INVALID || err == ERROR_OPERATION_ABORTED) {
      recv_post(r); /* that client went away: nothing wrong with us */
      return;
    }
    /* The same error on every post would spin an I/O thread: back off. */
    recv_retry(r, err);
    return;
  }
  r->failures = 0;
  r->backoff_ms = 0;

  hs_conn *c = hs_conn_new();
  HTTP_REQUEST *fresh = malloc(HS_RECV_SIZE);
  if (!c || !fresh || hs_response_init(c) != 0) {
    /* Out of memory: drop this request, keep receiving with the buffer. */
    hs_log(srv, SYSGI_LOG_ERR, "out of memory: request dropped");
    if (c)
      hs_response_free(c);
    conn_free(c);
    free(fresh);
    HttpCancelHttpRequest(srv->queue, r->buf->RequestId, NULL);
    r->id = HTTP_NULL_ID;
    recv_post(r);
    return;
  }
  c->work.run = conn_run;
  c->srv = srv;
  c->req = r->buf;
  c->id = r->buf->RequestId;
  c->queue_start_us = hs_now_us();
  r->buf = fresh;
  r->size = HS_RECV_SIZE;
  r->id = HTTP_NULL_ID;
  InterlockedIncrement(&srv->active);
  InterlockedIncrement64(&srv->served);
  if (hs_pool_submit(&srv->pool, &c->work) != SYSGI_OK) {
    hs_log(srv, SYSGI_LOG_WARN, "503: all %u workers busy and %u requests "
           "queued", srv->pool.n_workers, srv->pool.max_queued);
    hs_send_busy(c);
  }
  if (!srv->stopping)
    recv_post(r);
}

void sysgi_httpsys_counts(sysgi_httpsys *srv, unsigned long *in_flight,
                          unsigned long long *served) {
  if (in_flight)
    *in_flight = (unsigned long)InterlockedCompareExchange(&srv->active, 0, 0);
  if (served)
    *served = (unsigned long long)InterlockedCompareExchange64(&srv->served,
                                                               0, 0);
}

/* ---- start / stop -------------------------------------------------------- */

static wchar_t *utf8_to_wide(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
  if (w)
    MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
  return w;
}

static int fail(sysgi_httpsys *srv, const char *what, ULONG rc) {
  const char *hint = "";
  if (rc == ERROR_ACCESS_DENIED)
    hint = " (run as administrator, or reserve the URL: netsh http add "
           "urlacl url=... user=...)";
  else if (rc == ERROR_ALREADY_EXISTS || rc == ERROR_SHARING_VIOLATION)
    hint = " (another program has registered this URL or port)";
  else if (rc == ERROR_INVALID_PARAMETER)
    hint = " (malformed URL? use http://host:port/path/ with '+' as wildcard)";
  hs_log(srv, SYSGI_LOG_ERR, "%s failed: error %lu%s", what, (unsigned long)rc,
         hint);
  return sysgi_httpsys_translate_error(rc);
}

static void release(sysgi_httpsys *srv) {
  for (size_t i = 0; i < srv->n_groups; i++)
    if (srv->groups[i])
      HttpCloseUrlGroup(srv->groups[i]);
  if (srv->queue && srv->worker)
    CloseHandle(srv->queue); /* never shut the shared queue down */
  else if (srv->queue)
    HttpCloseRequestQueue(srv->queue);
  if (srv->session)
    HttpCloseServerSession(srv->session);
  if (srv->initialized)
    HttpTerminate(HTTP_INITIALIZE_SERVER, NULL);
  srv->queue = NULL;
  srv->session = 0;
  srv->n_groups = 0;
  srv->initialized = 0;
}

static void destroy(sysgi_httpsys *srv) {
  if (srv->recvs)
    for (unsigned i = 0; i < srv->n_recvs; i++) {
      hs_op_release(&srv->recvs[i].op);
      free(srv->recvs[i].buf);
    }
  free(srv->recvs);
  free(srv->groups);
  hs_apps_free(srv);
  free(srv);
}

static int setup(sysgi_httpsys *srv) {
  const HTTPAPI_VERSION v2 = HTTPAPI_VERSION_2;
  ULONG rc = HttpInitialize(v2, HTTP_INITIALIZE_SERVER, NULL);
  if (rc != NO_ERROR)
    return fail(srv, "HttpInitialize", rc);
  srv->initialized = 1;
  if (srv->worker) {
    srv->queue = srv->cfg.queue;
    return SYSGI_OK;
  }
  if ((rc = HttpCreateServerSession(v2, &srv->session, 0)) != NO_ERROR)
    return fail(srv, "HttpCreateServerSession", rc);
  hs_limits_set_timeouts(srv);
  if ((rc = HttpCreateRequestQueue(v2, NULL, NULL, 0, &srv->queue)) != NO_ERROR)
    return fail(srv, "HttpCreateRequestQueue", rc);
  srv->groups = calloc(srv->cfg.n_urls, sizeof *srv->groups);
  if (!srv->groups)
    return SYSGI_E_NOMEM;
  for (size_t i = 0; i < srv->cfg.n_urls; i++) {
    char what[600];
    HTTP_BINDING_INFO b;
    wchar_t *url = utf8_to_wide(srv->cfg.urls[i]);
    if (!url) {
      hs_log(srv, SYSGI_LOG_ERR, "URL %s is not valid UTF-8", srv->cfg.urls[i]);
      return SYSGI_E_CONFIG;
    }
    rc = HttpCreateUrlGroup(srv->session, &srv->groups[i], 0);
    if (rc == NO_ERROR) {
      srv->n_groups = i + 1;
      ZeroMemory(&b, sizeof b);
      b.Flags.Present = 1;
      b.RequestQueueHandle = srv->queue;
      rc = HttpSetUrlGroupProperty(srv->groups[i], HttpServerBindingProperty,
                                   &b, sizeof b);
    }
    if (rc == NO_ERROR)
      rc = HttpAddUrlToUrlGroup(srv->groups[i], url, (HTTP_URL_CONTEXT)i, 0);
    free(url);
    if (rc != NO_ERROR) {
      snprintf(what, sizeof what, "registering URL %s", srv->cfg.urls[i]);
      return fail(srv, what, rc);
    }
  }
  return SYSGI_OK;
}

int sysgi_httpsys_start(const sysgi_httpsys_config *cfg, sysgi_httpsys **out) {
  *out = NULL;
  if (!cfg || !cfg->urls || cfg->n_urls == 0)
    return SYSGI_E_INVAL;
  sysgi_httpsys *srv = calloc(1, sizeof *srv);
  if (!srv)
    return SYSGI_E_NOMEM;
  srv->cfg = *cfg;
  srv->worker = cfg->queue != NULL;
  InitializeSRWLock(&srv->retry_lock);
  InitializeSRWLock(&srv->post_lock);
  srv->recv_budget = (LONG64)cfg->max_requests;
  if (!srv->cfg.threads)
    srv->cfg.threads = 8;
  if (!srv->cfg.max_queued)
    srv->cfg.max_queued = 64;
  if (!srv->cfg.receives)
    srv->cfg.receives = 4;
  if (!srv->cfg.shutdown_timeout_ms)
    srv->cfg.shutdown_timeout_ms = 10000;
  if (!srv->cfg.handle)
    srv->cfg.handle = sysgi_handle;

  int rc = hs_apps_init(srv);
  if (rc != SYSGI_OK) {
    destroy(srv);
    return rc;
  }

  rc = setup(srv);
  if (rc == SYSGI_OK)
    rc = hs_pool_start(&srv->pool, 2, srv->cfg.threads, srv->cfg.max_queued);
  if (rc != SYSGI_OK) {
    release(srv);
    destroy(srv);
    return rc;
  }
  if (srv->worker)
    srv->pool.event_mode = 1; /* see hs_pool.event_mode */
  else
    rc = hs_pool_bind(&srv->pool, srv->queue);
  srv->recvs = rc ? NULL : calloc(srv->cfg.receives, sizeof *srv->recvs);
  if (!rc && !srv->recvs)
    rc = SYSGI_E_NOMEM;
  for (unsigned i = 0; rc == SYSGI_OK && i < srv->cfg.receives; i++) {
    hs_recv *r = &srv->recvs[i];
    r->srv = srv;
    r->size = HS_RECV_SIZE;
    r->buf = malloc(HS_RECV_SIZE);
    if (!r->buf)
      rc = SYSGI_E_NOMEM;
    srv->n_recvs = i + 1;
  }
  if (rc != SYSGI_OK) {
    if (rc != SYSGI_E_NOMEM)
      hs_log(srv, SYSGI_LOG_ERR, "binding the request queue to the "
             "completion port failed");
    release(srv); /* nothing was posted yet */
    hs_pool_stop(&srv->pool, INFINITE);
    destroy(srv);
    return rc;
  }
  for (unsigned i = 0; i < srv->n_recvs; i++) {
    HTTP_SET_NULL_ID(&srv->recvs[i].id);
    recv_post(&srv->recvs[i]);
  }
  hs_timeout_start(srv);
  *out = srv;
  return SYSGI_OK;
}

/* Waits until `cond` holds or `ms` pass; polls because the things waited
 * for (request counts, the op registry) have no single event. */
static int wait_for(volatile LONG *count, DWORD ms) {
  ULONGLONG deadline = GetTickCount64() + ms;
  while (InterlockedCompareExchange(count, 0, 0) != 0) {
    if (GetTickCount64() >= deadline)
      return 0;
    Sleep(20);
  }
  return 1;
}

static int ops_empty(hs_pool *p, DWORD ms) {
  ULONGLONG deadline = GetTickCount64() + ms;
  for (;;) {
    AcquireSRWLockShared(&p->ops_lock);
    int empty = p->ops.next == &p->ops;
    ReleaseSRWLockShared(&p->ops_lock);
    if (empty)
      return 1;
    if (GetTickCount64() >= deadline)
      return 0;
    Sleep(20);
  }
}

static unsigned ops_count(hs_pool *p) {
  unsigned n = 0;
  AcquireSRWLockShared(&p->ops_lock);
  for (hs_op *o = p->ops.next; o != &p->ops; o = o->next)
    n++;
  ReleaseSRWLockShared(&p->ops_lock);
  return n;
}

/* Cancels the receives still registered, again every 250 ms, until no
 * operation is left or `ms` pass; returns how many are left. */
static unsigned recvs_drain(sysgi_httpsys *srv, DWORD ms) {
  ULONGLONG deadline = GetTickCount64() + ms;
  for (;;) {
    if (ops_empty(&srv->pool, 250))
      return 0;
    if (GetTickCount64() >= deadline)
      return ops_count(&srv->pool);
    for (unsigned i = 0; i < srv->n_recvs; i++) {
      hs_recv *r = &srv->recvs[i];
      AcquireSRWLockShared(&srv->pool.ops_lock);
      int posted = r->op.next != NULL;
      ReleaseSRWLockShared(&srv->pool.ops_lock);
      if (posted)
        CancelIoEx(srv->queue, &r->op.ov);
    }
  }
}

static unsigned recvs_posted(sysgi_httpsys *srv) {
  unsigned n = 0;
  AcquireSRWLockShared(&srv->pool.ops_lock);
  for (unsigned i = 0; i < srv->n_recvs; i++)
    n += srv->recvs[i].op.next != NULL;
  ReleaseSRWLockShared(&srv->pool.ops_lock);
  return n;
}

/* A worker that drains lets requests take its posted receives (they are
 * served; none is posted again) until none is left, or none was taken for
 * HS_CONSUME_IDLE_MS, or `ms` pass; what is left is then cancelled. Under
 * load that leaves nothing to cancel. Why: Wine's http.sys deadlocks when
 * a receive is cancelled while it hands a request to another one (its
 * cancel routine takes its lock under ntoskrnl's irp_completion_cs, its
 * request thread completes a receive under its lock, which takes
 * irp_completion_cs), after which no receive of any process completes or
 * is even posted. On Windows this only delays a busy worker's exit by the
 * time its receives take to fill, which the replacement does not wait
 * for. The idle rule is 2 s, not less: a replacement's start (a Python
 * loading) can starve the clients of a busy group for half a second, and
 * a cancel then lands while requests flow again (measured under Wine: 12
 * of 20 receives taken, 500 ms idle, 8 cancelled, http.sys wedged). */
#define HS_CONSUME_IDLE_MS 2000
#define HS_CONSUME_MIN_MS 5000
static void recvs_consume(sysgi_httpsys *srv, DWORD ms) {
  ULONGLONG start = GetTickCount64(), changed = start;
  unsigned last = recvs_posted(srv);
  while (last) {
    Sleep(20);
    ULONGLONG now = GetTickCount64();
    unsigned n = recvs_posted(srv);
    if (n != last) {
      last = n;
      changed = now;
    }
    if (now - changed >= HS_CONSUME_IDLE_MS || now - start >= ms)
      break;
  }
}

int sysgi_httpsys_stop(sysgi_httpsys *srv) {
  if (!srv)
    return 0;
  /* Under retry_lock: a retry armed from now on sees `stopping` and is not
   * armed; one armed before is disarmed here. Then wait for a callback
   * already running (it posts nothing: recv_post checks `stopping`). */
  AcquireSRWLockExclusive(&srv->retry_lock);
  AcquireSRWLockExclusive(&srv->post_lock); /* no receive half-posted */
  InterlockedExchange(&srv->stopping, 1);
  ReleaseSRWLockExclusive(&srv->post_lock);
  for (unsigned i = 0; i < srv->n_recvs; i++)
    if (srv->recvs[i].retry)
      SetThreadpoolTimer(srv->recvs[i].retry, NULL, 0, 0);
  ReleaseSRWLockExclusive(&srv->retry_lock);
  for (unsigned i = 0; i < srv->n_recvs; i++) {
    if (srv->recvs[i].retry) {
      WaitForThreadpoolTimerCallbacks(srv->recvs[i].retry, TRUE);
      CloseThreadpoolTimer(srv->recvs[i].retry);
      srv->recvs[i].retry = NULL;
    }
  }
  if (srv->worker) {
    unsigned before = recvs_posted(srv);
    /* Bounded by its own idle rule, not by graceful-timeout alone (which
     * may be 1 ms: requests are then not waited for). */
    recvs_consume(srv, srv->cfg.shutdown_timeout_ms > HS_CONSUME_MIN_MS
                           ? srv->cfg.shutdown_timeout_ms : HS_CONSUME_MIN_MS);
    hs_log(srv, SYSGI_LOG_DEBUG, "draining: %u receive(s) posted, %u taken "
           "by requests, cancelling %u", before, before - recvs_posted(srv),
           recvs_posted(srv));
  }
  /* Cancel only our receives, not in-flight sends. */
  for (unsigned i = 0; i < srv->n_recvs; i++)
    CancelIoEx(srv->queue, &srv->recvs[i].op.ov);
  if (!wait_for(&srv->active, srv->cfg.shutdown_timeout_ms)) {
    hs_log(srv, SYSGI_LOG_WARN, "%ld request(s) still running after %u ms: "
           "cancelling their I/O", (long)srv->active,
           srv->cfg.shutdown_timeout_ms);
    CancelIoEx(srv->queue, NULL);
    wait_for(&srv->active, 5000);
  }
  LONG running = InterlockedCompareExchange(&srv->active, 0, 0);
  if (running > 0) {
    /* Workers still inside the application use the queue handle, the
     * completion port and their request: close nothing, free nothing.
     * The caller must not finalize Python under them (it exits). */
    hs_log(srv, SYSGI_LOG_ERR, "%ld request(s) still running in the "
           "application after the shutdown timeout: the server is left "
           "running for them", (long)running);
    return (int)running;
  }
  hs_timeout_stop(srv); /* no request left for it (it ran during the drain) */
  /* Cancelled receives report back through the I/O threads. Cancel again
   * while waiting: a cancel that found nothing to cancel (a receive still
   * being issued by the driver's side) would otherwise leave it posted. An
   * embedded server's last receives also end when the queue is closed; a
   * worker's do not (the queue stays open in the other processes). */
  unsigned left = recvs_drain(srv, srv->worker ? 5000 : 2000);
  release(srv);
  if (left)
    left = ops_empty(&srv->pool, 2000) ? 0 : ops_count(&srv->pool);
  unsigned stuck = hs_pool_stop(&srv->pool, 5000);
  if (left || stuck) {
    /* An I/O still posted or a thread still running could touch the
     * server: leak it rather than free memory under it. */
    if (left)
      hs_log(srv, SYSGI_LOG_ERR, "%u I/O operation(s) still pending after "
             "cancelling them; server memory left allocated", left);
    if (stuck)
      hs_log(srv, SYSGI_LOG_ERR, "%u thread(s) did not stop; server memory "
             "left allocated", stuck);
    return SYSGI_E_TIMEOUT;
  }
  hs_log(srv, SYSGI_LOG_INFO, "stopped (%lu stray completion packets "
         "ignored)", srv->pool.stray_packets);
  destroy(srv);
  return 0;
}
