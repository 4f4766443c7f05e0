/*
 * frontend.c: the sysgi_frontend callbacks on top of httpd: the response
 * goes out through the request's output filter chain as brigades, the body
 * comes in through ap_get_client_block (de-chunked by httpd). Every send is
 * finished (or copied by httpd's set-aside) before a callback returns, so no
 * send answers SYSGI_PENDING (try_send_body's SYSGI_PENDING only means
 * "call flush() before the next block").
 */
#include "mod_sysgi.h"

#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_ssl.h"
#include "apr_buckets.h"
#include "apr_optional.h"
#include "apr_portable.h"
#include "apr_strings.h"

APLOG_USE_MODULE(sysgi);

struct sysgi_ap_conn {
  request_rec *r;
  apr_bucket_brigade *bb;   /* reused for every send of this request      */
  int body;                 /* 0 not set up, 1 reading, 2 at end, -1 failed */
  int sendfile;             /* WSGIEnableSendfile On                      */
  apr_int32_t file_flags;   /* APR_SENDFILE_ENABLED under EnableSendfile On */
  apr_off_t declared;       /* Content-Length of the response, or -1      */
  apr_off_t sent;           /* body bytes handed to the filters so far    */
  int error_override;       /* WSGIErrorOverride On                       */
  int override_status;      /* the application's error status, which
                               Apache answers instead (body discarded)    */
  int body_answered;        /* HTTP_IN already answered (413/400 for the
                               body): whatever the core sends is dropped  */
  int gone_logged;          /* the client's disconnect has been logged    */
  int direct;               /* only pass-through filters down to the
                               socket (see send_block); -1 not known yet  */
  apr_size_t max_buffer;    /* httpd writes blocking from this many bytes */
};

int sysgi_ap_conn_body_answered(const sysgi_ap_conn *c) {
  return c ? c->body_answered : 0;
}

int sysgi_ap_conn_override_status(const sysgi_ap_conn *c) {
  return c ? c->override_status : 0;
}

static APR_OPTIONAL_FN_TYPE(ssl_is_https) *opt_is_https;
static APR_OPTIONAL_FN_TYPE(ssl_var_lookup) *opt_var_lookup;

void sysgi_ap_retrieve_ssl_fns(void) {
  opt_is_https = APR_RETRIEVE_OPTIONAL_FN(ssl_is_https);
  opt_var_lookup = APR_RETRIEVE_OPTIONAL_FN(ssl_var_lookup);
}

sysgi_ap_conn *sysgi_ap_conn_create(request_rec *r) {
  sysgi_ap_conn *c = apr_pcalloc(r->pool, sizeof(*c));
  core_dir_config *core = ap_get_core_module_config(r->per_dir_config);
  sysgi_dir_config *dc = ap_get_module_config(r->per_dir_config, &sysgi_module);
  c->r = r;
  c->sendfile = dc->enable_sendfile == 1;
  c->error_override = dc->error_override == 1;
  c->declared = -1;
  /* The core hands us every wsgi.file_wrapper around a regular file; it
   * goes out as a file bucket either way. sendfile() is used only when
   * both WSGIEnableSendfile and Apache's EnableSendfile are On (the file
   * carries APR_SENDFILE_ENABLED); otherwise the core output filter maps
   * or reads it itself, in C, without Python and without the GIL (as
   * mod_wsgi does with WSGIEnableSendfile Off). */
  c->file_flags = c->sendfile && core->enable_sendfile == ENABLE_SENDFILE_ON
                      ? APR_SENDFILE_ENABLED : 0;
  return c;
}

static int pass_status(sysgi_ap_conn *c, apr_status_t rv) {
  apr_brigade_cleanup(c->bb);
  if (c->r->connection->aborted) {
    /* Not the server's problem, but worth a line at debug (issue 14). */
    if (!c->gone_logged++)
      ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, c->r, "mod_sysgi: the "
                    "client closed the connection during the response "
                    "(%" APR_OFF_T_FMT " body bytes sent)", c->sent);
    return SYSGI_E_CLIENT_GONE;
  }
  return rv == APR_SUCCESS ? SYSGI_OK : SYSGI_E_IO;
}

