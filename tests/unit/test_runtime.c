/* test_runtime.c: starting Python with a python home (base or venv). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "test.h"

#include <sys/stat.h>

static char logged[4096];

static void capture(void *ctx, int level, const char *msg) {
  snprintf(logged + strlen(logged), sizeof logged - strlen(logged), "%s\n",
           msg);
}

static int init_home(const char *home) {
  static const char *path[1];
  path[0] = test_tmpdir();
  sysgi_runtime_config cfg = {.python_home = home,
                              .python_path = path,
                              .n_python_path = 1,
                              .multithread = 1,
                              .log = capture};
  return sysgi_runtime_init(&cfg);
}

/* A wrong home is an error and a log line, not an exit of the process. */
TEST_IMPL(runtime_bad_home) {
  ASSERT_EQ(init_home("/nonexistent/python"), SYSGI_E_NOPYTHON);
  ASSERT(!sysgi_runtime_ready());
  ASSERT(strstr(logged, "python home '/nonexistent/python' holds no standard "
                        "library"));
  fake_conn *c = calloc(1, sizeof *c);
  fake_init(c, "GET", "/", "/x.py");
  test_current = c;
  ASSERT_EQ(fake_run(c), SYSGI_E_NOPYTHON);
  test_done(c);
  return 0;
}

static const char *prefix_app =
    "import sys\n"
    "def application(environ, start_response):\n"
    "    try:\n"
    "        import venvmod\n"
    "        v = venvmod.VALUE\n"
    "    except ImportError:\n"
    "        v = None\n"
    "    start_response('200 OK', [])\n"
    "    return [('%r %s %s' % (v, sys.base_prefix, sys.prefix)).encode()]\n";

TEST_IMPL(runtime_base_home) {
  ASSERT_EQ(init_home("/usr"), 0);
  fake_conn *c = test_get("prefix", prefix_app);
  ASSERT_STR_EQ(c->out, "None /usr /usr");
  test_done(c);
  return 0;
}

TEST_IMPL(runtime_venv_home) {
  int major = 0, minor = 0;
  ASSERT_EQ(sscanf(Py_GetVersion(), "%d.%d", &major, &minor), 2);
  char venv[512], dir[600], file[700];
  snprintf(venv, sizeof venv, "%s/venv", test_tmpdir());
  snprintf(dir, sizeof dir, "%s/lib", venv);
  mkdir(venv, 0755);
  mkdir(dir, 0755);
  snprintf(dir, sizeof dir, "%s/lib/python%d.%d", venv, major, minor);
  mkdir(dir, 0755);
  snprintf(dir, sizeof dir, "%s/lib/python%d.%d/site-packages", venv, major,
           minor);
  mkdir(dir, 0755);
  snprintf(file, sizeof file, "%s/venvmod.py", dir);
  FILE *f = fopen(file, "w");
  fputs("VALUE = 42\n", f);
  fclose(f);
  snprintf(file, sizeof file, "%s/pyvenv.cfg", venv);
  f = fopen(file, "w");
  fputs("home = /usr/bin\ninclude-system-site-packages = false\n", f);
  fclose(f);
  ASSERT_EQ(init_home(venv), 0);
  fake_conn *c = test_get("prefix", prefix_app);
  /* sys.prefix is the environment, as for its own python. */
  char want[700];
  snprintf(want, sizeof want, "42 /usr %s", venv);
  ASSERT_STR_EQ(c->out, want);
  test_done(c);
  return 0;
}

/* The fake front end's "no GIL in callbacks" check (applied to every
 * request of this suite) can fail: call a callback holding the GIL. */
TEST_IMPL(fake_detects_gil) {
  test_runtime();
  fake_conn *c = test_conn("unused", "x = 1\n", "GET", "/");
  fake_run_prepare(c);
  c->quiet = 1;
  c->fe.log(c, SYSGI_LOG_INFO, "without the GIL");
  ASSERT_EQ(c->gil_held, 0);
  PyGILState_STATE g = PyGILState_Ensure();
  c->fe.log(c, SYSGI_LOG_INFO, "with the GIL");
  PyGILState_Release(g);
  ASSERT_EQ(c->gil_held, 1);
  c->gil_held = 0;
  test_done(c);
  return 0;
}

/* python-path and dont-write-bytecode apply to sub-interpreters too: each
 * starts with a fresh sys, not a copy of the main interpreter's. */
static const char *sys_app =
    "import sys\n"
    "def application(environ, start_response):\n"
    "    start_response('200 OK', [])\n"
    "    return [('%s %s' % (sys.dont_write_bytecode,\n"
    "             sys.path[0] == environ['PYPATH0'])).encode()]\n";

TEST_IMPL(runtime_sys_in_every_group) {
  static const char *path[1];
  path[0] = test_tmpdir();
  sysgi_runtime_config cfg = {.python_path = path,
                              .n_python_path = 1,
                              .dont_write_bytecode = 1,
                              .multithread = 1,
                              .log = capture};
  ASSERT_EQ(sysgi_runtime_init(&cfg), 0);
  static const char *groups[] = {"", "sub-one"};
  for (size_t i = 0; i < 2; i++) {
    fake_conn *c = test_conn("sysapp", sys_app, "GET", "/");
    c->req.application_group = groups[i];
    fake_var(c, "PYPATH0", test_tmpdir());
    ASSERT_EQ(fake_run(c), 0);
    ASSERT_STR_EQ(c->out, "True True");
    test_done(c);
  }
  return 0;
}

/* A daemon thread an app starts in a sub-interpreter still owns a thread
 * state at shutdown; Py_EndInterpreter would abort the process ("not the
 * last thread"). Shutdown must return, say why, and leave the rest to the
 * process exit. A sub-interpreter without such threads is still ended. */
TEST_IMPL(runtime_shutdown_with_daemon_thread) {
  sysgi_runtime_config cfg = {.multithread = 1, .log = capture};
  ASSERT_EQ(sysgi_runtime_init(&cfg), 0);
  fake_conn *c = test_conn("daemon",
      "import threading, time\n"
      "def _loop():\n"
      "    while True:\n"
      "        time.sleep(0.01)\n"
      "threading.Thread(target=_loop, daemon=True).start()\n"
      "def application(environ, start_response):\n"
      "    start_response('200 OK', [])\n"
      "    return [b'%d' % threading.active_count()]\n",
      "GET", "/");
  c->req.application_group = "with-daemon";
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 200);
  test_done(c);
  c = test_conn("plain", "def application(e, s):\n"
                "    s('200 OK', [])\n    return [b'ok']\n", "GET", "/");
  c->req.application_group = "plain";
  ASSERT_EQ(fake_run(c), 0);
  test_done(c);
  sysgi_runtime_shutdown();
  ASSERT(!sysgi_runtime_ready());
  ASSERT(strstr(logged, "application group 'with-daemon' still runs 1 "
                        "thread(s)"));
  ASSERT(!strstr(logged, "'plain' still runs"));
  return 0;
}
