/*
 * sysgi.h: the contract between the portable WSGI core and a front end
 * (Apache module, http.sys server, or a test double).
 *
 * The core owns everything Python: interpreters, thread states, environ,
 * start_response, the response iterable. A front end owns everything HTTP:
 * it describes one request as plain C data (struct sysgi_request) and hands
 * the core a table of callbacks (struct sysgi_frontend) through which the
 * core sends the response and reads the body. Neither side crosses that
 * line: front ends never include Python.h, the core never includes
 * windows.h, httpd.h or apr.h.
 *
 * Threading: sysgi_handle() may be called from any number of threads at
 * once. Every callback is invoked on the thread that called sysgi_handle(),
 * with the GIL released, so a callback may block; the one exception is the
 * optional try_send_body, which must never block.
 */
#ifndef SYSGI_H
#define SYSGI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors --------------------------------------------------------------
 * Every function that can fail returns 0 (or a positive informational
 * value) on success and one of these negative codes on failure. Platform
 * error numbers are translated to these in exactly one place per front end.
 */
#define SYSGI_OK 0
#define SYSGI_PENDING 1          /* send accepted; buffer still in use      */
#define SYSGI_E_NOMEM (-1)       /* out of memory                           */
#define SYSGI_E_IO (-2)          /* the connection failed during I/O        */
#define SYSGI_E_CLIENT_GONE (-3) /* the client went away                    */
#define SYSGI_E_NOPYTHON (-4)    /* the Python runtime is not available     */
#define SYSGI_E_CONFIG (-5)      /* bad configuration value                 */
#define SYSGI_E_APP (-6)         /* the application failed to load or run   */
#define SYSGI_E_INVAL (-7)       /* invalid argument                        */
#define SYSGI_E_TOO_LARGE (-8)   /* a size limit was exceeded               */
#define SYSGI_E_UNSUPPORTED (-9) /* the front end cannot do this operation  */
#define SYSGI_E_TIMEOUT (-10)    /* an operation timed out                  */
#define SYSGI_E_BUSY (-11)       /* no capacity left (queue/pool saturated) */
/* Added for issue 14: read_body names the cause of a failed read. A front
 * end returns SYSGI_E_TIMEOUT for a stalled body, SYSGI_E_CLIENT_GONE for a
 * client that closed the connection, SYSGI_E_BAD_CHUNK for a malformed
 * chunked body and SYSGI_E_TOO_LARGE for a body over the server's own size
 * limit (Apache's LimitRequestBody); SYSGI_E_IO stays for anything else. */
#define SYSGI_E_BAD_CHUNK (-12)  /* malformed chunked request body          */

/* A short, static, human-readable description of an error code. */
const char *sysgi_strerror(int err);

/* ---- logging ------------------------------------------------------------ */
enum sysgi_log_level {
  SYSGI_LOG_ERR = 0,
  SYSGI_LOG_WARN = 1,
  SYSGI_LOG_INFO = 2,
  SYSGI_LOG_DEBUG = 3
};

/* ---- plain data --------------------------------------------------------- */

/* A name/value pair of NUL-terminated strings (headers, CGI variables). */
typedef struct sysgi_header {
  const char *name;
  const char *value;
} sysgi_header;

/*
 * A send token ties one asynchronous send to the Python object whose memory
 * it reads (CVE-2014-0242: never let a buffer die before the send that reads
 * it has completed). The core owns tokens; a front end that returns
 * SYSGI_PENDING from send_body/send_file must call sysgi_send_complete()
 * exactly once for that token when the operating system no longer reads the
 * buffer. sysgi_send_complete() is thread-safe and needs no GIL.
 */
typedef struct sysgi_send_token sysgi_send_token;
void sysgi_send_complete(sysgi_send_token *token, int result);

/*
 * The callbacks of a front end. `conn` is the front end's own per-request
 * pointer (sysgi_request.conn). All are called with the GIL released (but
 * try_send_body), on the thread that called sysgi_handle().
 */
