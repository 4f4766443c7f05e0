/* test_response.c: the response driver and its error paths. */
#include "test.h"

/* A 500 produced by the core, with the cause in the log. */
static void assert_500(fake_conn *c, const char *log_needle) {
  ASSERT_EQ(c->head_calls, 1);
  ASSERT_EQ(c->status, 500);
  ASSERT_STR_EQ(fake_header(c, "Content-Type"), "text/html; charset=iso-8859-1");
  ASSERT_CONTAINS(c->out, "Internal Server Error");
  ASSERT_EQ((int64_t)c->out_len, c->content_length);
  ASSERT_LOG(c, log_needle);
}

TEST_IMPL(response_lazy_head) {
  /* The head waits for the first non-empty chunk. */
  fake_conn *c = test_get("lazy",
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [])\n"
      "    yield b''\n"
      "    yield b''\n"
      "    raise RuntimeError('before any byte')\n");
  assert_500(c, "RuntimeError: before any byte");
  ASSERT_LOG(c, "Exception occurred processing WSGI script");
  ASSERT_EQ(c->aborted, 0);
  test_done(c);
  /* An empty body still gets its head, once. */
  c = test_get("empty",
      "def application(environ, start_response):\n"
      "    start_response('204 No Content', [])\n"
      "    return []\n");
  ASSERT_EQ(c->head_calls, 1);
  ASSERT_EQ(c->status, 204);
  ASSERT_EQ(c->out_len, 0u);
  test_done(c);
  /* Many chunks, in order. */
  c = test_get("chunks",
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [])\n"
      "    for i in range(1000):\n"
      "        yield b'%d,' % i\n");
  ASSERT_EQ(c->head_calls, 1);
  ASSERT_EQ(c->body_before_head, 0);
  ASSERT(strncmp(c->out, "0,1,2,", 6) == 0);
  ASSERT_CONTAINS(c->out, ",998,999,");
  test_done(c);
  return 0;
}

TEST_IMPL(response_str_chunk) {
  fake_conn *c = test_get("strchunk",
      "closed = []\n"
      "class R:\n"
      "    def __iter__(self): return iter(['text, not bytes'])\n"
      "    def close(self): closed.append(1)\n"
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [])\n"
      "    return R()\n");
  assert_500(c, "TypeError: sequence of byte string values expected, value of type str found");
  test_done(c);
  return 0;
}

/* close() is called on every path; seen from the next request. */
static const char *close_probe =
    "import sys\n"
    "log = []\n"
    "class R:\n"
    "    def __init__(self, mode): self.mode = mode\n"
    "    def __iter__(self):\n"
    "        if self.mode == 'iter-raises':\n"
    "            raise ValueError('in __iter__')\n"
    "        yield b'one'\n"
    "        if self.mode == 'next-raises':\n"
    "            raise ValueError('in next')\n"
    "        yield b'two'\n"
    "        yield b'three'\n"
    "    def close(self):\n"
    "        log.append('closed ' + self.mode)\n"
    "        if self.mode == 'close-raises':\n"
    "            raise OSError('in close')\n"
    "def application(environ, start_response):\n"
    "    mode = environ['PATH_INFO'][1:]\n"
    "    if mode == 'report':\n"
    "        start_response('200 OK', [])\n"
    "        r = ';'.join(log); del log[:]\n"
    "        return [r.encode()]\n"
    "    start_response('200 OK', [('Content-Length', '6')] if mode == 'truncate' else [])\n"
    "    return R(mode)\n";

static fake_conn *probe(const char *mode, int gone_after) {
  char path[64];
  snprintf(path, sizeof path, "/%s", mode);
  fake_conn *c = test_conn("closeprobe", close_probe, "GET", path);
  c->gone_after = gone_after;
  ASSERT_EQ(fake_run(c), 0);
  return c;
}

static void assert_closed(const char *mode) {
  fake_conn *r = probe("report", 0);
  char want[64];
  snprintf(want, sizeof want, "closed %s", mode);
  ASSERT_STR_EQ(r->out, want);
  test_done(r);
}

