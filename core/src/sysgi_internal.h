/*
 * sysgi_internal.h: what the files of the core share. Nothing here is part
 * of the contract with front ends (that is include/sysgi.h).
 *
 * Locking rules, in one place:
 *  - Everything that touches a Python object runs with the GIL held.
 *  - Every front-end callback runs with the GIL released (SYSGI_NOGIL),
 *    except fe->try_send_body, which must never block (see sysgi.h).
 *  - The table of application groups has its own PyThread lock, always
 *    taken WITHOUT the GIL held (lock order: groups lock, then GIL).
 */
#ifndef SYSGI_INTERNAL_H
#define SYSGI_INTERNAL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#include "sysgi.h"

/* PyInterpreterState_Get() is in the Stable ABI from 3.9 on (every 3.8
 * libpython has it too). We build against the 3.8 limited API, which does
 * not declare it, and need it to create a thread state for a
 * sub-interpreter on another thread. */
#if defined(Py_LIMITED_API) && Py_LIMITED_API + 0 < 0x03090000
PyAPI_FUNC(PyInterpreterState *) PyInterpreterState_Get(void);
#endif

/* Runs `stmt` with the GIL released (a front-end callback may block). */
#define SYSGI_NOGIL(stmt)                                                    \
  do {                                                                       \
    PyThreadState *sysgi_save_ = PyEval_SaveThread();                        \
    stmt;                                                                    \
    PyEval_RestoreThread(sysgi_save_);                                       \
  } while (0)

/* ---- interned keys --------------------------------------------------------
 * The environ keys the core sets itself, interned once per interpreter. */
enum sysgi_key {
  K_WSGI_VERSION, K_WSGI_URL_SCHEME, K_WSGI_INPUT, K_WSGI_ERRORS,
  K_WSGI_MULTITHREAD, K_WSGI_MULTIPROCESS, K_WSGI_RUN_ONCE,
  K_WSGI_INPUT_TERMINATED, K_WSGI_FILE_WRAPPER,
  K_MW_VERSION, K_MW_APPLICATION_GROUP, K_MW_CALLABLE_OBJECT,
  K_MW_PROCESS_GROUP, K_MW_SCRIPT_RELOADING, K_MW_ENABLE_SENDFILE,
  K_MW_QUEUE_START, K_MW_REQUEST_START, K_MW_SCRIPT_START, K_MW_THREAD_ID,
  K_MW_THREAD_REQUESTS, K_MW_TOTAL_REQUESTS, K_MW_REQUEST_HANDLER,
  K_MW_HANDLER_SCRIPT, K_MW_IGNORE_ACTIVITY, K_MW_SCRIPT_NAME,
  K_MW_PATH_INFO, K_MW_LISTENER_HOST, K_MW_LISTENER_PORT,
  K_GATEWAY_INTERFACE, K_SCRIPT_FILENAME, K_REQUEST_SCHEME, K_SCRIPT_NAME,
  K_PATH_INFO, K_SERVER_ADDR, K_SERVER_PORT, K_REQUEST_METHOD,
  K_SSL_IS_HTTPS, K_SSL_VAR_LOOKUP,
  K_S_WRITE, K_S_CLOSE, K_S_READ, K_S_FILENO, K_S_TELL,
  K_COUNT
};

/* A small open-addressing cache: CGI variable name (C string) -> interned
 * str, so the common names are not decoded and hashed on every request.
 * Each entry also keeps the last short value seen for that name as a str
 * (str is immutable: the next request with the same value shares it), and
 * a direct-mapped table by name pointer finds the entry without hashing
 * (front ends pass the same literal pointers every request; a hit is
 * still confirmed with strcmp, so a reused pointer is harmless). */
#define SYSGI_KEYCACHE_SIZE 256
#define SYSGI_VALCACHE_LEN 48
typedef struct sysgi_keycache_entry {
  uint32_t hash;
  char *name;
  PyObject *key;
  PyObject *val;                  /* last value, or NULL               */
  char vbuf[SYSGI_VALCACHE_LEN];  /* its bytes, NUL-terminated         */
} sysgi_keycache_entry;
typedef struct sysgi_keyptr_entry {
  const char *ptr;
  sysgi_keycache_entry *e;
} sysgi_keyptr_entry;

/* ---- one interpreter (application group) ---------------------------------
 * Created on first use; lives until sysgi_runtime_shutdown(). Every field
 * that is a Python object belongs to this interpreter only. */
