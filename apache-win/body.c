/*
 * body.c: one read of the request body for mod_sysgi, and the one place
 * where httpd's read status becomes a SYSGI_E_* code (issue 14: a failed
 * read names its cause). It reads as ap_get_client_block() does, which
 * returns a bare -1 and loses the status:
 *   APR_TIMEUP (Timeout / mod_reqtimeout)          -> SYSGI_E_TIMEOUT
 *   APR_EOF, APR_INCOMPLETE (the connection ended
 *     before Content-Length), ECONNRESET, aborted  -> SYSGI_E_CLIENT_GONE
 *   AP_FILTER_ERROR after HTTP_IN answered 413
 *     (LimitRequestBody; APR_ENOSPC)               -> SYSGI_E_TOO_LARGE
 *   AP_FILTER_ERROR after a 400, APR_EGENERAL,
 *     APR_EINVAL from the chunk parser             -> SYSGI_E_BAD_CHUNK
 *   anything else                                  -> SYSGI_E_IO
 * When HTTP_IN fails it has already answered (an error bucket: 413 or
 * 400); *answered tells the caller that nothing more must be sent.
 */
#include "mod_sysgi.h"

#include "http_log.h"
#include "http_protocol.h"
#include "util_filter.h"

#include <errno.h>

APLOG_USE_MODULE(sysgi);

static int translate(request_rec *r, apr_status_t rv, int *answered) {
  if (rv == AP_FILTER_ERROR) {
    /* HTTP_IN passed an error bucket: Apache has sent that status. */
    *answered = 1;
    if (r->status == HTTP_REQUEST_ENTITY_TOO_LARGE)
      return SYSGI_E_TOO_LARGE;
    if (r->connection->aborted)
      return SYSGI_E_CLIENT_GONE;
    return SYSGI_E_BAD_CHUNK;
  }
  if (APR_STATUS_IS_TIMEUP(rv))
    return SYSGI_E_TIMEOUT;
  if (rv == APR_ENOSPC)
    return SYSGI_E_TOO_LARGE;
  if (APR_STATUS_IS_EOF(rv) || APR_STATUS_IS_INCOMPLETE(rv) ||
      APR_STATUS_IS_ECONNRESET(rv) ||
      APR_STATUS_IS_ECONNABORTED(rv) || APR_STATUS_IS_EPIPE(rv) ||
      r->connection->aborted)
    return SYSGI_E_CLIENT_GONE;
  if (rv == APR_EGENERAL || APR_STATUS_IS_EINVAL(rv))
    return SYSGI_E_BAD_CHUNK;
  return SYSGI_E_IO;
}

ptrdiff_t sysgi_ap_read_body_block(request_rec *r, char *buf, size_t len,
                                   int *answered) {
  apr_bucket_brigade *bb;
  apr_status_t rv;
  apr_size_t n = len;
  int err;
  if (r->remaining < 0 || (!r->read_chunked && r->remaining == 0))
    return 0;
  bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
  rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                      APR_BLOCK_READ, len);
  if (rv != APR_SUCCESS) {
    apr_brigade_destroy(bb);
    r->connection->keepalive = AP_CONN_CLOSE;
    err = translate(r, rv, answered);
    ap_log_rerror(APLOG_MARK, err == SYSGI_E_CLIENT_GONE ? APLOG_DEBUG
                                                         : APLOG_INFO,
                  rv, r, "mod_sysgi: reading the request body failed: %s",
                  sysgi_strerror(err));
    return err;
  }
  if (!APR_BRIGADE_EMPTY(bb) && APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb)))
    r->remaining = r->read_chunked ? -1 : 0;
  rv = apr_brigade_flatten(bb, buf, &n);
  apr_brigade_destroy(bb);
  if (rv != APR_SUCCESS)
    return SYSGI_E_IO;
  r->read_length += (apr_off_t)n;
  return (ptrdiff_t)n;
}
