/*
 * hs.h: internals of the http.sys front end, shared by its files:
 *   server.c   session, URL groups, request queue, receive loop, start/stop
 *   apps.c     the applications and the choice among them per request
 *   pool.c     completion port, I/O threads, bounded worker pool
 *   request.c  HTTP_REQUEST -> sysgi_request (CGI variables)
 *   body.c     request bodies (HttpReceiveRequestEntityBody)
 *   response.c responses (HttpSendHttpResponse, HttpSendResponseEntityBody)
 *   errors.c   Win32 error -> SYSGI_E_*
 */
#ifndef SYSGI_HS_H
#define SYSGI_HS_H

/* winsock2.h must come before windows.h (http.h pulls in both). */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <http.h>

#include "sysgi_httpsys.h"

/* ---- pool.c -------------------------------------------------------------- */

/* One overlapped operation. Every OVERLAPPED we hand to http.sys is the
 * first member of an hs_op that is registered with the pool before the call
 * is issued; a completion packet whose OVERLAPPED is not registered is not
 * ours (Wine posts stray packets for synchronous calls) and is dropped. */
typedef struct hs_op hs_op;
typedef void (*hs_op_done)(hs_op *op, DWORD err, DWORD bytes);
struct hs_op {
  OVERLAPPED ov;
  hs_op_done done;
  void *ctx;
  hs_op *prev, *next; /* registry of operations in flight */
  /* Event mode (a worker on an inherited queue): completion through this
   * event and a thread-pool wait instead of the port. */
  struct hs_pool *pool;
  HANDLE ev, wait;
  DWORD posted_err; /* its status, carried by the packet we post */
};

/* Work items run by the worker threads. */
typedef struct hs_work hs_work;
typedef void (*hs_work_fn)(hs_work *w);
struct hs_work {
  hs_work_fn run;
  hs_work *next;
};

typedef struct hs_pool {
  HANDLE iocp;
  /* The queue is not bound to iocp: a handle inherited by several workers
   * is one file object, which can be bound to one port only (the first
   * worker's), so every worker on an inherited queue learns of its
   * completions from an event per operation whose low bit is set (no
   * packet to any port), waited for by the thread pool. */
  int event_mode;
  HANDLE *threads;
  unsigned n_io, n_workers, n_started;

  SRWLOCK ops_lock;
  hs_op ops; /* sentinel of the in-flight registry */
  unsigned long stray_packets;

  SRWLOCK lock;
  CONDITION_VARIABLE work_cv; /* work queued or stopping */
  CONDITION_VARIABLE idle_cv; /* a request finished */
  hs_work *head, *tail;
  unsigned queued, running, max_queued;
  int stopping;
} hs_pool;

int hs_pool_start(hs_pool *p, unsigned n_io, unsigned n_workers,
                  unsigned max_queued);
int hs_pool_bind(hs_pool *p, HANDLE h);
/* Releases an operation's event (event mode); call when the memory of the
 * hs_op is about to be freed, with no I/O of it in flight. */
void hs_op_release(hs_op *op);
/* Registers `op` before the I/O call that uses it. */
void hs_op_start(hs_pool *p, hs_op *op, hs_op_done done, void *ctx);
/* Unregisters `op` after an I/O call that failed without queueing a
 * completion packet. */
void hs_op_cancel(hs_pool *p, hs_op *op);
/* Nonzero if a call that returned `rc` will post a completion packet. */
int hs_io_will_complete(ULONG rc);
/* Queues work; SYSGI_E_BUSY when max_queued requests already wait. */
int hs_pool_submit(hs_pool *p, hs_work *w);
/* Waits until no work is queued or running, or `timeout_ms` passes.
 * Returns 0 or SYSGI_E_TIMEOUT. */
int hs_pool_wait_idle(hs_pool *p, DWORD timeout_ms);
/* Stops every thread (waiting at most `timeout_ms` for each) and closes the
 * port. Returns the number of threads that did not stop in time. */
