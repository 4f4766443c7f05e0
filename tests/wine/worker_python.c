/*
 * worker_python.c: what a worker does before and while Python starts, with
 * the real Windows CPython: a process group's settings applied
 * (svc_worker_env_apply), Python loaded from the group's python-home (a
 * virtual environment, resolved by the same loader and runtime start as
 * the server's), then a script imported that prints what it sees; the
 * core sends its print()s to the log, which goes to stderr here
 * (worker_plumbing_log.c). Driven by test_worker_plumbing.py.
 *
 *   worker_python.exe VENV HOME SCRIPT
 * Exit code: 0 when the script was imported, 1 when Python could not be
 * loaded or started, 2 for a usage or configuration error.
 */
#include <winsock2.h>
#include <windows.h>

#include <shellapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "python_loader.h"
#include "sysgi.h"
#include "sysgi_config.h"
#include "worker_env.h"

static char *utf8(const wchar_t *w) {
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  char *s = n > 0 ? malloc((size_t)n) : NULL;
  if (s)
    WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
  return s;
}

int main(void) {
  int argc = 0;
  wchar_t **argv = CommandLineToArgvW(GetCommandLineW(), &argc);
  if (!argv || argc != 4) {
    fprintf(stderr, "usage: worker_python VENV HOME SCRIPT\n");
    return 2;
  }
  static const wchar_t *const clear[] = {L"LANG", L"LC_ALL",
                                         L"PYTHONDONTWRITEBYTECODE"};
  for (int i = 0; i < 3; i++) {
    _wputenv_s(clear[i], L"");
    SetEnvironmentVariableW(clear[i], NULL);
  }
  char *venv = utf8(argv[1]), *home = utf8(argv[2]), *script = utf8(argv[3]);
  sysgi_config *cfg = sysgi_config_new(1);
  const char *sec = "process-group:site";
  sysgi_config_set(cfg, sec, "python-home", venv, NULL);
  sysgi_config_set(cfg, sec, "home", home, NULL);
  char lib[MAX_PATH * 3];
  snprintf(lib, sizeof lib, "%s\\lib", home);
  sysgi_config_set(cfg, sec, "python-path", lib, NULL);
  sysgi_config_set(cfg, sec, "lang", "fr_FR.UTF-8", NULL);
  sysgi_config_set(cfg, sec, "locale", "fr_FR.UTF-8", NULL);
  sysgi_config_set(cfg, sec, "dont-write-bytecode", "on", NULL);
  if (sysgi_config_finish(cfg) != 0) {
    for (size_t i = 0; i < sysgi_config_n_errors(cfg); i++)
      fprintf(stderr, "config: %s\n", sysgi_config_error(cfg, i));
    return 2;
  }
  svc_worker_python py;
  if (svc_worker_env_apply(cfg, "site", &py) != 0)
    return 2;

  /* As the worker will: the loader with the group's home, then the
   * runtime with the group's Python settings. */
  wchar_t whome[MAX_PATH * 2], dll[MAX_PATH];
  char err[1024];
  MultiByteToWideChar(CP_UTF8, 0, py.python_home, -1, whome, MAX_PATH * 2);
  if (sysgi_python_load(whome, err, sizeof err, dll, MAX_PATH) != 0) {
    svc_logf(SYSGI_LOG_ERR, "%s", err);
    return 1;
  }
  svc_logf(SYSGI_LOG_INFO, "Python loaded from %ls", dll);
  sysgi_runtime_config rc;
  memset(&rc, 0, sizeof rc);
  rc.python_home = py.python_home;
  rc.python_path = py.python_path;
  rc.n_python_path = py.n_python_path;
  rc.dont_write_bytecode = py.dont_write_bytecode;
  rc.multithread = 1;
  rc.multiprocess = 1;
  rc.server_software = "sysgi-worker-test";
  rc.log = svc_log;
  if (sysgi_runtime_init(&rc) != 0)
    return 1;
  const sysgi_group_settings *g = sysgi_config_find_group(cfg, "site");
  svc_logf(SYSGI_LOG_INFO, "LC_CTYPE again: %d",
           svc_worker_env_locale_after_python(g->locale));
  int irc = sysgi_import_script_at(script, "", 0);
  svc_logf(SYSGI_LOG_INFO, "import: %d", irc);
  sysgi_runtime_shutdown();
  sysgi_config_free(cfg);
  return irc ? 1 : 0;
}