TEST_IMPL(response_close_always) {
  fake_conn *c = probe("normal", 0);
  ASSERT_STR_EQ(c->out, "onetwothree");
  test_done(c);
  assert_closed("normal");

  c = probe("iter-raises", 0);
  assert_500(c, "ValueError: in __iter__");
  test_done(c);
  assert_closed("iter-raises");

  /* After the head: logged, aborted, no 500. */
  c = probe("next-raises", 0);
  ASSERT_EQ(c->status, 200);
  ASSERT_STR_EQ(c->out, "one");
  ASSERT_LOG(c, "ValueError: in next");
  ASSERT_EQ(c->aborted, 1);
  test_done(c);
  assert_closed("next-raises");

  /* close() raising: still called, the error logged, response intact. */
  c = probe("close-raises", 0);
  ASSERT_EQ(c->status, 200);
  ASSERT_STR_EQ(c->out, "onetwothree");
  ASSERT_LOG(c, "Exception occurred calling close()");
  ASSERT_LOG(c, "OSError: in close");
  test_done(c);
  assert_closed("close-raises");

  /* Client gone after the first chunk: iteration stops, close() runs. */
  c = probe("gone", 1);
  ASSERT_STR_EQ(c->out, "one");
  ASSERT_EQ(c->body_calls, 2);
  ASSERT_NO_LOG(c, "content length mismatch");
  test_done(c);
  assert_closed("gone");

  /* Truncated at Content-Length: close() runs too. */
  c = probe("truncate", 0);
  ASSERT_STR_EQ(c->out, "onetwo");
  ASSERT_LOG(c, "content length mismatch");
  test_done(c);
  assert_closed("truncate");
  return 0;
}

/* A generator abandoned when the client goes away: its finally runs. */
TEST_IMPL(response_generator_abandoned) {
  const char *src =
      "state = []\n"
      "def application(environ, start_response):\n"
      "    if environ['PATH_INFO'] == '/report':\n"
      "        start_response('200 OK', [])\n"
      "        return [repr(state).encode()]\n"
      "    start_response('200 OK', [])\n"
      "    def gen():\n"
      "        try:\n"
      "            for i in range(100):\n"
      "                state.append(i)\n"
      "                yield b'x' * 10\n"
      "        finally:\n"
      "            state.append('finally')\n"
      "    return gen()\n";
  fake_conn *c = test_conn("abandon", src, "GET", "/");
  c->gone_after = 3;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->out_len, 30u);
  test_done(c);
  c = test_conn("abandon", src, "GET", "/report");
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_STR_EQ(c->out, "[0, 1, 2, 3, 'finally']");
  test_done(c);
  return 0;
}

TEST_IMPL(response_no_start_response) {
  fake_conn *c = test_get("nosr1",
      "def application(environ, start_response):\n"
      "    return [b'data']\n");
  assert_500(c, "start_response");
  test_done(c);
  c = test_get("nosr2",
      "def application(environ, start_response):\n"
      "    return []\n");
  assert_500(c, "without calling start_response()");
  test_done(c);
  return 0;
}

TEST_IMPL(response_not_iterable) {
  fake_conn *c = test_get("noiter",
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [])\n"
      "    return 42\n");
  assert_500(c, "non-iterable");
  ASSERT_LOG(c, "TypeError");
  test_done(c);
  c = test_get("appraise",
      "def application(environ, start_response):\n"
      "    raise LookupError('in the app')\n");
  assert_500(c, "LookupError: in the app");
  ASSERT_LOG(c, "Traceback (most recent call last):");
  test_done(c);
  return 0;
}

TEST_IMPL(response_head_request) {
  const char *src =
      "calls = []\n"
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [('Content-Length', '5')])\n"
      "    def gen():\n"
      "        calls.append(environ['REQUEST_METHOD'])\n"
      "        yield b'hello'\n"
      "    return gen()\n";
  fake_conn *c = test_conn("head", src, "HEAD", "/");
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->head_calls, 1);
  ASSERT_EQ(c->content_length, 5);
  ASSERT_EQ(c->body_calls, 0);
  ASSERT_NO_LOG(c, "mismatch");
  test_done(c);
  /* The app was still iterated. */
  c = test_get("headcheck",
      "import sys\n"
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [])\n"
      "    return [repr(sys.modules[[m for m in sys.modules if m.startswith('_mod_wsgi_') and hasattr(sys.modules[m], 'calls')][0]].calls).encode()]\n");
  ASSERT_STR_EQ(c->out, "['HEAD']");
  test_done(c);
  /* A HEAD whose app fails: a 500 head without a body. */
  c = test_conn("headfail",
      "def application(environ, start_response):\n"
      "    raise ValueError('x')\n", "HEAD", "/");
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 500);
  ASSERT_EQ(c->body_calls, 0);
  test_done(c);
  return 0;
}

/* 304 and 204 have no body (RFC 9110): a Content-Length there describes
 * the representation, not a body the app failed to send. */
