/*
 * test_timeout.c: request-timeout and interrupt-timeout (core/src/timeout.c).
 *
 * The tests play the front end's watchdog themselves: they call
 * sysgi_expire_requests() with a `now` of their choosing, so no assertion
 * depends on how fast this machine runs. Applications and the test talk
 * through files in the test's directory (they work across interpreters):
 * an app writes "started-X" when it is where the test wants it, and waits
 * for "go-X" when the test must release it.
 */
#define _GNU_SOURCE
#include "test.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

/* The core's test hook (sysgi_internal.h). */
extern void (*sysgi__expire_hook)(void *ctx);
extern void *sysgi__expire_hook_ctx;

/* ---- the runtime log, captured ------------------------------------------ */

static pthread_mutex_t rt_mu = PTHREAD_MUTEX_INITIALIZER;
static char rt_logs[64][1024];
static int rt_n;

static void rt_log(void *ctx, int level, const char *msg) {
  (void)ctx;
  (void)level;
  pthread_mutex_lock(&rt_mu);
  if (rt_n < 64)
    snprintf(rt_logs[rt_n++], sizeof rt_logs[0], "%s", msg);
  pthread_mutex_unlock(&rt_mu);
  if (getenv("SYSGI_TEST_VERBOSE"))
    fprintf(stderr, "  runtime log %s\n", msg);
}

static int rt_count(const char *needle) {
  int n = 0;
  pthread_mutex_lock(&rt_mu);
  for (int i = 0; i < rt_n; i++)
    n += strstr(rt_logs[i], needle) != NULL;
  pthread_mutex_unlock(&rt_mu);
  return n;
}

static void tmo_runtime(void) {
  if (sysgi_runtime_ready())
    return;
  static const char *path[1];
  path[0] = test_tmpdir();
  sysgi_runtime_config cfg = {.python_path = path,
                              .n_python_path = 1,
                              .dont_write_bytecode = 1,
                              .multithread = 1,
                              .log = rt_log};
  ASSERT_EQ(sysgi_runtime_init(&cfg), 0);
}