typedef struct sysgi_frontend {
  /* Sends the status line and the response headers (already validated by
   * the core: token names, latin-1 values, no CR/LF/NUL). `status_line` is
   * "200 OK"; `status` its numeric code. Combined WWW-Authenticate values
   * have already been split into separate headers. Called at most once per
   * request, before any body. `content_length` is the declared length or
   * -1. */
  int (*send_head)(void *conn, int status, const char *status_line,
                   const sysgi_header *headers, size_t n_headers,
                   int64_t content_length);

  /* Sends `len` bytes at `data`. Returns 0 when it no longer needs `data`,
   * SYSGI_PENDING when it keeps reading `data` until it calls
   * sysgi_send_complete(token), or a negative error. */
  int (*send_body)(void *conn, const void *data, size_t len,
                   sysgi_send_token *token);

  /* Sends `len` bytes of a file starting at `offset`. The kernel way
   * (sendfile, TransmitFile, an http.sys file-handle chunk) only when the
   * request's enable_sendfile is nonzero; otherwise in C without it, or
   * not at all (SYSGI_E_UNSUPPORTED). `os_handle` is a file descriptor on
   * POSIX and a HANDLE on Windows; it stays open until the send completes
   * (same token rules as send_body). May be NULL, or return
   * SYSGI_E_UNSUPPORTED, and the core then reads the file through Python
   * (filelike.read(blksize)) in blocks. */
  int (*send_file)(void *conn, intptr_t os_handle, int64_t offset,
                   int64_t len, sysgi_send_token *token);

  /* Blocks until every pending send has completed (or failed). Required if
   * send_body or send_file can return SYSGI_PENDING; may be NULL otherwise.
   * The core calls it before sysgi_handle() returns, on every path; a front
   * end must not call sysgi_send_complete() after that (tokens may live in
   * the core's stack frame). Should it return with sends still pending (a
   * front-end bug), the core logs an error and keeps waiting for their
   * completion rather than return. */
  int (*wait_sends)(void *conn);

  /* Reads up to `len` bytes of the request body into `buf`. Returns the
   * number of bytes read, 0 at the end of the body, or a negative error.
   * The front end de-chunks chunked bodies and never reads past the end. */
  ptrdiff_t (*read_body)(void *conn, void *buf, size_t len);

  /* Nonzero if the client has gone away. May be NULL. */
  int (*client_gone)(void *conn);

  /* Drops the connection after an error that happened once the head was
   * sent (the response cannot be completed honestly). May be NULL. */
  void (*abort)(void *conn);

  /* Writes one line (no trailing newline) to the server's error log. */
  void (*log)(void *conn, int level, const char *msg);

  /* Optional (NULL when there is no TLS layer): back the environ callables
   * mod_ssl.is_https() and mod_ssl.var_lookup(name) of the access and
   * authentication hooks. var_lookup returns a string that stays valid
   * until the request ends, or NULL when the variable is not set. */
  int (*ssl_is_https)(void *conn);
  const char *(*ssl_var_lookup)(void *conn, const char *name);

  /* Optional (may be NULL; then every chunk goes through send_body): the
   * streaming fast path, one GIL hand-off fewer per chunk. Called WITH the
   * GIL held, after the head went out and when no send is pending, so it
   * must not block, call Python or wait for a thread that may wait for
   * Python. It hands `len` bytes at `data` to the OS at once if it can.
   * Returns 0 when all of them are with the OS; SYSGI_PENDING when it kept
   * (copied) what the OS did not take, and the core then calls flush()
   * with the GIL released before the application runs again (PEP 3333: no
   * block is delayed); SYSGI_E_UNSUPPORTED when it took nothing (the core
   * then calls send_body); or another negative error. `data` is not used
   * after it returns. */
  int (*try_send_body)(void *conn, const void *data, size_t len);

  /* Required with try_send_body: blocks until every byte it kept is with
   * the OS. Called with the GIL released. Returns 0 or a negative error. */
  int (*flush)(void *conn);
} sysgi_frontend;

