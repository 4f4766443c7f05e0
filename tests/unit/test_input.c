/* test_input.c: wsgi.input. */
#include "test.h"

static const char *body =
    "line one\nline two\n\nlast line without newline";

/* Runs `code` (a Python expression over `inp`, giving bytes/list) and
 * returns the connection; the app answers repr(result). */
static fake_conn *run_input(const char *name, const char *expr, size_t piece) {
  char src[2048];
  snprintf(src, sizeof src,
           "def application(environ, start_response):\n"
           "    inp = environ['wsgi.input']\n"
           "    r = %s\n"
           "    start_response('200 OK', [])\n"
           "    return [repr(r).encode()]\n", expr);
  fake_conn *c = test_conn(name, src, "POST", "/");
  c->body = body;
  c->body_len = strlen(body);
  c->read_piece = piece;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 200);
  return c;
}

TEST_IMPL(input_read) {
  static const size_t pieces[] = {0, 1, 3};
  for (int i = 0; i < 3; i++) {
    size_t p = pieces[i];
    fake_conn *c = run_input("in1", "inp.read()", p);
    ASSERT_STR_EQ(c->out, "b'line one\\nline two\\n\\nlast line without newline'");
    ASSERT_EQ(c->reads_after_eof, 0);
    test_done(c);
    c = run_input("in2", "inp.read(-1)", p);
    ASSERT_STR_EQ(c->out, "b'line one\\nline two\\n\\nlast line without newline'");
    test_done(c);
    c = run_input("in3", "inp.read(None)", p);
    ASSERT_STR_EQ(c->out, "b'line one\\nline two\\n\\nlast line without newline'");
    test_done(c);
    c = run_input("in4", "[inp.read(5), inp.read(0), inp.read(7), inp.read(1000), inp.read(3), inp.read()]", p);
    ASSERT_STR_EQ(c->out, "[b'line ', b'', b'one\\nlin', b'e two\\n\\nlast line without newline', b'', b'']");
    ASSERT_EQ(c->reads_after_eof, 0);
    test_done(c);
  }
  return 0;
}

TEST_IMPL(input_readline) {
  for (size_t p = 0; p < 3; p++) {
    fake_conn *c = run_input("rl1", "[inp.readline(), inp.readline(4), inp.readline(100), inp.readline(), inp.readline(), inp.readline()]", p);
    ASSERT_STR_EQ(c->out, "[b'line one\\n', b'line', b' two\\n', b'\\n', b'last line without newline', b'']");
    ASSERT_EQ(c->reads_after_eof, 0);
    test_done(c);
    c = run_input("rl2", "inp.readlines()", p);
    ASSERT_STR_EQ(c->out, "[b'line one\\n', b'line two\\n', b'\\n', b'last line without newline']");
    test_done(c);
    c = run_input("rl3", "inp.readlines(10)", p);
    ASSERT_STR_EQ(c->out, "[b'line one\\n', b'line two\\n']");
    test_done(c);
    c = run_input("rl4", "list(inp)", p);
    ASSERT_STR_EQ(c->out, "[b'line one\\n', b'line two\\n', b'\\n', b'last line without newline']");
    test_done(c);
    c = run_input("rl5", "[inp.readline(None), inp.read(4), next(iter(inp))]", p);
    ASSERT_STR_EQ(c->out, "[b'line one\\n', b'line', b' two\\n']");
    test_done(c);
  }
  return 0;
}

