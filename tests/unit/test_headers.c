/* test_headers.c: start_response() validation, header copying and the
 * WWW-Authenticate split. */
#include "test.h"

/* Internal to the core (core/src/headers.c), tested directly. */
size_t sysgi_split_www_authenticate(const char *v, size_t len,
                                    size_t (*spans)[2], size_t max);

/* The app calls start_response with `args` and answers the exception
 * (or "ok"). */
static fake_conn *try_sr(const char *args) {
  char src[2048];
  snprintf(src, sizeof src,
           "def application(environ, start_response):\n"
           "    try:\n"
           "        start_response(%s)\n"
           "        r = 'ok'\n"
           "    except Exception as e:\n"
           "        r = '%%s: %%s' %% (type(e).__name__, e)\n"
           "    start_response('200 OK', [], __import__('sys').exc_info())\n"
           "    return [r.encode()]\n", args);
  static int n;
  char name[32];
  snprintf(name, sizeof name, "sr%d", n++); /* a fresh module each time */
  fake_conn *c = test_conn(name, src, "GET", "/");
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 200);
  return c;
}

#define EXPECT_SR(args, text)                                                \
  do {                                                                       \
    fake_conn *c_ = try_sr(args);                                            \
    ASSERT_CONTAINS(c_->out, text);                                          \
    test_done(c_);                                                           \
  } while (0)

TEST_IMPL(start_response_validation) {
  EXPECT_SR("'200 OK', []", "ok");
  EXPECT_SR("'200', []", "ValueError: invalid status '200'");
  EXPECT_SR("'200 ', []", "ValueError: invalid status");
  EXPECT_SR("'20 OK', []", "ValueError: invalid status");
  EXPECT_SR("'2000 OK', []", "ValueError: invalid status");
  EXPECT_SR("'200 OK\\r\\nX: y', []", "ValueError: invalid status");
  EXPECT_SR("b'200 OK', []", "TypeError: expected str object for status, value of type bytes found");
  EXPECT_SR("200, []", "TypeError: expected str object for status, value of type int found");
  EXPECT_SR("'200 OK', ()", "TypeError: expected list object for response headers, value of type tuple found");
  EXPECT_SR("'200 OK', [('A', 'b', 'c')]", "TypeError: expected tuple object of 2 str");
  EXPECT_SR("'200 OK', ['A: b']", "TypeError: expected tuple object of 2 str");
  EXPECT_SR("'200 OK', [(b'X-A', 'b')]", "TypeError: expected str object for response header name, value of type bytes found");
  EXPECT_SR("'200 OK', [('X-A', 1)]", "TypeError: expected str object for value of response header 'X-A', value of type int found");
  EXPECT_SR("'200 OK', [('X-A', b'v')]", "value of response header 'X-A', value of type bytes found");
  EXPECT_SR("'200 OK', [('X-A', 'a\\r\\nSet-Cookie: x=1')]", "ValueError: value of response header 'X-A' contains a CR, LF or NUL character");
  EXPECT_SR("'200 OK', [('X-A', 'a\\nb')]", "contains a CR, LF or NUL");
  EXPECT_SR("'200 OK', [('X-A', 'a\\x00b')]", "contains a CR, LF or NUL");
  EXPECT_SR("'200 OK', [('X A', 'b')]", "ValueError: invalid response header name 'X A'");
  EXPECT_SR("'200 OK', [('X:A', 'b')]", "ValueError: invalid response header name");
  EXPECT_SR("'200 OK', [('', 'b')]", "ValueError: invalid response header name");
  EXPECT_SR("'200 OK', [('X-A', '\\u20ac')]", "ValueError: value of response header 'X-A' is not latin-1 encodable");
  EXPECT_SR("'200 OK', [('Content-Length', 'abc')]", "ValueError: invalid Content-Length");
  EXPECT_SR("'200 OK', [('Content-Length', '-1')]", "ValueError: invalid Content-Length");
  EXPECT_SR("'200 OK'", "TypeError");
  return 0;
}

