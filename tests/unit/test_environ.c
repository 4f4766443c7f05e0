/* test_environ.c: the WSGI environ, compared with what mod_wsgi sets. */
#include "test.h"

/* The app prints "key<TAB>type<TAB>repr" per key, like the reference. */
static const char *dump_app =
    "def application(environ, start_response):\n"
    "    lines = ['%s\\t%s\\t%r' % (k, type(v).__name__, v)\n"
    "             for k, v in sorted(environ.items())]\n"
    "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
    "    return ['\\n'.join(lines).encode('utf-8', 'backslashreplace')]\n";

TEST_IMPL(environ_keys) {
  fake_conn *c = test_conn("env", dump_app, "GET", "/env/sub");
  fake_var(c, "QUERY_STRING", "x=1&utf=%C3%A9");
  fake_var(c, "HTTP_USER_AGENT", "caf\xe9/1"); /* latin-1 byte */
  fake_var(c, "mod_wsgi.request_id", "abc");
  fake_var(c, "apache.version", "2.4.71");
  c->req.enable_sendfile = 1;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 200);
  const char *o = c->out;
  ASSERT_CONTAINS(o, "wsgi.version\ttuple\t(1, 0)");
  ASSERT_CONTAINS(o, "wsgi.url_scheme\tstr\t'http'");
  ASSERT_CONTAINS(o, "wsgi.multithread\tbool\tTrue");
  ASSERT_CONTAINS(o, "wsgi.multiprocess\tbool\tFalse");
  ASSERT_CONTAINS(o, "wsgi.run_once\tbool\tFalse");
  ASSERT_CONTAINS(o, "wsgi.input_terminated\tbool\tTrue");
  ASSERT_CONTAINS(o, "wsgi.input\tInput\t");
  ASSERT_CONTAINS(o, "wsgi.errors\tLog\t");
  ASSERT_CONTAINS(o, "wsgi.file_wrapper\ttype\t<class 'mod_wsgi.FileWrapper'>");
  ASSERT_CONTAINS(o, "mod_wsgi.queue_start\tstr\t'1700000000000000'");
  ASSERT_CONTAINS(o, "mod_wsgi.request_start\tstr\t'1700000000000000'");
  ASSERT_CONTAINS(o, "mod_wsgi.script_start\tstr\t'");
  ASSERT_CONTAINS(o, "mod_wsgi.application_group\tstr\t''");
  ASSERT_CONTAINS(o, "mod_wsgi.callable_object\tstr\t'application'");
  ASSERT_CONTAINS(o, "mod_wsgi.process_group\tstr\t''");
  ASSERT_CONTAINS(o, "mod_wsgi.script_reloading\tstr\t'1'");
  ASSERT_CONTAINS(o, "mod_wsgi.enable_sendfile\tstr\t'1'");
  ASSERT_CONTAINS(o, "mod_wsgi.request_handler\tstr\t'wsgi-script'");
  ASSERT_CONTAINS(o, "mod_wsgi.handler_script\tstr\t''");
  ASSERT_CONTAINS(o, "mod_wsgi.ignore_activity\tstr\t'0'");
  ASSERT_CONTAINS(o, "mod_wsgi.thread_id\tint\t");
  ASSERT_CONTAINS(o, "mod_wsgi.thread_requests\tint\t0");
  ASSERT_CONTAINS(o, "mod_wsgi.total_requests\tint\t1");
  ASSERT_CONTAINS(o, "mod_wsgi.version\ttuple\t(0, 1, 0)");
  ASSERT_CONTAINS(o, "apache.version\ttuple\t(2, 4, 71)");
  ASSERT_CONTAINS(o, "mod_wsgi.request_id\tstr\t'abc'");
  ASSERT_CONTAINS(o, "mod_wsgi.path_info\tstr\t'/env/sub'");
  ASSERT_CONTAINS(o, "mod_wsgi.script_name\tstr\t''");
  ASSERT_CONTAINS(o, "mod_wsgi.listener_host\tstr\t'127.0.0.1'");
  ASSERT_CONTAINS(o, "mod_wsgi.listener_port\tstr\t'8080'");
  ASSERT_CONTAINS(o, "GATEWAY_INTERFACE\tstr\t'CGI/1.1'");
  ASSERT_CONTAINS(o, "REQUEST_SCHEME\tstr\t'http'");
  ASSERT_CONTAINS(o, "SCRIPT_FILENAME\tstr\t'");
  ASSERT_CONTAINS(o, "PATH_INFO\tstr\t'/env/sub'");
  ASSERT_CONTAINS(o, "QUERY_STRING\tstr\t'x=1&utf=%C3%A9'");
  ASSERT_CONTAINS(o, "HTTP_USER_AGENT\tstr\t'caf\xc3\xa9/1'"); /* U+00E9 */
  ASSERT(!strstr(o, "HTTPS"));
  test_done(c);
  return 0;
}