/*
 * One request, described by the front end. All strings are NUL-terminated
 * and must stay valid until sysgi_handle() returns; the core copies what it
 * keeps.
 */
typedef struct sysgi_request {
  /* The CGI variables, already computed by the front end: REQUEST_METHOD,
   * SCRIPT_NAME, PATH_INFO, QUERY_STRING, REQUEST_URI, SERVER_NAME,
   * SERVER_PORT, SERVER_PROTOCOL, REMOTE_ADDR, REMOTE_PORT, HTTP_*,
   * CONTENT_TYPE, CONTENT_LENGTH, and anything else the server sets
   * (DOCUMENT_ROOT, SERVER_SOFTWARE, SetEnv values, "mod_wsgi.*" strings).
   * Values become str in environ, decoded as latin-1, except
   * "apache.version" ("2.4.55"), which becomes mod_wsgi's tuple of ints
   * (2, 4, 55). The core itself adds
   * wsgi.*, the typed mod_wsgi.* keys and removes HTTPS (see the README). */
  const sysgi_header *vars;
  size_t n_vars;

  /* The connection's own scheme, "http" or "https". A variable HTTPS with
   * value "on"/"1"/"yes"/"true" in `vars` overrides it to "https". */
  const char *url_scheme;

  /* When the server accepted the request: microseconds since the epoch. */
  int64_t queue_start_us;

  /* The application: the script file, its modification time in
   * microseconds (0: do not check; a different value than the one the core
   * loaded reloads the script), the application group ("" is the main
   * interpreter, %{GLOBAL}; the front end expands other macros) and the
   * name of the WSGI callable in the script ("application" by default). */
  const char *script_filename;
  int64_t script_mtime_us;
  const char *application_group;
  const char *callable_object;

  /* Process group name ("" when the app runs in-process). */
  const char *process_group;

  /* WSGIEnableSendfile. Nonzero: fe->send_file may use the kernel's
   * zero-copy file send (sendfile, TransmitFile, an http.sys file-handle
   * chunk). Zero: it must not; it may still send the file another way in
   * C (read or map it itself), or return SYSGI_E_UNSUPPORTED and the core
   * reads the file through Python in blocks. Either way the core offers
   * every wsgi.file_wrapper around a regular file to fe->send_file. Also
   * the value of environ['mod_wsgi.enable_sendfile']. */
  int enable_sendfile;

  /* The front end's per-request pointer and callbacks. */
  void *conn;
  const sysgi_frontend *fe;

  /* Added for mod_wsgi's behaviour (issue 13). Nonzero: when the
   * application fails before the head is sent, the core sends nothing and
   * sysgi_handle() returns SYSGI_E_APP, so the front end answers 500 its
   * own way (Apache: its error page, ErrorDocument 500). Zero: the core
   * sends its own 500 page. */
  int error_page_by_frontend;

  /* Added for issue 14: request limits, checked by sysgi_handle() before
   * the application runs (0: no limit). A CONTENT_LENGTH above
   * limit_request_body is answered 413 without calling the application,
   * and a body of unknown length (chunked) that grows past it makes
   * wsgi.input raise OSError naming the limit (413 if the head was not
   * sent). More than limit_request_fields HTTP_* / CONTENT_* variables, or
   * one header ("Name: value", as the application sees it) longer than
   * limit_request_field_size bytes, is answered 431; a request line
   * (METHOD REQUEST_URI SERVER_PROTOCOL) longer than limit_request_line,
   * 414. Each is logged with the number that broke the limit. With
   * error_page_by_frontend, a 413 (declared, or the app let the limit's
   * OSError out before its head) is not sent: sysgi_handle() returns
   * SYSGI_E_TOO_LARGE and the front end answers 413 (Apache: its page,
   * ErrorDocument 413). */
  int64_t limit_request_body;
  unsigned limit_request_fields;
  unsigned limit_request_field_size;
  unsigned limit_request_line;
  /* request-timeout and interrupt-timeout, in milliseconds (0: off). Once
   * the application has run request_timeout_ms, sysgi_expire_requests()
   * raises mod_wsgi.RequestTimeout (a BaseException) in its thread: the
   * response is then 504 Gateway Timeout if its head was not sent (or,
   * with error_page_by_frontend, sysgi_handle() returns SYSGI_E_TIMEOUT
   * and the front end answers 504), else the connection is aborted. A
   * thread still running interrupt_timeout_ms after that is reported as
   * stuck. Only checked while a front end calls sysgi_expire_requests(). */
  unsigned request_timeout_ms;
  unsigned interrupt_timeout_ms;
} sysgi_request;

