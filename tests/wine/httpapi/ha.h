/*
 * ha.h: internals of the test-only httpapi.dll (see api.c for what it is).
 *   api.c       init, sessions, request queues, the kernel32 hooks
 *   urls.c      URL groups, URL parsing, routing
 *   io.c        receive / entity body / send entry points and their checks
 *   complete.c  log and violations, the completer thread, hash and poison,
 *               the HTTP_REQUEST layout
 *   net.c       listening sockets, one thread per connection
 *   parse.c     request heads and bodies (HTTP/1.1 and 1.0)
 *   respond.c   response framing and writing
 *   urlacl.c    HttpSet/Delete/QueryServiceConfiguration (URL ACLs)
 *   timeouts.c  HttpServerTimeoutsProperty, kept and enforced
 *
 * One lock (G.lock) guards every object; connection threads drop it while
 * they touch their socket, a file or the caller's buffers.
 */
#ifndef HA_H
#define HA_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#define HTTPAPI_LINKAGE /* we define the functions; the .def exports them */
#include <http.h>

#include <stdint.h>

#define ST_SUCCESS ((LONG)0)
#define ST_BUFFER_OVERFLOW ((LONG)0x80000005L)
#define ST_END_OF_FILE ((LONG)0xC0000011L)
#define ST_CANCELLED ((LONG)0xC0000120L)
#define ST_CONNECTION_INVALID ((LONG)0xC000023AL)

#define HA_MAX_HEAD (256 * 1024) /* request line + headers */
#define HA_BUF (64 * 1024)

typedef struct ha_queue ha_queue;
typedef struct ha_conn ha_conn;
typedef struct ha_req ha_req;

enum { OP_RECV, OP_BODY, OP_SEND, OP_NOTE /* completes, touches nothing */ };

/* One asynchronous call in flight. */
typedef struct ha_op {
  int kind;
  OVERLAPPED *ov;   /* the caller's, or `sync_ov` for a synchronous call */
  OVERLAPPED sync_ov;
  HANDLE sync_event;
  ha_queue *q;
  ha_req *r;
  void *buf;
  ULONG len, flags;
  /* Sends: the caller's structures (read at write time) and a copy of the
   * chunk descriptors; `hash` covers every byte they reference. */
  HTTP_RESPONSE *resp;
  int first;
  USHORT n_chunks;
  HTTP_DATA_CHUNK *chunks;
  uint64_t hash;
  volatile LONG cancel; /* CancelIoEx while a connection thread runs it */
  LONG status;
  SIZE_T bytes;
  int64_t due_us;
  struct ha_op *next;
} ha_op;

typedef struct ha_url {
  wchar_t *text; /* as registered, for errors and removal */
  int cls;       /* routing class: 0 '+', 1 host name, 2 IPv4 literal, 3 '*' */
  IN_ADDR ip;    /* class 2 */
  char host[256];
  unsigned short port;
  char path[1024]; /* lower-case, ends with '/' */
  HTTP_URL_GROUP_ID group;
  HTTP_URL_CONTEXT ctx;
  struct ha_url *next;
} ha_url;

typedef struct ha_group {
  HTTP_URL_GROUP_ID id;
  HTTP_SERVER_SESSION_ID session;
  ha_queue *queue; /* bound by HttpServerBindingProperty */
  int closed;
  struct ha_group *next;
} ha_group;

struct ha_queue {
  HANDLE handle; /* an overlapped named-pipe end: a real file object */
  HANDLE peer;   /* the other end, never used for I/O */
  HANDLE port;
  ULONG_PTR key;
  int bound, closed, shut;
  ha_req *ready_head, *ready_tail; /* waiting for a receive */
  ha_op *recvs[256];               /* receives waiting for a request */
  int n_recvs;
  struct ha_queue *next;
};

typedef struct ha_listener {
  SOCKET s;
  unsigned short port;
  int any; /* bound to INADDR_ANY */
  volatile LONG stop;
  HANDLE thread;
  struct ha_listener *next;
} ha_listener;

