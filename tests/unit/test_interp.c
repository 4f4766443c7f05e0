/* test_interp.c: application groups, thread states, script loading. */
#include "test.h"

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

static fake_conn *in_group(const char *app, const char *group) {
  fake_conn *c = test_conn(app, NULL, "GET", "/");
  c->req.application_group = group;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 200);
  return c;
}

/* Seed bug 6: codecs work in a sub-interpreter. */
TEST_IMPL(subinterp_codecs) {
  test_runtime();
  const char *app = test_app("codecs",
      "import codecs\n"
      "def application(environ, start_response):\n"
      "    r = [ 'x'.encode('idna'), '\\xe9'.encode('cp1252'),\n"
      "          codecs.lookup('ascii').name, 'a'.encode('utf-16-le'),\n"
      "          environ['mod_wsgi.application_group'] ]\n"
      "    start_response('200 OK', [])\n"
      "    return [repr(r).encode()]\n");
  fake_conn *c = in_group(app, "site-one");
  ASSERT_STR_EQ(c->out, "[b'x', b'\\xe9', 'ascii', b'a\\x00', 'site-one']");
  test_done(c);
  return 0;
}

/* Each group is its own interpreter with its own module copy and types. */
TEST_IMPL(subinterp_isolation) {
  test_runtime();
  const char *app = test_app("iso",
      "count = [0]\n"
      "def application(environ, start_response):\n"
      "    count[0] += 1\n"
      "    start_response('200 OK', [])\n"
      "    return [('%d %s' % (count[0], environ['mod_wsgi.application_group'])).encode()]\n");
  static const char *const groups[] = {"", "a", "b", "a", "", "b", "a"};
  static const char *const want[] = {"1 ", "1 a", "1 b", "2 a", "2 ", "2 b", "3 a"};
  for (int i = 0; i < 7; i++) {
    fake_conn *c = in_group(app, groups[i]);
    ASSERT_STR_EQ(c->out, want[i]);
    test_done(c);
  }
  return 0;
}

/* ---- threads ------------------------------------------------------------- */

typedef struct worker {
  const char *app;
  const char *group;
  int n;
  int failures;
  char first[256], last[256];
} worker;

static void *work(void *arg) {
  worker *w = arg;
  for (int i = 0; i < w->n; i++) {
    fake_conn *c = calloc(1, sizeof *c);
    fake_init(c, "GET", "/", w->app);
    c->req.application_group = w->group;
    c->quiet = 1;
    if (fake_run(c) != 0 || c->status != 200 || c->n_logs != 0 ||
        c->gil_held != 0) {
      w->failures++;
      fprintf(stderr, "request failed: status %d, %d log lines, gil_held %d in %s\n",
              c->status, c->n_logs, c->gil_held, c->gil_where);
      for (int k = 0; k < c->n_logs; k++)
        fprintf(stderr, "  log: %s\n", c->logs[k]);
    }
    snprintf(i == 0 ? w->first : w->last, 256, "%s", c->out ? c->out : "");
    fake_free(c);
    free(c);
  }
  return NULL;
}

/* A thread keeps its thread state between requests: threading.local data
 * survives, and the thread's identity is stable; two threads differ. */
