/*
 * runner.c: runs one test (`sysgi_unit_tests NAME`) or every test, each in
 * its own child process (`sysgi_unit_tests`), like libuv's runner. A test
 * passes when it returns 0.
 */
#define _GNU_SOURCE
#include "test.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_ENTRY(name) int run_test_##name(void);
#include "test-list.h"
#undef TEST_ENTRY

static const struct {
  const char *name;
  int (*fn)(void);
} tests[] = {
#define TEST_ENTRY(name) {#name, run_test_##name},
#include "test-list.h"
#undef TEST_ENTRY
};

fake_conn *test_current;

void test_fail_hook(void) {
  if (test_current)
    fake_dump(test_current);
  fflush(stderr);
}

static char tmpdir[256];

static void rm_tmpdir(void) {
  if (tmpdir[0]) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
      fprintf(stderr, "warning: could not remove %s\n", tmpdir);
  }
}

const char *test_tmpdir(void) {
  if (!tmpdir[0]) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/sysgi-unit-XXXXXX",
             base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
      perror("mkdtemp");
      exit(1);
    }
    atexit(rm_tmpdir);
  }
  return tmpdir;
}

const char *test_app(const char *name, const char *source) {
  char *path = malloc(512);
  snprintf(path, 512, "%s/%s.py", test_tmpdir(), name);
  FILE *f = fopen(path, "w");
  if (!f || fputs(source, f) < 0 || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
  return path;
}

static void rt_log(void *ctx, int level, const char *msg) {
  if (getenv("SYSGI_TEST_VERBOSE"))
    fprintf(stderr, "  runtime log[%d] %s\n", level, msg);
}

void test_runtime(void) { test_runtime_with_log(rt_log); }

void test_runtime_with_log(sysgi_log_fn log) {
  if (sysgi_runtime_ready())
    return;
  static const char *path[1];
  path[0] = test_tmpdir();
  sysgi_runtime_config cfg = {.python_path = path,
                              .n_python_path = 1,
                              .dont_write_bytecode = 1,
                              .multithread = 1,
                              .log = log};
  ASSERT_EQ(sysgi_runtime_init(&cfg), 0);
  ASSERT(sysgi_runtime_ready());
}

fake_conn *test_conn(const char *name, const char *source, const char *method,
                     const char *path) {
  test_runtime();
  fake_conn *c = calloc(1, sizeof *c);
  fake_init(c, method, path, source ? test_app(name, source) : name);
  test_current = c;
  return c;
}

fake_conn *test_get(const char *name, const char *source) {
  fake_conn *c = test_conn(name, source, "GET", "/");
  ASSERT_EQ(fake_run(c), 0);
  return c;
}

void test_done(fake_conn *c) {
  ASSERT_EQ(c->gil_held, 0); /* every callback ran without the GIL */
  if (test_current == c)
    test_current = NULL;
  fake_free(c);
  free(c);
}

static int run_one(int i) {
  int rc = tests[i].fn();
  if (sysgi_runtime_ready())
    sysgi_runtime_shutdown();
  return rc;
}

int main(int argc, char **argv) {
  size_t n = sizeof tests / sizeof tests[0];
  if (argc > 1) {
    for (size_t i = 0; i < n; i++)
      if (strcmp(tests[i].name, argv[1]) == 0)
        return run_one((int)i);
    fprintf(stderr, "no such test: %s\n", argv[1]);
    return 2;
  }
  int failed = 0;
  for (size_t i = 0; i < n; i++) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
      _exit(run_one((int)i));
    int st = 0;
    waitpid(pid, &st, 0);
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    printf("%s %zu - %s\n", ok ? "ok" : "not ok", i + 1, tests[i].name);
    failed += !ok;
  }
  printf("%d of %zu tests failed\n", failed, n);
  return failed != 0;
}
