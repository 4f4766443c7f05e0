/* test_script.c: the error paths of script loading (script.c, issue 14):
 * each failure is logged with its cause, leaves no exception set and no
 * half-loaded module cached, and the next request tries again. */
#include "test.h"

#include <sys/stat.h>

static const char *good_v =
    "def application(environ, start_response):\n"
    "    start_response('200 OK', [])\n"
    "    return [b'%s']\n";

static const char *write_good(const char *name, const char *tag) {
  char src[256];
  snprintf(src, sizeof src, good_v, tag);
  return test_app(name, src);
}

static fake_conn *run_at(const char *path, int64_t mtime, int want_rc) {
  fake_conn *c = test_conn(path, NULL, "GET", "/");
  c->req.script_mtime_us = mtime;
  ASSERT_EQ(fake_run(c), want_rc);
  return c;
}

/* A reload that fails (syntax error, raise at import) is logged, fails
 * again on the next request rather than serving a broken module, and a
 * fixed script is loaded afterwards. */
TEST_IMPL(script_reload_failure) {
  test_runtime();
  const char *path = write_good("rfail", "v1");
  fake_conn *c = run_at(path, 1000, 0);
  ASSERT_STR_EQ(c->out, "v1");
  test_done(c);
  test_app("rfail", "def application(environ, start_response)\n");
  for (int i = 0; i < 2; i++) {
    c = run_at(path, 2000, SYSGI_E_APP);
    ASSERT_EQ(c->head_calls, 0);
    ASSERT_LOG(c, "Failed to exec Python script file");
    ASSERT_LOG(c, "SyntaxError");
    test_done(c);
  }
  test_app("rfail", "raise OSError('reload at import')\n");
  c = run_at(path, 3000, SYSGI_E_APP);
  ASSERT_LOG(c, "OSError: reload at import");
  test_done(c);
  write_good("rfail", "v4");
  c = run_at(path, 4000, 0);
  ASSERT_STR_EQ(c->out, "v4");
  ASSERT_EQ(c->n_logs, 0);
  test_done(c);
  return 0;
}

/* sys.modules is the application's to break. A module whose insertion
 * into sys.modules failed used to be returned (not executed) with the
 * exception still set, and cached: "does not contain WSGI application"
 * until the file changed. A missing sys.modules gave NULL with no
 * exception: a log line without its cause. */
TEST_IMPL(script_sys_modules_broken) {
  test_runtime();
  const char *breaker = test_app("breaker",
      "import builtins, sys\n"
      "class RO(dict):\n"
      "    def __setitem__(self, k, v):\n"
      "        if k.startswith('_mod_wsgi_'):\n"
      "            raise LookupError('no setitem for ' + k[:10])\n"
      "        dict.__setitem__(self, k, v)\n"
      "def application(environ, start_response):\n"
      "    q = environ['QUERY_STRING']\n"
      "    if not hasattr(builtins, 'saved_modules'):\n"
      "        builtins.saved_modules = sys.modules\n"
      "    if q == 'ro':\n"
      "        sys.modules = RO(sys.modules)\n"
      "    elif q == 'del':\n"
      "        del sys.modules\n"
      "    else:\n"
      "        sys.modules = builtins.saved_modules\n"
      "    start_response('200 OK', [])\n"
      "    return [q.encode()]\n");
  const char *vpath = write_good("victim", "victim");
  const char *modes[] = {"ro", "del"};
  const char *cause[] = {"LookupError: no setitem for _mod_wsgi_",
                         "sys.modules"};
  for (int m = 0; m < 2; m++) {
    fake_conn *b = test_conn(breaker, NULL, "GET", "/");
    fake_var(b, "QUERY_STRING", modes[m]);
    ASSERT_EQ(fake_run(b), 0);
    test_done(b);
    fake_conn *c = run_at(vpath, 100 + m, SYSGI_E_APP);
    ASSERT_EQ(c->head_calls, 0);
    ASSERT_LOG(c, "Failed to exec Python script file");
    ASSERT_LOG(c, cause[m]);
    ASSERT_NO_LOG(c, "does not contain");
    ASSERT_NO_LOG(c, "SystemError");
    test_done(c);
    b = test_conn(breaker, NULL, "GET", "/");
    fake_var(b, "QUERY_STRING", "restore");
    ASSERT_EQ(fake_run(b), 0);
    test_done(b);
    /* Same mtime: nothing half-loaded was cached. */
    c = run_at(vpath, 100 + m, 0);
    ASSERT_STR_EQ(c->out, "victim");
    ASSERT_EQ(c->n_logs, 0);
    test_done(c);
  }
  return 0;
}

/* A script that cannot be read or decoded: the cause is logged. */
TEST_IMPL(script_unreadable) {
  test_runtime();
  char dir[512];
  snprintf(dir, sizeof dir, "%s/adir.py", test_tmpdir());
  mkdir(dir, 0755);
  fake_conn *c = run_at(dir, 0, SYSGI_E_APP);
  ASSERT_LOG(c, "Failed to exec Python script file");
  ASSERT_LOG(c, "IsADirectoryError");
  test_done(c);
  const char *bad = test_app("latin1", "s = '\xe9t\xe9'\n");
  c = run_at(bad, 0, SYSGI_E_APP);
  ASSERT_LOG(c, "Failed to exec Python script file");
  ASSERT_LOG(c, "SyntaxError");
  test_done(c);
  return 0;
}

/* A module __getattr__ (PEP 562) that raises something other than
 * AttributeError: that exception is the cause, not a missing callable. */
TEST_IMPL(script_getattr_raises) {
  test_runtime();
  fake_conn *c = test_conn("lazyattr",
      "def __getattr__(name):\n"
      "    raise KeyError('lazy ' + name)\n", "GET", "/");
  ASSERT_EQ(fake_run(c), SYSGI_E_APP);
  ASSERT_LOG(c, "KeyError: 'lazy application'");
  test_done(c);
  c = test_conn("lazyattr2",
      "def __getattr__(name):\n"
      "    raise AttributeError(name)\n", "GET", "/");
  ASSERT_EQ(fake_run(c), SYSGI_E_APP);
  ASSERT_LOG(c, "does not contain WSGI application 'application'");
  test_done(c);
  return 0;
}