typedef struct sysgi_interp {
  char *name;                   /* "" for the main interpreter        */
  PyInterpreterState *interp;
  PyThreadState *creator;       /* Py_NewInterpreter's (NULL: main)    */
  PyThread_type_lock load_lock; /* serialises script (re)loading       */
  struct sysgi_interp *next;

  PyObject *input_type, *errors_type, *file_wrapper_type, *responder_type,
      *ssl_fn_type;
  PyObject *keys[K_COUNT];
  PyObject *base_environ;       /* the constant part of every environ  */
  PyObject *scripts;            /* path -> (module, mtime_us)          */
  PyObject *format_exception;   /* traceback.format_exception          */
  PyObject *builtins;           /* the builtins module                 */
  sysgi_keycache_entry keycache[SYSGI_KEYCACHE_SIZE];
  size_t keycache_used;
  sysgi_keyptr_entry keyptr[SYSGI_KEYCACHE_SIZE];
  /* the mod_wsgi module's per-request hooks (modwsgi_module.c) */
  PyObject *mw_started, *mw_finished, *mw_subscribers, *mw_response;
  PyObject *timeout_exc;        /* mod_wsgi.RequestTimeout (timeout.c)   */
} sysgi_interp;

/* ---- send tokens ---------------------------------------------------------- */
struct sysgi_send_token {
  atomic_int done;   /* set (release) by sysgi_send_complete()          */
  int result;        /* written before `done`                           */
  PyObject *obj;     /* keeps the buffer (or file) alive; may be NULL    */
  struct sysgi_send_token *next;
  int heap;          /* malloc'ed (not from the request's inline pool)  */
};

#define SYSGI_TOKEN_POOL 16

/* ---- request-local memory -------------------------------------------------
 * A bump allocator: an inline buffer, then malloc'ed blocks freed at the end
 * of the request. Status and headers live here (never inside a Python
 * object: CVE-2014-0242). */
typedef struct sysgi_arena_block {
  struct sysgi_arena_block *next;
  size_t used, cap;
  char data[];
} sysgi_arena_block;

typedef struct sysgi_arena {
  char inline_buf[2048];
  size_t inline_used;
  sysgi_arena_block *blocks;
} sysgi_arena;

void *sysgi_arena_alloc(sysgi_arena *a, size_t n);
void sysgi_arena_reset(sysgi_arena *a);

/* ---- request-timeout (timeout.c) -----------------------------------------
 * A request's entry in the registry of requests in flight. Lives in the
 * request's sysgi_req; linked (under the registry's lock) only while the
 * application runs. */
typedef struct sysgi_tmo_entry {
  struct sysgi_tmo_entry *prev, *next;
  uint64_t gen;                 /* unique per request                   */
  int state;                    /* idle, running, injected              */
  int reported;                 /* stuck: logged once                   */
  unsigned long thread_id;      /* the request's Python thread id       */
  struct sysgi_interp *ip;
  int64_t start_us, timeout_us, interrupt_us, injected_us;
  atomic_int head_sent;
  char method[16], uri[256], app[256];
} sysgi_tmo_entry;

/* ---- one request in flight ------------------------------------------------ */
typedef struct sysgi_req {
  const sysgi_request *r;
  sysgi_interp *ip;
  int is_head;
  /* The thread running sysgi_handle(): front-end callbacks may only be
   * invoked on it (sysgi.h), so Python objects used from other threads
   * (an app's background thread) must not reach the front end. */
  unsigned long owner;

  /* start_response() state */
  int started;               /* start_response() succeeded              */
  int head_sent;
  int status;
  const char *status_line;   /* in arena                                */
  sysgi_header *headers;     /* in arena                                */
  size_t n_headers;
  int64_t content_length;    /* declared, or -1                         */
  sysgi_arena arena;

  /* body state */
  int64_t body_sent;
  int truncated;             /* stopped at the declared Content-Length  */
  int send_failed;           /* the client went away / I/O error        */
  int short_body;            /* fewer bytes than the Content-Length: the
                                connection must close (no response
                                splitting on keep-alive)                */
  int failed_early;          /* failed before the head; the front end
                                answers (error_page_by_frontend)        */
  int body_too_large;        /* wsgi.input hit limit_request_body: a
                                failure before the head is a 413        */

  /* A response sent only once the interpreter has been left (one GIL
   * acquisition per request): the head, and the body of a small list or
   * tuple copied into C memory (malloc'ed, after a token, see response.c). */
  int deferred;
  struct sysgi_deferred *deferred_body; /* NULL: head only               */

  /* tokens */
  struct sysgi_send_token pool[SYSGI_TOKEN_POOL];
  struct sysgi_send_token *free_tokens;
  struct sysgi_send_token *inflight;

  /* Python objects handed to the app (invalidated at the end) */
  PyObject *responder, *input, *errors;

  /* request-timeout (timeout.c) */
  sysgi_tmo_entry tmo;
  int timed_out;             /* RequestTimeout was raised in it         */
} sysgi_req;

