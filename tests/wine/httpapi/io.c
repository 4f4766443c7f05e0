/*
 * io.c: the calls that move requests and responses (receive, entity body,
 * the two sends, cancel) and the checks a real http.sys makes of them, or
 * that catch a broken buffer lifetime. Each queues an ha_op, returns
 * ERROR_IO_PENDING, and is completed by the completer thread
 * (complete.c); a synchronous call (no OVERLAPPED) waits for that
 * completion itself.
 */
#include "ha.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef ULONG(WINAPI *nt_to_dos_fn)(LONG);

static ULONG nt_to_win32(LONG st) {
  static nt_to_dos_fn fn;
  if (!fn)
    fn = (nt_to_dos_fn)(void (*)(void))GetProcAddress(
        GetModuleHandleW(L"ntdll.dll"), "RtlNtStatusToDosError");
  return st == ST_SUCCESS ? NO_ERROR : fn(st);
}

/* A new op for `ov`, or for a synchronous call. NULL when out of memory. */
static ha_op *new_op(int kind, ha_queue *q, OVERLAPPED *ov) {
  ha_op *op = calloc(1, sizeof *op);
  if (!op)
    return NULL;
  InterlockedIncrement(&ha_live_ops);
  op->kind = kind;
  op->q = q;
  if (ov) {
    op->ov = ov;
    ov->Internal = (ULONG_PTR)0x103; /* STATUS_PENDING, as the kernel sets */
  } else {
    op->sync_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    op->ov = &op->sync_ov;
  }
  return op;
}

/* After the op was queued (G.lock released): the result of the call. */
static ULONG finish_call(ha_op *op, int sync, PULONG pbytes) {
  if (!sync)
    return ERROR_IO_PENDING;
  WaitForSingleObject(op->sync_event, INFINITE);
  ULONG rc = nt_to_win32(op->status);
  if (pbytes)
    *pbytes = (ULONG)op->bytes;
  ha_op_free(op);
  return rc;
}

static int check_async(const char *fn, ha_queue *q, PULONG pbytes,
                       OVERLAPPED *ov) {
  if (!ov)
    return 1;
  if (pbytes)
    ha_violation("%s: pBytes must be NULL with an OVERLAPPED", fn);
  if (!q->bound && !ov->hEvent) {
    ha_violation("%s: overlapped call on a queue bound to no completion port "
                 "and without an event: its completion is lost", fn);
    return 0;
  }
  return 1;
}

void ha_cancel_receives(ha_queue *q, OVERLAPPED *ov, int *found) {
  *found = 0;
  for (int i = 0; i < q->n_recvs; i++) {
    ha_op *op = q->recvs[i];
    if (ov && op->ov != ov)
      continue;
    memmove(q->recvs + i, q->recvs + i + 1,
            (size_t)(q->n_recvs - i - 1) * sizeof *q->recvs);
    q->n_recvs--;
    i--;
    ha_complete_later(op, ST_CANCELLED, 0);
    *found = 1;
  }
}

void ha_take_pre(ha_req *r) {
  ha_conn *c = r->c;
  if (r->chunked || !r->has_body || r->pre_len || r->body_left <= 0)
    return;
  size_t n = c->len - c->off;
  if ((int64_t)n > r->body_left)
    n = (size_t)r->body_left;
  if (n > HA_BUF)
    n = HA_BUF;
  if (!n || !(r->pre = malloc(n)))
    return;
  memcpy(r->pre, c->buf + c->off, n);
  c->off += n;
  r->pre_len = n;
  r->body_left -= (int64_t)n;
}

