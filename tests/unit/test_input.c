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

/* ---- issue 14: bounded allocation, limits, named read errors ------------ */
extern size_t sysgi__input_largest_alloc;

/* A CONTENT_LENGTH of 4 GB with 10 bytes behind it, and read(2**40): the
 * 10 bytes come back and nothing near the declared size is allocated,
 * neither by Python (tracemalloc's peak) nor in C (the input's largest
 * buffer). The old code allocated the declared length up front. */
TEST_IMPL(input_bounded_alloc) {
  const char *src =
      "import tracemalloc\n"
      "def application(environ, start_response):\n"
      "    inp = environ['wsgi.input']\n"
      "    tracemalloc.start()\n"
      "    try:\n"
      "        a = inp.read(3)\n"
      "        b = inp.read(1 << 40)\n"
      "        c = inp.read()\n"
      "        peak = tracemalloc.get_traced_memory()[1]\n"
      "    finally:\n"
      "        tracemalloc.stop()\n"
      "    start_response('200 OK', [])\n"
      "    return [repr((a, b, c, peak < (1 << 20))).encode()]\n";
  static const size_t pieces[] = {0, 3};
  for (int i = 0; i < 2; i++) {
    sysgi__input_largest_alloc = 0;
    fake_conn *c = test_conn("inbound", src, "POST", "/");
    fake_var(c, "CONTENT_LENGTH", "4294967296");
    c->body = "0123456789";
    c->body_len = 10;
    c->read_piece = pieces[i];
    ASSERT_EQ(fake_run(c), 0);
    ASSERT_EQ(c->status, 200);
    ASSERT_STR_EQ(c->out, "(b'012', b'3456789', b'', True)");
    ASSERT(sysgi__input_largest_alloc <= (size_t)1 << 20);
    test_done(c);
  }
  /* A big body still arrives whole through the growing buffer. */
  size_t n = 5 * 1024 * 1024 + 3;
  char *big = malloc(n), cl[32];
  for (size_t i = 0; i < n; i++)
    big[i] = (char)('a' + i % 7);
  snprintf(cl, sizeof cl, "%zu", n);
  fake_conn *c = test_conn("inbound2",
      "def application(environ, start_response):\n"
      "    d = environ['wsgi.input'].read()\n"
      "    ok = d == bytes((97 + i % 7) for i in range(len(d)))\n"
      "    start_response('200 OK', [])\n"
      "    return [repr((len(d), ok)).encode()]\n", "POST", "/");
  fake_var(c, "CONTENT_LENGTH", cl);
  c->body = big;
  c->body_len = n;
  c->read_piece = 100000;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_STR_EQ(c->out, "(5242883, True)");
  test_done(c);
  free(big);
  return 0;
}

static const char *catch_app =
    "def application(environ, start_response):\n"
    "    try:\n"
    "        environ['wsgi.input'].read()\n"
    "        msg = 'no error'\n"
    "    except IOError as e:\n"
    "        msg = str(e)\n"
    "    start_response('200 OK', [])\n"
    "    return [msg.encode()]\n";

/* Each cause of a failed read is named in the OSError and in the log. */
TEST_IMPL(input_error_causes) {
  static const struct { int err; const char *text; } cases[] = {
      {SYSGI_E_TIMEOUT, "timeout"},
      {SYSGI_E_CLIENT_GONE, "client closed the connection"},
      {SYSGI_E_BAD_CHUNK, "bad chunk"},
      {SYSGI_E_IO, "I/O error on the connection"}};
  for (int i = 0; i < 4; i++) {
    fake_conn *c = test_conn("incause", catch_app, "POST", "/");
    c->read_error = cases[i].err;
    ASSERT_EQ(fake_run(c), 0);
    ASSERT_CONTAINS(c->out, "error reading the request body (wsgi.input): ");
    ASSERT_CONTAINS(c->out, cases[i].text);
    ASSERT_LOG(c, "reading the request body of");
    ASSERT_LOG(c, cases[i].text);
    test_done(c);
  }
  return 0;
}

/* limit_request_body: a declared length over it is a 413 without running
 * the app; a body of unknown length that grows past it raises OSError
 * naming the limit (413 when the app lets it out); at the limit is fine. */
