/*
 * ctest.h: the config library's test harness. Pure C (no Python), so the
 * same tests run natively, under ASan and as a Windows program under Wine.
 * Each test is `CTEST(name) { ... }` listed in config-tests.h.
 */
#ifndef SYSGI_CONFIG_CTEST_H
#define SYSGI_CONFIG_CTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysgi_config.h"

#define CTEST(name) void ctest_##name(void)

#define CHECK(expr)                                                          \
  do {                                                                       \
    if (!(expr)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,       \
              #expr);                                                        \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

#define CHECK_EQ(a, b)                                                       \
  do {                                                                       \
    long long a_ = (long long)(a), b_ = (long long)(b);                      \
    if (a_ != b_) {                                                          \
      fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, \
              #a, #b, a_, b_);                                               \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

#define CHECK_STR(a, b)                                                      \
  do {                                                                       \
    const char *a_ = (a), *b_ = (b);                                         \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                 \
      fprintf(stderr, "%s:%d: %s == %s:\n  got  '%s'\n  want '%s'\n",        \
              __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)",                \
              b_ ? b_ : "(null)");                                           \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

#define CHECK_CONTAINS(hay, needle)                                          \
  do {                                                                       \
    const char *h_ = (hay), *n_ = (needle);                                  \
    if (!h_ || !strstr(h_, n_)) {                                            \
      fprintf(stderr, "%s:%d: '%s' does not contain '%s'\n", __FILE__,       \
              __LINE__, h_ ? h_ : "(null)", n_);                             \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

/* A scratch directory made for this process (absolute, no trailing
 * separator), and files in it. */
const char *ct_dir(void);
/* Creates `name` (a file; a directory when it ends with '/') under
 * ct_dir() and returns its absolute path (static storage per call: copy
 * it if you need two). */
const char *ct_make(const char *name);
/* ct_dir() + separator + name, without creating anything. */
const char *ct_path(const char *name);
char ct_sep(void);
/* Every error of cfg joined by "\n" (static storage). */
const char *ct_errors(const sysgi_config *cfg);
/* The error of checking `value` with setting (name, scope). */
const char *ct_check(const char *name, unsigned scope, const char *value);

#endif
