/* test_file_wrapper.c: wsgi.file_wrapper, with and without send_file. */
#include "test.h"

static const char *make_file(void) {
  static char path[512];
  snprintf(path, sizeof path, "%s/data.bin", test_tmpdir());
  FILE *f = fopen(path, "wb");
  for (int i = 0; i < 100000; i++)
    fputc('A' + i % 26, f);
  fclose(f);
  return path;
}

static const char *fw_app =
    "import io, os\n"
    "PATH = os.path.join(os.path.dirname(__file__), 'data.bin')\n"
    "files = []\n"
    "def application(environ, start_response):\n"
    "    q = environ['QUERY_STRING']\n"
    "    if q == 'report':\n"
    "        start_response('200 OK', [])\n"
    "        return [repr([f.closed for f in files]).encode()]\n"
    "    headers = []\n"
    "    if 'cl' in q:\n"
    "        headers.append(('Content-Length', q.split('cl=')[1].split('&')[0]))\n"
    "    start_response('200 OK', headers)\n"
    "    if 'bytesio' in q:\n"
    "        f = io.BytesIO(b'in memory ' * 1000)\n"
    "    else:\n"
    "        f = open(PATH, 'rb')\n"
    "    files.append(f)\n"
    "    if 'offset' in q:\n"
    "        f.seek(1000)\n"
    "    return environ['wsgi.file_wrapper'](f, 4096)\n";

static fake_conn *fw(const char *query, int sendfile) {
  fake_conn *c = test_conn("fw", fw_app, "GET", "/");
  fake_var(c, "QUERY_STRING", query);
  c->req.enable_sendfile = sendfile;
  return c;
}

static void check_bytes(fake_conn *c, size_t off, size_t len) {
  ASSERT_EQ(c->out_len, len);
  for (size_t i = 0; i < len; i++)
    if (c->out[i] != 'A' + (char)((off + i) % 26)) {
      fprintf(stderr, "byte %zu differs\n", i);
      ASSERT(0);
    }
}

static void assert_all_closed(void) {
  fake_conn *r = fw("report", 0);
  ASSERT_EQ(fake_run(r), 0);
  ASSERT(!strstr(r->out, "False"));
  ASSERT(strstr(r->out, "True"));
  test_done(r);
}

TEST_IMPL(file_wrapper_sendfile) {
  make_file();
  fake_conn *c = fw("", 1);
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->file_calls, 1);
  ASSERT_EQ(c->file_off, 0);
  ASSERT_EQ(c->file_len, 100000);
  ASSERT_EQ(c->body_calls, 0);
  check_bytes(c, 0, 100000);
  test_done(c);
  /* From the current position, limited by Content-Length. */
  c = fw("offset&cl=5000", 1);
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->file_calls, 1);
  ASSERT_EQ(c->file_off, 1000);
  ASSERT_EQ(c->file_len, 5000);
  check_bytes(c, 1000, 5000);
  ASSERT_EQ(c->n_logs, 0);
  test_done(c);
  /* Offset without Content-Length: the rest of the file. */
  c = fw("offset", 1);
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->file_len, 99000);
  check_bytes(c, 1000, 99000);
  test_done(c);
  /* Declared longer than the file: what is there, and a mismatch log. */
  c = fw("offset&cl=200000", 1);
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->file_len, 99000);
  ASSERT_LOG(c, "content length mismatch");
  test_done(c);
  /* Async file send: the file must stay open until completed. */
  c = fw("offset", 1);
  c->async = 1;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->completed, 1);
  ASSERT_EQ(c->corrupted, 0);
  check_bytes(c, 1000, 99000);
  test_done(c);
  assert_all_closed();
  return 0;
}