TEST_IMPL(input_body_limit) {
  char body100[101];
  memset(body100, 'x', 100);
  body100[100] = '\0';
  fake_conn *c = test_conn("inlim1",
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [])\n"
      "    return [b'app ran']\n", "POST", "/");
  fake_var(c, "CONTENT_LENGTH", "100");
  c->body = body100;
  c->body_len = 100;
  c->req.limit_request_body = 50;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 413);
  ASSERT(strstr(c->out, "app ran") == NULL);
  ASSERT_LOG(c, "larger than limit-request-body 50: 413");
  ASSERT_EQ(c->reads, 0);
  test_done(c);
  /* A front end with its own error pages (Apache) answers the 413. */
  c = test_conn("inlim1b",
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [])\n"
      "    return [b'app ran']\n", "POST", "/");
  fake_var(c, "CONTENT_LENGTH", "100");
  c->req.limit_request_body = 50;
  c->req.error_page_by_frontend = 1;
  ASSERT_EQ(fake_run(c), SYSGI_E_TOO_LARGE);
  ASSERT_EQ(c->head_calls, 0);
  test_done(c);
  c = test_conn("inlim1c",
      "def application(environ, start_response):\n"
      "    environ['wsgi.input'].read()\n"
      "    start_response('200 OK', [])\n"
      "    return [b'app ran']\n", "POST", "/");
  c->body = body100;
  c->body_len = 100;
  c->req.limit_request_body = 50;
  c->req.error_page_by_frontend = 1;
  ASSERT_EQ(fake_run(c), SYSGI_E_TOO_LARGE);
  ASSERT_EQ(c->head_calls, 0);
  test_done(c);
  static const size_t pieces[] = {0, 7};
  for (int i = 0; i < 2; i++) {
    c = test_conn("inlim2", catch_app, "POST", "/");
    c->body = body100;
    c->body_len = 100;
    c->read_piece = pieces[i];
    c->req.limit_request_body = 50;
    ASSERT_EQ(fake_run(c), 0);
    ASSERT_EQ(c->status, 200);
    ASSERT_STR_EQ(c->out, "error reading the request body (wsgi.input): "
                          "request body larger than limit-request-body 50");
    ASSERT(c->body_pos <= 51);
    test_done(c);
  }
  c = test_conn("inlim3",
      "def application(environ, start_response):\n"
      "    environ['wsgi.input'].readline()\n"
      "    start_response('200 OK', [])\n"
      "    return [b'x']\n", "POST", "/");
  c->body = body100;
  c->body_len = 100;
  c->req.limit_request_body = 50;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 413);
  ASSERT_LOG(c, "limit-request-body 50");
  test_done(c);
  c = test_conn("inlim4", catch_app, "POST", "/");
  c->body = body100;
  c->body_len = 100;
  c->req.limit_request_body = 100;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_STR_EQ(c->out, "no error");
  test_done(c);
  return 0;
}

/* Header count and size, and the request line: 431 / 414 before the app. */
TEST_IMPL(input_header_limits) {
  static const char *app =
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [])\n"
      "    return [b'app ran']\n";
  fake_conn *c = test_conn("hlim1", app, "GET", "/");
  fake_var(c, "HTTP_A", "1");
  fake_var(c, "HTTP_B", "2");
  fake_var(c, "HTTP_C", "3");
  c->req.limit_request_fields = 4; /* with the fake's HTTP_HOST */
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 200);
  test_done(c);
  c = test_conn("hlim2", app, "GET", "/");
  fake_var(c, "HTTP_A", "1");
  fake_var(c, "HTTP_B", "2");
  fake_var(c, "HTTP_C", "3");
  fake_var(c, "CONTENT_TYPE", "text/plain");
  c->req.limit_request_fields = 4;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 431);
  ASSERT_LOG(c, "5 request header fields are more than "
                "limit-request-fields 4");
  test_done(c);
  c = test_conn("hlim3", app, "GET", "/");
  /* "X_BIG: " and 30 bytes: 37 (the fake's HOST header has 20) */
  fake_var(c, "HTTP_X_BIG", "012345678901234567890123456789");
  c->req.limit_request_field_size = 36;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 431);
  ASSERT_LOG(c, "request header X_BIG of 37 bytes is larger than "
                "limit-request-field-size 36");
  test_done(c);
  c = test_conn("hlim4", app, "GET", "/");
  fake_var(c, "HTTP_X_BIG", "012345678901234567890123456789");
  c->req.limit_request_field_size = 37;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 200);
  test_done(c);
  c = test_conn("hlim5", app, "GET", "/");
  fake_var(c, "REQUEST_URI", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  c->req.limit_request_line = 20;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 414);
  ASSERT_LOG(c, "longer than limit-request-line 20");
  test_done(c);
  return 0;
}