/* Latin-1 values pass; headers reach the front end as C copies in order. */
TEST_IMPL(start_response_headers) {
  fake_conn *c = test_get("srh",
      "def application(environ, start_response):\n"
      "    start_response('404 Not Found', [('X-Latin', 'caf\\xe9'),\n"
      "        ('Set-Cookie', 'a=1'), ('Set-Cookie', 'b=2'),\n"
      "        ('Content-Type', 'text/plain; charset=utf-8')])\n"
      "    return [b'nope']\n");
  ASSERT_EQ(c->status, 404);
  ASSERT_STR_EQ(c->status_line, "404 Not Found");
  ASSERT_EQ(c->n_headers, 4);
  ASSERT_STR_EQ(c->hvalue[0], "caf\xe9");
  ASSERT_EQ(fake_header_count(c, "Set-Cookie"), 2);
  ASSERT_STR_EQ(c->hvalue[2], "b=2");
  /* A whole-list body gets its length declared by the core. */
  ASSERT_EQ(c->content_length, 4);
  test_done(c);
  return 0;
}

/* PEP 3333 exc_info rules. */
TEST_IMPL(start_response_exc_info) {
  /* Second call without exc_info raises. */
  fake_conn *c = test_get("exc1",
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [])\n"
      "    try:\n"
      "        start_response('500 Oops', [])\n"
      "        r = 'no error'\n"
      "    except RuntimeError as e:\n"
      "        r = str(e)\n"
      "    return [r.encode()]\n");
  ASSERT_EQ(c->status, 200);
  ASSERT_CONTAINS(c->out, "start_response() called a second time");
  test_done(c);
  /* With exc_info before the head was sent: replaces status and headers. */
  c = test_get("exc2",
      "import sys\n"
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [('X-First', '1')])\n"
      "    try:\n"
      "        raise ValueError('boom')\n"
      "    except ValueError:\n"
      "        start_response('503 Busy', [('X-Second', '2')], sys.exc_info())\n"
      "    return [b'replaced']\n");
  ASSERT_EQ(c->status, 503);
  ASSERT(fake_header(c, "X-First") == NULL);
  ASSERT_STR_EQ(fake_header(c, "X-Second"), "2");
  ASSERT_STR_EQ(c->out, "replaced");
  test_done(c);
  /* With exc_info after the head was sent: re-raised; the app lets it
   * propagate: logged, connection aborted (no 500: too late). */
  c = test_get("exc3",
      "import sys\n"
      "def application(environ, start_response):\n"
      "    write = start_response('200 OK', [])\n"
      "    write(b'partial')\n"
      "    try:\n"
      "        raise KeyError('late')\n"
      "    except KeyError:\n"
      "        start_response('500 Error', [], sys.exc_info())\n"
      "    return [b'never']\n");
  ASSERT_EQ(c->status, 200);
  ASSERT_EQ(c->head_calls, 1);
  ASSERT_STR_EQ(c->out, "partial");
  ASSERT_LOG(c, "KeyError: 'late'");
  ASSERT_EQ(c->aborted, 1);
  test_done(c);
  return 0;
}

static void split(const char *v, const char *const *want, size_t n) {
  size_t spans[16][2];
  size_t got = sysgi_split_www_authenticate(v, strlen(v), spans, 16);
  if (got != n)
    fprintf(stderr, "split of '%s': %zu parts, want %zu\n", v, got, n);
  ASSERT_EQ(got, n);
  for (size_t i = 0; i < n; i++) {
    size_t len = spans[i][1] - spans[i][0];
    if (strlen(want[i]) != len || memcmp(v + spans[i][0], want[i], len)) {
      fprintf(stderr, "part %zu: '%.*s' want '%s'\n", i, (int)len,
              v + spans[i][0], want[i]);
      ASSERT(0);
    }
  }
}