ULONG WINAPI HttpReceiveHttpRequest(HANDLE h, HTTP_REQUEST_ID id, ULONG flags,
                                    PHTTP_REQUEST buf, ULONG len,
                                    PULONG pbytes, LPOVERLAPPED ov) {
  const char *fn = "HttpReceiveHttpRequest";
  ha_start();
  ha_trace("%s id=%llu len=%lu", fn, (unsigned long long)id, len);
  EnterCriticalSection(&G.lock);
  ULONG rc = NO_ERROR;
  ha_op *op = NULL;
  ha_queue *q = ha_find_queue(h, fn);
  if (!q || q->shut) {
    rc = ERROR_INVALID_HANDLE;
  } else if (!check_async(fn, q, pbytes, ov)) {
    rc = ERROR_INVALID_PARAMETER;
  } else if (flags & ~(ULONG)HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY) {
    ha_violation("%s: unknown flags 0x%lx", fn, flags);
    rc = ERROR_INVALID_PARAMETER;
  } else if (!buf || len < sizeof(HTTP_REQUEST_V1)) {
    ha_violation("%s: buffer of %lu bytes, less than an HTTP_REQUEST", fn,
                 len);
    rc = ERROR_INSUFFICIENT_BUFFER;
  } else if (!(op = new_op(OP_RECV, q, ov))) {
    rc = ERROR_NOT_ENOUGH_MEMORY;
  } else {
    op->buf = buf;
    op->len = len;
    op->flags = flags;
    if (id != HTTP_NULL_ID) {
      ha_req *r = ha_find_req(id);
      if (!r && ha_req_forgotten(id)) {
        rc = ERROR_CONNECTION_INVALID; /* long over (reqs.c) */
      } else if (!r || r->q != q || r->state != R_MORE_DATA) {
        ha_violation("%s for request %llu that did not report "
                     "ERROR_MORE_DATA", fn, (unsigned long long)id);
        rc = ERROR_CONNECTION_INVALID;
      } else {
        ha_op_set_req(op, r);
        r->state = R_DELIVERING;
        ha_complete_later(op, ST_SUCCESS, 0);
      }
    } else if (q->ready_head) {
      ha_req *r = q->ready_head;
      q->ready_head = r->next_ready;
      if (!q->ready_head)
        q->ready_tail = NULL;
      ha_op_set_req(op, r);
      r->state = R_DELIVERING;
      if (flags & HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY)
        ha_take_pre(r);
      ha_complete_later(op, ST_SUCCESS, 0);
    } else if (q->n_recvs < 256) {
      q->recvs[q->n_recvs++] = op;
    } else {
      ha_violation("%s: more than 256 receives posted", fn);
      rc = ERROR_NOT_ENOUGH_MEMORY;
    }
    if (rc != NO_ERROR) {
      ha_op_free(op);
      op = NULL;
    }
  }
  LeaveCriticalSection(&G.lock);
  return op ? finish_call(op, !ov, pbytes) : rc;
}

/* The request `id` of queue `q` if the application may act on it. */
static ha_req *app_req(const char *fn, ha_queue *q, HTTP_REQUEST_ID id) {
  ha_req *r = ha_find_req(id);
  if (!r && ha_req_forgotten(id))
    return NULL; /* long over (reqs.c): ERROR_CONNECTION_INVALID */
  if (!r || r->q != q || r->state != R_RECEIVED) {
    ha_violation("%s for request %llu, which was not received from this "
                 "queue", fn, (unsigned long long)id);
    return NULL;
  }
  return r;
}

ULONG WINAPI HttpReceiveRequestEntityBody(HANDLE h, HTTP_REQUEST_ID id,
                                          ULONG flags, PVOID buf, ULONG len,
                                          PULONG pbytes, LPOVERLAPPED ov) {
  const char *fn = "HttpReceiveRequestEntityBody";
  ha_start();
  ha_trace("%s id=%llu len=%lu", fn, (unsigned long long)id, len);
  EnterCriticalSection(&G.lock);
  ULONG rc = NO_ERROR;
  ha_op *op = NULL;
  ha_queue *q = ha_find_queue(h, fn);
  ha_req *r = q ? app_req(fn, q, id) : NULL;
  if (!q) {
    rc = ERROR_INVALID_HANDLE;
  } else if (!r) {
    rc = ERROR_CONNECTION_INVALID;
  } else if (!check_async(fn, q, pbytes, ov)) {
    rc = ERROR_INVALID_PARAMETER;
  } else if (flags & ~(ULONG)HTTP_RECEIVE_REQUEST_ENTITY_BODY_FLAG_FILL_BUFFER) {
    ha_violation("%s: unknown flags 0x%lx", fn, flags);
    rc = ERROR_INVALID_PARAMETER;
  } else if (!buf || !len) {
    ha_violation("%s: empty buffer", fn);
    rc = ERROR_INVALID_PARAMETER;
  } else if (r->read_pending) {
    ha_violation("%s: two reads in flight on request %llu", fn,
                 (unsigned long long)id);
    rc = ERROR_INVALID_PARAMETER;
  } else if (r->final_sent && !r->send_pending && r->c->cur != r) {
    rc = ERROR_CONNECTION_INVALID; /* the request is over */
  } else if (!r->has_body ||
             (r->body_done && (r->pre_given || r->pre_off == r->pre_len))) {
    rc = ERROR_HANDLE_EOF; /* an error status: no completion, as http.sys */
    if (pbytes)
      *pbytes = 0;
  } else if (!(op = new_op(OP_BODY, q, ov))) {
    rc = ERROR_NOT_ENOUGH_MEMORY;
  } else {
    ha_op_set_req(op, r);
    op->buf = buf;
    op->len = len;
    op->flags = flags;
    r->read_pending = 1;
    if (r->cancelled || r->c->dead || r->c->cur != r)
      ha_complete_later(op, ST_CONNECTION_INVALID, 0);
    else
      ha_conn_push(r->c, op);
  }
  LeaveCriticalSection(&G.lock);
  return op ? finish_call(op, !ov, pbytes) : rc;
}

