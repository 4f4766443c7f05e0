/*
 * timeout.c: request-timeout and interrupt-timeout, in every mode.
 *
 * Every request that runs an application with a request timeout is in a
 * registry (a list under reg_lock): its thread, interpreter, start time,
 * deadline and a generation number unique to it. A front end calls
 * sysgi_expire_requests() from a watchdog thread of its own; for each
 * request past its deadline the watchdog takes the GIL in that request's
 * interpreter (PyThreadState_SetAsyncExc only searches the current one)
 * and raises mod_wsgi.RequestTimeout (a BaseException) in its thread.
 *
 * Races, and why they cannot hit the wrong request:
 *  - lock order is GIL, then reg_lock: a request registers and ends with
 *    the GIL held; the watchdog picks candidates under reg_lock alone,
 *    releases it, takes the GIL, and then takes reg_lock again and looks
 *    the candidate up BY GENERATION in the live list. A request that ended
 *    in between is gone from the list (its entry, in a dead stack frame,
 *    is never dereferenced), and a later request on the same thread has
 *    another generation, so it is never hit by a stale decision.
 *  - a request that ends after the injection but before Python noticed it
 *    (the thread was in C: a send, the core's own code) would carry the
 *    pending exception into its next request in that interpreter: the end
 *    of a request clears it (PyThreadState_SetAsyncExc(self, NULL)) with
 *    the GIL held, after leaving the list, so no injection can follow.
 *  - a blocking C call (time.sleep, a socket read) sees the exception only
 *    when it returns to the interpreter loop: documented, and reported by
 *    interrupt-timeout when it never does.
 */
#include "sysgi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TMO_IDLE 0
#define TMO_RUNNING 1
#define TMO_INJECTED 2

static _Atomic(PyThread_type_lock) reg_lock;
static sysgi_tmo_entry reg_head = {.prev = &reg_head, .next = &reg_head};
static uint64_t reg_gen;       /* under reg_lock                          */
static unsigned reg_count;     /* under reg_lock                          */

void (*sysgi__expire_hook)(void *ctx);
void *sysgi__expire_hook_ctx;

static const char *var(const sysgi_request *r, const char *name) {
  for (size_t i = 0; i < r->n_vars; i++)
    if (r->vars[i].name && strcmp(r->vars[i].name, name) == 0)
      return r->vars[i].value;
  return NULL;
}

static void copy_str(char *dst, size_t n, const char *src) {
  snprintf(dst, n, "%s", src ? src : "");
}

int sysgi__timeout_begin(sysgi_req *rq) {
  const sysgi_request *r = rq->r;
  sysgi_tmo_entry *e = &rq->tmo;
  e->state = TMO_IDLE;
  e->reported = 0;
  e->timeout_us = (int64_t)r->request_timeout_ms * 1000;
  e->interrupt_us = (int64_t)r->interrupt_timeout_ms * 1000;
  if (e->timeout_us <= 0)
    return 0;
  PyThread_type_lock lk = atomic_load(&reg_lock);
  if (!lk) {
    /* The GIL serialises the first requests: one lock is made. */
    lk = PyThread_allocate_lock();
    if (!lk) {
      sysgi_log(rq, SYSGI_LOG_ERR, "sysgi: out of memory: request-timeout "
                "is not applied to this request");
      return SYSGI_E_NOMEM;
    }
    atomic_store(&reg_lock, lk);
  }
  e->thread_id = rq->owner;
  e->ip = rq->ip;
  e->start_us = sysgi_now_us();
  e->injected_us = 0;
  atomic_init(&e->head_sent, 0); /* not linked yet: no reader */
  copy_str(e->method, sizeof e->method, var(r, "REQUEST_METHOD"));
  const char *uri = var(r, "REQUEST_URI");
  if (!uri)
    uri = var(r, "PATH_INFO");
  copy_str(e->uri, sizeof e->uri, uri);
  copy_str(e->app, sizeof e->app, r->script_filename);
  PyThread_acquire_lock(lk, WAIT_LOCK);
  e->gen = ++reg_gen;
  e->state = TMO_RUNNING;
  e->next = &reg_head;
  e->prev = reg_head.prev;
  reg_head.prev->next = e;
  reg_head.prev = e;
  reg_count++;
  PyThread_release_lock(lk);
  return 0;
}

int sysgi__timeout_end(sysgi_req *rq) {
  sysgi_tmo_entry *e = &rq->tmo;
  if (e->state == TMO_IDLE)
    return 0;
  PyThread_type_lock lk = atomic_load(&reg_lock);
  PyThread_acquire_lock(lk, WAIT_LOCK);
  int injected = e->state == TMO_INJECTED;
  e->prev->next = e->next;
  e->next->prev = e->prev;
  e->next = e->prev = NULL;
  e->state = TMO_IDLE;
  reg_count--;
  PyThread_release_lock(lk);
  if (!injected)
    return 0;
  /* Not raised yet (the thread was in C code): never let it reach the
   * next request of this thread. The GIL is held, so no injection is in
   * progress, and none can follow (the entry is gone). */
  PyThreadState_SetAsyncExc(rq->owner, NULL);
  return 1;
}

