/* test_hooks.c: access and authentication hooks. */
#include "test.h"

static const char *hooks_src =
    "def allow_access(environ, host):\n"
    "    if environ['PATH_INFO'] == '/raise':\n"
    "        raise PermissionError('hook failed')\n"
    "    if environ['PATH_INFO'] == '/bad':\n"
    "        return 'yes'\n"
    "    return host == 'good.example' and environ['mod_ssl.is_https']()\n"
    "def check_password(environ, user, password):\n"
    "    if user == 'nobody':\n"
    "        return None\n"
    "    return (user, password) == ('alice', 's3cret') and \\\n"
    "        environ['mod_ssl.var_lookup']('SSL_CLIENT_S_DN_CN') == 'alice'\n"
    "def groups_for_user(environ, user):\n"
    "    if user == 'broken':\n"
    "        return [1, 2]\n"
    "    return ['staff', b'wheel', 'caf\\xe9']\n";

static fake_conn *hook_conn(const char *path, int ssl) {
  fake_conn *c = test_conn("hooks", hooks_src, "GET", path);
  c->ssl = ssl;
  fake_run_prepare(c);
  return c;
}

TEST_IMPL(hooks_access) {
  fake_conn *c = hook_conn("/", 1);
  ASSERT_EQ(sysgi_allow_access(&c->req, "good.example"), 1);
  ASSERT_EQ(sysgi_allow_access(&c->req, "evil.example"), 0);
  ASSERT_EQ(sysgi_allow_access(&c->req, NULL), 0);
  ASSERT_EQ(c->head_calls, 0);
  test_done(c);
  /* No TLS callbacks: is_https() is False. */
  c = hook_conn("/", 0);
  ASSERT_EQ(sysgi_allow_access(&c->req, "good.example"), 0);
  test_done(c);
  c = hook_conn("/raise", 1);
  ASSERT_EQ(sysgi_allow_access(&c->req, "good.example"), SYSGI_E_APP);
  ASSERT_LOG(c, "PermissionError: hook failed");
  test_done(c);
  c = hook_conn("/bad", 1);
  ASSERT_EQ(sysgi_allow_access(&c->req, "good.example"), SYSGI_E_APP);
  ASSERT_LOG(c, "must return True or False");
  test_done(c);
  return 0;
}

TEST_IMPL(hooks_auth) {
  fake_conn *c = hook_conn("/", 1);
  ASSERT_EQ(sysgi_check_password(&c->req, "alice", "s3cret"), 1);
  ASSERT_EQ(sysgi_check_password(&c->req, "alice", "wrong"), 0);
  ASSERT_EQ(sysgi_check_password(&c->req, "nobody", "x"), SYSGI_AUTH_NO_USER);
  test_done(c);
  /* var_lookup without TLS callbacks returns None: not granted. */
  c = hook_conn("/", 0);
  ASSERT_EQ(sysgi_check_password(&c->req, "alice", "s3cret"), 0);
  char **g = NULL;
  size_t n = 0;
  ASSERT_EQ(sysgi_groups_for_user(&c->req, "alice", &g, &n), 0);
  ASSERT_EQ(n, 3u);
  ASSERT_STR_EQ(g[0], "staff");
  ASSERT_STR_EQ(g[1], "wheel");
  ASSERT_STR_EQ(g[2], "caf\xe9");
  sysgi_free_groups(g, n);
  ASSERT_EQ(sysgi_groups_for_user(&c->req, "broken", &g, &n), SYSGI_E_APP);
  ASSERT(g == NULL && n == 0);
  ASSERT_LOG(c, "groups_for_user() must return an iterable of str");
  test_done(c);
  /* A missing hook function. */
  c = test_conn("nohooks", "x = 1\n", "GET", "/");
  fake_run_prepare(c);
  ASSERT_EQ(sysgi_allow_access(&c->req, "h"), SYSGI_E_APP);
  ASSERT_LOG(c, "does not contain WSGI application 'allow_access'");
  test_done(c);
  return 0;
}