/*
 * Runs one request through its WSGI application.
 *
 * Returns 0 when a response was produced through `fe` (which may be a 500
 * produced by the core because the application raised before sending its
 * head, or an aborted connection after it). Returns a negative error when
 * nothing at all was sent, and the front end must answer itself:
 * SYSGI_E_NOPYTHON -> 503, SYSGI_E_APP (script missing, failed to import,
 * callable not found) -> 500, SYSGI_E_TOO_LARGE (limit_request_body, with
 * error_page_by_frontend only) -> 413, others -> 500. The cause has been logged
 * through fe->log.
 */
int sysgi_handle(const sysgi_request *req);

/* ---- request-timeout --------------------------------------------------------
 * A front end that supports request-timeout calls this periodically (every
 * quarter second, say) from a watchdog thread of its own, which must not
 * hold the GIL or run requests, and must stop calling it before
 * sysgi_runtime_shutdown(). `now_us`: microseconds since the epoch, 0 for
 * the current time. For each request past its request_timeout_ms it
 * raises RequestTimeout in that request's thread (logged once, through
 * the runtime log, with method, URI, script and elapsed time); a request
 * still running interrupt_timeout_ms after that is stuck (logged once).
 * Fills *st (may be NULL) and returns the number of stuck requests now
 * (>= 0). Thread-safe; takes the GIL only when it raises. */
typedef struct sysgi_expire_stats {
  unsigned injected;    /* RequestTimeout raised by this call           */
  unsigned stuck;       /* requests not unwound after interrupt-timeout */
  unsigned newly_stuck; /* of those, first found stuck by this call     */
  unsigned in_flight;   /* requests with a request timeout running      */
} sysgi_expire_stats;
int sysgi_expire_requests(int64_t now_us, sysgi_expire_stats *st);

/* ---- access and authentication hooks -------------------------------------
 * WSGIAccessScript, WSGIAuthUserScript, WSGIAuthGroupScript: the script in
 * req->script_filename is loaded into req->application_group like an
 * application, and the named function is called with an environ built from
 * req (plus mod_ssl.is_https / mod_ssl.var_lookup when the front end offers
 * them). No response is sent through req->fe; only fe->log is used.
 */

/* allow_access(environ, host): returns 1 (allow), 0 (deny) or a negative
 * error (the front end answers 500). `host` may be NULL (passed as None). */
int sysgi_allow_access(const sysgi_request *req, const char *host);

/* check_password(environ, user, password): returns 1 (True: granted),
 * 0 (False: wrong password), SYSGI_AUTH_NO_USER (None: user unknown) or a
 * negative error. */
#define SYSGI_AUTH_NO_USER 2
int sysgi_check_password(const sysgi_request *req, const char *user,
                         const char *password);
/* WSGIDispatchScript: runs the optional application_group(environ),
 * callable_object(environ) and process_group(environ) of req's script (in
 * req's application group). An override is copied NUL-terminated into
 * group / callable ('' returned by application_group() is "%{GLOBAL}");
 * "" means no override. A process_group() other than ''/None is an error
 * (no daemon groups in-process). 0 or a negative error (logged). */
int sysgi_dispatch(const sysgi_request *req, char *group, size_t group_len,
                   char *callable, size_t callable_len);

/* The same, with mod_wsgi 4.x's third answer: check_password() returning a
 * str grants access (1) and that str (latin-1) becomes the user's name,
 * copied NUL-terminated into user_out (user_out[0] stays '\0' otherwise;
 * a name that does not fit is an error of the script). */
