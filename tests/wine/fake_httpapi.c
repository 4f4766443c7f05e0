/*
 * fake_httpapi.c: a strict fake of the HTTP Server API, linked into a test
 * program INSTEAD of httpapi.dll, for what Wine's http.sys lacks: streamed
 * responses (MORE_DATA + HttpSendResponseEntityBody), file-handle chunks,
 * bodies of several MB, chunked request bodies, request heads larger than
 * the receive buffer.
 *
 * How it stands in for http.sys:
 *  - The product calls Http* through dllimport pointers (__imp_Http*); this
 *    file defines those pointers, so no import library is needed. It also
 *    interposes CreateIoCompletionPort and CancelIoEx (same technique) to
 *    learn the completion port of the fake queue and to cancel receives.
 *  - Every call is completed asynchronously, on the fake's own thread, by
 *    posting a real completion packet (NtSetIoCompletion, with an NTSTATUS,
 *    so GetQueuedCompletionStatus reports errors like the kernel does).
 *  - At each send it hashes every buffer the send references (status
 *    reason, header strings, memory chunks); at completion, after a delay,
 *    it checks the hash is unchanged, records the data, then POISONS the
 *    writable buffers (0xDB). The test core frees its body buffers in
 *    sysgi_send_complete, so any later read would fault.
 *  - Anything a real http.sys would reject (second HttpSendHttpResponse,
 *    entity body without a MORE_DATA head, a send after the final one,
 *    DISCONNECT with MORE_DATA, unknown flags or chunk types, two sends in
 *    flight, body bytes != Content-Length, a request never answered when
 *    the queue closes, ...) is recorded as a violation and fails the test.
 *
 * This file: the API entry points and their checks, the interposed kernel32
 * calls. fake_httpapi_io.c: request layout and the completion threads.
 * fake_httpapi_ctl.c: the test controls. fake_httpapi_hooks.c: the race
 * hooks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_httpapi_internal.h"

/* ---- the HTTP Server API ------------------------------------------------- */

static int v2(HTTPAPI_VERSION v) {
  return v.HttpApiMajorVersion == 2 && v.HttpApiMinorVersion == 0;
}

