/*
 * serve.c: `sysgi serve [APP.py] [--config PATH] [flags]`: the server in
 * the foreground (svc_run), for development. Ctrl-C stops it cleanly.
 *
 * The command line is one more source of the configuration model: a flag
 * --KEY VALUE (or --KEY=VALUE; a boolean --KEY alone means on) sets the
 * setting KEY of the configuration reference, in [server] when it is a
 * server setting, else in the application of APP.py. So every setting of
 * the model is a flag, with the model's parser, and none is parsed here.
 * Order: the INI file of --config, then serve's defaults for APP.py, then
 * the flags (the command line wins). A few flags are shorthands kept from
 * before the model: --port N (listen on http://127.0.0.1:N/), --mount
 * /PATH (APP.py's mount), --error-log FILE (log-file), --debug
 * (log-level debug).
 *
 * Exit codes: 2 for a usage error (a bad flag or flag value), 1 when the
 * configuration is invalid or the server cannot listen, 0 after Ctrl-C.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "log.h"
#include "serve.h"
#include "svc_ini.h"
#include "svc_run.h"
#include "sysgi.h"
#include "sysgi_config.h"

#define MAX_FLAGS 64

static HANDLE stop_event;

static BOOL WINAPI on_ctrl(DWORD type) {
  if (type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT ||
      type == CTRL_CLOSE_EVENT || type == CTRL_SHUTDOWN_EVENT) {
    SetEvent(stop_event);
    return TRUE;
  }
  return FALSE;
}

static char *to_utf8(const wchar_t *w) {
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  char *s = n > 0 ? malloc((size_t)n) : NULL;
  if (s)
    WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
  return s;
}

/* An absolute path in UTF-8 (the script's __file__ and module name, the
 * mtime checks and `sysgi check` must not depend on the working directory
 * later). */
static char *full_path(const char *p8) {
  wchar_t w[MAX_PATH * 2], full[MAX_PATH * 2];
  if (!MultiByteToWideChar(CP_UTF8, 0, p8, -1, w, MAX_PATH * 2))
    return _strdup(p8);
  DWORD n = GetFullPathNameW(w, MAX_PATH * 2, full, NULL);
  return n && n < MAX_PATH * 2 ? to_utf8(full) : _strdup(p8);
}

static int usage_error(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "sysgi serve: ");
  fprintf(stderr, fmt, a, b);
  fprintf(stderr, "\nusage: %s\n", SYSGI_SERVE_USAGE);
  return 2;
}

/* One flag, already checked: set into `section` with origin "--flag". */
typedef struct flag {
  const char *section; /* "server" or the app's section */
  const char *key;
  char *value;
  char origin[80];
} flag;

typedef struct serve_args {
  char *app;    /* APP.py (absolute), or NULL */
  char *config; /* --config PATH, or NULL */
  char app_section[MAX_PATH + 8];
  unsigned port; /* 0: not given */
  flag flags[MAX_FLAGS];
  int n_flags;
} serve_args;

static int is_path_type(int t) {
  return t == SYSGI_T_FILE || t == SYSGI_T_DIR || t == SYSGI_T_NEW_FILE;
}

/* Checks `value` with the setting's own parser and queues it. */
static int add_flag(serve_args *sa, const char *flag_name,
                    const sysgi_setting *st, const char *section,
                    const char *value) {
  char why[512];
  if (sa->n_flags == MAX_FLAGS)
    return usage_error("too many options%s%s", "", "");
  if (sysgi_config_check_value(st, value, why, sizeof why) != 0)
    return usage_error("%s: %s", flag_name, why);
  flag *f = &sa->flags[sa->n_flags++];
  f->section = section;
  f->key = st->name;
  f->value = is_path_type(st->type) ? full_path(value) : _strdup(value);
  snprintf(f->origin, sizeof f->origin, "%s", flag_name);
  return f->value ? 0 : usage_error("out of memory%s%s", "", "");
}

/* --KEY[=VALUE] [VALUE]: a setting of the model. Advances *i past what it
 * used. */
