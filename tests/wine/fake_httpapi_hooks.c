/*
 * fake_httpapi_hooks.c: deterministic race hooks of the strict fake. Like
 * CreateIoCompletionPort and CancelIoEx in fake_httpapi.c, a few kernel32
 * calls are interposed through their dllimport slots, so the product code
 * is unchanged; the hooks only act while a scenario arms them:
 *
 *  - hold_signal (fake_req_spec.hold_signal): the product thread that
 *    dispatches the first send completion of that request has its next
 *    SetEvent held until another product thread waits on that event. If
 *    the event is instead closed (the request was freed: its worker never
 *    waited) or reset (re-armed for the next send while the previous
 *    completion is still signalling it), that is a violation.
 *  - sync_sends (fake_req_spec.sync_sends): HttpSendHttpResponse and
 *    HttpSendResponseEntityBody return only after the product's I/O thread
 *    has dispatched their completion (GetQueuedCompletionStatus is
 *    interposed to see the dispatch end), so code that touches the request
 *    after posting a send whose completion ends it runs on freed memory.
 */
#include <stdio.h>
#include <string.h>

#include "fake_httpapi_internal.h"

typedef BOOL(WINAPI *event_fn)(HANDLE);
typedef DWORD(WINAPI *wait_fn)(HANDLE, DWORD);
typedef BOOL(WINAPI *gqcs_fn)(HANDLE, LPDWORD, PULONG_PTR, LPOVERLAPPED *,
                              DWORD);

HANDLE fake_hold_started;     /* set when a held SetEvent begins to wait */
HANDLE fake_handler_returned; /* set by fake_core when a /late request ends */

static struct {
  SRWLOCK lock;
  CONDITION_VARIABLE cv;
  /* hold_signal */
  OVERLAPPED *hold_ov; /* the completion whose SetEvent is to be held */
  HANDLE held;         /* the event being held, or NULL */
  int released;
  /* sync_sends */
  OVERLAPPED *sync_ov;
  int sync_dispatched;
} H;
/* SRWLOCK_INIT and CONDITION_VARIABLE_INIT are all zeros: H needs no
 * initializer. */

static __thread OVERLAPPED *tls_dispatch; /* completion this thread runs */
static __thread int tls_hold;

static void *real(const char *name) {
  return (void *)GetProcAddress(GetModuleHandleW(L"kernel32.dll"), name);
}
#define REAL(type, name)                                                     \
  static type fn_;                                                           \
  if (!fn_)                                                                  \
    fn_ = (type)real(name)

/* Ends the hold: the held SetEvent may go on. */
static void release_locked(void) {
  H.released = 1;
  WakeAllConditionVariable(&H.cv);
}

static BOOL WINAPI hook_SetEvent(HANDLE h) {
  REAL(event_fn, "SetEvent");
  if (!tls_hold)
    return fn_(h);
  tls_hold = 0;
  AcquireSRWLockExclusive(&H.lock);
  H.held = h;
  H.released = 0;
  HANDLE started = fake_hold_started;
  ReleaseSRWLockExclusive(&H.lock);
  fn_(started);
  AcquireSRWLockExclusive(&H.lock);
  ULONGLONG end = GetTickCount64() + 15000;
  while (!H.released && GetTickCount64() < end)
    SleepConditionVariableSRW(&H.cv, &H.lock, 100, 0);
  if (!H.released)
    violation("held completion: nobody waited for, closed or reset its "
              "event in 15 s");
  ReleaseSRWLockExclusive(&H.lock);
  BOOL ok = fn_(h);
  AcquireSRWLockExclusive(&H.lock);
  H.held = NULL;
  WakeAllConditionVariable(&H.cv);
  ReleaseSRWLockExclusive(&H.lock);
  return ok;
}

/* Waits (lock held) until the held SetEvent has been done. */
static void wait_unheld_locked(HANDLE h) {
  while (H.held == h)
    SleepConditionVariableSRW(&H.cv, &H.lock, 100, 0);
}