TEST_IMPL(thread_state_reuse) {
  test_runtime();
  const char *app = test_app("tls",
      "import threading, _thread\n"
      "local = threading.local()\n"
      "def application(environ, start_response):\n"
      "    local.n = getattr(local, 'n', 0) + 1\n"
      "    start_response('200 OK', [])\n"
      "    return [('%d %d %d' % (local.n, _thread.get_ident(),\n"
      "             environ['mod_wsgi.thread_id'])).encode()]\n");
  static const char *const groups[] = {"", "tgroup"};
  for (int g = 0; g < 2; g++) {
    worker w[2] = {{app, groups[g], 5, 0, "", ""}, {app, groups[g], 5, 0, "", ""}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
      ASSERT_EQ(pthread_create(&th[i], NULL, work, &w[i]), 0);
    for (int i = 0; i < 2; i++)
      ASSERT_EQ(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
      ASSERT_EQ(w[i].failures, 0);
      long n1, id1, n2, id2, t1, t2;
      ASSERT_EQ(sscanf(w[i].first, "%ld %ld %ld", &n1, &id1, &t1), 3);
      ASSERT_EQ(sscanf(w[i].last, "%ld %ld %ld", &n2, &id2, &t2), 3);
      ASSERT_EQ(n1, 1);
      ASSERT_EQ(n2, 5); /* the same threading.local across 5 requests */
      ASSERT_EQ(id1, id2);
      ASSERT_EQ(t1, t2);
    }
    ASSERT(strcmp(w[0].last, w[1].last) != 0);
  }
  return 0;
}

/* Several threads, two groups plus the main interpreter, at once. */
TEST_IMPL(concurrent_groups) {
  test_runtime();
  const char *app = test_app("conc",
      "import time, hashlib\n"
      "def application(environ, start_response):\n"
      "    data = hashlib.sha256(environ['mod_wsgi.application_group'].encode()).hexdigest()\n"
      "    time.sleep(0.001)\n"
      "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
      "    return [environ['mod_wsgi.application_group'].encode(), b':', data.encode()]\n");
  enum { T = 6 };
  static const char *const groups[] = {"g1", "g2", ""};
  worker w[T];
  pthread_t th[T];
  for (int i = 0; i < T; i++) {
    w[i] = (worker){app, groups[i % 3], 30, 0, "", ""};
    ASSERT_EQ(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < T; i++)
    ASSERT_EQ(pthread_join(th[i], NULL), 0);
  for (int i = 0; i < T; i++) {
    ASSERT_EQ(w[i].failures, 0);
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%s:", groups[i % 3]);
    ASSERT(strncmp(w[i].last, prefix, strlen(prefix)) == 0);
    ASSERT_EQ(strlen(w[i].last), strlen(prefix) + 64);
  }
  return 0;
}

/* Requests enter Python through a gate (interp.c) that is held only while
 * waiting for the GIL: a request that gives the GIL up (here, waiting for
 * the others at a barrier) lets the next one in. A gate held any longer
 * would leave the barrier one short: BrokenBarrierError after 20 s, 500. */
TEST_IMPL(gate_lets_waiting_requests_in) {
  test_runtime();
  enum { T = 5 };
  const char *app = test_app("gate",
      "import threading\n"
      "barrier = threading.Barrier(5, timeout=20)\n"
      "def application(environ, start_response):\n"
      "    barrier.wait()\n"
      "    start_response('200 OK', [])\n"
      "    return [b'in']\n");
  static const char *const groups[] = {"", "gategroup"};
  for (int g = 0; g < 2; g++) {
    worker w[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
      w[i] = (worker){app, groups[g], 2, 0, "", ""};
      ASSERT_EQ(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < T; i++)
      ASSERT_EQ(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < T; i++) {
      ASSERT_EQ(w[i].failures, 0);
      ASSERT_STR_EQ(w[i].last, "in");
    }
  }
  return 0;
}

/* The main interpreter's thread state is PyGILState's, so a C extension
 * calling PyGILState_Ensure (ctypes callbacks do) works in %{GLOBAL}. */
TEST_IMPL(main_interp_gilstate) {
  fake_conn *c = test_get("gilstate",
      "import ctypes, threading\n"
      "def application(environ, start_response):\n"
      "    CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)\n"
      "    cb = CB(lambda x: x * 2)\n"
      "    r = cb(21)\n"
      "    start_response('200 OK', [])\n"
      "    return [('%d %s' % (r, threading.current_thread().name)).encode()]\n");
  ASSERT_CONTAINS(c->out, "42 ");
  test_done(c);
  return 0;
}

/* ---- scripts ------------------------------------------------------------- */

TEST_IMPL(script_load_errors) {
  test_runtime();
  struct {
    const char *name, *src, *log;
  } cases[] = {
      {"syntax", "def application(environ, start_response)\n", "SyntaxError"},
      {"importerr", "import no_such_module_here\n", "ModuleNotFoundError"},
      {"raises", "raise RuntimeError('at import')\n", "RuntimeError: at import"},
      {"nocallable", "def other(e, s): pass\n", "does not contain WSGI application 'application'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fake_conn *c = test_conn(cases[i].name, cases[i].src, "GET", "/");
    ASSERT_EQ(fake_run(c), SYSGI_E_APP);
    ASSERT_EQ(c->head_calls, 0);
    ASSERT_EQ(c->body_calls, 0);
    ASSERT_LOG(c, cases[i].log);
    ASSERT_LOG(c, c->req.script_filename);
    test_done(c);
  }
  fake_conn *c = test_conn("/nonexistent/dir/app.py", NULL, "GET", "/");
  ASSERT_EQ(fake_run(c), SYSGI_E_APP);
  ASSERT_EQ(c->head_calls, 0);
  ASSERT_LOG(c, "Failed to exec Python script file '/nonexistent/dir/app.py'");
  ASSERT_LOG(c, "FileNotFoundError");
  test_done(c);
  /* A different callable name. */
  c = test_conn("callable",
      "def app2(environ, start_response):\n"
      "    start_response('200 OK', [])\n"
      "    return [__name__.encode(), b' ', __file__.encode()]\n", "GET", "/");
  c->req.callable_object = "app2";
  ASSERT_EQ(fake_run(c), 0);
  ASSERT(strncmp(c->out, "_mod_wsgi_", 10) == 0);
  ASSERT_EQ(strlen(c->out), 10 + 32 + 1 + strlen(c->req.script_filename));
  ASSERT_CONTAINS(c->out, c->req.script_filename);
  test_done(c);
  return 0;
}

TEST_IMPL(script_reload) {
  test_runtime();
  const char *path = test_app("reload",
      "n = [0]\n"
      "def application(environ, start_response):\n"
      "    n[0] += 1\n"
      "    start_response('200 OK', [])\n"
      "    return [b'v1 %d' % n[0]]\n");
  const char *want[] = {"v1 1", "v1 2", "v2 1", "v2 2"};
  for (int i = 0; i < 4; i++) {
    if (i == 2)
      test_app("reload",
               "n = [0]\n"
               "def application(environ, start_response):\n"
               "    n[0] += 1\n"
               "    start_response('200 OK', [])\n"
               "    return [b'v2 %d' % n[0]]\n");
    fake_conn *c = test_conn(path, NULL, "GET", "/");
    c->req.script_mtime_us = i < 2 ? 1000 : 2000;
    ASSERT_EQ(fake_run(c), 0);
    ASSERT_STR_EQ(c->out, want[i]);
    test_done(c);
  }
  return 0;
}

TEST_IMPL(import_script) {
  test_runtime();
  const char *path = test_app("preload",
      "import builtins\n"
      "builtins.sysgi_preloaded = getattr(builtins, 'sysgi_preloaded', 0) + 1\n"
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [])\n"
      "    return [b'%d' % builtins.sysgi_preloaded]\n");
  ASSERT_EQ(sysgi_import_script(path, "pre"), 0);
  fake_conn *c = in_group(path, "pre");
  ASSERT_STR_EQ(c->out, "1"); /* loaded once, by the import */
  test_done(c);

  /* Imported with the mtime the front end will report: the first request
   * finds it loaded; a newer mtime still reloads. Without it (0 above), a
   * request that reports an mtime imports the script again. */
  const char *at = test_app("preload_at",
      "import builtins\n"
      "builtins.sysgi_at = getattr(builtins, 'sysgi_at', 0) + 1\n"
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [])\n"
      "    return [b'%d' % builtins.sysgi_at]\n");
  ASSERT_EQ(sysgi_import_script_at(at, "pre_at", 5000), 0);
  const int64_t mtimes[] = {5000, 5000, 6000};
  const char *const want_at[] = {"1", "1", "2"};
  for (int i = 0; i < 3; i++) {
    fake_conn *ca = test_conn(at, NULL, "GET", "/");
    ca->req.application_group = "pre_at";
    ca->req.script_mtime_us = mtimes[i];
    ASSERT_EQ(fake_run(ca), 0);
    ASSERT_STR_EQ(ca->out, want_at[i]);
    test_done(ca);
  }
  ASSERT_EQ(sysgi_import_script(at, "pre_zero"), 0);
  fake_conn *cz = test_conn(at, NULL, "GET", "/");
  cz->req.application_group = "pre_zero";
  cz->req.script_mtime_us = 5000;
  ASSERT_EQ(fake_run(cz), 0);
  ASSERT_STR_EQ(cz->out, "2"); /* imported twice: why _at exists */
  test_done(cz);

  const char *bad = test_app("preload_bad", "raise ValueError('nope')\n");
  ASSERT_EQ(sysgi_import_script(bad, ""), SYSGI_E_APP);
  ASSERT_EQ(sysgi_import_script(NULL, ""), SYSGI_E_INVAL);
  return 0;
}
