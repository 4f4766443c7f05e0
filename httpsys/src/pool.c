/*
 * pool.c: one I/O completion port, a few I/O threads that only dispatch
 * completions (they never block on anything but the port, so a send
 * completion is delivered even while every worker sits in a Python app
 * waiting for it), and a bounded pool of worker threads that run requests.
 */
#include "hs.h"

#include <stdlib.h>

/* Completion key of the packet that tells an I/O thread to exit. */
#define HS_KEY_QUIT ((ULONG_PTR)-1)
/* Key of a packet we post ourselves for an event-mode completion. */
#define HS_KEY_EVENT ((ULONG_PTR)-2)

int hs_io_will_complete(ULONG rc) {
  /* Success and NT warning statuses (ERROR_MORE_DATA is
   * STATUS_BUFFER_OVERFLOW) queue a packet; errors do not. */
  return rc == NO_ERROR || rc == ERROR_IO_PENDING || rc == ERROR_MORE_DATA;
}

static int op_unlink(hs_pool *p, OVERLAPPED *ov);

/* Event mode: the operation completed (its event fired). */
static VOID CALLBACK op_event_done(PVOID ctx, BOOLEAN timed_out) {
  hs_op *op = ctx;
  hs_pool *p = op->pool;
  DWORD bytes = 0, err = NO_ERROR;
  (void)timed_out;
  /* Not pending any more: this only reads the status in the OVERLAPPED. */
  if (!GetOverlappedResult(NULL, &op->ov, &bytes, FALSE))
    err = GetLastError();
  HANDLE w = op->wait;
  op->wait = NULL;
  if (w)
    UnregisterWait(w); /* from its own callback: does not wait for it */
  /* Run the completion on our own I/O threads, never here: what it does
   * next (post the receive again) is I/O, and I/O issued by a thread-pool
   * thread dies with that thread when the pool retires it (Wine then
   * never completes it: the request it is handed is lost). */
  op->posted_err = err;
  if (!PostQueuedCompletionStatus(p->iocp, bytes, HS_KEY_EVENT, &op->ov) &&
      op_unlink(p, &op->ov))
    op->done(op, err, bytes);
}

void hs_op_start(hs_pool *p, hs_op *op, hs_op_done done, void *ctx) {
  ZeroMemory(&op->ov, sizeof op->ov);
  op->done = done;
  op->ctx = ctx;
  op->pool = p;
  if (p->event_mode) {
    if (!op->ev)
      op->ev = CreateEventW(NULL, FALSE, FALSE, NULL);
    op->wait = NULL;
    /* A set event would fire the new wait at once, for an operation not
     * yet issued. */
    if (op->ev)
      ResetEvent(op->ev);
    if (op->ev && RegisterWaitForSingleObject(&op->wait, op->ev, op_event_done,
                                              op, INFINITE,
                                              WT_EXECUTEONLYONCE))
      op->ov.hEvent = (HANDLE)((ULONG_PTR)op->ev | 1);
    else
      op->wait = NULL; /* the I/O call will still run; its end is lost */
  }
  AcquireSRWLockExclusive(&p->ops_lock);
  op->next = p->ops.next;
  op->prev = &p->ops;
  p->ops.next->prev = op;
  p->ops.next = op;
  ReleaseSRWLockExclusive(&p->ops_lock);
}

void hs_op_release(hs_op *op) {
  if (op->wait) {
    UnregisterWaitEx(op->wait, INVALID_HANDLE_VALUE);
    op->wait = NULL;
  }
  if (op->ev) {
    CloseHandle(op->ev);
    op->ev = NULL;
  }
}

/* Unlinks `op` if registered; returns nonzero if it was. */
static int op_unlink(hs_pool *p, OVERLAPPED *ov) {
  int found = 0;
  AcquireSRWLockExclusive(&p->ops_lock);
  for (hs_op *o = p->ops.next; o != &p->ops; o = o->next) {
    if (&o->ov == ov) {
      o->prev->next = o->next;
      o->next->prev = o->prev;
      o->next = o->prev = NULL;
      found = 1;
      break;
    }
  }
  if (!found)
    p->stray_packets++;
  ReleaseSRWLockExclusive(&p->ops_lock);
  return found;
}

void hs_op_cancel(hs_pool *p, hs_op *op) {
  if (op->wait) {
    /* The call failed at once: its event is never set. */
    UnregisterWaitEx(op->wait, INVALID_HANDLE_VALUE);
    op->wait = NULL;
  }
  AcquireSRWLockExclusive(&p->ops_lock);
  if (op->next) {
    op->prev->next = op->next;
    op->next->prev = op->prev;
    op->next = op->prev = NULL;
  }
  ReleaseSRWLockExclusive(&p->ops_lock);
}

static DWORD WINAPI io_thread(void *arg) {
  hs_pool *p = arg;
  for (;;) {
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED *ov = NULL;
    BOOL ok = GetQueuedCompletionStatus(p->iocp, &bytes, &key, &ov, INFINITE);
    DWORD err = ok ? NO_ERROR : GetLastError();
    if (ov == NULL) {
      if (key == HS_KEY_QUIT || err == ERROR_ABANDONED_WAIT_0)
        return 0;
      continue; /* a packet without OVERLAPPED is never ours */
    }
    if (!op_unlink(p, ov))
      continue; /* stray packet (Wine, synchronous calls) */
    hs_op *op = (hs_op *)ov;
    if (key == HS_KEY_EVENT)
      err = op->posted_err;
    op->done(op, err, bytes);
  }
}