TEST_IMPL(response_bodyless_content_length) {
  fake_conn *c = test_get("notmod",
      "def application(environ, start_response):\n"
      "    start_response('304 Not Modified', [('Content-Length', '1234')])\n"
      "    return []\n");
  ASSERT_EQ(c->status, 304);
  ASSERT_EQ(c->content_length, 1234);
  ASSERT_EQ(c->body_calls, 0);
  ASSERT_NO_LOG(c, "mismatch");
  test_done(c);
  c = test_get("nocontent",
      "def application(environ, start_response):\n"
      "    start_response('204 No Content', [('Content-Length', '10')])\n"
      "    return [b'']\n");
  ASSERT_EQ(c->status, 204);
  ASSERT_NO_LOG(c, "mismatch");
  test_done(c);
  return 0;
}

TEST_IMPL(response_content_length) {
  /* More than declared: truncated, warned, nothing beyond. */
  fake_conn *c = test_get("cl1",
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [('Content-Length', '10')])\n"
      "    return [b'12345678', b'9012345', b'more']\n");
  ASSERT_STR_EQ(c->out, "1234567890");
  int i = fake_log_find(c, "content length mismatch");
  ASSERT(i >= 0);
  ASSERT_EQ(c->log_level[i], SYSGI_LOG_WARN);
  test_done(c);
  /* Fewer, normal end: logged. */
  c = test_get("cl2",
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [('Content-Length', '10')])\n"
      "    return [b'1234']\n");
  ASSERT_STR_EQ(c->out, "1234");
  ASSERT_LOG(c, "content length mismatch");
  test_done(c);
  /* Seed bug 3: fewer because the iterator raised: no mismatch message. */
  c = test_get("cl3",
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [('Content-Length', '10')])\n"
      "    yield b'1234'\n"
      "    raise IOError('disk gone')\n");
  ASSERT_STR_EQ(c->out, "1234");
  ASSERT_LOG(c, "disk gone");
  ASSERT_NO_LOG(c, "mismatch");
  ASSERT_EQ(c->aborted, 1);
  test_done(c);
  /* Exactly right, through write() and the iterable together. */
  c = test_get("cl4",
      "def application(environ, start_response):\n"
      "    w = start_response('200 OK', [('Content-Length', '6')])\n"
      "    w(b'abc')\n"
      "    return [b'def']\n");
  ASSERT_STR_EQ(c->out, "abcdef");
  ASSERT_EQ(c->n_logs, 0);
  test_done(c);
  return 0;
}

/* write(): bytes only, sent at once (head first), TypeError for the rest
 * without leaking (seed bugs 1 and 2). */
TEST_IMPL(response_write) {
  fake_conn *c = test_get("write1",
      "import sys, gc\n"
      "def application(environ, start_response):\n"
      "    write = start_response('200 OK', [])\n"
      "    write(b'first;')\n"
      "    s = 'a unicode string ' * 4\n"
      "    o = object()\n"
      "    before = (sys.getrefcount(s), sys.getrefcount(o))\n"
      "    gc.collect()\n"
      "    nobj = len(gc.get_objects())\n"
      "    errors = set()\n"
      "    for i in range(10000):\n"
      "        for bad in (s, o, 42, None, bytearray(b'x')):\n"
      "            try:\n"
      "                write(bad)\n"
      "            except TypeError as e:\n"
      "                errors.add(str(e))\n"
      "    gc.collect()\n"
      "    grew = len(gc.get_objects()) - nobj\n"
      "    after = (sys.getrefcount(s), sys.getrefcount(o))\n"
      "    write(('%r %r %r;' % (before == after, sorted(errors), grew < 50)).encode())\n"
      "    return [b'last']\n");
  ASSERT_EQ(c->head_calls, 1);
  ASSERT_CONTAINS(c->out, "first;True ['write() argument must be bytes, not NoneType', "
                  "'write() argument must be bytes, not bytearray', "
                  "'write() argument must be bytes, not int', "
                  "'write() argument must be bytes, not object', "
                  "'write() argument must be bytes, not str'] True;last");
  test_done(c);
  /* write() after the request ended: RuntimeError, not a crash. */
  const char *w2 = test_app("write2",
      "kept = []\n"
      "def application(environ, start_response):\n"
      "    if kept:\n"
      "        try:\n"
      "            kept[0](b'late')\n"
      "        except RuntimeError as e:\n"
      "            r = str(e)\n"
      "    else:\n"
      "        kept.append(start_response('200 OK', []))\n"
      "        return [b'first']\n"
      "    start_response('200 OK', [])\n"
      "    return [r.encode()]\n");
  c = test_conn(w2, NULL, "GET", "/");
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_STR_EQ(c->out, "first");
  test_done(c);
  c = test_conn(w2, NULL, "GET", "/");
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_STR_EQ(c->out, "write() called after the request ended");
  test_done(c);
  /* write() when the client is gone raises OSError in the app. */
  c = test_conn("write3",
      "def application(environ, start_response):\n"
      "    w = start_response('200 OK', [])\n"
      "    w(b'a')\n"
      "    try:\n"
      "        w(b'b')\n"
      "    except OSError as e:\n"
      "        environ['wsgi.errors'].write('caught: %s\\n' % e)\n"
      "    return []\n", "GET", "/");
  c->gone_after = 1;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_STR_EQ(c->out, "a");
  ASSERT_LOG(c, "caught: write() failed: client closed the connection");
  test_done(c);
  return 0;
}

