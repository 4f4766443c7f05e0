/*
 * svc_config.c: the configuration of the service and of `sysgi check`:
 * the INI file, then HKLM\SOFTWARE\sysgi over it, then the model's
 * defaults and cross-checks. Where the INI file is: the --config path,
 * else the registry's ConfigFile, else sysgi.ini next to sysgi.exe.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc_config.h"
#include "svc_ini.h"
#include "svc_registry.h"

static char *utf8(const wchar_t *w) {
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  char *s = n > 0 ? malloc((size_t)n) : NULL;
  if (s)
    WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
  return s;
}

/* sysgi.ini in the directory of sysgi.exe. */
static int default_ini(wchar_t *out, size_t len) {
  DWORD n = GetModuleFileNameW(NULL, out, (DWORD)len);
  if (n == 0 || n >= len)
    return -1;
  wchar_t *slash = wcsrchr(out, L'\\');
  if (!slash || (size_t)(slash - out) + 10 >= len)
    return -1;
  wcscpy(slash + 1, L"sysgi.ini");
  return 0;
}

static int is_file(const wchar_t *p) {
  DWORD a = GetFileAttributesW(p);
  return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

int svc_config_load(const wchar_t *ini_path, sysgi_config **out) {
  sysgi_config *cfg = sysgi_config_new(sysgi_config_default_case_insensitive());
  *out = cfg;
  if (!cfg)
    return SYSGI_E_NOMEM;

  wchar_t found[MAX_PATH * 2], full[MAX_PATH * 2];
  const wchar_t *ini = ini_path;
  int is_default = 0;
  if (!ini && svc_registry_config_file(cfg, found, MAX_PATH * 2) == 1)
    ini = found; /* its origin is set by svc_registry_load below */
  if (!ini && default_ini(found, MAX_PATH * 2) == 0) {
    ini = found;
    is_default = 1;
  }
  int loaded = 0;
  if (!ini) {
    sysgi_config_add_error(cfg, NULL, NULL, NULL,
                           "cannot find the directory of sysgi.exe");
  } else if (is_default && !is_file(ini)) {
    char *p8 = utf8(ini);
    sysgi_origin o = {SYSGI_ORIGIN_FILE, p8 ? p8 : "sysgi.ini", 0};
    sysgi_config_add_error(cfg, &o, NULL, NULL,
                           "no configuration file here (pass --config PATH, "
                           "or set the registry value "
                           "HKLM\\SOFTWARE\\sysgi\\ConfigFile)");
    free(p8);
  } else {
    int rc = svc_ini_load(cfg, ini);
    if (rc == SYSGI_E_NOMEM)
      return rc;
    loaded = rc != SYSGI_E_IO;
  }
  svc_registry_load(cfg);

  /* Where the INI file came from, for `sysgi check` (the registry's
   * ConfigFile was set by svc_registry_load). After the registry: an
   * explicit path is what was read. */
  if (ini && loaded && (ini_path || is_default)) {
    DWORD fl = GetFullPathNameW(ini, MAX_PATH * 2, full, NULL);
    char *p8 = utf8(fl && fl < MAX_PATH * 2 ? full : ini);
    sysgi_origin o = {ini_path ? SYSGI_ORIGIN_COMMAND_LINE : SYSGI_ORIGIN_DEFAULT,
                      ini_path ? "--config" : NULL, 0};
    if (p8)
      sysgi_config_set(cfg, "server", "config-file", p8, &o);
    free(p8);
  }
  return sysgi_config_finish(cfg);
}

int svc_config_require_app(sysgi_config *cfg, const wchar_t *ini) {
  /* Only as the last word: after other errors it is mostly their echo. */
  if (sysgi_config_n_apps(cfg) > 0 || sysgi_config_n_errors(cfg) > 0)
    return 0;
  char *p8 = ini ? utf8(ini) : NULL;
  sysgi_origin o = {SYSGI_ORIGIN_FILE, p8, 0};
  sysgi_config_add_error(cfg, p8 ? &o : NULL, NULL, NULL,
                         "no application: add an [app:/MOUNT] section with "
                         "the script to serve");
  free(p8);
  return SYSGI_E_CONFIG;
}