static DWORD WINAPI worker_thread(void *arg) {
  hs_pool *p = arg;
  AcquireSRWLockExclusive(&p->lock);
  for (;;) {
    while (!p->head && !p->stopping)
      SleepConditionVariableSRW(&p->work_cv, &p->lock, INFINITE, 0);
    if (!p->head) /* stopping and nothing left */
      break;
    hs_work *w = p->head;
    p->head = w->next;
    if (!p->head)
      p->tail = NULL;
    p->queued--;
    p->running++;
    ReleaseSRWLockExclusive(&p->lock);
    w->run(w);
    AcquireSRWLockExclusive(&p->lock);
    p->running--;
    WakeAllConditionVariable(&p->idle_cv);
  }
  ReleaseSRWLockExclusive(&p->lock);
  return 0;
}

int hs_pool_start(hs_pool *p, unsigned n_io, unsigned n_workers,
                  unsigned max_queued) {
  ZeroMemory(p, sizeof *p);
  InitializeSRWLock(&p->ops_lock);
  InitializeSRWLock(&p->lock);
  InitializeConditionVariable(&p->work_cv);
  InitializeConditionVariable(&p->idle_cv);
  p->ops.next = p->ops.prev = &p->ops;
  p->n_io = n_io;
  p->n_workers = n_workers;
  p->max_queued = max_queued;
  p->iocp = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, n_io);
  if (!p->iocp)
    return sysgi_httpsys_translate_error(GetLastError());
  p->threads = calloc(n_io + n_workers, sizeof *p->threads);
  if (!p->threads) {
    CloseHandle(p->iocp);
    p->iocp = NULL;
    return SYSGI_E_NOMEM;
  }
  for (unsigned i = 0; i < n_io + n_workers; i++) {
    HANDLE t = CreateThread(NULL, 0, i < n_io ? io_thread : worker_thread, p,
                            0, NULL);
    if (!t) {
      int err = sysgi_httpsys_translate_error(GetLastError());
      hs_pool_stop(p, INFINITE);
      return err;
    }
    p->threads[p->n_started++] = t;
  }
  return SYSGI_OK;
}

int hs_pool_bind(hs_pool *p, HANDLE h) {
  if (!CreateIoCompletionPort(h, p->iocp, 0, 0))
    return sysgi_httpsys_translate_error(GetLastError());
  return SYSGI_OK;
}

int hs_pool_submit(hs_pool *p, hs_work *w) {
  AcquireSRWLockExclusive(&p->lock);
  /* Requests beyond the idle workers wait here; past max_queued the
   * caller answers 503 at once rather than letting latency grow. */
  unsigned idle = p->n_workers > p->running + p->queued
                      ? p->n_workers - p->running - p->queued
                      : 0;
  if (p->stopping || (idle == 0 && p->queued >= p->max_queued)) {
    ReleaseSRWLockExclusive(&p->lock);
    return SYSGI_E_BUSY;
  }
  w->next = NULL;
  if (p->tail)
    p->tail->next = w;
  else
    p->head = w;
  p->tail = w;
  p->queued++;
  WakeConditionVariable(&p->work_cv);
  ReleaseSRWLockExclusive(&p->lock);
  return SYSGI_OK;
}

int hs_pool_wait_idle(hs_pool *p, DWORD timeout_ms) {
  ULONGLONG deadline = GetTickCount64() + timeout_ms;
  int rc = SYSGI_OK;
  AcquireSRWLockExclusive(&p->lock);
  while (p->queued || p->running) {
    ULONGLONG now = GetTickCount64();
    if (now >= deadline) {
      rc = SYSGI_E_TIMEOUT;
      break;
    }
    SleepConditionVariableSRW(&p->idle_cv, &p->lock, (DWORD)(deadline - now),
                              0);
  }
  ReleaseSRWLockExclusive(&p->lock);
  return rc;
}

unsigned hs_pool_stop(hs_pool *p, DWORD timeout_ms) {
  unsigned stuck = 0;
  AcquireSRWLockExclusive(&p->lock);
  p->stopping = 1;
  WakeAllConditionVariable(&p->work_cv);
  ReleaseSRWLockExclusive(&p->lock);
  /* Workers first: their requests may still wait for send completions,
   * which only the I/O threads deliver. */
  for (unsigned i = p->n_io; i < p->n_started; i++) {
    if (WaitForSingleObject(p->threads[i], timeout_ms) != WAIT_OBJECT_0)
      stuck++;
  }
  for (unsigned i = 0; i < p->n_io && i < p->n_started; i++)
    PostQueuedCompletionStatus(p->iocp, 0, HS_KEY_QUIT, NULL);
  for (unsigned i = 0; i < p->n_io && i < p->n_started; i++) {
    if (WaitForSingleObject(p->threads[i], timeout_ms) != WAIT_OBJECT_0)
      stuck++;
  }
  if (stuck)
    return stuck; /* threads still use the pool: leave it allocated */
  for (unsigned i = 0; i < p->n_started; i++)
    CloseHandle(p->threads[i]);
  free(p->threads);
  p->threads = NULL;
  p->n_started = 0;
  CloseHandle(p->iocp);
  p->iocp = NULL;
  return 0;
}