/* Seed feature 6: combined WWW-Authenticate values become separate
 * headers; commas in quoted strings and between auth-params stay. */
TEST_IMPL(www_authenticate_split) {
  split("Basic realm=\"a\", Negotiate",
        (const char *const[]){"Basic realm=\"a\"", "Negotiate"}, 2);
  split("Basic realm=\"a, b\"", (const char *const[]){"Basic realm=\"a, b\""},
        1);
  split("Digest realm=\"x\", qop=\"auth,auth-int\", nonce=\"n\", Basic realm=\"y\"",
        (const char *const[]){
            "Digest realm=\"x\", qop=\"auth,auth-int\", nonce=\"n\"",
            "Basic realm=\"y\""}, 2);
  split("Negotiate abc==, NTLM", (const char *const[]){"Negotiate abc==", "NTLM"},
        2);
  split("Bearer realm=\"q\\\"uoted, still\", error=\"x\" , Basic",
        (const char *const[]){
            "Bearer realm=\"q\\\"uoted, still\", error=\"x\"", "Basic"}, 2);
  split(" , Basic ,, NTLM ", (const char *const[]){"Basic", "NTLM"}, 2);

  fake_conn *c = test_get("wwwauth",
      "def application(environ, start_response):\n"
      "    start_response('401 Unauthorized', [\n"
      "        ('WWW-Authenticate', 'Basic realm=\"a\", Negotiate'),\n"
      "        ('www-authenticate', 'Digest realm=\"r\", nonce=\"1,2\"'),\n"
      "        ('X-Other', 'a, b')])\n"
      "    return [b'']\n");
  ASSERT_EQ(c->status, 401);
  ASSERT_EQ(fake_header_count(c, "WWW-Authenticate"), 3);
  ASSERT_STR_EQ(c->hvalue[0], "Basic realm=\"a\"");
  ASSERT_STR_EQ(c->hvalue[1], "Negotiate");
  ASSERT_STR_EQ(c->hvalue[2], "Digest realm=\"r\", nonce=\"1,2\"");
  ASSERT_STR_EQ(fake_header(c, "X-Other"), "a, b");
  test_done(c);
  return 0;
}

/* Many long headers: past the inline arena into malloc'ed blocks (and the
 * header array grows when WWW-Authenticate splits add entries). */
TEST_IMPL(start_response_many_headers) {
  fake_conn *c = test_get("manyh",
      "def application(environ, start_response):\n"
      "    h = [('X-H%d' % i, ('v%d-' % i) * 40) for i in range(60)]\n"
      "    h += [('WWW-Authenticate', 'A realm=\"1\", B, C, D, E, F')] * 3\n"
      "    start_response('200 OK', h)\n"
      "    return [b'ok']\n");
  ASSERT_EQ(c->status, 200);
  ASSERT_EQ(c->n_headers, 60 + 18);
  ASSERT_EQ(strlen(c->hvalue[59]), 40 * 4);
  ASSERT(strncmp(c->hvalue[59], "v59-v59-", 8) == 0);
  ASSERT_EQ(fake_header_count(c, "WWW-Authenticate"), 18);
  ASSERT_STR_EQ(c->hvalue[60], "A realm=\"1\"");
  ASSERT_STR_EQ(c->hvalue[77], "F");
  test_done(c);
  return 0;
}

/* Found by tests/fuzz (fuzz_start_response, corpus
 * regress-status-nul): a NUL in the reason phrase was accepted, so the
 * status line the front ends read as a C string ended early ("511 "),
 * and a reason made only of NULs passed the "missing reason" check. */
TEST_IMPL(start_response_status_nul) {
  EXPECT_SR("'511 \\x00\\x00\\x011', []", "ValueError: invalid status");
  EXPECT_SR("'200 OK\\x00junk', []", "must not contain CR, LF or NUL");
  EXPECT_SR("'200 \\x00', []", "ValueError: invalid status");
  EXPECT_SR("'200 OK\\tfine', []", "ok");
  return 0;
}