TEST_IMPL(file_wrapper_fallback) {
  make_file();
  /* WSGIEnableSendfile off: still offered to send_file (the front end
   * sends it without the kernel's sendfile) ... */
  fake_conn *c = fw("offset&cl=5000", 0);
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->file_calls, 1);
  ASSERT_EQ(c->file_off, 1000);
  ASSERT_EQ(c->file_len, 5000);
  ASSERT_EQ(c->body_calls, 0);
  check_bytes(c, 1000, 5000);
  test_done(c);
  /* ... and read in blocks when the front end refuses. */
  c = fw("offset", 0);
  c->file_unsupported = 1;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->file_calls, 1);
  ASSERT_EQ(c->body_calls, (99000 + 4095) / 4096);
  check_bytes(c, 1000, 99000);
  test_done(c);
  /* HEAD with sendfile off: head only, the file closed. */
  c = fw("", 0);
  c->vars[0].value = "HEAD";
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->out_len, 0u);
  ASSERT_EQ(c->head_calls, 1);
  ASSERT_EQ(c->file_calls, 0);
  test_done(c);
  /* Front end without send_file, and one that refuses it. */
  c = fw("cl=100", 1);
  c->no_send_file = 1;
  ASSERT_EQ(fake_run(c), 0);
  check_bytes(c, 0, 100);
  test_done(c);
  c = fw("offset", 1);
  c->file_unsupported = 1;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->file_calls, 1);
  check_bytes(c, 1000, 99000);
  test_done(c);
  /* No fileno(): BytesIO is read. */
  c = fw("bytesio", 1);
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->file_calls, 0);
  ASSERT_EQ(c->out_len, 10000u);
  ASSERT(strncmp(c->out, "in memory in memory", 19) == 0);
  test_done(c);
  /* HEAD: no body, file closed. */
  c = fw("", 1);
  c->vars[0].value = "HEAD";
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->out_len, 0u);
  ASSERT_EQ(c->head_calls, 1);
  test_done(c);
  assert_all_closed();
  return 0;
}

/* Iterating the wrapper from Python, close(), attributes. */
TEST_IMPL(file_wrapper_python) {
  fake_conn *c = test_get("fwpy",
      "import io\n"
      "def application(environ, start_response):\n"
      "    f = io.BytesIO(b'abcdefghij')\n"
      "    w = environ['wsgi.file_wrapper'](f, blksize=4)\n"
      "    parts = list(w)\n"
      "    w.close()\n"
      "    w2 = environ['wsgi.file_wrapper'](io.BytesIO(b'x'))\n"
      "    start_response('200 OK', [])\n"
      "    return [repr((parts, f.closed, w2.blksize, w.filelike is f)).encode()]\n");
  ASSERT_STR_EQ(c->out, "([b'abcd', b'efgh', b'ij'], True, 8192, True)");
  test_done(c);
  return 0;
}

/* Issue 14: bytes write() already sent count against Content-Length when
 * the file goes through send_file: the total is the declared length, never
 * more (the clamp used to take the whole length for the file alone). */
TEST_IMPL(file_wrapper_after_write) {
  make_file();
  static const char *app =
      "import os\n"
      "PATH = os.path.join(os.path.dirname(__file__), 'data.bin')\n"
      "def application(environ, start_response):\n"
      "    cl, k = environ['QUERY_STRING'].split(',')\n"
      "    w = start_response('200 OK', [('Content-Length', cl)])\n"
      "    w(b'w' * int(k))\n"
      "    return environ['wsgi.file_wrapper'](open(PATH, 'rb'), 4096)\n";
  struct {
    const char *q;
    size_t total, from_file;
    int warned; /* write() itself exceeded Content-Length */
  } cases[] = {
      {"5000,100", 5000, 4900, 0},  /* the file's first bytes (mod_wsgi) */
      {"100100,100", 100100, 100000, 0}, /* exactly the whole file      */
      {"50,100", 50, 0, 1},         /* write() already exceeded it      */
      {"100,100", 100, 0, 0},       /* write() used it up exactly       */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fake_conn *c = test_conn("fw_after_write", app, "GET", "/");
    fake_var(c, "QUERY_STRING", cases[i].q);
    c->req.enable_sendfile = 1;
    ASSERT_EQ(fake_run(c), 0);
    ASSERT_EQ(c->out_len, cases[i].total);
    size_t k = cases[i].total < 100 ? cases[i].total : 100;
    for (size_t j = 0; j < k; j++)
      ASSERT_EQ(c->out[j], 'w');
    for (size_t j = k; j < c->out_len; j++)
      ASSERT_EQ(c->out[j], 'A' + (char)((j - k) % 26));
    if (cases[i].from_file) {
      ASSERT_EQ(c->file_calls, 1);
      ASSERT_EQ((size_t)c->file_len, cases[i].from_file);
    }
    if (cases[i].warned)
      ASSERT_LOG(c, "content length mismatch");
    else
      ASSERT_EQ(c->n_logs, 0);
    test_done(c);
  }
  return 0;
}