/* Another thread of the app must not reach the front end (callbacks run
 * only on the request's thread): wsgi.input and write() raise there, and
 * wsgi.errors lines go to the runtime log instead of the request's. */
TEST_IMPL(foreign_thread) {
  fake_conn *c = test_conn("foreign",
      "import threading\n"
      "def application(environ, start_response):\n"
      "    write = start_response('200 OK', [])\n"
      "    out = []\n"
      "    def other():\n"
      "        environ['wsgi.errors'].write('from the other thread\\n')\n"
      "        for f in (environ['wsgi.input'].read, lambda: write(b'x')):\n"
      "            try:\n"
      "                f()\n"
      "                out.append('no error')\n"
      "            except RuntimeError as e:\n"
      "                out.append(str(e))\n"
      "    t = threading.Thread(target=other)\n"
      "    t.start(); t.join()\n"
      "    environ['wsgi.errors'].write('from the request thread\\n')\n"
      "    return ['\\n'.join(out).encode(), b'\\n', environ['wsgi.input'].read()]\n",
      "POST", "/");
  c->body = "body";
  c->body_len = 4;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_STR_EQ(c->out,
      "wsgi.input used from another thread than the one running the request: not supported\n"
      "write() used from another thread than the one running the request: not supported\n"
      "body");
  ASSERT_LOG(c, "from the request thread");
  ASSERT_NO_LOG(c, "from the other thread");
  test_done(c);
  return 0;
}

/* Issue 14: start_response() from another thread raises like write():
 * the head (status, headers) must not change under the request's thread,
 * which reads it without the GIL. Before start_response (the thread would
 * set the headers) and after it with exc_info (it would replace them). */
TEST_IMPL(foreign_thread_start_response) {
  fake_conn *c = test_conn("foreign_sr",
      "import sys, threading\n"
      "def application(environ, start_response):\n"
      "    out = []\n"
      "    def other(*args):\n"
      "        try:\n"
      "            start_response(*args)\n"
      "            out.append('no error')\n"
      "        except RuntimeError as e:\n"
      "            out.append(str(e))\n"
      "    t = threading.Thread(target=other,\n"
      "                         args=('201 Foreign', [('X-From', 'thread')]))\n"
      "    t.start(); t.join()\n"
      "    start_response('200 OK', [('X-From', 'request')])\n"
      "    try:\n"
      "        raise ValueError('x')\n"
      "    except ValueError:\n"
      "        info = sys.exc_info()\n"
      "    t = threading.Thread(target=other,\n"
      "                         args=('500 Foreign', [('X-From', 'exc')], info))\n"
      "    t.start(); t.join()\n"
      "    return ['\\n'.join(out).encode()]\n", "GET", "/");
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 200);
  ASSERT_STR_EQ(fake_header(c, "X-From"), "request");
  ASSERT_EQ(fake_header_count(c, "X-From"), 1);
  ASSERT_STR_EQ(c->out,
      "start_response() used from another thread than the one running the request: not supported\n"
      "start_response() used from another thread than the one running the request: not supported");
  test_done(c);
  return 0;
}

/* A small list/tuple is copied and sent with its head after the
 * interpreter was left: one body send, Content-Length applied, close() of
 * a list subclass still called, HEAD without body, big lists iterated. */
