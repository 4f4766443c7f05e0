/*
 * worker_env.c: a process group's lang, locale, dont-write-bytecode, home,
 * python-home, python-path and cpu-priority, applied in the worker before
 * Python starts. See worker_env.h.
 */
#include <winsock2.h>
#include <windows.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "log.h"
#include "sysgi.h"
#include "worker_env.h"

/* Sets NAME=value in the C runtime's environment and in the process's
 * (the block CreateProcess copies for children, and the one a Python on
 * another C runtime reads). */
static int set_env(const wchar_t *name, const char *value) {
  wchar_t w[1024];
  if (!MultiByteToWideChar(CP_UTF8, 0, value, -1, w, 1024)) {
    svc_logf(SYSGI_LOG_ERR, "cannot set %ls: the value '%s' is too long or "
             "not UTF-8", name, value);
    return SYSGI_E_IO;
  }
  if (_wputenv_s(name, w) != 0 || !SetEnvironmentVariableW(name, w)) {
    svc_logf(SYSGI_LOG_ERR, "cannot set %ls=%s in the environment (error %lu)",
             name, value, (unsigned long)GetLastError());
    return SYSGI_E_IO;
  }
  return 0;
}

/* The names a Windows C runtime may know for a POSIX-style locale:
 * "en_US.UTF-8" as given, "en-US.UTF-8" (the UCRT), "en-US" (msvcrt since
 * Vista), "en_US". Returns how many were written. */
static int candidates(const char *loc, char out[4][128]) {
  int n = 0;
  snprintf(out[n++], 128, "%s", loc);
  char dash[128];
  snprintf(dash, sizeof dash, "%s", loc);
  char *u = strchr(dash, '_');
  char *dot = strchr(dash, '.');
  if (u && (!dot || u < dot)) {
    *u = '-';
    snprintf(out[n++], 128, "%s", dash);
    if (dot) {
      *dot = '\0';
      snprintf(out[n++], 128, "%s", dash);
      *u = '_';
      snprintf(out[n++], 128, "%s", dash);
    }
  }
  return n;
}

int svc_worker_env_locale(const char *lang, const char *locale,
                          char *accepted, size_t accepted_len) {
  if (accepted && accepted_len)
    accepted[0] = '\0';
  if (lang && set_env(L"LANG", lang) != 0)
    return SYSGI_E_IO;
  if (!locale)
    return 0;
  if (set_env(L"LC_ALL", locale) != 0)
    return SYSGI_E_IO;
  char names[4][128];
  int n = candidates(locale, names);
  for (int i = 0; i < n; i++) {
    const char *got = setlocale(LC_ALL, names[i]);
    if (got) {
      if (accepted && accepted_len)
        snprintf(accepted, accepted_len, "%s", got);
      svc_logf(SYSGI_LOG_DEBUG, "locale '%s': the C runtime's locale is '%s'",
               locale, got);
      return 0;
    }
  }
  svc_logf(SYSGI_LOG_WARN, "locale '%s' is not known to the C runtime (tried "
           "'%s'%s%s): LC_ALL is set for Python and child processes, the C "
           "locale stays '%s'", locale, names[0], n > 1 ? " and " : "",
           n > 1 ? names[1] : "", setlocale(LC_ALL, NULL));
  return 0;
}

int svc_worker_env_locale_after_python(const char *locale) {
  if (!locale)
    return 0;
  char names[4][128];
  int n = candidates(locale, names);
  for (int i = 0; i < n; i++) {
    const char *got = setlocale(LC_CTYPE, names[i]);
    if (got) {
      svc_logf(SYSGI_LOG_DEBUG, "locale '%s': LC_CTYPE is '%s' again after "
               "Python's start", locale, got);
      return 1;
    }
  }
  return 0;
}

DWORD svc_priority_class(int p) {
  if (p <= -11)
    return HIGH_PRIORITY_CLASS;
  if (p < 0)
    return ABOVE_NORMAL_PRIORITY_CLASS;
  if (p == 0)
    return NORMAL_PRIORITY_CLASS;
  if (p <= 10)
    return BELOW_NORMAL_PRIORITY_CLASS;
  return IDLE_PRIORITY_CLASS;
}

int svc_worker_env_apply(const sysgi_config *cfg, const char *group,
                         svc_worker_python *py) {
  memset(py, 0, sizeof *py);
  const sysgi_group_settings *g =
      cfg && group ? sysgi_config_find_group(cfg, group) : NULL;
  if (!g) {
    svc_logf(SYSGI_LOG_ERR, "worker: the configuration has no "
             "[process-group:%s]", group ? group : "(none)");
    return SYSGI_E_CONFIG;
  }
  if (g->home) {
    wchar_t w[MAX_PATH * 2];
    if (!MultiByteToWideChar(CP_UTF8, 0, g->home, -1, w, MAX_PATH * 2) ||
        !SetCurrentDirectoryW(w)) {
      svc_logf(SYSGI_LOG_ERR, "[process-group:%s] home: cannot make '%s' the "
               "working directory (error %lu)", g->name, g->home,
               (unsigned long)GetLastError());
      return SYSGI_E_IO;
    }
  }
  char accepted[128];
  if (svc_worker_env_locale(g->lang, g->locale, accepted, sizeof accepted))
    return SYSGI_E_IO;
  if (g->dont_write_bytecode && set_env(L"PYTHONDONTWRITEBYTECODE", "1"))
    return SYSGI_E_IO;
  DWORD cls = svc_priority_class(g->cpu_priority);
  if (!SetPriorityClass(GetCurrentProcess(), cls))
    /* Not fatal: the worker runs, at the priority it was given. */
    svc_logf(SYSGI_LOG_WARN, "[process-group:%s] cpu-priority %d: "
             "SetPriorityClass(0x%lx) failed (error %lu)", g->name,
             g->cpu_priority, (unsigned long)cls,
             (unsigned long)GetLastError());
  py->python_home = g->python_home;
  py->python_path = g->python_path;
  py->n_python_path = g->n_python_path;
  py->dont_write_bytecode = g->dont_write_bytecode;
  svc_logf(SYSGI_LOG_DEBUG, "[process-group:%s]: home %s, lang %s, locale %s "
           "(C runtime: %s), dont-write-bytecode %s, priority class 0x%lx, "
           "python-home %s", g->name, g->home ? g->home : "(unchanged)",
           g->lang ? g->lang : "(unset)", g->locale ? g->locale : "(unset)",
           accepted[0] ? accepted : "unchanged",
           g->dont_write_bytecode ? "on" : "off", (unsigned long)cls,
           g->python_home ? g->python_home : "(none: PYTHONHOME)");
  return 0;
}