static BOOL WINAPI hook_ResetEvent(HANDLE h) {
  REAL(event_fn, "ResetEvent");
  BOOL ok = fn_(h);
  AcquireSRWLockExclusive(&H.lock);
  /* Once released by a wait, the worker may legitimately wake and reset
   * the event before the held SetEvent has returned. */
  if (h && H.held == h && !H.released) {
    violation("an event was reset for the next send while the previous "
              "completion was still signalling it");
    /* Let the late SetEvent land, as it would: the next wait is then
     * satisfied by the old completion. */
    release_locked();
    wait_unheld_locked(h);
  }
  ReleaseSRWLockExclusive(&H.lock);
  return ok;
}

static BOOL WINAPI hook_CloseHandle(HANDLE h) {
  REAL(event_fn, "CloseHandle");
  AcquireSRWLockExclusive(&H.lock);
  if (h && H.held == h && !H.released) {
    violation("the request's event was closed (request freed) while its "
              "send completion was still signalling it");
    release_locked();
  }
  ReleaseSRWLockExclusive(&H.lock);
  return fn_(h);
}

static DWORD WINAPI hook_WaitForSingleObject(HANDLE h, DWORD ms) {
  REAL(wait_fn, "WaitForSingleObject");
  AcquireSRWLockExclusive(&H.lock);
  if (h && H.held == h)
    release_locked(); /* the worker waits, as it must */
  ReleaseSRWLockExclusive(&H.lock);
  return fn_(h, ms);
}

static BOOL WINAPI hook_GetQueuedCompletionStatus(HANDLE port, LPDWORD n,
                                                  PULONG_PTR key,
                                                  LPOVERLAPPED *ov, DWORD ms) {
  REAL(gqcs_fn, "GetQueuedCompletionStatus");
  if (tls_dispatch) {
    /* This thread came back to the port: its last dispatch is over. */
    AcquireSRWLockExclusive(&H.lock);
    if (tls_dispatch == H.sync_ov) {
      H.sync_dispatched = 1;
      WakeAllConditionVariable(&H.cv);
    }
    ReleaseSRWLockExclusive(&H.lock);
    tls_dispatch = NULL;
  }
  tls_hold = 0;
  BOOL ok = fn_(port, n, key, ov, ms);
  if (port == F.port && ov && *ov) {
    AcquireSRWLockExclusive(&H.lock);
    if (*ov == H.hold_ov) {
      H.hold_ov = NULL;
      tls_hold = 1;
    }
    ReleaseSRWLockExclusive(&H.lock);
    tls_dispatch = *ov;
  }
  return ok;
}

void *__imp_SetEvent = (void *)hook_SetEvent;
void *__imp_ResetEvent = (void *)hook_ResetEvent;
void *__imp_CloseHandle = (void *)hook_CloseHandle;
void *__imp_WaitForSingleObject = (void *)hook_WaitForSingleObject;
void *__imp_GetQueuedCompletionStatus = (void *)hook_GetQueuedCompletionStatus;

/* ---- used by the completion threads -------------------------------------- */

void hook_arm_hold(OVERLAPPED *ov) {
  AcquireSRWLockExclusive(&H.lock);
  H.hold_ov = ov;
  ReleaseSRWLockExclusive(&H.lock);
}

void hook_sync_begin(OVERLAPPED *ov) {
  AcquireSRWLockExclusive(&H.lock);
  H.sync_ov = ov;
  H.sync_dispatched = 0;
  ReleaseSRWLockExclusive(&H.lock);
}

void hook_sync_wait(void) {
  AcquireSRWLockExclusive(&H.lock);
  ULONGLONG end = GetTickCount64() + 15000;
  while (!H.sync_dispatched && GetTickCount64() < end)
    SleepConditionVariableSRW(&H.cv, &H.lock, 100, 0);
  H.sync_ov = NULL;
  ReleaseSRWLockExclusive(&H.lock);
}