static int generic_flag(serve_args *sa, int argc, char **a8, int *i) {
  char name[128];
  const char *arg = a8[*i] + 2, *eq = strchr(arg, '=');
  size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
  if (nl == 0 || nl >= sizeof name)
    return usage_error("unknown option %s%s", a8[*i], "");
  memcpy(name, arg, nl);
  name[nl] = '\0';
  const sysgi_setting *srv = sysgi_config_find_scoped(name, SYSGI_SCOPE_SERVER);
  const sysgi_setting *app = sysgi_config_find_scoped(name, SYSGI_SCOPE_APP);
  const sysgi_setting *st = srv ? srv : app;
  const char *section = srv ? "server" : sa->app_section;
  char flag_name[140];
  snprintf(flag_name, sizeof flag_name, "--%s", name);
  if (!st) {
    const sysgi_setting *grp = sysgi_config_find_scoped(name, SYSGI_SCOPE_GROUP);
    return grp ? usage_error("%s is a [process-group:NAME] setting: put it in "
                             "the INI file of --config%s", flag_name, "")
               : usage_error("unknown option %s%s", a8[*i], "");
  }
  if (!strcmp(st->name, "config-file"))
    return usage_error("use --config PATH for the INI file%s%s", "", "");
  if (!srv && !sa->app)
    return usage_error("%s is an application setting: give APP.py, or set it "
                       "in an [app:MOUNT] section of the INI file%s",
                       flag_name, "");
  const char *value;
  if (eq)
    value = eq + 1;
  else if (st->type == SYSGI_T_BOOL)
    value = "on";
  else if (*i + 1 < argc)
    value = a8[++*i];
  else
    return usage_error("%s needs a value (%s)", flag_name, st->help);
  return add_flag(sa, flag_name, st, section, value);
}

/* Parses argv into `sa`. Returns 0 or the exit code of a usage error. */
static int parse_args(serve_args *sa, int argc, char **a8) {
  const char *mount = "/";
  /* APP.py first: the app section of later flags depends on --mount. */
  for (int i = 0; i < argc; i++) {
    const char *a = a8[i];
    if (!strcmp(a, "--mount")) {
      if (i + 1 >= argc || a8[i + 1][0] != '/')
        return usage_error("--mount needs a path starting with '/'%s%s", "", "");
      mount = a8[++i];
    } else if (a[0] == '-' && a[1] == '-') {
      const char *eq = strchr(a, '=');
      size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
      char name[128];
      snprintf(name, sizeof name, "%.*s", (int)nl, a + 2);
      const sysgi_setting *st = sysgi_config_find_scoped(name, SYSGI_SCOPE_SERVER);
      if (!st)
        st = sysgi_config_find_scoped(name, SYSGI_SCOPE_APP);
      int takes_value = !eq && strcmp(name, "debug") && strcmp(name, "help") &&
                        !(st && st->type == SYSGI_T_BOOL);
      if (takes_value && i + 1 < argc)
        i++;
    } else if (!sa->app) {
      sa->app = full_path(a);
    } else {
      return usage_error("unexpected argument %s%s", a, "");
    }
  }
  snprintf(sa->app_section, sizeof sa->app_section, "app:%s", mount);

  for (int i = 0; i < argc; i++) {
    const char *a = a8[i];
    int has_value = i + 1 < argc;
    if (!strcmp(a, "--mount")) {
      i++;
    } else if (!strcmp(a, "--config")) {
      if (!has_value || !a8[i + 1][0])
        return usage_error("--config needs the path of an INI file%s%s", "", "");
      sa->config = a8[++i];
    } else if (!strcmp(a, "--port")) {
      char *end;
      unsigned long v = has_value ? strtoul(a8[i + 1], &end, 10) : 0;
      if (!has_value || !a8[i + 1][0] || *end || v < 1 || v > 65535)
        return usage_error("--port needs a number from 1 to 65535%s%s", "", "");
      sa->port = (unsigned)v;
      i++;
    } else if (!strcmp(a, "--error-log")) {
      if (!has_value)
        return usage_error("--error-log needs a file%s%s", "", "");
      int rc = add_flag(sa, "--error-log", sysgi_config_find("log-file"),
                        "server", a8[++i]);
      if (rc)
        return rc;
    } else if (!strcmp(a, "--debug")) {
      int rc = add_flag(sa, "--debug", sysgi_config_find("log-level"),
                        "server", "debug");
      if (rc)
        return rc;
    } else if (a[0] == '-' && a[1] == '-') {
      int rc = generic_flag(sa, argc, a8, &i);
      if (rc)
        return rc;
    } else if (a[0] == '-') {
      return usage_error("unknown option %s%s", a, "");
    }
  }
  if (!sa->app && !sa->config)
    return usage_error("the WSGI script APP.py (or --config PATH) is "
                       "missing%s%s", "", "");
  if (sa->app) {
    char why[512];
    if (sysgi_config_check_value(sysgi_config_find("script"), sa->app, why,
                                 sizeof why) != 0)
      return usage_error("%s: %s", sa->app, why);
  }
  return 0;
}

/* The model of the command line. Returns 0, or 1 after printing every
 * error. */