struct ha_conn {
  SOCKET s;
  HTTP_CONNECTION_ID id;
  SOCKADDR_IN local, remote;
  char *buf; /* bytes read and not consumed: buf[off..len) */
  size_t off, len, cap;
  CONDITION_VARIABLE cv;
  ha_op *work_head, *work_tail; /* body reads and sends to run */
  ha_req *cur;
  ha_op *running; /* the op the thread runs outside the lock */
  volatile LONG abort; /* reset the connection (cancel, queue closed) */
  int dead;            /* the socket failed or was closed */
  /* The http.sys timer running on the connection (timeouts.c): an absolute
   * deadline, or a limit on each single wait for the socket (gap). */
  int timer, timed_out;
  int64_t deadline_us, gap_us;
  struct ha_conn *next;
};

enum { R_QUEUED, R_DELIVERING, R_MORE_DATA, R_RECEIVED };

struct ha_req {
  HTTP_REQUEST_ID id;
  ha_conn *c;
  ha_queue *q;
  HTTP_URL_CONTEXT url_ctx;
  /* The parsed head: NUL-terminated copies in `block`. */
  char *block;
  char *method, *raw_url, *host;
  char host_buf[32]; /* HTTP/1.0 without Host: the local address */
  USHORT major, minor;
  char **names, **values;
  size_t n_headers;
  size_t head_bytes;
  /* Request body. */
  int has_body, chunked, body_done, expect_continue, continue_sent;
  int64_t body_left;  /* Content-Length bytes left, or of the current chunk */
  int in_chunk;       /* chunked: inside chunk data */
  unsigned char *pre; /* body bytes copied out by COPY_BODY */
  size_t pre_len;
  size_t pre_off;
  int pre_given;      /* the receive that copied `pre` completed */
  int keep_alive;     /* the client allows another request on the connection */
  int head_only;      /* HEAD */
  /* State machine. */
  int state, head_sent, more_expected, final_sent, send_pending, read_pending;
  int done, cancelled, answered;
  /* Response framing, decided by the first send. */
  int resp_status, resp_chunked, resp_close, resp_no_body;
  int64_t resp_cl, resp_sent;
  ha_req *next_ready;
};

typedef struct ha_globals {
  CRITICAL_SECTION lock, log_lock;
  int started, init_server, init_config;
  HTTP_SERVER_SESSION_ID next_session;
  HTTP_SERVER_SESSION_ID sessions[64];
  int n_sessions;
  ha_group *groups;
  ha_url *urls;
  ha_queue *queues;
  HANDLE closed_handles[256];
  int n_closed;
  ha_listener *listeners;
  ha_conn *conns;
  ha_req **reqs; /* by id - ID_BASE */
  size_t n_reqs, cap_reqs;
  HTTP_CONNECTION_ID next_conn;
  HTTP_TIMEOUT_LIMIT_INFO timeouts; /* HttpServerTimeoutsProperty */
  /* Completer: ops ordered by due time. */
  CONDITION_VARIABLE done_cv;
  ha_op *due_head;
  uint64_t rng;
  int poison_all, trace;
  unsigned max_delay_us; /* completions wait 0..max_delay_us */
  char log_path[MAX_PATH];
  HANDLE log_file;
  LONG(WINAPI *set_completion)(HANDLE, ULONG_PTR, ULONG_PTR, LONG, SIZE_T);
  HANDLE(WINAPI *real_create_port)(HANDLE, HANDLE, ULONG_PTR, DWORD);
  BOOL(WINAPI *real_cancel)(HANDLE, LPOVERLAPPED);
} ha_globals;

extern ha_globals G;

#define ID_BASE ((HTTP_REQUEST_ID)0x4000000000000001ULL)

/* complete.c */
void ha_start(void);
void ha_violation(const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 1, 2)))
#endif
    ;
void ha_trace(const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 1, 2)))
#endif
    ;
void ha_log_line(const char *kind, const char *msg);
/* Schedules the completion of `op` after a random delay (G.lock held). */
void ha_complete_later(ha_op *op, LONG status, SIZE_T bytes);
uint64_t ha_hash_send(const ha_op *op);
size_t ha_layout(ha_req *r, HTTP_REQUEST *buf, size_t len, ULONG flags);
int64_t ha_now_us(void);
void ha_op_free(ha_op *op);