/* Checks flags and chunks common to both sends; returns 0 if rejected. */
static int check_send(const char *fn, ha_req *r, ULONG flags, USHORT n,
                      const HTTP_DATA_CHUNK *chunks) {
  const ULONG known = HTTP_SEND_RESPONSE_FLAG_DISCONNECT |
                      HTTP_SEND_RESPONSE_FLAG_MORE_DATA |
                      HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA | 0x8 /* NAGLING */;
  if (flags & ~known) {
    ha_violation("%s: unknown flags 0x%lx", fn, flags);
    return 0;
  }
  if ((flags & HTTP_SEND_RESPONSE_FLAG_DISCONNECT) &&
      (flags & HTTP_SEND_RESPONSE_FLAG_MORE_DATA)) {
    ha_violation("%s: DISCONNECT together with MORE_DATA", fn);
    return 0;
  }
  if (r->final_sent) {
    ha_violation("%s after the final send of request %llu", fn,
                 (unsigned long long)r->id);
    return 0;
  }
  if (r->send_pending) {
    ha_violation("%s while another send of request %llu is in flight", fn,
                 (unsigned long long)r->id);
    return 0;
  }
  if (n && !chunks) {
    ha_violation("%s: %u chunks but no array", fn, n);
    return 0;
  }
  for (USHORT i = 0; i < n; i++) {
    const HTTP_DATA_CHUNK *c = &chunks[i];
    if (c->DataChunkType == HttpDataChunkFromMemory) {
      if (!c->FromMemory.pBuffer || !c->FromMemory.BufferLength) {
        ha_violation("%s: empty memory chunk", fn);
        return 0;
      }
    } else if (c->DataChunkType == HttpDataChunkFromFileHandle) {
      if (!c->FromFileHandle.FileHandle ||
          c->FromFileHandle.FileHandle == INVALID_HANDLE_VALUE ||
          !c->FromFileHandle.ByteRange.Length.QuadPart) {
        ha_violation("%s: bad file-handle chunk", fn);
        return 0;
      }
    } else {
      ha_violation("%s: chunk type %d not supported", fn,
                   (int)c->DataChunkType);
      return 0;
    }
  }
  return 1;
}

static int check_head(HTTP_RESPONSE *resp, int64_t *cl) {
  if (!resp || resp->StatusCode < 100 || resp->StatusCode > 999 ||
      (resp->ReasonLength && !resp->pReason) ||
      resp->Version.MajorVersion > 1) {
    ha_violation("HttpSendHttpResponse: bad HTTP_RESPONSE (status %u)",
                 resp ? resp->StatusCode : 0);
    return 0;
  }
  if (resp->pReason && (memchr(resp->pReason, '\r', resp->ReasonLength) ||
                        memchr(resp->pReason, '\n', resp->ReasonLength))) {
    ha_violation("HttpSendHttpResponse: CR or LF in the reason");
    return 0;
  }
  HTTP_RESPONSE_HEADERS *hd = &resp->Headers;
  for (int i = 0; i < HttpHeaderResponseMaximum; i++) {
    HTTP_KNOWN_HEADER *k = &hd->KnownHeaders[i];
    if ((k->RawValueLength && !k->pRawValue) ||
        (k->pRawValue && (memchr(k->pRawValue, '\n', k->RawValueLength) ||
                          memchr(k->pRawValue, '\r', k->RawValueLength)))) {
      ha_violation("HttpSendHttpResponse: known header %d malformed", i);
      return 0;
    }
  }
  if (hd->UnknownHeaderCount && !hd->pUnknownHeaders) {
    ha_violation("HttpSendHttpResponse: unknown headers without an array");
    return 0;
  }
  for (USHORT i = 0; i < hd->UnknownHeaderCount; i++) {
    HTTP_UNKNOWN_HEADER *u = &hd->pUnknownHeaders[i];
    if (!u->pName || !u->NameLength || (u->RawValueLength && !u->pRawValue) ||
        memchr(u->pName, ':', u->NameLength) ||
        memchr(u->pName, ' ', u->NameLength) ||
        (u->pRawValue && (memchr(u->pRawValue, '\n', u->RawValueLength) ||
                          memchr(u->pRawValue, '\r', u->RawValueLength)))) {
      ha_violation("HttpSendHttpResponse: unknown header %u malformed", i);
      return 0;
    }
  }
  HTTP_KNOWN_HEADER *k = &hd->KnownHeaders[HttpHeaderContentLength];
  *cl = -1;
  if (k->pRawValue) {
    char tmp[32];
    if (!k->RawValueLength || k->RawValueLength >= sizeof tmp) {
      ha_violation("HttpSendHttpResponse: bad Content-Length");
      return 0;
    }
    memcpy(tmp, k->pRawValue, k->RawValueLength);
    tmp[k->RawValueLength] = '\0';
    if (strspn(tmp, "0123456789") != k->RawValueLength) {
      ha_violation("HttpSendHttpResponse: Content-Length \"%s\"", tmp);
      return 0;
    }
    *cl = _strtoi64(tmp, NULL, 10);
  }
  return 1;
}