/* A big body read in one call, in pieces, never past the end. */
TEST_IMPL(input_large) {
  size_t n = 3 * 1024 * 1024 + 17;
  char *big = malloc(n);
  for (size_t i = 0; i < n; i++)
    big[i] = (char)('a' + i % 23);
  const char *src =
      "import hashlib\n"
      "def application(environ, start_response):\n"
      "    inp = environ['wsgi.input']\n"
      "    a = inp.read(1000)\n"
      "    b = inp.read()\n"
      "    start_response('200 OK', [])\n"
      "    return [('%d %s' % (len(a) + len(b), hashlib.sha1(a + b).hexdigest())).encode()]\n";
  fake_conn *c = test_conn("inbig", src, "POST", "/");
  c->body = big;
  c->body_len = n;
  c->read_piece = 100000;
  ASSERT_EQ(fake_run(c), 0);
  /* Compute the expected digest with Python too (same interpreter). */
  fake_conn *d = test_conn("inbig2",
      "import hashlib\n"
      "def application(environ, start_response):\n"
      "    data = bytes((ord('a') + i % 23) for i in range(3 * 1024 * 1024 + 17))\n"
      "    start_response('200 OK', [])\n"
      "    return [('%d %s' % (len(data), hashlib.sha1(data).hexdigest())).encode()]\n",
      "GET", "/");
  ASSERT_EQ(fake_run(d), 0);
  ASSERT_STR_EQ(c->out, d->out);
  ASSERT_EQ(c->reads_after_eof, 0);
  test_done(d);
  test_done(c);
  free(big);
  return 0;
}

/* A failing read raises OSError with a clear message; the app can catch
 * it (here it does not: a 500 and the traceback in the log). */
TEST_IMPL(input_read_error) {
  fake_conn *c = test_conn("inerr",
      "def application(environ, start_response):\n"
      "    try:\n"
      "        environ['wsgi.input'].read()\n"
      "    except OSError as e:\n"
      "        msg = str(e)\n"
      "    start_response('200 OK', [])\n"
      "    return [msg.encode()]\n", "POST", "/");
  c->read_error = 1;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_CONTAINS(c->out, "error reading the request body");
  test_done(c);
  c = test_conn("inerr2",
      "def application(environ, start_response):\n"
      "    environ['wsgi.input'].read(10)\n"
      "    start_response('200 OK', [])\n"
      "    return [b'x']\n", "POST", "/");
  c->read_error = 1;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 500);
  ASSERT_LOG(c, "OSError: error reading the request body");
  test_done(c);
  return 0;
}

/* Used after the request ended: empty, not a crash. */
TEST_IMPL(input_after_request) {
  const char *src =
      "kept = []\n"
      "def application(environ, start_response):\n"
      "    if kept:\n"
      "        r = repr(kept[0].read())\n"
      "    else:\n"
      "        kept.append(environ['wsgi.input'])\n"
      "        r = 'first'\n"
      "    start_response('200 OK', [])\n"
      "    return [r.encode()]\n";
  fake_conn *c = test_conn("inafter", src, "POST", "/");
  c->body = "abc";
  c->body_len = 3;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_STR_EQ(c->out, "first");
  test_done(c);
  c = test_conn("inafter", src, "POST", "/");
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_STR_EQ(c->out, "b''");
  test_done(c);
  return 0;
}

/* Like run_input, with a CONTENT_LENGTH variable (NULL: none). */
static fake_conn *run_input_cl(const char *name, const char *expr,
                               size_t piece, const char *cl) {
  char src[2048];
  snprintf(src, sizeof src,
           "def application(environ, start_response):\n"
           "    inp = environ['wsgi.input']\n"
           "    r = %s\n"
           "    start_response('200 OK', [])\n"
           "    return [repr(r).encode()]\n", expr);
  fake_conn *c = test_conn(name, src, "POST", "/");
  if (cl)
    fake_var(c, "CONTENT_LENGTH", cl);
  c->body = body;
  c->body_len = strlen(body);
  c->read_piece = piece;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 200);
  ASSERT_EQ(c->reads_after_eof, 0);
  return c;
}

/* read(n) and read() straight into the result, across many small front-end
 * reads, with and without CONTENT_LENGTH; mixed with readline(). */
