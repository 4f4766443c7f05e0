/* test_errors.c: wsgi.errors. */
#include "test.h"

TEST_IMPL(errors_write) {
  fake_conn *c = test_get("errw",
      "def application(environ, start_response):\n"
      "    e = environ['wsgi.errors']\n"
      "    e.write('first line\\nsecond ')\n"
      "    e.write('line\\n')\n"
      "    e.writelines(['a\\n', 'b', 'c\\n'])\n"
      "    e.write('partial')\n"
      "    e.flush()\n"
      "    e.write('tail without newline')\n"
      "    try:\n"
      "        e.write(b'bytes')\n"
      "        r = 'no error'\n"
      "    except TypeError as x:\n"
      "        r = str(x)\n"
      "    print('via print', file=e)\n"
      "    start_response('200 OK', [])\n"
      "    return [r.encode()]\n");
  ASSERT_STR_EQ(c->out, "write() argument must be str, not bytes");
  int i = fake_log_find(c, "first line");
  ASSERT(i >= 0);
  ASSERT_STR_EQ(c->logs[i], "first line");
  ASSERT_EQ(c->log_level[i], SYSGI_LOG_ERR);
  ASSERT_STR_EQ(c->logs[i + 1], "second line");
  ASSERT_STR_EQ(c->logs[i + 2], "a");
  ASSERT_STR_EQ(c->logs[i + 3], "bc");
  ASSERT_STR_EQ(c->logs[i + 4], "partial");
  /* The partial tail is flushed at the end of the request; print() wrote
   * its text after it. */
  ASSERT_LOG(c, "tail without newlinevia print");
  test_done(c);
  return 0;
}

TEST_IMPL(errors_writelines_bad) {
  fake_conn *c = test_get("errwl",
      "def application(environ, start_response):\n"
      "    try:\n"
      "        environ['wsgi.errors'].writelines(['ok\\n', 3])\n"
      "        r = 'no error'\n"
      "    except TypeError as x:\n"
      "        r = str(x)\n"
      "    start_response('200 OK', [])\n"
      "    return [r.encode()]\n");
  ASSERT_STR_EQ(c->out, "write() argument must be str, not int");
  ASSERT_LOG(c, "ok");
  test_done(c);
  return 0;
}
