/*
 * main.c: runs one test by name (CTest runs each as its own process), or
 * every test with "all" (the Wine run: one process, one Wine start).
 */
#ifdef _WIN32
#include <direct.h>
#include <process.h>
#define getpid _getpid
#else
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "ctest.h"

#define CTEST_ENTRY(name) CTEST(name);
#include "config-tests.h"
#undef CTEST_ENTRY

static const struct {
  const char *name;
  void (*fn)(void);
} tests[] = {
#define CTEST_ENTRY(name) {#name, ctest_##name},
#include "config-tests.h"
#undef CTEST_ENTRY
};

static char dir[1024];

/* What ct_make created, removed at exit (newest first). */
static char *made[256];
static int made_dir[256];
static size_t n_made;

static void cleanup(void) {
  while (n_made > 0) {
    n_made--;
#ifdef _WIN32
    if (made_dir[n_made])
      _rmdir(made[n_made]);
#else
    if (made_dir[n_made])
      rmdir(made[n_made]);
#endif
    else
      remove(made[n_made]);
    free(made[n_made]);
  }
}

static void remember(const char *p, int is_dir) {
  size_t n = strlen(p) + 1;
  CHECK(n_made < 256);
  made[n_made] = malloc(n);
  CHECK(made[n_made]);
  memcpy(made[n_made], p, n);
  made_dir[n_made++] = is_dir;
}

char ct_sep(void) {
#ifdef _WIN32
  return '\\';
#else
  return '/';
#endif
}

static void make_dir(const char *p) {
#ifdef _WIN32
  _mkdir(p);
#else
  mkdir(p, 0700);
#endif
}

const char *ct_dir(void) {
  if (!dir[0]) {
    const char *base = getenv("SYSGI_CONFIG_TEST_DIR");
    char cwd[800];
#ifdef _WIN32
    if (!base || !*base)
      base = _getcwd(cwd, sizeof cwd);
#else
    if (!base || !*base)
      base = getcwd(cwd, sizeof cwd);
#endif
    CHECK(base);
    snprintf(dir, sizeof dir, "%s%cconfig-test-%d", base, ct_sep(),
             (int)getpid());
    make_dir(dir);
    remember(dir, 1);
    atexit(cleanup);
  }
  return dir;
}

const char *ct_path(const char *name) {
  static char p[1200];
  snprintf(p, sizeof p, "%s%c%s", ct_dir(), ct_sep(), name);
  for (char *q = p + strlen(ct_dir()); *q; q++)
    if (*q == '/')
      *q = ct_sep();
  return p;
}

const char *ct_make(const char *name) {
  const char *p = ct_path(name);
  size_t n = strlen(p);
  if (n && p[n - 1] == ct_sep()) {
    static char d[1200];
    snprintf(d, sizeof d, "%.*s", (int)(n - 1), p);
    make_dir(d);
    remember(d, 1);
    return d;
  }
  FILE *f = fopen(p, "w");
  CHECK(f);
  fputs("application = None\n", f);
  fclose(f);
  remember(p, 0);
  return p;
}

const char *ct_errors(const sysgi_config *cfg) {
  static char all[8192];
  all[0] = '\0';
  for (size_t i = 0; i < sysgi_config_n_errors(cfg); i++) {
    size_t l = strlen(all);
    snprintf(all + l, sizeof all - l, "%s%s", i ? "\n" : "",
             sysgi_config_error(cfg, i));
  }
  return all;
}

const char *ct_check(const char *name, unsigned scope, const char *value) {
  static char err[1024];
  const sysgi_setting *s = sysgi_config_find_scoped(name, scope);
  CHECK(s);
  err[0] = '\0';
  if (sysgi_config_check_value(s, value, err, sizeof err) == 0)
    return NULL;
  CHECK(err[0]);
  return err;
}

int main(int argc, char **argv) {
  size_t n = sizeof tests / sizeof tests[0];
  if (argc != 2) {
    fprintf(stderr, "usage: %s TEST|all|--list\n", argv[0]);
    return 2;
  }
  if (!strcmp(argv[1], "--list")) {
    for (size_t i = 0; i < n; i++)
      printf("%s\n", tests[i].name);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (!strcmp(argv[1], "all") || !strcmp(argv[1], tests[i].name)) {
      tests[i].fn();
      printf("ok %s\n", tests[i].name);
      if (strcmp(argv[1], "all"))
        return 0;
    }
  }
  if (!strcmp(argv[1], "all"))
    return 0;
  fprintf(stderr, "no test named %s\n", argv[1]);
  return 2;
}