static int64_t real_now_us(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- files shared with the apps ------------------------------------------- */

static const char *flag_path(const char *name) {
  static char buf[8][512];
  static int k;
  char *p = buf[k++ % 8];
  snprintf(p, 512, "%s/%s", test_tmpdir(), name);
  return p;
}

static void flag_set(const char *name) {
  FILE *f = fopen(flag_path(name), "w");
  ASSERT(f != NULL);
  fclose(f);
}

/* Waits (60 s at most: a hang fails, slowness does not) for `name`. */
static void flag_wait(const char *name) {
  for (int i = 0; i < 60000; i++) {
    if (access(flag_path(name), F_OK) == 0)
      return;
    usleep(1000);
  }
  fprintf(stderr, "timed out waiting for %s\n", name);
  ASSERT(0);
}

/* The helper the apps import: started(x) and wait_go(x) in Python. */
static void write_helper(void) {
  test_app("tmo_flags",
      "import os, time\n"
      "def path(name):\n"
      "    return os.path.join(os.path.dirname(__file__), name)\n"
      "def started(name):\n"
      "    open(path('started-' + name), 'w').close()\n"
      "def wait_go(name):\n"
      "    while not os.path.exists(path('go-' + name)):\n"
      "        time.sleep(0.001)\n");
}

/* ---- requests on a worker thread ------------------------------------------ */

#define MAX_REQ 4
typedef struct job {
  fake_conn *c[MAX_REQ];
  int rc[MAX_REQ];
  int n;
} job;

static void *job_run(void *arg) {
  job *j = arg;
  for (int i = 0; i < j->n; i++)
    j->rc[i] = fake_run(j->c[i]);
  return NULL;
}

static fake_conn *req(const char *name, const char *src, const char *group,
                      unsigned timeout_ms, unsigned interrupt_ms) {
  tmo_runtime();
  write_helper();
  fake_conn *c = calloc(1, sizeof *c);
  fake_init(c, "GET", "/slow", test_app(name, src));
  fake_var(c, "REQUEST_URI", "/slow?x=1");
  c->req.application_group = group;
  c->req.request_timeout_ms = timeout_ms;
  c->req.interrupt_timeout_ms = interrupt_ms;
  return c;
}

static const char *hello_src =
    "def application(environ, start_response):\n"
    "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
    "    return [b'next']\n";

/* Injects until one request was hit (bounded: 60 s). */
static sysgi_expire_stats expire_until_hit(int64_t now) {
  sysgi_expire_stats st;
  for (int i = 0; i < 60000; i++) {
    ASSERT(sysgi_expire_requests(now, &st) >= 0);
    if (st.injected)
      return st;
    usleep(1000);
  }
  ASSERT(0);
  return st;
}

#define FAR (real_now_us() + 3600LL * 1000000)

/* A busy loop (and a thread serving the next request) in `group`. */
static void busy_loop_504(const char *group, const char *tag) {
  static const char *src =
      "import tmo_flags\n"
      "def application(environ, start_response):\n"
      "    tmo_flags.started(environ['QUERY_STRING'])\n"
      "    n = 0\n"
      "    while True:\n"
      "        n += 1\n";
  job j = {.n = 2};
  j.c[0] = req("busy", src, group, 1000, 0);
  fake_var(j.c[0], "QUERY_STRING", tag);
  j.c[1] = req("next", hello_src, group, 1000, 0);
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, job_run, &j), 0);
  char started[64];
  snprintf(started, sizeof started, "started-%s", tag);
  flag_wait(started);
  sysgi_expire_stats st = expire_until_hit(FAR);
  ASSERT_EQ(st.injected, 1);
  ASSERT_EQ(st.stuck, 0);
  pthread_join(t, NULL);
  fake_conn *c = j.c[0];
  test_current = c;
  ASSERT_EQ(j.rc[0], 0);
  ASSERT_EQ(c->status, 504);
  ASSERT_CONTAINS(c->status_line, "504 Gateway Timeout");
  ASSERT_CONTAINS(c->out, "Gateway Timeout");
  ASSERT_EQ(c->aborted, 0);
  ASSERT_LOG(c, "RequestTimeout");
  ASSERT_LOG(c, "sysgi: request timeout: GET /slow?x=1 of '");
  ASSERT_LOG(c, "answered 504 Gateway Timeout");
  ASSERT(rt_count("RequestTimeout raised in its thread") >= 1);
  /* The same thread serves the next request, untouched. */
  c = j.c[1];
  test_current = c;
  ASSERT_EQ(j.rc[1], 0);
  ASSERT_EQ(c->status, 200);
  ASSERT_STR_EQ(c->out, "next");
  ASSERT_NO_LOG(c, "RequestTimeout");
  ASSERT_EQ(sysgi_expire_requests(FAR, &st), 0);
  ASSERT_EQ(st.in_flight, 0);
  test_done(j.c[0]);
  test_done(j.c[1]);
}

TEST_IMPL(timeout_busy_loop) {
  busy_loop_504("", "busy1");
  ASSERT_EQ(rt_count("RequestTimeout raised in its thread"), 1);
  ASSERT_EQ(rt_count("GET /slow?x=1"), 1);
  return 0;
}

TEST_IMPL(timeout_subinterp) {
  busy_loop_504("tmo-sub", "sub1");
  /* And the main interpreter right after, on another thread. */
  busy_loop_504("", "main1");
  ASSERT_EQ(rt_count("RequestTimeout raised in its thread"), 2);
  return 0;
}

/* `except Exception` does not swallow it; a sleep loop sees it when a
 * sleep returns. */
TEST_IMPL(timeout_catch_exception) {
  static const char *src =
      "import time, tmo_flags, mod_wsgi\n"
      "assert issubclass(mod_wsgi.RequestTimeout, BaseException)\n"
      "assert not issubclass(mod_wsgi.RequestTimeout, Exception)\n"
      "def application(environ, start_response):\n"
      "    tmo_flags.started('catch')\n"
      "    while True:\n"
      "        try:\n"
      "            time.sleep(0.01)\n"
      "        except Exception:\n"
      "            pass\n";
  job j = {.n = 1};
  j.c[0] = req("catch", src, "", 500, 0);
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, job_run, &j), 0);
  flag_wait("started-catch");
  expire_until_hit(FAR);
  pthread_join(t, NULL);
  fake_conn *c = j.c[0];
  test_current = c;
  ASSERT_EQ(c->status, 504);
  ASSERT_LOG(c, "mod_wsgi.RequestTimeout");
  test_done(c);
  return 0;
}

