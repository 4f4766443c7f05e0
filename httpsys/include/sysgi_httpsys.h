/*
 * sysgi_httpsys.h: the http.sys (HTTP Server API 2.0) front end of sysgi.
 *
 * A server owns one server session, one URL group per URL (Wine accepts
 * only one URL per group; Windows does not mind), one request queue bound
 * to an I/O completion port, a few I/O threads that dispatch completions
 * and a bounded pool of worker threads that run requests through the core.
 * It talks to the core only through sysgi.h.
 */
#ifndef SYSGI_HTTPSYS_H
#define SYSGI_HTTPSYS_H

#include "sysgi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Runs one request: sysgi_handle, or a replacement (a test double, or the
 * "Python is not available" handler of sysgi.exe). */
typedef int (*sysgi_httpsys_handler)(const sysgi_request *req);

/* One application: requests whose path starts with `mount` at a '/'
 * boundary go to it; the longest matching mount wins (sysgi_mount_match of
 * the configuration model), so "/" catches what no other mount takes. */
typedef struct sysgi_httpsys_app {
  const char *mount;             /* "" or "/" for the root, else "/app"     */
  const char *script_filename;   /* passed to the core, and SCRIPT_FILENAME */
  /* The interpreter, with mod_wsgi's macros expanded per request:
   * %{GLOBAL} (or "", NULL: the main interpreter), %{SERVER} (the listen
   * URL's host:port; '+' and '*' become the computer name), %{RESOURCE}
   * (that and "|SCRIPT_NAME"), %{ENV:NAME} (sysgi.exe's environment). */
  const char *application_group;
  const char *callable_object;   /* NULL: "application" */
  int pass_authorization;        /* pass Authorization as HTTP_AUTHORIZATION */
  int enable_sendfile;           /* file_wrapper as file-handle chunks     */
  int script_reloading;          /* reload the script when its file changes */
  /* Added for issue 14: largest request body in bytes (0: no limit),
   * answered 413 by the core (sysgi_request.limit_request_body). */
  int64_t limit_request_body;
  /* request-timeout / interrupt-timeout of this app in ms; 0: the
   * server's (sysgi_httpsys_config). */
  unsigned request_timeout_ms, interrupt_timeout_ms;
} sysgi_httpsys_app;

/* Added for issue 14: the limits of the model's [server] (0: none, or
 * http.sys's own default for the timeouts). Header limits go to the core
 * (sysgi_request.limit_request_*); the timeouts to http.sys through
 * HttpSetServerSessionProperty(HttpServerTimeoutsProperty) (limits.c). */
typedef struct sysgi_httpsys_limits {
  int64_t limit_request_body;   /* the single app of a table-less config */
  unsigned limit_request_fields, limit_request_field_size, limit_request_line;
  unsigned entity_body_s, drain_entity_body_s, header_wait_s,
      idle_connection_s;        /* seconds, at most 65535 (USHORT)         */
  unsigned min_send_rate;       /* bytes per second                       */
} sysgi_httpsys_limits;

typedef struct sysgi_httpsys_config {
  /* URL prefixes in UTF-8, e.g. "http://127.0.0.1:8000/" or
   * "http://+:8080/". Use the strong wildcard '+'. One URL group each. */
  const char *const *urls;
  size_t n_urls;

  /* The applications, copied by sysgi_httpsys_start. A request that no
   * mount matches gets a 404. Mounts compare case-insensitively (as
   * http.sys compares URL prefixes, and mod_wsgi's WSGICaseSensitivity Off)
   * unless case_sensitive_paths is set. */
  const sysgi_httpsys_app *apps;
  size_t n_apps;
  int case_sensitive_paths;

  /* One application without a table (n_apps == 0): these fields, with
   * script reloading on. */
  const char *mount;
  const char *script_filename;
  const char *application_group;
  const char *callable_object;
  int enable_sendfile;
  /* WSGIPassAuthorization: pass the Authorization header to the app as
   * HTTP_AUTHORIZATION. Off by default, as in mod_wsgi. */
  int pass_authorization;

  unsigned threads;     /* worker threads; 0: 8 */
  unsigned max_queued;  /* requests waiting for a worker before 503; 0: 64 */
  unsigned receives;    /* receives kept posted; 0: 4 */
  unsigned shutdown_timeout_ms; /* in-flight grace at stop; 0: 10000 */

  sysgi_httpsys_handler handle; /* NULL: sysgi_handle */

  sysgi_httpsys_limits limits;  /* issue 14; all 0: no limits of our own */
  /* request-timeout / interrupt-timeout in ms (0: off) of every app whose
   * own value is 0. When any is set, a watchdog thread raises the core's
   * RequestTimeout in overdue requests (504, or an aborted response) and
   * calls on_stuck(on_stuck_ctx, n) when requests did not unwind within
   * their interrupt timeout (n: how many are stuck now; called again only
   * when more get stuck). on_stuck NULL: the server logs it. on_stuck runs
   * on the watchdog thread: it must not call sysgi_httpsys_stop itself. */
  unsigned request_timeout_ms, interrupt_timeout_ms;
  void (*on_stuck)(void *ctx, unsigned n_stuck);
  void *on_stuck_ctx;

  /* Server log (thread-safe). May be NULL. */
  sysgi_log_fn log;
  void *log_ctx;

  /* Worker mode (process groups, added for issue 10). Non-NULL: receive on
   * this request queue HANDLE, which the caller got from a controller (by
   * inheritance, or sysgi_httpsys_queue_open by name): no session and no
   * URL group is created, `urls` only name the listen URLs (the index of
   * each is the UrlContext the controller registered, for %{SERVER}), and
   * the queue is never shut down (other workers share it); the handle is
   * closed at stop. A request whose receive completes while the worker
   * drains is served, not refused (it already left the shared queue). */
  void *queue;
  /* mod_wsgi.process_group of every request. NULL: "" (embedded). */
  const char *process_group;
  /* Nonzero: receive at most this many requests, then post no receive
   * (a worker's maximum-requests: the caller stops it once `served` in
   * sysgi_httpsys_counts reaches it). Exact under concurrency: no more
   * receives are posted at any time than requests are left. */
  unsigned long long max_requests;
} sysgi_httpsys_config;