unsigned hs_pool_stop(hs_pool *p, DWORD timeout_ms);

/* ---- server.c ------------------------------------------------------------ */

typedef struct hs_recv {
  hs_op op;
  struct sysgi_httpsys *srv;
  HTTP_REQUEST *buf;
  ULONG size;
  HTTP_REQUEST_ID id; /* HTTP_NULL_ID, or the request to read again */
  /* A receive that cannot be posted is posted again by this timer, after
   * a back-off that doubles while the error persists. */
  PTP_TIMER retry;
  unsigned failures, backoff_ms;
} hs_recv;

/* apps.c: one application, copied from the configuration. */
typedef struct hs_app {
  char *mount; /* normalized: "" or "/app" */
  char *script, *group_spec, *callable;
  int pass_authorization, enable_sendfile, script_reloading;
  int64_t limit_request_body;
  unsigned request_timeout_ms, interrupt_timeout_ms;
} hs_app;

/* apps.c: what %{SERVER} means for one listen URL (its index is the
 * request's UrlContext). */
typedef struct hs_listen {
  char *host, *port; /* port "" for the scheme's own */
  unsigned port_num;
} hs_listen;

struct sysgi_httpsys {
  sysgi_httpsys_config cfg;
  hs_app *apps;
  const char **mounts; /* apps[i].mount, for sysgi_mount_match */
  size_t n_apps;
  hs_listen *listen;
  size_t n_listen;
  hs_pool pool;
  HTTP_SERVER_SESSION_ID session;
  HTTP_URL_GROUP_ID *groups;
  size_t n_groups;
  HANDLE queue;
  hs_recv *recvs;
  unsigned n_recvs;
  SRWLOCK retry_lock; /* arming a retry timer vs. stop closing them */
  /* Held shared from a receive's `stopping` check to its I/O call, and
   * exclusive by stop to set `stopping`: a receive is either posted before
   * stop cancels the receives, or not posted at all. */
  SRWLOCK post_lock;
  volatile LONG stopping;
  volatile LONG active; /* requests received and not yet finished */
  volatile LONG64 served; /* requests received since start */
  /* cfg.max_requests: requests left to receive, less the receives posted
   * (a post takes one, a receive that ends without a request gives it
   * back). */
  volatile LONG64 recv_budget;
  int initialized;
  HANDLE tmo_thread, tmo_event; /* the request-timeout watchdog (timeout.c) */
  int worker; /* cfg.queue given: receive on a controller's queue */
};

/* ---- limits.c (issue 14) -------------------------------------------------- */
/* Sets the configured http.sys timeouts on the server session. A refusal
 * (Wine's error 120) is one warning naming the property, not an error. */
void hs_limits_set_timeouts(struct sysgi_httpsys *srv);
/* The same on any server session (the controller's queues, controller.c):
 * `who` prefixes the log line ("" or "process-group queue NAME: "). */
void hs_limits_session_timeouts(HTTP_SERVER_SESSION_ID session,
                                const sysgi_httpsys_limits *l,
                                sysgi_log_fn log, void *log_ctx,
                                const char *who);
/* Copies the request limits of `app` and the server into `r`. */
void hs_limits_apply(struct sysgi_httpsys *srv, const hs_app *app,
                     sysgi_request *r);
/* The SYSGI_E_* of a failed body read: a connection http.sys closed after
 * the read waited its EntityBody time is a timeout, not a client gone. */
int hs_limits_read_error(struct sysgi_httpsys *srv, unsigned long err,
                         unsigned long long waited_ms);
/* A few words for the log: "timeout", "client closed the connection"... */
const char *hs_limits_cause(int err);

