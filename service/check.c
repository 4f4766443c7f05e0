/*
 * check.c: `sysgi check [--config PATH]`: loads the configuration the
 * service would run with (svc_config_load: INI file, then the registry),
 * prints the effective value of every setting with its source, and lists
 * every error. The listing is itself an INI file (sources as comments), so
 * it can be pasted into sysgi.ini.
 *
 * Exit codes: 0 valid, 1 invalid (every error listed on stderr), 2 usage.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "check.h"
#include "svc_config.h"

typedef struct dump_ctx {
  const char *section;
} dump_ctx;

static void print_value(void *ctx, const char *section, const char *key,
                        const char *value, const sysgi_origin *origin) {
  dump_ctx *d = ctx;
  char where[1024], line[2048];
  if (!d->section || strcmp(d->section, section) != 0) {
    printf("%s[%s]\n", d->section ? "\n" : "", section);
    d->section = section;
  }
  if (value)
    snprintf(line, sizeof line, "%s = %s", key, value);
  else
    snprintf(line, sizeof line, ";%s =", key);
  sysgi_origin_format(origin, where, sizeof where);
  printf("%-50s ; %s\n", line, value ? where : "not set");
}

static int usage(const char *msg) {
  fprintf(stderr, "sysgi check: %s\nusage: %s\n", msg, SYSGI_CHECK_USAGE);
  return 2;
}

int sysgi_check(int argc, wchar_t **argv) {
  const wchar_t *ini = NULL;
  for (int i = 0; i < argc; i++) {
    if (!wcscmp(argv[i], L"--config")) {
      if (i + 1 >= argc || !argv[i + 1][0])
        return usage("--config needs the path of an INI file");
      ini = argv[++i];
    } else if (!wcsncmp(argv[i], L"--config=", 9) && argv[i][9]) {
      ini = argv[i] + 9;
    } else if (!wcscmp(argv[i], L"--help") || !wcscmp(argv[i], L"-h")) {
      printf("usage: %s\n", SYSGI_CHECK_USAGE);
      return 0;
    } else {
      char a[300];
      snprintf(a, sizeof a, "unexpected argument '%ls'", argv[i]);
      return usage(a);
    }
  }
  sysgi_config *cfg = NULL;
  int rc = svc_config_load(ini, &cfg);
  if (!cfg) {
    fprintf(stderr, "sysgi check: out of memory\n");
    return 1;
  }
  printf("; sysgi %s: the effective configuration, with the source of "
         "every value\n", sysgi_version());
  dump_ctx d = {NULL};
  sysgi_config_dump(cfg, print_value, &d);
  fflush(stdout);
  size_t n = sysgi_config_n_errors(cfg);
  if (rc != 0 || n) {
    fprintf(stderr, "sysgi check: %zu error%s:\n", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++)
      fprintf(stderr, "  %s\n", sysgi_config_error(cfg, i));
    if (!n)
      fprintf(stderr, "  %s\n", sysgi_strerror(rc));
    fflush(stderr);
    sysgi_config_free(cfg);
    return 1;
  }
  if (sysgi_config_n_apps(cfg) == 0)
    printf("\nsysgi check: warning: no application is configured: every "
           "request will get 404 until an [app:/MOUNT] section names a "
           "script\n");
  printf("\nsysgi check: the configuration is valid\n");
  sysgi_config_free(cfg);
  return 0;
}