/* ---- runtime (runtime.c) -------------------------------------------------- */
typedef struct sysgi_runtime {
  atomic_int ready;
  unsigned generation;       /* bumped at every init: stale thread tables */
  int multithread, multiprocess;
  sysgi_log_fn log;
  void *log_ctx;
  PyThreadState *init_tstate;
  atomic_llong total_requests;
  atomic_int thread_ids;
  /* Applied to every interpreter, main and sub (sysgi_runtime_setup_sys). */
  char **python_path;
  size_t n_python_path;
  int dont_write_bytecode;
  char venv_site[1024];      /* a virtualenv's site-packages, or ""      */
  char venv_prefix[1024];    /* that virtualenv's directory, or ""       */
} sysgi_runtime;
extern sysgi_runtime sysgi_rt;

int64_t sysgi_now_us(void);

/* Applies python-path, dont-write-bytecode and a virtualenv's
 * site-packages to the current interpreter's sys. */
int sysgi_runtime_setup_sys(void);

/* pyhome.c: checks python_home (a base installation or a virtual
 * environment) before Python starts; fills the base prefix to hand to
 * Py_SetPythonHome and the venv's site-packages ("" if none). */
int sysgi_pyhome_resolve(const char *home, char *base, size_t base_len,
                         char *site, size_t site_len);

/* ---- logging (log.c) ------------------------------------------------------
 * `rq` may be NULL: the runtime log is used. The _nogil variants are for
 * code that does not hold the GIL; the others release it around fe->log. */
void sysgi_log(sysgi_req *rq, int level, const char *fmt, ...);

/* linebuf.c: text written to a log object (wsgi.errors, sys.stdout,
 * sys.stderr) becomes one error-log entry per line, through the log of `r`
 * (NULL: the runtime log). A partial line waits for its newline or a
 * flush. write: `s` must be a str (else TypeError); 0 or -1 (Python error
 * set). The caller holds the GIL; it is released while lines are logged. */
typedef struct sysgi__linebuf {
  char *buf;
  size_t len, cap;
} sysgi__linebuf;
int sysgi__linebuf_write(sysgi__linebuf *lb, PyObject *s,
                         const sysgi_request *r);
void sysgi__linebuf_flush(sysgi__linebuf *lb, const sysgi_request *r);
void sysgi__linebuf_free(sysgi__linebuf *lb);

/* stdio_log.c: sys.stdout/sys.stderr (and a restricted sys.stdin) of the
 * current interpreter as error-log objects, sys.argv = ['mod_wsgi'].
 * 0 or -1 (Python error set). */
int sysgi__stdio_install(void);
/* modwsgi_module.c: sys.modules['mod_wsgi'] (and 'apache') of `ip`'s
 * interpreter; 0 or -1 (Python error set). */
int sysgi__modwsgi_install(struct sysgi_interp *ip);
/* mod_wsgi's 'response_started' event, published only when an
 * application subscribed (one list size check otherwise). 0 or -1. */
int sysgi__modwsgi_response_started(struct sysgi_req *rq, PyObject *status,
                                    PyObject *headers, PyObject *exc_info);
/* Calls ip->mw_started / mw_finished with the environ (errors logged). */
void sysgi__modwsgi_call(struct sysgi_req *rq, PyObject *fn, PyObject *env);
/* The request running on this thread, for what sys.stdout/stderr log;
 * returns the previous one (restore it after). */
const sysgi_request *sysgi__stdio_set_request(const sysgi_request *r);
void sysgi_log_nogil(const sysgi_request *r, int level, const char *fmt, ...);

/* ---- request limits (limits.c) -------------------------------------------- */
/* Checks r's limit_request_* before anything runs (no GIL needed). Returns
 * 0, or the HTTP status to answer (413, 414, 431) after logging the cause. */
int sysgi__limits_check(const sysgi_request *r);
/* The status line and HTML body of an error page the core answers itself
 * (413, 414, 431, else 500). */
const char *sysgi__status_page(int status, const char **status_line);
/* Logs `what`, then the current Python exception with its traceback, one
 * line per log entry, and clears it. */
void sysgi_log_exception(sysgi_req *rq, const char *what);

/* ---- interpreters and thread states (interp.c) --------------------------- */
/* Enters the interpreter of `group` on this thread (GIL held on success). */
int sysgi_interp_enter(const char *group, sysgi_interp **ip,
                       const sysgi_request *r_for_log);