TEST_IMPL(response_coalesced) {
  static const char *app =
      "closed = []\n"
      "class L(list):\n"
      "    def close(self): closed.append(1)\n"
      "def application(environ, start_response):\n"
      "    q = environ['QUERY_STRING']\n"
      "    h = [('Content-Type', 'text/plain')]\n"
      "    if q.startswith('cl='):\n"
      "        h.append(('Content-Length', q[3:]))\n"
      "    if q == 'report':\n"
      "        start_response('200 OK', h)\n"
      "        return [repr(closed).encode()]\n"
      "    w = start_response('200 OK', h)\n"
      "    if q == 'write':\n"
      "        w(b'written,')\n"
      "        return [b'then ', b'list']\n"
      "    if q == 'tuple':\n"
      "        return (b'a', b'', b'bc')\n"
      "    if q == 'sub':\n"
      "        return L([b'sub', b'class'])\n"
      "    if q == 'big':\n"
      "        return [b'x' * 40000, b'y' * 40000]\n"
      "    if q == 'str':\n"
      "        return [b'ok', 'not bytes']\n"
      "    return [b'hello ', b'world']\n";
  struct {
    const char *q;
    const char *method;
    const char *out;
    int body_calls;
    const char *log;
  } cases[] = {
      {"", "GET", "hello world", 1, NULL},
      {"tuple", "GET", "abc", 1, NULL},
      {"cl=5", "GET", "hello", 1, "content length mismatch"},
      {"cl=20", "GET", "hello world", 1, "returned 11 of the 20 bytes"},
      {"cl=11", "GET", "hello world", 1, NULL},
      {"", "HEAD", "", 0, NULL},
      {"write", "GET", "written,then list", 2, NULL},
      {"sub", "GET", "subclass", 2, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    for (int async = 0; async < 2; async++) {
      fake_conn *c = test_conn("coal", app, cases[i].method, "/");
      fake_var(c, "QUERY_STRING", cases[i].q);
      c->async = async;
      ASSERT_EQ(fake_run(c), 0);
      ASSERT_EQ(c->head_calls, 1);
      ASSERT_EQ(c->status, 200);
      ASSERT_EQ(c->body_before_head, 0);
      ASSERT_EQ(c->corrupted, 0);
      ASSERT_STR_EQ(c->out ? c->out : "", cases[i].out);
      ASSERT_EQ(c->body_calls, cases[i].body_calls);
      if (cases[i].log)
        ASSERT_LOG(c, cases[i].log);
      else
        ASSERT_NO_LOG(c, "content length");
      test_done(c);
    }
  }
  fake_conn *c = test_conn("coal", app, "GET", "/");
  fake_var(c, "QUERY_STRING", "report");
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_STR_EQ(c->out, "[1, 1]");
  test_done(c);
  /* More than 64 KiB: iterated, one send per item. */
  c = test_conn("coal", app, "GET", "/");
  fake_var(c, "QUERY_STRING", "big");
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->out_len, 80000u);
  ASSERT_EQ(c->body_calls, 2);
  test_done(c);
  /* A non-bytes item: iterated as before, the first item goes out, then
   * the error aborts the connection. */
  c = test_conn("coal", app, "GET", "/");
  fake_var(c, "QUERY_STRING", "str");
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->head_calls, 1);
  ASSERT_LOG(c, "value of type str found");
  ASSERT_EQ(c->aborted, 1);
  test_done(c);
  return 0;
}

/* The streaming fast path (fe.try_send_body, GIL held): every chunk after
 * the first goes through it; kept bytes are flushed (GIL released) before
 * the application is asked for the next chunk; a declined chunk goes
 * through send_body. Same bytes in the same order every time. */
TEST_IMPL(response_try_send_body) {
  static const char *src =
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [])\n"
      "    for i in range(300):\n"
      "        yield b'%d,' % i\n";
  for (int mode = 1; mode <= 3; mode++) {
    fake_conn *c = test_conn("trysend", src, "GET", "/");
    c->try_mode = mode;
    ASSERT_EQ(fake_run(c), 0);
    ASSERT_EQ(c->head_calls, 1);
    ASSERT_EQ(c->body_before_head, 0);
    ASSERT(strncmp(c->out, "0,1,2,", 6) == 0);
    ASSERT_CONTAINS(c->out, ",298,299,");
    ASSERT_EQ(c->gil_held, 0);        /* flush and send_body: GIL released */
    ASSERT_EQ(c->held_violations, 0); /* nothing sent past kept bytes */
    ASSERT_EQ(c->held, 0);            /* flushed before the request ended */
    ASSERT_EQ(c->try_calls, 299);     /* the first chunk carries the head */
    ASSERT_EQ(c->flush_calls, mode == 2 ? 299 : 0);
    ASSERT_EQ(c->body_calls, mode == 3 ? 300 : 1);
    test_done(c);
  }
  return 0;
}