/* After the head: the connection is aborted, the request logged. */
TEST_IMPL(timeout_after_head) {
  static const char *src =
      "import tmo_flags\n"
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
      "    yield b'first'\n"
      "    tmo_flags.started('head')\n"
      "    n = 0\n"
      "    while True:\n"
      "        n += 1\n";
  job j = {.n = 2};
  j.c[0] = req("head", src, "", 1000, 0);
  j.c[1] = req("next", hello_src, "", 0, 0);
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, job_run, &j), 0);
  flag_wait("started-head");
  expire_until_hit(FAR);
  pthread_join(t, NULL);
  fake_conn *c = j.c[0];
  test_current = c;
  ASSERT_EQ(j.rc[0], 0);
  ASSERT_EQ(c->status, 200);
  ASSERT_STR_EQ(c->out, "first");
  ASSERT_EQ(c->aborted, 1);
  ASSERT_LOG(c, "the connection is aborted");
  ASSERT_EQ(rt_count("the response has started"), 1);
  ASSERT_EQ(j.c[1]->status, 200);
  test_done(j.c[0]);
  test_done(j.c[1]);
  return 0;
}

/* ---- the race: the request ends between the check and the injection ---- */

static void race_hook(void *ctx) {
  (void)ctx;
  /* The watchdog has chosen request A. A now ends, and the same thread
   * starts request B in the same interpreter, before the injection. */
  flag_set("go-A");
  flag_wait("started-B");
}

TEST_IMPL(timeout_stale_injection) {
  static const char *src_a =
      "import tmo_flags\n"
      "def application(environ, start_response):\n"
      "    tmo_flags.started('A')\n"
      "    tmo_flags.wait_go('A')\n"
      "    start_response('200 OK', [])\n"
      "    return [b'A']\n";
  static const char *src_b =
      "import tmo_flags\n"
      "def application(environ, start_response):\n"
      "    tmo_flags.started('B')\n"
      "    tmo_flags.wait_go('B')\n"
      "    start_response('200 OK', [])\n"
      "    return [b'B']\n";
  job j = {.n = 2};
  j.c[0] = req("race_a", src_a, "", 1, 0);       /* overdue at once     */
  j.c[1] = req("race_b", src_b, "", 3600000, 0); /* never, in this test */
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, job_run, &j), 0);
  flag_wait("started-A");
  sysgi__expire_hook = race_hook;
  sysgi_expire_stats st;
  /* One minute on: A (1 ms) is overdue, B (1 h) is not. */
  ASSERT_EQ(sysgi_expire_requests(real_now_us() + 60000000LL, &st), 0);
  sysgi__expire_hook = NULL;
  ASSERT_EQ(st.injected, 0);
  flag_set("go-B");
  pthread_join(t, NULL);
  test_current = j.c[0];
  ASSERT_EQ(j.c[0]->status, 200);
  ASSERT_STR_EQ(j.c[0]->out, "A");
  test_current = j.c[1];
  ASSERT_EQ(j.c[1]->status, 200);
  ASSERT_STR_EQ(j.c[1]->out, "B");
  ASSERT_NO_LOG(j.c[1], "RequestTimeout");
  ASSERT_EQ(rt_count("RequestTimeout raised"), 0);
  test_done(j.c[0]);
  test_done(j.c[1]);
  return 0;
}

/* ---- injected while the thread is in C, then the request ends ------------ */

static int (*orig_send_body)(void *, const void *, size_t, sysgi_send_token *);
static int in_send_once;

static int slow_send_body(void *conn, const void *data, size_t len,
                          sysgi_send_token *tok) {
  if (!in_send_once++) {
    /* No GIL, no Python frame running: the watchdog injects now. */
    flag_set("started-send");
    flag_wait("go-send");
  }
  return orig_send_body(conn, data, len, tok);
}

