/* test_basic.c: a hello-world application end to end. */
#include "test.h"

TEST_IMPL(hello) {
  fake_conn *c = test_get("hello",
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [('Content-Type', 'text/plain'),\n"
      "                              ('Content-Length', '12')])\n"
      "    return [b'Hello world!']\n");
  ASSERT_EQ(c->head_calls, 1);
  ASSERT_EQ(c->status, 200);
  ASSERT_STR_EQ(c->status_line, "200 OK");
  ASSERT_STR_EQ(fake_header(c, "Content-Type"), "text/plain");
  ASSERT_EQ(c->content_length, 12);
  ASSERT_EQ(c->out_len, 12u);
  ASSERT(memcmp(c->out, "Hello world!", 12) == 0);
  ASSERT_EQ(c->n_logs, 0);
  test_done(c);
  return 0;
}
