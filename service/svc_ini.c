/*
 * svc_ini.c: the INI file (sysgi.ini) into the configuration model: the
 * file's bytes, read with Win32, go to the portable line reader
 * sysgi_config_read_ini (core/src/config_ini.c says why sysgi has its own
 * reader and what the syntax is).
 */
#include <winsock2.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc_ini.h"

#define INI_MAX_BYTES (4u * 1024 * 1024)

static void err_file(sysgi_config *cfg, const char *path, const char *msg) {
  sysgi_origin o = {SYSGI_ORIGIN_FILE, path, 0};
  sysgi_config_add_error(cfg, &o, NULL, NULL, msg);
}

static char *read_all(sysgi_config *cfg, const char *path8,
                      const wchar_t *path, size_t *len) {
  char msg[300];
  HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                         NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    snprintf(msg, sizeof msg, "cannot open the configuration file: %s "
             "(error %lu)",
             e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND
                 ? "no such file"
                 : e == ERROR_ACCESS_DENIED ? "access denied" : "failed",
             (unsigned long)e);
    err_file(cfg, path8, msg);
    return NULL;
  }
  LARGE_INTEGER size;
  char *buf = NULL;
  DWORD got = 0;
  if (!GetFileSizeEx(h, &size) || size.QuadPart > INI_MAX_BYTES) {
    err_file(cfg, path8, "the configuration file is larger than 4 MB");
  } else if (!(buf = malloc((size_t)size.QuadPart + 1))) {
    err_file(cfg, path8, "out of memory");
  } else if (!ReadFile(h, buf, (DWORD)size.QuadPart, &got, NULL)) {
    err_file(cfg, path8, "cannot read the configuration file");
    free(buf);
    buf = NULL;
  }
  CloseHandle(h);
  if (buf) {
    buf[got] = '\0';
    *len = got;
  }
  return buf;
}

int svc_ini_load(sysgi_config *cfg, const wchar_t *path) {
  wchar_t full[MAX_PATH * 2];
  DWORD fl = GetFullPathNameW(path, MAX_PATH * 2, full, NULL);
  const wchar_t *use = fl && fl < MAX_PATH * 2 ? full : path;
  int n8 = WideCharToMultiByte(CP_UTF8, 0, use, -1, NULL, 0, NULL, NULL);
  char *path8 = n8 > 0 ? malloc((size_t)n8) : NULL;
  if (!path8)
    return SYSGI_E_NOMEM;
  WideCharToMultiByte(CP_UTF8, 0, use, -1, path8, n8, NULL, NULL);

  size_t len = 0;
  char *buf = read_all(cfg, path8, use, &len);
  int rc = buf ? sysgi_config_read_ini(cfg, buf, len, path8) : SYSGI_E_IO;
  free(buf);
  free(path8);
  return rc;
}