int sysgi_check_password_user(const sysgi_request *req, const char *user,
                              const char *password, char *user_out,
                              size_t user_out_len);

/* groups_for_user(environ, user): on success stores a malloc'ed array of
 * malloc'ed group names in *groups and their count in *n_groups; free it
 * with sysgi_free_groups(). Returns 0 or a negative error. */
int sysgi_groups_for_user(const sysgi_request *req, const char *user,
                          char ***groups, size_t *n_groups);
void sysgi_free_groups(char **groups, size_t n_groups);

/* ---- the runtime --------------------------------------------------------- */

typedef void (*sysgi_log_fn)(void *ctx, int level, const char *msg);

typedef struct sysgi_runtime_config {
  const char *python_home;          /* NULL: the interpreter's default    */
  const char *const *python_path;   /* extra sys.path entries, in order   */
  size_t n_python_path;
  int dont_write_bytecode;          /* sys.dont_write_bytecode = True     */
  int multithread;                  /* wsgi.multithread                   */
  int multiprocess;                 /* wsgi.multiprocess                  */
  const char *server_software;      /* appended to nothing; informational */
  sysgi_log_fn log;                 /* log for messages outside requests  */
  void *log_ctx;
} sysgi_runtime_config;

/* Starts the embedded Python (main interpreter), then releases the GIL.
 * Call once per process, before any sysgi_handle(). Errors are logged
 * through cfg->log and returned. */
int sysgi_runtime_init(const sysgi_runtime_config *cfg);

/* mod_wsgi's WSGIRestrictStdout / WSGIRestrictStdin (default off): with
 * restrict_out, writing to sys.stdout raises OSError; with restrict_in,
 * sys.stdin is replaced by an object whose reads raise OSError. Otherwise
 * sys.stdout and sys.stderr of every interpreter write to the log, one
 * entry per line (the request's log while one runs on the thread). Call
 * before sysgi_runtime_init(). */
void sysgi_runtime_set_stdio(int restrict_out, int restrict_in);

/* What the `mod_wsgi` module reports (mpm_name, maximum_processes,
 * threads_per_process). A non-empty server_version ("2.4.71") also gives
 * every interpreter an `apache` module (version tuple, mpm_name, ...), as
 * under mod_wsgi. Call before sysgi_runtime_init(). */
void sysgi_runtime_set_server_info(const char *mpm_name,
                                   const char *server_version,
                                   int max_processes,
                                   int threads_per_process);

/* Nonzero once sysgi_runtime_init() has succeeded. */
int sysgi_runtime_ready(void);

/* Imports a script into an application group ahead of the first request
 * (WSGIImportScript). Same loading rules as sysgi_handle(). */
int sysgi_import_script(const char *script_filename,
                        const char *application_group);
/* The same, recording the script's modification time `mtime_us` (as the
 * front end will pass it in sysgi_request.script_mtime_us), so that the
 * first request does not import the script a second time. 0: unknown. */
int sysgi_import_script_at(const char *script_filename,
                           const char *application_group, int64_t mtime_us);

/* Ends every sub-interpreter and finalizes Python. Call when no request is
 * running any more. */
void sysgi_runtime_shutdown(void);

/* The version of sysgi, "major.minor.patch". */
const char *sysgi_version(void);

/* "major.minor" of the Python this process runs, read from the Python
 * library at run time (Py_GetVersion), not from the headers sysgi was
 * built with: for a server banner. Callable before sysgi_runtime_init();
 * on Windows only after the loader (sysgi_python_load*) has succeeded.
 * Writes "" if the version cannot be read. */
void sysgi_python_version(char *buf, size_t len);
#define SYSGI_VERSION_MAJOR 0
#define SYSGI_VERSION_MINOR 1
#define SYSGI_VERSION_PATCH 0

#ifdef __cplusplus
}
#endif
#endif /* SYSGI_H */