/* api.c */
int ha_session_index(HTTP_SERVER_SESSION_ID id);
ha_queue *ha_find_queue(HANDLE h, const char *fn);
ha_req *ha_find_req(HTTP_REQUEST_ID id);
void ha_hook_imports(void);
/* Hands a routed request to its queue (G.lock held). */
void ha_queue_request(ha_req *r);
/* Aborts every connection with a request on `q` (G.lock held). */
void ha_abort_queue(ha_queue *q);

/* urls.c */
/* Routes a request (G.lock held): sets r->q and r->url_ctx, or returns
 * 400 (unknown host), 404 (no path) or 503 (no queue bound). */
int ha_route(ha_req *r);
ha_group *ha_find_group(HTTP_URL_GROUP_ID id);
/* Removes the group's URLs and binding (G.lock held). */
void ha_close_group(ha_group *g);

/* io.c */
BOOL ha_cancel(ha_queue *q, OVERLAPPED *ov);
/* Completes every receive waiting on `q` as cancelled (G.lock held). */
void ha_cancel_receives(ha_queue *q, OVERLAPPED *ov, int *found);

/* Moves body bytes already read into r->pre for COPY_BODY (G.lock held,
 * the connection thread idle). */
void ha_take_pre(ha_req *r);

/* net.c */
ULONG ha_listen(unsigned short port, int any);
void ha_unlisten_unused(void);
/* Hands `op` to the connection thread of its request (G.lock held). */
void ha_conn_push(ha_conn *c, ha_op *op);
/* Waits until the socket is readable (or writable): 1, or 0 once the
 * connection is aborted or *cancel set. */
int ha_wait_sock(ha_conn *c, int write, volatile LONG *cancel);
/* Reads more bytes into c->buf: 1, 0 at the end of the stream, -1 on an
 * error, abort or cancel. */
int ha_fill(ha_conn *c, volatile LONG *cancel);
/* 0, or -1 (and c->dead) when the connection failed. */
int ha_send_all(ha_conn *c, const char *p, size_t n, volatile LONG *cancel);

/* parse.c */
int ha_has_token(const char *v, const char *tok);
/* The next request head: 0 (with *out), -1 when the connection ends, or
 * the status to answer before closing. */
int ha_read_head(ha_conn *c, ha_req **out);
/* Up to `len` body bytes: >0, 0 at the end, -1 on a failed connection,
 * -2 when cancelled. */
ptrdiff_t ha_read_body(ha_conn *c, ha_req *r, char *out, size_t len,
                       volatile LONG *cancel);
/* Runs a body read (sends 100 Continue first if due); sets op->status. */
void ha_run_body(ha_conn *c, ha_req *r, ha_op *op);

/* respond.c */
void ha_format_date(char *out, size_t cap);
void ha_send_error(ha_conn *c, int status, int close_after);
/* Writes one send (head, body, framing); sets op->status and bytes. */
void ha_run_send(ha_conn *c, ha_req *r, ha_op *op);

/* urlacl.c (uses only its own lock) */

/* timeouts.c */
enum { HA_TO_ENTITY_BODY = 1, HA_TO_DRAIN, HA_TO_IDLE, HA_TO_HEADER,
       HA_TO_MIN_SEND_RATE };
ULONG ha_set_timeouts(const void *info, ULONG len);
/* The configured timer in microseconds, 0 when not set. Takes G.lock. */
int64_t ha_timeout_us(int which);
unsigned long ha_min_send_rate(void);
/* Starts timer `which` on `c` (connection thread, G.lock not held): as a
 * deadline from now, or (per_wait) as a limit on each wait for the socket.
 * Does nothing visible when the timer is not configured. */
void ha_timer_arm(ha_conn *c, int which, int per_wait);
void ha_timer_disarm(ha_conn *c);
/* Records that timer `which` closed `c` (sets c->timed_out, logs). */
void ha_timer_expired(ha_conn *c, int which, const char *detail);

#endif
