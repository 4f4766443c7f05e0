/*
 * body.c: request bodies through HttpReceiveRequestEntityBody. http.sys
 * de-chunks chunked bodies and stops at the end of the body; any size is
 * read in the core's buffer-sized pieces. The read is overlapped like every
 * other call on the queue (so no packet of ours is ever unaccounted for) and
 * the worker waits for its completion, with the GIL released by the core.
 */
#include "hs.h"

static void read_done(hs_op *op, DWORD err, DWORD bytes) {
  hs_conn *c = op->ctx;
  c->read_err = err;
  c->read_bytes = bytes;
  SetEvent(c->read_event);
}

ptrdiff_t hs_read_body(void *conn, void *buf, size_t len) {
  hs_conn *c = conn;
  if (c->body_eof || len == 0)
    return 0;
  if (!(c->req->Flags & HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS)) {
    c->body_eof = 1;
    return 0;
  }
  if (len > 1u << 30)
    len = 1u << 30;
  ULONGLONG t0 = GetTickCount64();
  ResetEvent(c->read_event);
  hs_op_start(&c->srv->pool, &c->read_op, read_done, c);
  ULONG rc = HttpReceiveRequestEntityBody(c->srv->queue, c->id, 0, buf,
                                          (ULONG)len, NULL, &c->read_op.ov);
  if (!hs_io_will_complete(rc)) {
    hs_op_cancel(&c->srv->pool, &c->read_op);
    c->read_err = rc;
    c->read_bytes = 0;
  } else {
    WaitForSingleObject(c->read_event, INFINITE);
  }
  if (c->read_err == ERROR_HANDLE_EOF) {
    c->body_eof = 1;
    return (ptrdiff_t)c->read_bytes;
  }
  if (c->read_err != NO_ERROR) {
    int err = hs_limits_read_error(c->srv, c->read_err,
                                   GetTickCount64() - t0);
    if (err == SYSGI_E_CLIENT_GONE || err == SYSGI_E_TIMEOUT)
      c->client_gone = 1; /* http.sys has closed the connection */
    hs_log(c->srv, err == SYSGI_E_CLIENT_GONE ? SYSGI_LOG_DEBUG
                                              : SYSGI_LOG_INFO,
           "reading the request body failed: error %lu (%s)",
           (unsigned long)c->read_err, hs_limits_cause(err));
    return err;
  }
  if (c->read_bytes == 0) /* never loop on an empty success */
    c->body_eof = 1;
  return (ptrdiff_t)c->read_bytes;
}