typedef struct sysgi_httpsys sysgi_httpsys;

/* Creates the session, URL groups, request queue and threads and starts
 * receiving. Returns 0 or a negative SYSGI_E_* (the cause is logged). */
int sysgi_httpsys_start(const sysgi_httpsys_config *cfg, sysgi_httpsys **out);

/* Stops receiving, lets in-flight requests finish (up to the shutdown
 * timeout), closes every handle and frees the server. Returns 0, or the
 * number of requests still running in the application after the timeout:
 * then the server (its threads, request queue and memory) is left in place
 * for them, and the caller must not finalize Python; it should exit the
 * process instead. SYSGI_E_TIMEOUT (negative) when no request runs but an
 * I/O operation was still pending after being cancelled, or a thread did
 * not end (logged): the server is left allocated, and the caller should
 * exit the process as well. */
int sysgi_httpsys_stop(sysgi_httpsys *srv);

/* Requests received and not yet finished (*in_flight) and requests
 * received since start (*served); either pointer may be NULL. For the
 * worker's maximum-requests and the supervisor's drain. Thread-safe. */
void sysgi_httpsys_counts(sysgi_httpsys *srv, unsigned long *in_flight,
                          unsigned long long *served);

/* ---- the controller: request queues owned by the service -------------- */

/* One request queue of the controller, with one URL group per URL (Wine:
 * one URL per group) in its own server session. */
typedef struct sysgi_httpsys_queue sysgi_httpsys_queue;

typedef struct sysgi_httpsys_queue_config {
  /* Full URL prefixes ("http://+:8080/app/"), UTF-8, and the UrlContext of
   * each (the index of its listen URL in the workers' `urls`). */
  const char *const *urls;
  const unsigned *url_contexts;
  size_t n_urls;
  /* NULL: an unnamed queue. Else its name (UTF-8), so that workers on
   * Windows 10+ can open it with sysgi_httpsys_queue_open. */
  const char *name;
  int inheritable; /* the handle can be inherited by a worker process */
  /* Added for issue 10: the http.sys timeouts of the queue's session
   * (entity_body_s ... min_send_rate; the request limits are the workers'
   * business). NULL or all 0: http.sys's defaults. */
  const sysgi_httpsys_limits *limits;
  sysgi_log_fn log;
  void *log_ctx;
} sysgi_httpsys_queue_config;

/* Creates the queue and registers its URLs. Returns 0 or a negative
 * SYSGI_E_* (the cause logged); *out is NULL on failure. */
int sysgi_httpsys_queue_create(const sysgi_httpsys_queue_config *qc,
                               sysgi_httpsys_queue **out);
/* The queue's HANDLE (valid until sysgi_httpsys_queue_close). */
void *sysgi_httpsys_queue_handle(const sysgi_httpsys_queue *q);
/* Removes the URLs, shuts the queue down and frees it. NULL is allowed. */
void sysgi_httpsys_queue_close(sysgi_httpsys_queue *q);
/* A worker's way in on Windows 10+: opens the controller's named queue
 * (HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING). Wine has no named
 * queues: there the worker inherits the handle. Returns 0 or SYSGI_E_*. */
int sysgi_httpsys_queue_open(const char *name, void **handle);

/* The one place where a Win32 / HTTP Server API error becomes SYSGI_E_*. */
int sysgi_httpsys_translate_error(unsigned long win32_error);

/* The front end's SERVER_SOFTWARE value. */
#define SYSGI_HTTPSYS_SOFTWARE "sysgi/0.1.0 (http.sys)"

#ifdef __cplusplus
}
#endif
#endif /* SYSGI_HTTPSYS_H */
