/*
 * test.h: the unit-test harness (libuv style). Each test is
 * `TEST_IMPL(name) { ... return 0; }`, listed in test-list.h; ASSERT ends
 * the process with a message naming the file and line.
 */
#ifndef SYSGI_TEST_H
#define SYSGI_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_frontend.h"
#include "sysgi.h"

#define TEST_IMPL(name) int run_test_##name(void)

#define ASSERT(expr)                                                         \
  do {                                                                       \
    if (!(expr)) {                                                           \
      fprintf(stderr, "Assertion failed in %s on line %d: %s\n", __FILE__,   \
              __LINE__, #expr);                                              \
      test_fail_hook();                                                      \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

#define ASSERT_EQ(a, b) ASSERT((a) == (b))
#define ASSERT_STR_EQ(a, b)                                                  \
  do {                                                                       \
    const char *a_ = (a), *b_ = (b);                                         \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                 \
      fprintf(stderr, "Assertion failed in %s on line %d: '%s' == '%s'\n",   \
              __FILE__, __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)");   \
      test_fail_hook();                                                      \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

/* Starts the runtime once per process (multithread on). */
void test_runtime(void);
/* The same, with the runtime log going to `log` (the first call wins). */
void test_runtime_with_log(sysgi_log_fn log);
/* Writes a Python file into the test's temp directory; returns its path
 * (static storage, valid until the process ends). */
const char *test_app(const char *name, const char *source);
const char *test_tmpdir(void);
/* The fake connection of the current test: dumped when an ASSERT fails. */
extern fake_conn *test_current;
void test_fail_hook(void);
/* Runs `source` as app "name" with GET / and returns the connection
 * (heap, free with test_done). */
fake_conn *test_get(const char *name, const char *source);
void test_done(fake_conn *c);
/* Like test_get, but does not run it: set up, then fake_run(). */
fake_conn *test_conn(const char *name, const char *source, const char *method,
                     const char *path);

#define ASSERT_CONTAINS(hay, needle)                                         \
  do {                                                                       \
    const char *h_ = (hay), *n_ = (needle);                                  \
    if (!h_ || !strstr(h_, n_)) {                                            \
      fprintf(stderr, "Assertion failed in %s on line %d: '%s' not found\n", \
              __FILE__, __LINE__, n_);                                       \
      test_fail_hook();                                                      \
      exit(1);                                                               \
    }                                                                        \
  } while (0)
#define ASSERT_LOG(c, needle) ASSERT(fake_log_find((c), (needle)) >= 0)
#define ASSERT_NO_LOG(c, needle) ASSERT(fake_log_find((c), (needle)) < 0)

#endif