void sysgi_interp_leave(void);
int sysgi_interp_init_main(void);
/* Ends every sub-interpreter; returns with the main interpreter's GIL
 * held. -1: one could not be ended (threads of its own still run), and
 * Python must not be finalized. */
int sysgi_interp_shutdown_all(void);
int sysgi_thread_id(void);
long sysgi_thread_count_request(void);
/* Sets up types, keys and caches of the current interpreter. */
int sysgi_interp_setup(sysgi_interp *ip);

/* ---- scripts (script.c) --------------------------------------------------- */
/* Returns a new reference to attribute `name` of the script's module
 * (loading or reloading it as needed), or NULL with the cause logged and
 * no exception set. A failed (re)load caches nothing: the next call loads
 * again. */
PyObject *sysgi_script_get(sysgi_interp *ip, sysgi_req *rq, const char *path,
                           int64_t mtime_us, const char *name);

/* ---- environ (environ.c) -------------------------------------------------- */
int sysgi_environ_setup(sysgi_interp *ip);
PyObject *sysgi_environ_build(sysgi_req *rq);
PyObject *sysgi_key(sysgi_interp *ip, const char *name);
/* sysgi_key, and the cache entry of `name` in *e (NULL: not cached). */
PyObject *sysgi_key_entry(sysgi_interp *ip, const char *name,
                          sysgi_keycache_entry **e);

/* ---- types: created per interpreter ------------------------------------- */
PyObject *sysgi_input_type_new(void);
PyObject *sysgi_input_new(sysgi_req *rq);
void sysgi_input_detach(PyObject *input);

PyObject *sysgi_errors_type_new(void);
PyObject *sysgi_errors_new(sysgi_req *rq);
void sysgi_errors_detach(PyObject *errors); /* flushes, then detaches */

PyObject *sysgi_file_wrapper_type_new(void);
/* For the driver: the wrapped file-like object (borrowed) if `obj` is one
 * of ours. */
PyObject *sysgi_file_wrapper_filelike(sysgi_interp *ip, PyObject *obj);

PyObject *sysgi_responder_type_new(void);
PyObject *sysgi_responder_new(sysgi_req *rq);
void sysgi_responder_detach(PyObject *responder);

PyObject *sysgi_ssl_fn_type_new(void);
PyObject *sysgi_ssl_fn_new(sysgi_interp *ip, const sysgi_request *r,
                           int kind);

/* ---- headers (headers.c) -------------------------------------------------- */
/* Validates status and headers (raising TypeError/ValueError with a clear
 * message) and copies them into rq's arena, splitting WWW-Authenticate. */
int sysgi_headers_copy(sysgi_req *rq, PyObject *status, PyObject *headers);
/* Number of challenges in a WWW-Authenticate value, and their bounds. */
size_t sysgi_split_www_authenticate(const char *v, size_t len,
                                    size_t (*spans)[2], size_t max);

/* Nonzero (and a RuntimeError set) when the calling thread is not the
 * request's own thread. */
int sysgi_foreign_thread(sysgi_req *rq, const char *what);

/* ---- response (response.c) ----------------------------------------------- */
int sysgi_send_head(sysgi_req *rq);
/* Sends bytes `obj` (data/len inside it). Returns 0, or negative when the
 * client is gone (rq->send_failed) ; sets rq->truncated at the limit. */
int sysgi_send_bytes(sysgi_req *rq, PyObject *obj, const char *data,
                     Py_ssize_t len);
void sysgi_tokens_reap(sysgi_req *rq);

/* ---- request-timeout (timeout.c) ---------------------------------------- */
/* With the GIL held in rq's interpreter: registers rq (when its request
 * has a request timeout). 0, or SYSGI_E_NOMEM (logged; no timeout). */
int sysgi__timeout_begin(sysgi_req *rq);
/* With the GIL held: takes rq out of the registry and clears a
 * RequestTimeout injected but not raised yet. 1 when one was injected
 * into this request, else 0. Idempotent. */
int sysgi__timeout_end(sysgi_req *rq);
/* The head went out (any thread state, no GIL needed). */
void sysgi__timeout_head_sent(sysgi_req *rq);
/* Seconds since sysgi__timeout_begin(). */
double sysgi__timeout_elapsed(const sysgi_req *rq);
/* Tests only: called by sysgi_expire_requests() between choosing the
 * overdue requests and raising the exception (no lock, no GIL held). */
extern void (*sysgi__expire_hook)(void *ctx);
extern void *sysgi__expire_hook_ctx;

#endif /* SYSGI_INTERNAL_H */