/* The request announces a body (which may be unread). */
static int has_body(request_rec *r) {
  const char *cl = apr_table_get(r->headers_in, "Content-Length");
  return apr_table_get(r->headers_in, "Transfer-Encoding") != NULL ||
         (cl && strcmp(cl, "0"));
}

static int send_head(void *conn, int status, const char *status_line,
                     const sysgi_header *h, size_t n, int64_t content_length) {
  sysgi_ap_conn *c = conn;
  request_rec *r = c->r;
  size_t i;
  if (c->body_answered)
    return SYSGI_OK; /* httpd has answered 413/400 for the body */
  if (c->error_override && ap_is_HTTP_ERROR(status)) {
    /* mod_wsgi's WSGIErrorOverride: the handler returns the status, so
     * Apache's error page (ErrorDocument) replaces the application's. */
    c->override_status = status;
    return SYSGI_OK;
  }
  r->status = status;
  r->status_line = apr_pstrdup(r->pool, status_line);
  for (i = 0; i < n; i++) {
    if (!ap_cstr_casecmp(h[i].name, "Content-Type")) {
      ap_set_content_type(r, apr_pstrdup(r->pool, h[i].value));
    } else if (!ap_cstr_casecmp(h[i].name, "Content-Length")) {
      if (content_length < 0) /* not parsed by the core: pass it as is */
        apr_table_setn(r->headers_out, "Content-Length",
                       apr_pstrdup(r->pool, h[i].value));
    } else {
      /* add, never set: several Set-Cookie / WWW-Authenticate survive. */
      apr_table_addn(r->headers_out, apr_pstrdup(r->pool, h[i].name),
                     apr_pstrdup(r->pool, h[i].value));
    }
  }
  if (content_length >= 0) {
    ap_set_content_length(r, (apr_off_t)content_length);
    c->declared = (apr_off_t)content_length;
  }
  c->bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
  c->direct = -1; /* looked up by the first streamed block */
  if (r->header_only && c->body != 2 && has_body(r))
    /* A HEAD whose body the application has not read: httpd would read
     * and discard it all before answering (and turn a half-closed or bad
     * body into a 400). The answer goes out at once, as mod_wsgi's, and
     * the connection closes after it, which spares the discard. */
    r->connection->keepalive = AP_CONN_CLOSE;
  return SYSGI_OK;
}

/* httpd's filters that pass every brigade on at once, holding nothing
 * back (content_length counts, http_header prepends the head once, chunk
 * frames, byterange passes a 200 through). Any other filter (deflate,
 * ssl, h2...) may buffer a block until it sees a FLUSH. */
static int direct_chain(request_rec *r) {
  static const char *const pass[] = {"byterange", "content_length",
                                     "http_header", "http_outerror",
                                     "chunk", "core", NULL};
  for (ap_filter_t *f = r->output_filters; f; f = f->next) {
    const char *const *p = pass;
    while (*p && ap_cstr_casecmp(f->frec->name, *p))
      p++;
    if (!*p)
      return 0;
  }
  return 1;
}

/* The core output filter writes a brigade of at least this many bytes at
 * once (a non-blocking write); smaller ones it only sets aside. */
#define SYSGI_MIN_WRITE 4096

/* From this many bytes in the brigade the core output filter writes
 * blocking (FlushMaxThreshold, 64 KiB by default). */
static apr_size_t max_buffer(request_rec *r) {
#if AP_MODULE_MAGIC_AT_LEAST(20120211, 97)
  core_server_config *sc =
      ap_get_core_module_config(r->server->module_config);
  if (sc->flush_max_threshold)
    return sc->flush_max_threshold;
#endif
  (void)r;
  return 65536;
}

static void learn_chain(sysgi_ap_conn *c) {
  if (c->direct < 0) {
    c->direct = direct_chain(c->r);
    c->max_buffer = max_buffer(c->r);
  }
}

/* A streamed response must reach the client chunk by chunk (PEP 3333: a
 * block is "sent to the operating system" before the application is asked
 * for the next one), so each send ends with the block written, except the
 * one that completes a declared Content-Length: the end of the response
 * follows at once and httpd then writes head and body in one go.
 * A FLUSH bucket does that, but costs a second trip down the filter chain
 * (content_length splits the brigade at it) and a flush bucket. When the
 * chain is direct and the block is big enough for the core output filter
 * to write it at once, the block goes without the FLUSH: the core writes
 * what the socket takes and sets the rest aside, and says so in
 * c->data_in_output_filters; only then does a FLUSH follow (a blocking
 * write of the rest). Either way nothing of the block is left in httpd
 * when send_body returns. */