/* Queues a send for the connection thread (G.lock held). */
static ha_op *queue_send(ha_req *r, ha_queue *q, OVERLAPPED *ov, ULONG flags,
                         HTTP_RESPONSE *resp, USHORT n,
                         const HTTP_DATA_CHUNK *chunks) {
  ha_op *op = new_op(OP_SEND, q, ov);
  if (!op)
    return NULL;
  if (n && !(op->chunks = malloc(n * sizeof *chunks))) {
    ha_op_free(op);
    return NULL;
  }
  if (n)
    memcpy(op->chunks, chunks, n * sizeof *chunks);
  op->n_chunks = n;
  ha_op_set_req(op, r);
  op->flags = flags;
  op->resp = resp;
  op->first = resp != NULL;
  op->hash = ha_hash_send(op);
  r->send_pending = 1;
  r->more_expected = (flags & HTTP_SEND_RESPONSE_FLAG_MORE_DATA) != 0;
  if (!r->more_expected)
    r->final_sent = 1;
  if (r->cancelled || r->c->dead || r->c->cur != r)
    ha_complete_later(op, ST_CONNECTION_INVALID, 0);
  else
    ha_conn_push(r->c, op);
  return op;
}

ULONG WINAPI HttpSendHttpResponse(HANDLE h, HTTP_REQUEST_ID id, ULONG flags,
                                  PHTTP_RESPONSE resp, PVOID cache,
                                  PULONG pbytes, PVOID r1, ULONG r2,
                                  LPOVERLAPPED ov, PVOID log) {
  const char *fn = "HttpSendHttpResponse";
  ha_start();
  ha_trace("%s id=%llu flags=0x%lx status=%u", fn, (unsigned long long)id,
           flags, resp ? resp->StatusCode : 0);
  (void)cache;
  (void)log;
  EnterCriticalSection(&G.lock);
  ULONG rc = NO_ERROR;
  ha_op *op = NULL;
  int64_t cl = -1;
  ha_queue *q = ha_find_queue(h, fn);
  ha_req *r = q ? app_req(fn, q, id) : NULL;
  if (!q) {
    rc = ERROR_INVALID_HANDLE;
  } else if (!r) {
    rc = ERROR_CONNECTION_INVALID;
  } else if (!check_async(fn, q, pbytes, ov) || r1 || r2) {
    rc = ERROR_INVALID_PARAMETER;
  } else if (r->head_sent) {
    ha_violation("second HttpSendHttpResponse for request %llu",
                 (unsigned long long)id);
    rc = ERROR_INVALID_PARAMETER;
  } else if (!check_head(resp, &cl) ||
             !check_send(fn, r, flags, resp->EntityChunkCount,
                         resp->pEntityChunks)) {
    rc = ERROR_INVALID_PARAMETER;
  } else {
    r->head_sent = 1;
    r->resp_status = resp->StatusCode;
    r->resp_cl = cl;
    op = queue_send(r, q, ov, flags, resp, resp->EntityChunkCount,
                    resp->pEntityChunks);
    if (!op)
      rc = ERROR_NOT_ENOUGH_MEMORY;
  }
  LeaveCriticalSection(&G.lock);
  return op ? finish_call(op, !ov, pbytes) : rc;
}