/* Seed change 1: HTTPS never reaches the app; a true value sets the
 * scheme. */
TEST_IMPL(environ_https) {
  static const char *const values[] = {"on", "1", "YES", "True", "off", "0"};
  for (int i = 0; i < 6; i++) {
    fake_conn *c = test_conn("envh", dump_app, "GET", "/");
    fake_var(c, "HTTPS", values[i]);
    ASSERT_EQ(fake_run(c), 0);
    ASSERT(!strstr(c->out, "HTTPS"));
    ASSERT_CONTAINS(c->out, i < 4 ? "wsgi.url_scheme\tstr\t'https'"
                                  : "wsgi.url_scheme\tstr\t'http'");
    test_done(c);
  }
  /* The connection's own scheme. */
  fake_conn *c = test_conn("envh", dump_app, "GET", "/");
  c->req.url_scheme = "https";
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_CONTAINS(c->out, "wsgi.url_scheme\tstr\t'https'");
  test_done(c);
  return 0;
}

/* Counters: thread_requests counts this thread's earlier requests, and
 * total_requests every request; a fresh environ each time. */
TEST_IMPL(environ_counters) {
  const char *app =
      "def application(environ, start_response):\n"
      "    fresh = 'mutated' not in environ\n"
      "    environ['mutated'] = 1\n"
      "    start_response('200 OK', [])\n"
      "    return [('%d %d %d' % (environ['mod_wsgi.thread_requests'],\n"
      "             environ['mod_wsgi.total_requests'], fresh)).encode()]\n";
  for (int i = 0; i < 3; i++) {
    fake_conn *c = test_conn("counters", app, "GET", "/");
    ASSERT_EQ(fake_run(c), 0);
    char want[64];
    snprintf(want, sizeof want, "%d %d 1", i, i + 1);
    ASSERT_STR_EQ(c->out, want);
    test_done(c);
  }
  return 0;
}

TEST_IMPL(strerror_version) {
  for (int e = -11; e <= 1; e++) {
    ASSERT(sysgi_strerror(e) != NULL);
    ASSERT(strcmp(sysgi_strerror(e), "unknown error") != 0);
  }
  ASSERT_STR_EQ(sysgi_strerror(-99), "unknown error");
  ASSERT_STR_EQ(sysgi_version(), "0.1.0");
  return 0;
}

/* No runtime: sysgi_handle answers SYSGI_E_NOPYTHON and logs why. */
TEST_IMPL(handle_before_init) {
  fake_conn *c = calloc(1, sizeof *c);
  fake_init(c, "GET", "/", "/nonexistent.py");
  test_current = c;
  ASSERT(!sysgi_runtime_ready());
  ASSERT_EQ(fake_run(c), SYSGI_E_NOPYTHON);
  ASSERT_EQ(c->head_calls, 0);
  ASSERT_LOG(c, "Python runtime is not available");
  ASSERT_EQ(sysgi_import_script("/x.py", ""), SYSGI_E_NOPYTHON);
  test_done(c);
  return 0;
}

/* The name/value caches: a name pointer reused for another name, the same
 * name with changing values (short and long). */
TEST_IMPL(environ_caches) {
  static char name[16], value[128];
  const char *vals[] = {"one", "two", "one", "", NULL, "one"};
  char longv[100];
  memset(longv, 'L', sizeof longv - 1);
  longv[sizeof longv - 1] = '\0';
  vals[4] = longv;
  for (int i = 0; i < 12; i++) {
    fake_conn *c = test_conn("envc", dump_app, "GET", "/");
    snprintf(name, sizeof name, "HTTP_X_%c", 'A' + i % 3);
    snprintf(value, sizeof value, "%s", vals[i % 6]);
    fake_var(c, name, value);
    fake_var(c, "HTTP_CONST", "same every time");
    ASSERT_EQ(fake_run(c), 0);
    char want[256];
    snprintf(want, sizeof want, "%s\tstr\t'%s'", name, vals[i % 6]);
    ASSERT_CONTAINS(c->out, want);
    ASSERT_CONTAINS(c->out, "HTTP_CONST\tstr\t'same every time'");
    for (int k = 0; k < 3; k++) {
      char other[32];
      snprintf(other, sizeof other, "HTTP_X_%c\t", 'A' + k);
      if (k != i % 3)
        ASSERT(!strstr(c->out, other));
    }
    test_done(c);
  }
  return 0;
}