TEST_IMPL(input_read_direct) {
  static const size_t pieces[] = {0, 1, 3, 7};
  char cl[32], cl_long[32];
  snprintf(cl, sizeof cl, "%zu", strlen(body));
  snprintf(cl_long, sizeof cl_long, "%zu", strlen(body) + 100);
  const char *all = "b'line one\\nline two\\n\\nlast line without newline'";
  for (int i = 0; i < 4; i++) {
    size_t p = pieces[i];
    const char *cls[] = {NULL, cl};
    for (int k = 0; k < 2; k++) {
      fake_conn *c = run_input_cl("dr1", "inp.read()", p, cls[k]);
      ASSERT_STR_EQ(c->out, all);
      if (p == 0 && cls[k]) /* known length: one read, no EOF probe */
        ASSERT_EQ(c->reads, 1);
      test_done(c);
      c = run_input_cl("dr2", "inp.read(44)", p, cls[k]);
      ASSERT_STR_EQ(c->out, all);
      test_done(c);
      c = run_input_cl("dr3", "[inp.read(9), inp.read(9), inp.read(1), inp.read()]", p, cls[k]);
      ASSERT_STR_EQ(c->out, "[b'line one\\n', b'line two\\n', b'\\n', b'last line without newline']");
      test_done(c);
      /* readline fills the internal buffer; read() takes what it holds
       * first, then reads the rest directly. */
      c = run_input_cl("dr4", "[inp.readline(), inp.read(12), inp.readline(), inp.read()]", p, cls[k]);
      ASSERT_STR_EQ(c->out, "[b'line one\\n', b'line two\\n\\nla', b'st line without newline', b'']");
      test_done(c);
      c = run_input_cl("dr5", "[inp.read(4), inp.readline(), inp.read(1000), inp.read(5), inp.readline()]", p, cls[k]);
      ASSERT_STR_EQ(c->out, "[b'line', b' one\\n', b'line two\\n\\nlast line without newline', b'', b'']");
      test_done(c);
    }
    /* A short body at EOF: the declared length is longer than what comes. */
    fake_conn *c = run_input_cl("dr6", "inp.read()", p, cl_long);
    ASSERT_STR_EQ(c->out, all);
    test_done(c);
    c = run_input_cl("dr7", "[inp.read(30), inp.read(100), inp.read()]", p, cl_long);
    ASSERT_STR_EQ(c->out, "[b'line one\\nline two\\n\\nlast line w', b'ithout newline', b'']");
    test_done(c);
    /* A shorter declared length: never more than declared. */
    c = run_input_cl("dr8", "[inp.read(), inp.read()]", p, "9");
    ASSERT_STR_EQ(c->out, "[b'line one\\n', b'']");
    test_done(c);
    c = run_input_cl("dr9", "[inp.readline(), inp.read(100)]", p, "13");
    ASSERT_STR_EQ(c->out, "[b'line one\\n', b'line']");
    test_done(c);
    /* A huge size with no length: read through the buffer, no giant
     * allocation. */
    c = run_input_cl("dr10", "inp.read(1 << 40)", p, NULL);
    ASSERT_STR_EQ(c->out, all);
    test_done(c);
    /* A malformed CONTENT_LENGTH is ignored. */
    c = run_input_cl("dr11", "inp.read()", p, "12x");
    ASSERT_STR_EQ(c->out, all);
    test_done(c);
  }
  return 0;
}

/* A read error after some bytes arrived directly: OSError, and the bytes
 * already read are not lost for a later read. */
TEST_IMPL(input_read_direct_error) {
  fake_conn *c = test_conn("drerr",
      "def application(environ, start_response):\n"
      "    inp = environ['wsgi.input']\n"
      "    try:\n"
      "        inp.read(10)\n"
      "        msg = 'no error'\n"
      "    except OSError as e:\n"
      "        msg = str(e)\n"
      "    start_response('200 OK', [])\n"
      "    return [msg.encode()]\n", "POST", "/");
  fake_var(c, "CONTENT_LENGTH", "10");
  c->read_error = 1;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_CONTAINS(c->out, "error reading the request body");
  test_done(c);
  return 0;
}