static ULONG WINAPI fake_HttpInitialize(HTTPAPI_VERSION v, ULONG flags,
                                        PVOID reserved) {
  fake_start();
  EnterCriticalSection(&F.lock);
  if (!v2(v) || !(flags & HTTP_INITIALIZE_SERVER) || reserved)
    violation("HttpInitialize(version %u.%u, flags %lu)",
              v.HttpApiMajorVersion, v.HttpApiMinorVersion, flags);
  F.init_count++;
  LeaveCriticalSection(&F.lock);
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpTerminate(ULONG flags, PVOID reserved) {
  EnterCriticalSection(&F.lock);
  if (--F.init_count < 0 || !(flags & HTTP_INITIALIZE_SERVER) || reserved)
    violation("HttpTerminate without HttpInitialize / bad flags");
  LeaveCriticalSection(&F.lock);
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpCreateServerSession(HTTPAPI_VERSION v,
                                                 PHTTP_SERVER_SESSION_ID id,
                                                 ULONG reserved) {
  if (!v2(v) || F.init_count <= 0 || reserved)
    violation("HttpCreateServerSession before HttpInitialize / bad version");
  *id = FAKE_SESSION;
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpCloseServerSession(HTTP_SERVER_SESSION_ID id) {
  if (id != FAKE_SESSION)
    violation("HttpCloseServerSession of an unknown session");
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpCreateUrlGroup(HTTP_SERVER_SESSION_ID s,
                                            PHTTP_URL_GROUP_ID g,
                                            ULONG reserved) {
  if (s != FAKE_SESSION || reserved)
    violation("HttpCreateUrlGroup on an unknown session");
  *g = FAKE_GROUP;
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpCloseUrlGroup(HTTP_URL_GROUP_ID g) {
  if (g != FAKE_GROUP)
    violation("HttpCloseUrlGroup of an unknown group");
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpAddUrlToUrlGroup(HTTP_URL_GROUP_ID g,
                                              PCWSTR url, HTTP_URL_CONTEXT ctx,
                                              ULONG reserved) {
  size_t n = url ? wcslen(url) : 0;
  if (g != FAKE_GROUP || reserved)
    violation("HttpAddUrlToUrlGroup on an unknown group");
  if (n < 8 || (wcsncmp(url, L"http://", 7) && wcsncmp(url, L"https://", 8)) ||
      url[n - 1] != L'/')
    return ERROR_INVALID_PARAMETER; /* as http.sys: needs scheme and '/' */
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpSetUrlGroupProperty(HTTP_URL_GROUP_ID g,
                                                 HTTP_SERVER_PROPERTY prop,
                                                 PVOID info, ULONG len) {
  if (g != FAKE_GROUP)
    violation("HttpSetUrlGroupProperty on an unknown group");
  if (prop == HttpServerBindingProperty) {
    HTTP_BINDING_INFO *b = info;
    if (len != sizeof *b || !b->Flags.Present || b->RequestQueueHandle != F.queue)
      violation("binding property: bad size, flag or queue handle");
    else
      F.bound_group = 1;
  }
  return NO_ERROR;
}

/* Timeouts (issue 14): checked for a well-formed call, and refused as
 * Wine's http.sys refuses them (error 120), which the front end must
 * survive with one warning. */
static ULONG WINAPI fake_HttpSetServerSessionProperty(
    HTTP_SERVER_SESSION_ID id, HTTP_SERVER_PROPERTY prop, PVOID info,
    ULONG len) {
  if (id != FAKE_SESSION)
    violation("HttpSetServerSessionProperty on an unknown session");
  if (prop == HttpServerTimeoutsProperty &&
      (len != sizeof(HTTP_TIMEOUT_LIMIT_INFO) || !info))
    violation("timeouts property: bad size");
  return ERROR_CALL_NOT_IMPLEMENTED;
}

/* hold_receive (fake_http_hold_next_receive): the receive call being held
 * until stop's CancelIoEx has reached its OVERLAPPED, and the OVERLAPPEDs
 * CancelIoEx was called for since the queue was created. */
static struct {
  SRWLOCK lock;
  CONDITION_VARIABLE cv;
  HANDLE armed; /* set when the held call begins; NULL: not armed */
  LPOVERLAPPED held;
  int reached;
  LPOVERLAPPED cancelled[64];
  int n_cancelled;
} R;

void fake_http_hold_next_receive(void *started) {
  AcquireSRWLockExclusive(&R.lock);
  R.armed = started;
  ReleaseSRWLockExclusive(&R.lock);
}

static void hold_receive(LPOVERLAPPED ov) {
  AcquireSRWLockExclusive(&R.lock);
  HANDLE started = R.armed;
  if (started) {
    R.armed = NULL;
    R.held = ov;
    R.reached = 0;
    SetEvent(started);
    /* A product that lets stop cancel only after this call returns makes
     * the hold end by time-out, which is what it must do. */
    ULONGLONG end = GetTickCount64() + 3000;
    while (!R.reached && GetTickCount64() < end)
      SleepConditionVariableSRW(&R.cv, &R.lock, 100, 0);
    R.held = NULL;
  }
  ReleaseSRWLockExclusive(&R.lock);
}

static void note_cancel(LPOVERLAPPED ov) {
  AcquireSRWLockExclusive(&R.lock);
  if (!ov || ov == R.held) {
    R.reached = 1;
    WakeAllConditionVariable(&R.cv);
  }
  int known = 0;
  for (int i = 0; i < R.n_cancelled; i++)
    known |= R.cancelled[i] == ov;
  if (ov && !known && R.n_cancelled < 64)
    R.cancelled[R.n_cancelled++] = ov;
  ReleaseSRWLockExclusive(&R.lock);
}

static int was_cancelled(LPOVERLAPPED ov) {
  int known = 0;
  AcquireSRWLockShared(&R.lock);
  for (int i = 0; i < R.n_cancelled; i++)
    known |= R.cancelled[i] == ov;
  ReleaseSRWLockShared(&R.lock);
  return known;
}

static ULONG WINAPI fake_HttpCreateRequestQueue(HTTPAPI_VERSION v, PCWSTR name,
                                                PSECURITY_ATTRIBUTES sa,
                                                ULONG flags, PHANDLE h) {
  if (!v2(v) || F.init_count <= 0)
    violation("HttpCreateRequestQueue before HttpInitialize / bad version");
  if (F.queue)
    violation("a second request queue (the fake serves one)");
  F.queue = CreateEventW(NULL, FALSE, FALSE, NULL); /* a real handle */
  AcquireSRWLockExclusive(&R.lock);
  R.n_cancelled = 0;
  ReleaseSRWLockExclusive(&R.lock);
  F.closed = 0;
  F.bound_port = 0;
  F.bound_group = 0;
  *h = F.queue;
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpCloseRequestQueue(HANDLE h) {
  EnterCriticalSection(&F.lock);
  if (h != F.queue || !h) {
    violation("HttpCloseRequestQueue of an unknown handle");
    LeaveCriticalSection(&F.lock);
    return ERROR_INVALID_HANDLE;
  }
  for (int i = 0; i < F.n_pending_recv; i++) {
    F.pending_recv[i]->kind = J_CANCEL;
    push_job(F.pending_recv[i]);
  }
  F.n_pending_recv = 0;
  for (int i = 0; i < F.n_reqs; i++) {
    freq *r = F.reqs[i];
    if (r->state == 2 && !r->final_sent)
      violation("request %llu received but never answered",
                (unsigned long long)r->id);
    if (r->send_pending || r->read_pending)
      violation("request %llu: I/O in flight when the queue closed",
                (unsigned long long)r->id);
  }
  F.queue = NULL;
  F.closed = 1;
  F.queue_closes++;
  LeaveCriticalSection(&F.lock);
  CloseHandle(h);
  return NO_ERROR;
}

static int check_async(const char *fn, HANDLE h, void *pbytes,
                       OVERLAPPED *ov) {
  if (h != F.queue || !h) {
    violation("%s on an unknown queue handle", fn);
    return 0;
  }
  if (!F.bound_port) {
    violation("%s before the queue was bound to a completion port", fn);
    return 0;
  }
  if (!ov) {
    violation("%s: synchronous call on a queue bound to a completion port",
              fn);
    return 0;
  }
  if (pbytes)
    violation("%s: pBytes must be NULL with an OVERLAPPED", fn);
  return 1;
}

static ULONG WINAPI fake_HttpReceiveHttpRequest(HANDLE h, HTTP_REQUEST_ID id,
                                                ULONG flags,
                                                PHTTP_REQUEST buf, ULONG len,
                                                PULONG pbytes,
                                                LPOVERLAPPED ov) {
  hold_receive(ov);
  EnterCriticalSection(&F.lock);
  ULONG rc = ERROR_IO_PENDING;
  if (!check_async("HttpReceiveHttpRequest", h, pbytes, ov)) {
    rc = ERROR_INVALID_PARAMETER;
  } else if (was_cancelled(ov)) {
    /* A worker's queue stays open in the other processes: nothing would
     * ever end this receive. */
    violation("HttpReceiveHttpRequest posted after stop's CancelIoEx for "
              "that OVERLAPPED: it would stay posted");
    rc = ERROR_OPERATION_ABORTED;
  } else if (F.fail_recv_n > 0) {
    F.fail_recv_n--;
    rc = F.fail_recv_err; /* e.g. out of kernel resources */
  } else if (flags & ~(ULONG)HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY) {
    violation("HttpReceiveHttpRequest: flags 0x%lx", flags);
    rc = ERROR_INVALID_PARAMETER;
  } else if (!buf || len < sizeof(HTTP_REQUEST)) {
    violation("HttpReceiveHttpRequest: buffer of %lu bytes", len);
    rc = ERROR_INVALID_PARAMETER;
  } else {
    job *j = calloc(1, sizeof *j);
    j->kind = J_RECV;
    j->ov = ov;
    j->buf = buf;
    j->len = len;
    if (id != HTTP_NULL_ID) {
      freq *r = find_req(id);
      if (!r || r->state != 1) {
        violation("HttpReceiveHttpRequest for request %llu that did not "
                  "report ERROR_MORE_DATA", (unsigned long long)id);
        free(j);
        rc = ERROR_CONNECTION_INVALID;
      } else {
        j->r = r;
        push_job(j);
      }
    } else {
      for (int i = 0; i < F.n_reqs && !j->r; i++)
        if (F.reqs[i]->state == 0 && !F.reqs[i]->head_sent) {
          j->r = F.reqs[i];
          j->r->state = 3; /* being delivered */
        }
      if (j->r)
        push_job(j);
      else if (F.n_pending_recv < 64)
        F.pending_recv[F.n_pending_recv++] = j;
      else {
        violation("more than 64 receives posted");
        free(j);
      }
    }
  }
  LeaveCriticalSection(&F.lock);
  return rc;
}

static ULONG WINAPI fake_HttpReceiveRequestEntityBody(
    HANDLE h, HTTP_REQUEST_ID id, ULONG flags, PVOID buf, ULONG len,
    PULONG pbytes, LPOVERLAPPED ov) {
  EnterCriticalSection(&F.lock);
  ULONG rc = ERROR_IO_PENDING;
  freq *r = find_req(id);
  if (!check_async("HttpReceiveRequestEntityBody", h, pbytes, ov)) {
    rc = ERROR_INVALID_PARAMETER;
  } else if (!r || r->state != 2) {
    violation("HttpReceiveRequestEntityBody for unknown request %llu",
              (unsigned long long)id);
    rc = ERROR_CONNECTION_INVALID;
  } else if (r->final_sent) {
    violation("HttpReceiveRequestEntityBody after the final send");
    rc = ERROR_CONNECTION_INVALID;
  } else if (flags & ~(ULONG)HTTP_RECEIVE_REQUEST_ENTITY_BODY_FLAG_FILL_BUFFER) {
    violation("HttpReceiveRequestEntityBody: flags 0x%lx", flags);
    rc = ERROR_INVALID_PARAMETER;
  } else if (!buf || !len) {
    violation("HttpReceiveRequestEntityBody: empty buffer");
    rc = ERROR_INVALID_PARAMETER;
  } else if (r->read_pending) {
    violation("two body reads in flight on request %llu",
              (unsigned long long)id);
    rc = ERROR_INVALID_PARAMETER;
  } else if (r->body_off == r->body_len) {
    rc = ERROR_HANDLE_EOF; /* an error status: no packet, like http.sys */
  } else {
    job *j = calloc(1, sizeof *j);
    j->kind = J_BODY;
    j->ov = ov;
    j->r = r;
    j->buf = buf;
    j->len = len;
    r->read_pending = 1;
    push_job(j);
  }
  LeaveCriticalSection(&F.lock);
  return rc;
}

/* Checks flags and chunks common to both sends; returns 1 if accepted, 0
 * if rejected (a violation), -1 if refused as unsupported. */
static int check_send(const char *fn, freq *r, ULONG flags, USHORT n,
                      const HTTP_DATA_CHUNK *chunks) {
  const ULONG known = HTTP_SEND_RESPONSE_FLAG_DISCONNECT |
                      HTTP_SEND_RESPONSE_FLAG_MORE_DATA |
                      HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA;
  if (flags & ~known) {
    violation("%s: unknown flags 0x%lx", fn, flags);
    return 0;
  }
  if ((flags & HTTP_SEND_RESPONSE_FLAG_DISCONNECT) &&
      (flags & HTTP_SEND_RESPONSE_FLAG_MORE_DATA)) {
    violation("%s: DISCONNECT together with MORE_DATA", fn);
    return 0;
  }
  if (r->final_sent) {
    violation("%s after the final send of request %llu", fn,
              (unsigned long long)r->id);
    return 0;
  }
  if (r->send_pending) {
    violation("%s while another send of request %llu is in flight", fn,
              (unsigned long long)r->id);
    return 0;
  }
  if (n && !chunks) {
    violation("%s: %u chunks but no array", fn, n);
    return 0;
  }
  for (USHORT i = 0; i < n; i++) {
    const HTTP_DATA_CHUNK *c = &chunks[i];
    if (c->DataChunkType == HttpDataChunkFromMemory) {
      if (!c->FromMemory.pBuffer || !c->FromMemory.BufferLength) {
        violation("%s: empty memory chunk", fn);
        return 0;
      }
    } else if (c->DataChunkType == HttpDataChunkFromFileHandle) {
      if (F.file_mode == 1)
        return -1; /* refused like Wine does: no violation */
      if (!c->FromFileHandle.FileHandle ||
          c->FromFileHandle.FileHandle == INVALID_HANDLE_VALUE ||
          !c->FromFileHandle.ByteRange.Length.QuadPart) {
        violation("%s: bad file chunk", fn);
        return 0;
      }
    } else {
      violation("%s: chunk type %d", fn, (int)c->DataChunkType);
      return 0;
    }
  }
  return 1;
}

static job *send_job(freq *r, OVERLAPPED *ov, ULONG flags, USHORT n,
                     const HTTP_DATA_CHUNK *chunks) {
  job *j = calloc(1, sizeof *j);
  j->kind = J_SEND;
  j->ov = ov;
  j->r = r;
  j->flags = flags;
  j->n_chunks = n;
  if (n) {
    j->chunks = malloc(n * sizeof *chunks);
    memcpy(j->chunks, chunks, n * sizeof *chunks);
  }
  r->send_pending = 1;
  if (!(flags & HTTP_SEND_RESPONSE_FLAG_MORE_DATA))
    r->final_sent = 1;
  r->more_expected = (flags & HTTP_SEND_RESPONSE_FLAG_MORE_DATA) != 0;
  return j;
}

/* Queues the send, or returns it for finish_sync() (sync_sends). */
static job *start_send(job *j) {
  if (j->r->sync_sends)
    return j;
  push_job(j);
  return NULL;
}

/* sync_sends: completes the send on the caller's thread and returns only
 * once the product's I/O thread has dispatched the completion. */
static void finish_sync(job *j) {
  if (!j)
    return;
  hook_sync_begin(j->ov);
  run_send(j);
  hook_sync_wait();
  free(j->chunks);
  free(j);
}

static ULONG WINAPI fake_HttpSendHttpResponse(
    HANDLE h, HTTP_REQUEST_ID id, ULONG flags, PHTTP_RESPONSE resp,
    PVOID cache, PULONG pbytes, PVOID r1, ULONG r2, LPOVERLAPPED ov,
    PVOID log) {
  EnterCriticalSection(&F.lock);
  ULONG rc = ERROR_IO_PENDING;
  int chk;
  job *sync = NULL;
  freq *r = find_req(id);
  if (!check_async("HttpSendHttpResponse", h, pbytes, ov)) {
    rc = ERROR_INVALID_PARAMETER;
  } else if (!r || r->state != 2) {
    violation("HttpSendHttpResponse for unknown request %llu",
              (unsigned long long)id);
    rc = ERROR_CONNECTION_INVALID;
  } else if (r->head_sent) {
    violation("second HttpSendHttpResponse for request %llu",
              (unsigned long long)id);
    rc = ERROR_INVALID_PARAMETER;
  } else if (!resp || resp->StatusCode < 100 || resp->StatusCode > 999 ||
             (resp->ReasonLength && !resp->pReason) ||
             resp->Version.MajorVersion != 1) {
    violation("HttpSendHttpResponse: bad HTTP_RESPONSE");
    rc = ERROR_INVALID_PARAMETER;
  } else if ((chk = check_send("HttpSendHttpResponse", r, flags,
                               resp->EntityChunkCount,
                               resp->pEntityChunks)) > 0) {
    HTTP_RESPONSE_HEADERS *hd = &resp->Headers;
    int ok = 1;
    for (int i = 0; i < HttpHeaderResponseMaximum; i++)
      if (hd->KnownHeaders[i].RawValueLength && !hd->KnownHeaders[i].pRawValue)
        ok = 0;
    for (USHORT i = 0; i < hd->UnknownHeaderCount; i++) {
      HTTP_UNKNOWN_HEADER *u = &hd->pUnknownHeaders[i];
      if (!u->pName || !u->NameLength || (u->RawValueLength && !u->pRawValue) ||
          memchr(u->pName, ':', u->NameLength) ||
          memchr(u->pRawValue, '\n', u->RawValueLength))
        ok = 0;
    }
    HTTP_KNOWN_HEADER *cl = &hd->KnownHeaders[HttpHeaderContentLength];
    HTTP_KNOWN_HEADER *te = &hd->KnownHeaders[HttpHeaderTransferEncoding];
    if (te->pRawValue && cl->pRawValue)
      ok = 0;
    if (!ok) {
      violation("HttpSendHttpResponse: malformed headers");
      rc = ERROR_INVALID_PARAMETER;
    } else {
      r->content_length = -1;
      if (cl->pRawValue) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%.*s", (int)cl->RawValueLength,
                 cl->pRawValue);
        r->content_length = _strtoi64(tmp, NULL, 10);
      }
      job *j = send_job(r, ov, flags, resp->EntityChunkCount,
                        resp->pEntityChunks);
      j->first = 1;
      j->response = resp;
      j->hash = hash_send(j);
      r->head_sent = 1;
      sync = start_send(j);
    }
  } else {
    rc = chk < 0 ? ERROR_CALL_NOT_IMPLEMENTED : ERROR_INVALID_PARAMETER;
  }
  LeaveCriticalSection(&F.lock);
  finish_sync(sync);
  return rc;
}

static ULONG WINAPI fake_HttpSendResponseEntityBody(
    HANDLE h, HTTP_REQUEST_ID id, ULONG flags, USHORT n,
    PHTTP_DATA_CHUNK chunks, PULONG pbytes, PVOID r1, ULONG r2,
    LPOVERLAPPED ov, PVOID log) {
  EnterCriticalSection(&F.lock);
  ULONG rc = ERROR_IO_PENDING;
  int chk;
  job *sync = NULL;
  freq *r = find_req(id);
  if (!check_async("HttpSendResponseEntityBody", h, pbytes, ov)) {
    rc = ERROR_INVALID_PARAMETER;
  } else if (!r || r->state != 2) {
    violation("HttpSendResponseEntityBody for unknown request %llu",
              (unsigned long long)id);
    rc = ERROR_CONNECTION_INVALID;
  } else if (!r->head_sent) {
    violation("HttpSendResponseEntityBody before HttpSendHttpResponse");
    rc = ERROR_INVALID_PARAMETER;
  } else if (!r->more_expected && !r->final_sent) {
    violation("HttpSendResponseEntityBody after a head sent without "
              "MORE_DATA");
    rc = ERROR_INVALID_PARAMETER;
  } else if ((chk = check_send("HttpSendResponseEntityBody", r, flags, n,
                               chunks)) > 0) {
    job *j = send_job(r, ov, flags, n, chunks);
    j->hash = hash_send(j);
    sync = start_send(j);
  } else {
    rc = chk < 0 ? ERROR_CALL_NOT_IMPLEMENTED : ERROR_INVALID_PARAMETER;
  }
  LeaveCriticalSection(&F.lock);
  finish_sync(sync);
  return rc;
}

static ULONG WINAPI fake_HttpCancelHttpRequest(HANDLE h, HTTP_REQUEST_ID id,
                                               LPOVERLAPPED ov) {
  EnterCriticalSection(&F.lock);
  freq *r = find_req(id);
  if (r) {
    r->final_sent = 1;
    r->resp.failed = 1;
    r->resp.cancelled = 1;
    r->resp.done = 1;
    SetEvent(r->done);
  }
  LeaveCriticalSection(&F.lock);
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpShutdownRequestQueue(HANDLE h) {
  return NO_ERROR;
}

/* The product's import slots (it was compiled with http.h's dllimport). */
void *__imp_HttpInitialize = (void *)fake_HttpInitialize;
void *__imp_HttpTerminate = (void *)fake_HttpTerminate;
void *__imp_HttpCreateServerSession = (void *)fake_HttpCreateServerSession;
void *__imp_HttpCloseServerSession = (void *)fake_HttpCloseServerSession;
void *__imp_HttpCreateUrlGroup = (void *)fake_HttpCreateUrlGroup;
void *__imp_HttpCloseUrlGroup = (void *)fake_HttpCloseUrlGroup;
void *__imp_HttpAddUrlToUrlGroup = (void *)fake_HttpAddUrlToUrlGroup;
void *__imp_HttpSetUrlGroupProperty = (void *)fake_HttpSetUrlGroupProperty;
void *__imp_HttpSetServerSessionProperty =
    (void *)fake_HttpSetServerSessionProperty;
void *__imp_HttpCreateRequestQueue = (void *)fake_HttpCreateRequestQueue;
void *__imp_HttpCloseRequestQueue = (void *)fake_HttpCloseRequestQueue;
void *__imp_HttpReceiveHttpRequest = (void *)fake_HttpReceiveHttpRequest;
void *__imp_HttpReceiveRequestEntityBody =
    (void *)fake_HttpReceiveRequestEntityBody;
void *__imp_HttpSendHttpResponse = (void *)fake_HttpSendHttpResponse;
void *__imp_HttpSendResponseEntityBody =
    (void *)fake_HttpSendResponseEntityBody;
void *__imp_HttpCancelHttpRequest = (void *)fake_HttpCancelHttpRequest;
void *__imp_HttpShutdownRequestQueue = (void *)fake_HttpShutdownRequestQueue;

/* ---- interposed kernel32 calls ------------------------------------------- */

static HANDLE WINAPI fake_CreateIoCompletionPort(HANDLE file, HANDLE port,
                                                 ULONG_PTR key, DWORD n) {
  fake_start();
  if (file && file == F.queue) {
    F.port = port;
    F.key = key;
    F.bound_port = 1;
    return port;
  }
  return F.real_create_port(file, port, key, n);
}

static BOOL WINAPI fake_CancelIoEx(HANDLE h, LPOVERLAPPED ov) {
  fake_start();
  if (!h || h != F.queue)
    return F.real_cancel(h, ov);
  note_cancel(ov);
  EnterCriticalSection(&F.lock);
  int found = 0;
  for (int i = 0; i < F.n_pending_recv; i++) {
    if (!ov || F.pending_recv[i]->ov == ov) {
      F.pending_recv[i]->kind = J_CANCEL;
      push_job(F.pending_recv[i]);
      F.pending_recv[i--] = F.pending_recv[--F.n_pending_recv];
      found = 1;
    }
  }
  LeaveCriticalSection(&F.lock);
  if (!found)
    SetLastError(ERROR_NOT_FOUND);
  return found;
}

void *__imp_CreateIoCompletionPort = (void *)fake_CreateIoCompletionPort;
void *__imp_CancelIoEx = (void *)fake_CancelIoEx;