ULONG WINAPI HttpSendResponseEntityBody(HANDLE h, HTTP_REQUEST_ID id,
                                        ULONG flags, USHORT n,
                                        PHTTP_DATA_CHUNK chunks, PULONG pbytes,
                                        PVOID r1, ULONG r2, LPOVERLAPPED ov,
                                        PVOID log) {
  const char *fn = "HttpSendResponseEntityBody";
  ha_start();
  ha_trace("%s id=%llu flags=0x%lx chunks=%u", fn, (unsigned long long)id,
           flags, n);
  (void)log;
  EnterCriticalSection(&G.lock);
  ULONG rc = NO_ERROR;
  ha_op *op = NULL;
  ha_queue *q = ha_find_queue(h, fn);
  ha_req *r = q ? app_req(fn, q, id) : NULL;
  if (!q) {
    rc = ERROR_INVALID_HANDLE;
  } else if (!r) {
    rc = ERROR_CONNECTION_INVALID;
  } else if (!check_async(fn, q, pbytes, ov) || r1 || r2) {
    rc = ERROR_INVALID_PARAMETER;
  } else if (!r->head_sent) {
    ha_violation("%s before HttpSendHttpResponse (request %llu)", fn,
                 (unsigned long long)id);
    rc = ERROR_INVALID_PARAMETER;
  } else if (!r->more_expected && !r->final_sent) {
    ha_violation("%s after a head sent without MORE_DATA", fn);
    rc = ERROR_INVALID_PARAMETER;
  } else if (!check_send(fn, r, flags, n, chunks)) {
    rc = ERROR_INVALID_PARAMETER;
  } else if (!(op = queue_send(r, q, ov, flags, NULL, n, chunks))) {
    rc = ERROR_NOT_ENOUGH_MEMORY;
  }
  LeaveCriticalSection(&G.lock);
  return op ? finish_call(op, !ov, pbytes) : rc;
}

/* Cancels the ops of `c` matching `ov` (all if NULL) that have not run;
 * flags the running one (G.lock held). */
static int cancel_conn_ops(ha_conn *c, OVERLAPPED *ov) {
  int found = 0;
  for (ha_op **p = &c->work_head; *p;) {
    ha_op *op = *p;
    if (ov && op->ov != ov) {
      p = &op->next;
      continue;
    }
    *p = op->next;
    if (op->kind == OP_SEND)
      c->abort = 1; /* a response cut short cannot go on */
    ha_complete_later(op, ST_CANCELLED, 0);
    found = 1;
  }
  c->work_tail = NULL;
  for (ha_op *op = c->work_head; op; op = op->next)
    c->work_tail = op;
  if (c->running && (!ov || c->running->ov == ov)) {
    InterlockedExchange(&c->running->cancel, 1);
    found = 1;
  }
  WakeAllConditionVariable(&c->cv);
  return found;
}

BOOL ha_cancel(ha_queue *q, OVERLAPPED *ov) {
  int found;
  ha_trace("CancelIoEx(queue, %p)", (void *)ov);
  EnterCriticalSection(&G.lock);
  ha_cancel_receives(q, ov, &found);
  for (ha_conn *c = G.conns; c; c = c->next)
    if (c->cur && c->cur->q == q && cancel_conn_ops(c, ov))
      found = 1;
  LeaveCriticalSection(&G.lock);
  if (!found)
    SetLastError(ERROR_NOT_FOUND);
  return found ? TRUE : FALSE;
}

ULONG WINAPI HttpCancelHttpRequest(HANDLE h, HTTP_REQUEST_ID id,
                                   LPOVERLAPPED ov) {
  const char *fn = "HttpCancelHttpRequest";
  ha_start();
  ha_trace("%s id=%llu", fn, (unsigned long long)id);
  EnterCriticalSection(&G.lock);
  ULONG rc = NO_ERROR;
  ha_queue *q = ha_find_queue(h, fn);
  ha_req *r = q ? ha_find_req(id) : NULL;
  if (!q) {
    rc = ERROR_INVALID_HANDLE;
  } else if (!r || r->q != q || r->state == R_QUEUED) {
    rc = ERROR_CONNECTION_INVALID;
  } else {
    /* As http.sys: the request ends and its connection is reset. */
    r->cancelled = 1;
    r->done = 1;
    if (r->state == R_MORE_DATA)
      r->state = R_RECEIVED;
    if (r->c->cur == r) {
      r->c->abort = 1;
      cancel_conn_ops(r->c, NULL);
    }
    if (ov) {
      ha_op *op = new_op(OP_NOTE, q, ov);
      if (!op) {
        rc = ERROR_NOT_ENOUGH_MEMORY;
      } else {
        ha_op_set_req(op, r);
        ha_complete_later(op, ST_SUCCESS, 0);
        rc = ERROR_IO_PENDING;
      }
    }
  }
  LeaveCriticalSection(&G.lock);
  return rc;
}

ULONG WINAPI HttpWaitForDisconnect(HANDLE h, HTTP_CONNECTION_ID id,
                                   LPOVERLAPPED ov) {
  (void)h;
  (void)id;
  (void)ov;
  return ERROR_NOT_SUPPORTED;
}