void hs_log(struct sysgi_httpsys *srv, int level, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- one request: request.c, body.c, response.c -------------------------- */

typedef struct hs_conn {
  hs_work work;
  struct sysgi_httpsys *srv;
  HTTP_REQUEST *req; /* owned receive buffer */
  HTTP_REQUEST_ID id;
  int64_t queue_start_us;

  /* CGI variables (request.c). */
  sysgi_header *vars;
  size_t n_vars, cap_vars;
  char *url_scheme;

  /* Body (body.c): one read at a time. */
  hs_op read_op;
  HANDLE read_event;
  DWORD read_err, read_bytes;
  int body_eof;

  /* Response (response.c): at most one send in flight. The I/O thread's
   * completion writes send_err, completes send_token and, as its very last
   * access to the request, sets send_event; the worker waits for that
   * event whenever send_inflight (worker-only) says a send is out, so it
   * never frees or reuses the request under a completion. */
  hs_op send_op;
  HANDLE send_event;
  int send_inflight;
  DWORD send_err;
  int send_is_file; /* the send in flight carries a file-handle chunk */
  sysgi_send_token *send_token;
  HTTP_DATA_CHUNK send_chunk; /* read by the send in flight */
  char *file_buf; /* buffered fallback of a refused file-handle send */
  int head_stored, head_sent, final_sent, client_gone;
  int failed;      /* aborted: disconnect after the response */
  int send_failed; /* a send completed with an error */
  HTTP_RESPONSE resp; /* read by the first send */
  char *head_block; /* copies of status reason, header names and values */
  HTTP_UNKNOWN_HEADER *unknown;
  char content_length_str[24];
  int disconnect; /* the app sent "Connection: close" */
  int64_t content_length, body_sent;
  /* Set for fire-and-forget responses (503 under load): called by the
   * I/O thread once the send completed, to end the request. */
  void (*after_send)(struct hs_conn *c);

  /* The application the path matched (request.c, through apps.c). */
  const hs_app *app;
} hs_conn;

/* apps.c. hs_apps_init copies the configuration's applications (or its
 * single-app fields) and listen URLs into srv; hs_apps_free releases them
 * (also after a failed init). */
int hs_apps_init(struct sysgi_httpsys *srv);
void hs_apps_free(struct sysgi_httpsys *srv);
/* The application of `path` (percent-decoded), or NULL: 404. *mount_len
 * is the length of the matched mount, where SCRIPT_NAME ends. */
const hs_app *hs_app_match(const struct sysgi_httpsys *srv, const char *path,
                           size_t *mount_len);
/* Expands c->app's application group for c's listen URL into out.
 * Returns 0, or a negative SYSGI_E_* (logged). */
int hs_app_group(const hs_conn *c, char *out, size_t len);

/* request.c: fills conn->vars and conn->url_scheme. Returns 0, or an HTTP
 * status (400, 404) to answer without running the app, or SYSGI_E_NOMEM. */
int hs_request_map(hs_conn *c);
void hs_request_free(hs_conn *c);
int64_t hs_now_us(void);

/* body.c */
ptrdiff_t hs_read_body(void *conn, void *buf, size_t len);

/* response.c */
extern const sysgi_frontend hs_frontend;
int hs_response_init(hs_conn *c);
/* Completes the response after the core returned `rc`: answers an error
 * status if nothing was sent, sends the final empty chunk of a streamed
 * response, waits for every send. */
void hs_response_finish(hs_conn *c, int rc);
/* Sends a small complete response (errors, 503 under load). */
int hs_send_simple(hs_conn *c, USHORT status, const char *reason);
void hs_response_free(hs_conn *c);

/* Answers 503 without a worker; the request ends when the send completes. */
void hs_send_busy(hs_conn *c);

/* timeout.c: the request-timeout watchdog, started when some application
 * has a request timeout (its failure is logged, and not fatal), stopped
 * once no request runs; and a request's timeouts from its application. */
int hs_timeout_start(struct sysgi_httpsys *srv);
void hs_timeout_stop(struct sysgi_httpsys *srv);
void hs_timeout_fill(const hs_conn *c, sysgi_request *r);

/* conn life (server.c) */
hs_conn *hs_conn_new(void); /* zeroed, or NULL */
void hs_conn_end(hs_conn *c);

#endif /* SYSGI_HS_H */