TEST_IMPL(timeout_pending_cleared) {
  /* Over 64 KiB: sent by the iteration, not coalesced; a list's items are
   * taken without running any Python code. */
  static const char *src =
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [])\n"
      "    return [b'x' * 70000, b'y' * 10]\n";
  job j = {.n = 2};
  j.c[0] = req("insend", src, "", 1000, 0);
  j.c[1] = req("next", hello_src, "", 0, 0);
  orig_send_body = j.c[0]->fe.send_body;
  j.c[0]->fe.send_body = slow_send_body;
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, job_run, &j), 0);
  flag_wait("started-send");
  sysgi_expire_stats st;
  ASSERT_EQ(sysgi_expire_requests(FAR, &st), 0);
  ASSERT_EQ(st.injected, 1);
  flag_set("go-send");
  pthread_join(t, NULL);
  fake_conn *c = j.c[0];
  test_current = c;
  ASSERT_EQ(c->status, 200);
  ASSERT_EQ(c->out_len, 70010);
  ASSERT_LOG(c, "returned normally");
  /* Not raised later in the core's own Python code (the request hooks). */
  ASSERT_NO_LOG(c, "mod_wsgi.RequestTimeout");
  ASSERT_NO_LOG(c, "hook failed");
  /* The pending exception did not follow the thread into its next
   * request of that interpreter. */
  c = j.c[1];
  test_current = c;
  ASSERT_EQ(c->status, 200);
  ASSERT_STR_EQ(c->out, "next");
  ASSERT_NO_LOG(c, "RequestTimeout");
  test_done(j.c[0]);
  test_done(j.c[1]);
  return 0;
}

/* ---- interrupt-timeout: a thread that does not unwind ------------------- */

TEST_IMPL(timeout_interrupt_report) {
  static const char *src =
      "import os, time, tmo_flags\n"
      "def application(environ, start_response):\n"
      "    caught = 0\n"
      "    while not os.path.exists(tmo_flags.path('go-stuck')):\n"
      "        try:\n"
      "            # Signalled inside the try: the exception may come at once.\n"
      "            if not os.path.exists(tmo_flags.path('started-stuck')):\n"
      "                tmo_flags.started('stuck')\n"
      "            time.sleep(0.005)\n"
      "        except BaseException:\n"
      "            caught += 1\n"
      "    start_response('200 OK', [])\n"
      "    return [b'caught %d' % caught]\n";
  job j = {.n = 1};
  j.c[0] = req("stuck", src, "tmo-stuck", 1000, 2000);
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, job_run, &j), 0);
  flag_wait("started-stuck");
  int64_t t0 = FAR;
  sysgi_expire_stats st = expire_until_hit(t0);
  ASSERT_EQ(st.stuck, 0);
  ASSERT_EQ(st.in_flight, 1);
  /* 1 s after the injection: within interrupt-timeout (2 s). */
  ASSERT_EQ(sysgi_expire_requests(t0 + 1000000, &st), 0);
  ASSERT_EQ(st.injected, 0);
  ASSERT_EQ(st.stuck, 0);
  /* 3 s after: stuck, reported once. */
  ASSERT_EQ(sysgi_expire_requests(t0 + 3000000, &st), 1);
  ASSERT_EQ(st.stuck, 1);
  ASSERT_EQ(st.newly_stuck, 1);
  ASSERT_EQ(st.injected, 0); /* raised once, not again */
  ASSERT_EQ(sysgi_expire_requests(t0 + 4000000, &st), 1);
  ASSERT_EQ(st.newly_stuck, 0);
  ASSERT_EQ(rt_count("has not unwound"), 1);
  ASSERT_EQ(rt_count("GET /slow?x=1 of '"), 2);
  flag_set("go-stuck");
  pthread_join(t, NULL);
  fake_conn *c = j.c[0];
  test_current = c;
  ASSERT_EQ(c->status, 200);
  ASSERT_STR_EQ(c->out, "caught 1");
  ASSERT_EQ(sysgi_expire_requests(t0 + 5000000, &st), 0);
  ASSERT_EQ(st.in_flight, 0);
  test_done(c);
  return 0;
}

/* No timeout set: never registered, never hit. */
TEST_IMPL(timeout_off) {
  tmo_runtime();
  fake_conn *c = req("off", hello_src, "", 0, 0);
  test_current = c;
  ASSERT_EQ(fake_run(c), 0);
  sysgi_expire_stats st;
  ASSERT_EQ(sysgi_expire_requests(FAR, &st), 0);
  ASSERT_EQ(st.in_flight, 0);
  ASSERT_EQ(st.injected, 0);
  ASSERT_EQ(c->status, 200);
  test_done(c);
  return 0;
}
