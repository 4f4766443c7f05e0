/*
 * fake_frontend.h: a test double of a front end. It records what the core
 * sends (head, headers, body bytes, log lines), serves a canned request body
 * (optionally in tiny pieces), can pretend the client went away, and can
 * complete sends asynchronously, checking at completion time that every
 * buffer still holds exactly the bytes it held when it was handed over.
 */
#ifndef FAKE_FRONTEND_H
#define FAKE_FRONTEND_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sysgi.h"

#define FAKE_MAX_HEADERS 128
#define FAKE_MAX_LOGS 512
#define FAKE_MAX_PENDING 4096
#define FAKE_MAX_VARS 64

typedef struct fake_pending {
  const void *data;   /* NULL for a file send */
  size_t len;
  char *copy;         /* the bytes at send time */
  sysgi_send_token *token;
  intptr_t fd;        /* file sends */
  int64_t off;
} fake_pending;

typedef struct fake_conn {
  /* ---- behaviour (set by the test) ---- */
  const char *body;        /* request body served by read_body */
  size_t body_len;
  size_t read_piece;       /* max bytes per read_body call (0: any)   */
  int read_error;          /* read_body fails: with this SYSGI_E_* code
                              when negative, else with SYSGI_E_IO      */
  int gone_after;          /* >0: send_body fails after N sends        */
  int async;               /* send_body/send_file return SYSGI_PENDING */
  int async_thread;        /* complete pending sends from another thread */
  int file_unsupported;    /* send_file returns SYSGI_E_UNSUPPORTED    */
  int no_send_file;        /* fe.send_file is NULL                     */
  int ssl;                 /* ssl callbacks present; is_https value    */
  int quiet;               /* do not echo log lines to stderr          */
  int try_mode;            /* fe.try_send_body: 0 absent, 1 takes all,
                              2 keeps each chunk (flush needed),
                              3 declines (SYSGI_E_UNSUPPORTED)         */
  int late_complete_ms;    /* a buggy front end: wait_sends returns at
                              once; a thread completes the pending sends
                              this many ms later (late_done then 1)    */

  /* ---- recordings ---- */
  int head_calls;
  int status;
  char status_line[256];
  int n_headers;
  char *hname[FAKE_MAX_HEADERS], *hvalue[FAKE_MAX_HEADERS];
  int64_t content_length;
  char *out;               /* body bytes received, in order */
  size_t out_len, out_cap;
  int body_calls;
  int body_before_head;    /* protocol violations seen */
  int file_calls;
  intptr_t file_fd;
  int64_t file_off, file_len;
  int reads, reads_after_eof, eof_seen;
  size_t body_pos;
  int aborted;
  int wait_calls;
  int completed;           /* async sends completed */
  volatile int late_done;  /* the late completer has completed them   */
  int late_started;
  pthread_t late_thread;
  int try_calls, flush_calls;
  int held;                /* try_send_body kept bytes, not flushed yet */
  int held_violations;     /* a send came while bytes were still kept   */
  int corrupted;           /* async buffers changed before completion */
  int gil_held;            /* callbacks entered with the GIL held      */
  const char *gil_where;
  char *logs[FAKE_MAX_LOGS];
  int log_level[FAKE_MAX_LOGS];
  int n_logs;
  fake_pending pend[FAKE_MAX_PENDING];
  int n_pend;
  pthread_mutex_t mu;

  /* ---- the request ---- */
  sysgi_header vars[FAKE_MAX_VARS];
  int n_vars;
  sysgi_frontend fe;
  sysgi_request req;
} fake_conn;

/* Sets up a GET of `path` for `script` (group "" unless changed). */
void fake_init(fake_conn *c, const char *method, const char *path,
               const char *script);
void fake_var(fake_conn *c, const char *name, const char *value);
void fake_free(fake_conn *c);
/* Runs the request; returns sysgi_handle()'s result. */
int fake_run(fake_conn *c);
/* Fills c->req (vars, fe, conn) without running: for the hooks. */
void fake_run_prepare(fake_conn *c);

const char *fake_header(const fake_conn *c, const char *name);
int fake_header_count(const fake_conn *c, const char *name);
/* Index of the first log line containing `needle`, or -1. */
int fake_log_find(const fake_conn *c, const char *needle);
void fake_dump(const fake_conn *c);

#endif