static int send_block(sysgi_ap_conn *c) {
  request_rec *r = c->r;
  apr_status_t rv;
  if (c->declared >= 0 && c->sent >= c->declared)
    return pass_status(c, ap_pass_brigade(r->output_filters, c->bb));
  learn_chain(c);
  if (c->direct) {
    apr_off_t len = 0;
    if (apr_brigade_length(c->bb, 0, &len) == APR_SUCCESS &&
        len >= SYSGI_MIN_WRITE) {
      rv = ap_pass_brigade(r->output_filters, c->bb);
      if (rv != APR_SUCCESS || !r->connection->data_in_output_filters)
        return pass_status(c, rv);
      apr_brigade_cleanup(c->bb);
    }
  }
  APR_BRIGADE_INSERT_TAIL(c->bb,
                          apr_bucket_flush_create(r->connection->bucket_alloc));
  return pass_status(c, ap_pass_brigade(r->output_filters, c->bb));
}

static int send_body(void *conn, const void *data, size_t len,
                     sysgi_send_token *token) {
  sysgi_ap_conn *c = conn;
  request_rec *r = c->r;
  if (c->override_status || c->body_answered)
    return SYSGI_OK; /* discarded: Apache answers */
  if (r->connection->aborted)
    return SYSGI_E_CLIENT_GONE;
  if (!c->bb || len == 0)
    return c->bb ? SYSGI_OK : SYSGI_E_INVAL;
  /* Transient: a filter that keeps the bytes past this call copies them
   * (set-aside), so `data` is free again when we return. */
  APR_BRIGADE_INSERT_TAIL(c->bb, apr_bucket_transient_create(
                                     data, len, r->connection->bucket_alloc));
  c->sent += (apr_off_t)len;
  return send_block(c);
}

/* The core's streaming fast path (sysgi.h), called with the GIL held: a
 * block that can go down a direct chain without a blocking write (no
 * FLUSH, nothing of an earlier send left in httpd, less than the core
 * output filter's blocking threshold) is passed at once: the core output
 * filter writes it without blocking and sets aside (copies) what the socket
 * did not take. Then the core calls flush() without the GIL, before the
 * application runs again. Anything else is declined, for send_body. */
static int try_send_body(void *conn, const void *data, size_t len) {
  sysgi_ap_conn *c = conn;
  request_rec *r = c->r;
  if (c->override_status)
    return SYSGI_OK;
  if (r->connection->aborted)
    return SYSGI_E_CLIENT_GONE;
  if (!c->bb || c->sent == 0) /* the head goes out with the first block */
    return SYSGI_E_UNSUPPORTED;
  learn_chain(c);
  if (!c->direct || len < SYSGI_MIN_WRITE || len >= c->max_buffer ||
      r->connection->data_in_output_filters)
    return SYSGI_E_UNSUPPORTED;
  APR_BRIGADE_INSERT_TAIL(c->bb, apr_bucket_transient_create(
                                     data, len, r->connection->bucket_alloc));
  c->sent += (apr_off_t)len;
  int rc = pass_status(c, ap_pass_brigade(r->output_filters, c->bb));
  if (rc < 0)
    return rc;
  return r->connection->data_in_output_filters ? SYSGI_PENDING : SYSGI_OK;
}

/* Writes, blocking, what try_send_body left set aside in httpd. */
static int flush(void *conn) {
  sysgi_ap_conn *c = conn;
  request_rec *r = c->r;
  if (r->connection->aborted)
    return SYSGI_E_CLIENT_GONE;
  APR_BRIGADE_INSERT_TAIL(c->bb,
                          apr_bucket_flush_create(r->connection->bucket_alloc));
  return pass_status(c, ap_pass_brigade(r->output_filters, c->bb));
}

