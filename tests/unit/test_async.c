/*
 * test_async.c: asynchronous sends. The fake front end keeps the pointers
 * it was given, completes them late (several in flight at once, some from
 * another thread) and compares each buffer with a copy taken at send time:
 * a buffer the core let Python free would have changed (run under
 * PYTHONMALLOC=debug, freed memory is overwritten with 0xDD at once).
 */
#include "test.h"

/* Every chunk is a fresh object nobody else references; the app churns
 * allocations so freed memory gets reused quickly. */
static const char *churn_app =
    "import os\n"
    "def application(environ, start_response):\n"
    "    n = int(environ['QUERY_STRING'] or '200')\n"
    "    start_response('200 OK', [])\n"
    "    for i in range(n):\n"
    "        junk = [bytes([i % 256]) * (100 + i % 50) for _ in range(20)]\n"
    "        yield (('%05d:' % i) + 'x' * (i % 300)).encode()\n"
    "        del junk\n";

static void expect_churn(fake_conn *c, int n) {
  ASSERT_EQ(c->corrupted, 0);
  ASSERT(c->completed > 0);
  /* Check the exact bytes, in order. */
  size_t off = 0;
  for (int i = 0; i < n; i++) {
    char want[400];
    int len = snprintf(want, sizeof want, "%05d:", i);
    for (int k = 0; k < i % 300; k++)
      want[len++] = 'x';
    ASSERT(off + (size_t)len <= c->out_len);
    ASSERT(memcmp(c->out + off, want, (size_t)len) == 0);
    off += (size_t)len;
  }
  ASSERT_EQ(off, c->out_len);
}

TEST_IMPL(async_sends) {
  fake_conn *c = test_conn("churn", churn_app, "GET", "/");
  fake_var(c, "QUERY_STRING", "500");
  c->async = 1;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->wait_calls, 1);
  expect_churn(c, 500);
  test_done(c);
  /* Completed from another thread, without the GIL. */
  c = test_conn("churn", churn_app, "GET", "/");
  fake_var(c, "QUERY_STRING", "300");
  c->async = 1;
  c->async_thread = 1;
  ASSERT_EQ(fake_run(c), 0);
  expect_churn(c, 300);
  test_done(c);
  return 0;
}

/* write() chunks and the 500 page through an async front end. */
TEST_IMPL(async_write_and_error) {
  fake_conn *c = test_conn("awrite",
      "def application(environ, start_response):\n"
      "    w = start_response('200 OK', [])\n"
      "    for i in range(100):\n"
      "        w(('chunk %d;' % i).encode())\n"
      "    return [b'end']\n", "GET", "/");
  c->async = 1;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->corrupted, 0);
  ASSERT(strncmp(c->out, "chunk 0;chunk 1;", 16) == 0);
  ASSERT_CONTAINS(c->out, "chunk 99;end");
  test_done(c);
  c = test_conn("aerr",
      "def application(environ, start_response):\n"
      "    raise ValueError('x')\n", "GET", "/");
  c->async = 1;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 500);
  ASSERT_EQ(c->corrupted, 0);
  ASSERT_CONTAINS(c->out, "Internal Server Error");
  test_done(c);
  return 0;
}

/* A front end whose wait_sends returns while sends are still pending (a
 * bug) and completes them later from another thread. The tokens live in
 * sysgi_handle's frame: it must not return before they are completed, or
 * the late completion writes into a dead stack frame. */
TEST_IMPL(async_late_completion) {
  fake_conn *c = test_conn("late", churn_app, "GET", "/");
  fake_var(c, "QUERY_STRING", "20");
  c->async = 1;
  c->late_complete_ms = 300;
  ASSERT_EQ(fake_run(c), 0);
  int done_at_return = c->late_done;
  if (c->late_started)
    pthread_join(c->late_thread, NULL);
  ASSERT(c->late_started);
  ASSERT(done_at_return);
  ASSERT_LOG(c, "wait_sends returned");
  expect_churn(c, 20);
  test_done(c);
  return 0;
}