static int build_model(const serve_args *sa, sysgi_config **out) {
  sysgi_config *cfg = sysgi_config_new(sysgi_config_default_case_insensitive());
  *out = cfg;
  if (!cfg) {
    fprintf(stderr, "sysgi serve: out of memory\n");
    return 1;
  }
  if (sa->config) {
    wchar_t w[MAX_PATH * 2];
    int read = MultiByteToWideChar(CP_UTF8, 0, sa->config, -1, w,
                                   MAX_PATH * 2) &&
               svc_ini_load(cfg, w) != SYSGI_E_IO;
    char *full = full_path(sa->config);
    sysgi_origin o = {SYSGI_ORIGIN_COMMAND_LINE, "--config", 0};
    if (full && read)
      sysgi_config_set(cfg, "server", "config-file", full, &o);
    free(full);
  }
  /* serve's own defaults: localhost (no URL reservation or administrator
   * needed) and the main interpreter for APP.py, as before the model. */
  sysgi_origin dflt = {SYSGI_ORIGIN_DEFAULT, "sysgi serve", 0};
  if (!sa->config)
    sysgi_config_set(cfg, "server", "listen", "http://127.0.0.1:8000/", &dflt);
  if (sa->app) {
    sysgi_origin o = {SYSGI_ORIGIN_COMMAND_LINE, "APP.py", 0};
    sysgi_config_set(cfg, sa->app_section, "script", sa->app, &o);
    sysgi_config_set(cfg, sa->app_section, "application-group", "%{GLOBAL}",
                     &dflt);
  }
  if (sa->port) {
    char url[64];
    sysgi_origin o = {SYSGI_ORIGIN_COMMAND_LINE, "--port", 0};
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", sa->port);
    sysgi_config_set(cfg, "server", "listen", url, &o);
  }
  for (int i = 0; i < sa->n_flags; i++) {
    const flag *f = &sa->flags[i];
    sysgi_origin o = {SYSGI_ORIGIN_COMMAND_LINE, f->origin, 0};
    sysgi_config_set(cfg, f->section, f->key, f->value, &o);
  }
  if (sysgi_config_finish(cfg) == 0)
    return 0;
  size_t n = sysgi_config_n_errors(cfg);
  fprintf(stderr, "sysgi serve: the configuration has %zu error%s:\n", n,
          n == 1 ? "" : "s");
  for (size_t i = 0; i < n; i++)
    fprintf(stderr, "  %s\n", sysgi_config_error(cfg, i));
  return 1;
}

static void on_progress(void *ctx, const char *stage) {
  const sysgi_config *cfg = ctx;
  if (strcmp(stage, "listening") != 0)
    return;
  const sysgi_server_settings *s = sysgi_config_server(cfg);
  size_t n = sysgi_config_n_apps(cfg);
  if (n == 1)
    printf("sysgi: serving %s on %s", sysgi_config_app(cfg, 0)->script,
           s->listen[0]);
  else
    printf("sysgi: serving %zu applications on %s", n, s->listen[0]);
  for (size_t i = 1; i < s->n_listen; i++)
    printf(", %s", s->listen[i]);
  printf(" (Ctrl-C stops)\n");
  fflush(stdout);
}

int sysgi_serve(int argc, wchar_t **argv) {
  serve_args sa;
  memset(&sa, 0, sizeof sa);
  char **a8 = calloc((size_t)argc + 1, sizeof *a8);
  int rc = a8 ? 0 : 1;
  for (int i = 0; !rc && i < argc; i++)
    if (!(a8[i] = to_utf8(argv[i])))
      rc = 1;
  if (rc) {
    fprintf(stderr, "sysgi serve: out of memory\n");
  } else if (!(rc = parse_args(&sa, argc, a8))) {
    sysgi_config *cfg = NULL;
    rc = build_model(&sa, &cfg);
    if (!rc) {
      const sysgi_server_settings *s = sysgi_config_server(cfg);
      svc_log_set_level(s->log_level);
      if (s->log_file && svc_log_open(s->log_file) != 0) {
        fprintf(stderr, "sysgi serve: cannot open the log file %s\n",
                s->log_file);
        rc = 1;
      }
    }
    if (!rc) {
      stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
      SetConsoleCtrlHandler(on_ctrl, TRUE);
      rc = svc_run(cfg, stop_event, on_progress, cfg) != 0;
      if (!rc) {
        printf("sysgi: stopped\n");
        fflush(stdout);
      }
      svc_log_close();
    }
    sysgi_config_free(cfg);
  }
  for (int i = 0; i < sa.n_flags; i++)
    free(sa.flags[i].value);
  free(sa.app);
  for (int i = 0; a8 && i < argc; i++)
    free(a8[i]);
  free(a8);
  return rc;
}