static int send_file(void *conn, intptr_t os_handle, int64_t offset,
                     int64_t len, sysgi_send_token *token) {
  sysgi_ap_conn *c = conn;
  request_rec *r = c->r;
  apr_os_file_t fd = (apr_os_file_t)os_handle;
  apr_file_t *f = NULL;
  if (c->override_status || c->body_answered)
    return SYSGI_OK;
  if (r->connection->aborted)
    return SYSGI_E_CLIENT_GONE;
  if (!c->bb)
    return SYSGI_E_INVAL;
  if (len <= 0)
    return SYSGI_OK;
  /* The bucket gets a descriptor of its own, a duplicate owned by the
   * request pool (closed by its cleanup): the core closes the application's
   * file once we return, while a file bucket may be read much later, by
   * another thread: mod_http2 hands it to the main connection (H2CopyFiles
   * Off), a filter sets it aside. Reading the caller's descriptor then
   * fails (EBADF) or, once the number is reused, sends another file's
   * bytes (issue 14). The request pool lives as long as the bucket may,
   * as for the files of Apache's own default handler. */
  apr_file_t *borrowed = NULL;
  if (apr_os_file_put(&borrowed, &fd, APR_FOPEN_READ | c->file_flags,
                      r->pool) != APR_SUCCESS ||
      apr_file_dup(&f, borrowed, r->pool) != APR_SUCCESS)
    return SYSGI_E_UNSUPPORTED;
  apr_brigade_insert_file(c->bb, f, (apr_off_t)offset, (apr_off_t)len,
                          r->pool);
  c->sent += (apr_off_t)len;
  return send_block(c); /* the bucket owns its descriptor: set-aside is safe */
}

static ptrdiff_t read_body(void *conn, void *buf, size_t len) {
  sysgi_ap_conn *c = conn;
  request_rec *r = c->r;
  long n;
  if (c->body == 0) {
    /* Set up on the first read, so "100 Continue" goes out only when the
     * application actually wants the body. */
    int st = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK);
    if (st != OK) {
      c->body = -1;
      return st == HTTP_REQUEST_ENTITY_TOO_LARGE ? SYSGI_E_TOO_LARGE
                                                 : SYSGI_E_IO;
    }
    c->body = ap_should_client_block(r) ? 1 : 2;
  }
  if (c->body == 2 || len == 0)
    return 0;
  if (c->body < 0)
    return SYSGI_E_IO;
  n = (long)sysgi_ap_read_body_block(r, buf, len, &c->body_answered);
  if (n < 0) {
    c->body = -1;
    return (ptrdiff_t)n; /* a SYSGI_E_* naming the cause (body.c) */
  }
  if (n == 0)
    c->body = 2;
  return (ptrdiff_t)n;
}

static int client_gone(void *conn) {
  return ((sysgi_ap_conn *)conn)->r->connection->aborted;
}

/* The head is out and the response cannot be finished honestly: drop the
 * connection (httpd discards what is still buffered, no last chunk). */
static void abort_conn(void *conn) {
  conn_rec *cn = ((sysgi_ap_conn *)conn)->r->connection;
  cn->keepalive = AP_CONN_CLOSE;
  cn->aborted = 1;
}

static void log_line(void *conn, int level, const char *msg) {
  ap_log_rerror(APLOG_MARK, sysgi_ap_log_level(level), 0,
                ((sysgi_ap_conn *)conn)->r, "%s", msg);
}

static int ssl_is_https(void *conn) {
  request_rec *r = ((sysgi_ap_conn *)conn)->r;
  return opt_is_https ? opt_is_https(r->connection) : 0;
}

static const char *ssl_var_lookup(void *conn, const char *name) {
  request_rec *r = ((sysgi_ap_conn *)conn)->r;
  if (!opt_var_lookup)
    return NULL;
  return opt_var_lookup(r->pool, r->server, r->connection, r,
                        apr_pstrdup(r->pool, name));
}

static const sysgi_frontend fe_plain = {
    send_head, send_body, send_file, NULL, read_body, client_gone,
    abort_conn, log_line, NULL, NULL, try_send_body, flush};
static const sysgi_frontend fe_ssl = {
    send_head, send_body, send_file, NULL, read_body, client_gone,
    abort_conn, log_line, ssl_is_https, ssl_var_lookup, try_send_body,
    flush};

const sysgi_frontend *sysgi_ap_frontend(void) {
  return (opt_is_https || opt_var_lookup) ? &fe_ssl : &fe_plain;
}