void sysgi__timeout_head_sent(sysgi_req *rq) {
  if (rq->tmo.state != TMO_IDLE)
    atomic_store(&rq->tmo.head_sent, 1);
}

double sysgi__timeout_elapsed(const sysgi_req *rq) {
  return (double)(sysgi_now_us() - rq->tmo.start_us) / 1e6;
}

/* A candidate picked under reg_lock: copies only, never the entry. */
typedef struct cand {
  uint64_t gen;
  sysgi_interp *ip;
} cand;

/* Raises RequestTimeout in candidate `c`'s thread, if its request is still
 * the one that was overdue. Called without any lock or GIL. 1: raised. */
static int inject(const cand *c, int64_t now_us) {
  sysgi_interp *ip = c->ip;
  PyThreadState *ts = NULL;
  PyGILState_STATE gs = PyGILState_UNLOCKED;
  /* A thread state of the watchdog's own in the request's interpreter,
   * for this injection only. */
  if (!ip->creator) {
    gs = PyGILState_Ensure();
  } else {
    ts = PyThreadState_New(ip->interp);
    if (!ts)
      return 0;
    PyEval_AcquireThread(ts);
  }
  PyThread_type_lock lk = atomic_load(&reg_lock);
  char msg[1024];
  msg[0] = '\0';
  int hit = 0;
  PyThread_acquire_lock(lk, WAIT_LOCK);
  for (sysgi_tmo_entry *e = reg_head.next; e != &reg_head; e = e->next) {
    if (e->gen != c->gen)
      continue;
    if (e->state == TMO_RUNNING && ip->timeout_exc) {
      int n = PyThreadState_SetAsyncExc(e->thread_id, ip->timeout_exc);
      e->state = TMO_INJECTED;
      e->injected_us = now_us;
      hit = 1;
      snprintf(msg, sizeof msg, "sysgi: request timeout: %s %s of '%s' has "
               "run for %.1f s (request-timeout %.0f s)%s%s", e->method,
               e->uri, e->app, (double)(now_us - e->start_us) / 1e6,
               (double)e->timeout_us / 1e6,
               n == 1 ? ": RequestTimeout raised in its thread"
                      : ": its thread state was not found",
               atomic_load(&e->head_sent)
                   ? "; the response has started: the connection will be "
                     "aborted"
                   : "");
    }
    break;
  }
  PyThread_release_lock(lk);
  if (ts) {
    PyThreadState_Clear(ts);
    PyEval_ReleaseThread(ts);
    PyThreadState_Delete(ts);
  } else {
    PyGILState_Release(gs);
  }
  if (msg[0])
    sysgi_log_nogil(NULL, SYSGI_LOG_ERR, "%s", msg);
  return hit;
}

#define MAX_BATCH 64

int sysgi_expire_requests(int64_t now_us, sysgi_expire_stats *st) {
  sysgi_expire_stats s = {0, 0, 0, 0};
  PyThread_type_lock lk = atomic_load(&reg_lock);
  if (!sysgi_runtime_ready() || !lk) {
    if (st)
      *st = s;
    return 0;
  }
  if (now_us <= 0)
    now_us = sysgi_now_us();
  cand c[MAX_BATCH];
  size_t nc = 0;
  /* Stuck reports are formatted under the lock, logged after it. */
  enum { MAX_REPORTS = 8 };
  char reports[MAX_REPORTS][700];
  size_t nr = 0;
  PyThread_acquire_lock(lk, WAIT_LOCK);
  s.in_flight = reg_count;
  for (sysgi_tmo_entry *e = reg_head.next; e != &reg_head; e = e->next) {
    if (e->state == TMO_RUNNING && now_us - e->start_us >= e->timeout_us) {
      if (nc < MAX_BATCH) {
        c[nc].gen = e->gen;
        c[nc].ip = e->ip;
        nc++;
      }
    } else if (e->state == TMO_INJECTED && e->interrupt_us > 0 &&
               now_us - e->injected_us >= e->interrupt_us) {
      s.stuck++;
      if (!e->reported) {
        e->reported = 1;
        s.newly_stuck++;
        if (nr < MAX_REPORTS)
          snprintf(reports[nr++], sizeof reports[0], "sysgi: request timeout:"
                   " %s %s of '%s' has not unwound %.1f s after its "
                   "RequestTimeout (interrupt-timeout %.0f s; running for "
                   "%.1f s): its thread is stuck, probably in a blocking "
                   "call", e->method, e->uri, e->app,
                   (double)(now_us - e->injected_us) / 1e6,
                   (double)e->interrupt_us / 1e6,
                   (double)(now_us - e->start_us) / 1e6);
      }
    }
  }
  PyThread_release_lock(lk);
  for (size_t i = 0; i < nr; i++)
    sysgi_log_nogil(NULL, SYSGI_LOG_ERR, "%s", reports[i]);
  if (nc && sysgi__expire_hook)
    sysgi__expire_hook(sysgi__expire_hook_ctx);
  for (size_t i = 0; i < nc; i++)
    s.injected += (unsigned)inject(&c[i], now_us);
  if (st)
    *st = s;
  return (int)s.stuck;
}
