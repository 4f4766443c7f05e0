/*
 * svc_registry.c: the values of HKLM\SOFTWARE\sysgi into the configuration
 * model, read after the INI file so that they override it. The installer
 * writes Listen, PythonHome and ConfigFile there; every server setting of
 * the model's table has a registry name (sysgi_setting.registry).
 *
 * Types: REG_SZ; REG_EXPAND_SZ (%VARIABLES% expanded); REG_DWORD and
 * REG_QWORD for numbers, sizes, seconds and booleans (0/1); REG_MULTI_SZ
 * for the lists (Listen, PythonPath), one entry per string.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc_registry.h"

#define KEY_NAME "HKLM\\SOFTWARE\\sysgi"

static char *utf8(const wchar_t *w, int wlen) {
  int n = WideCharToMultiByte(CP_UTF8, 0, w, wlen, NULL, 0, NULL, NULL);
  char *s = malloc((size_t)(n > 0 ? n : 0) + 1);
  if (!s)
    return NULL;
  if (n > 0)
    WideCharToMultiByte(CP_UTF8, 0, w, wlen, s, n, NULL, NULL);
  s[n > 0 ? n : 0] = '\0';
  return s;
}

static const char *type_name(DWORD t) {
  switch (t) {
  case REG_SZ: return "REG_SZ";
  case REG_EXPAND_SZ: return "REG_EXPAND_SZ";
  case REG_DWORD: return "REG_DWORD";
  case REG_QWORD: return "REG_QWORD";
  case REG_MULTI_SZ: return "REG_MULTI_SZ";
  case REG_BINARY: return "REG_BINARY";
  case REG_NONE: return "REG_NONE";
  default: return "an unusual type";
  }
}

static int is_numeric(int type) {
  return type == SYSGI_T_BOOL || type == SYSGI_T_UINT || type == SYSGI_T_INT ||
         type == SYSGI_T_SIZE || type == SYSGI_T_SECONDS;
}

static int is_list(int type) {
  return type == SYSGI_T_LISTEN || type == SYSGI_T_PATH_LIST;
}

/* What the model's parser of `type` accepts from the registry. */
static const char *expected_types(int type) {
  if (is_numeric(type))
    return "REG_DWORD, REG_QWORD or REG_SZ";
  if (is_list(type))
    return "REG_SZ, REG_EXPAND_SZ or REG_MULTI_SZ";
  return "REG_SZ or REG_EXPAND_SZ";
}

/* A string value (len in bytes, maybe not NUL-terminated) as UTF-8,
 * %VARIABLES% expanded for REG_EXPAND_SZ. */
static char *string_value(const BYTE *data, DWORD len, DWORD type) {
  size_t n = len / sizeof(wchar_t);
  const wchar_t *w = (const wchar_t *)data;
  while (n && w[n - 1] == L'\0')
    n--;
  wchar_t *copy = malloc((n + 1) * sizeof *copy);
  if (!copy)
    return NULL;
  memcpy(copy, w, n * sizeof *copy);
  copy[n] = L'\0';
  if (type == REG_EXPAND_SZ) {
    DWORD need = ExpandEnvironmentStringsW(copy, NULL, 0);
    wchar_t *x = need ? malloc(need * sizeof *x) : NULL;
    if (x && ExpandEnvironmentStringsW(copy, x, need)) {
      free(copy);
      copy = x;
    } else {
      free(x);
    }
  }
  char *s = utf8(copy, -1);
  free(copy);
  return s;
}

/* REG_MULTI_SZ: the strings joined by the list's separator. */
static char *multi_value(const BYTE *data, DWORD len, int type) {
  size_t n = len / sizeof(wchar_t);
  const wchar_t *w = (const wchar_t *)data;
  wchar_t sep = type == SYSGI_T_LISTEN ? L' ' : L';';
  wchar_t *j = malloc((n + 1) * sizeof *j);
  size_t o = 0;
  if (!j)
    return NULL;
  for (size_t i = 0; i < n;) {
    size_t e = i;
    while (e < n && w[e])
      e++;
    if (e > i) {
      if (o)
        j[o++] = sep;
      memcpy(j + o, w + i, (e - i) * sizeof *j);
      o += e - i;
    }
    i = e + 1;
  }
  j[o] = L'\0';
  char *s = utf8(j, -1);
  free(j);
  return s;
}

/* The value as the text the model parses, or NULL with *why set. */
static char *value_text(const sysgi_setting *st, DWORD type, const BYTE *data,
                        DWORD len, char *why, size_t why_len) {
  char num[32];
  switch (type) {
  case REG_SZ:
  case REG_EXPAND_SZ:
    return string_value(data, len, type);
  case REG_MULTI_SZ:
    if (is_list(st->type))
      return multi_value(data, len, st->type);
    break;
  case REG_DWORD:
    if (is_numeric(st->type) && len >= 4) {
      DWORD v;
      memcpy(&v, data, 4);
      if (st->type == SYSGI_T_INT)
        snprintf(num, sizeof num, "%ld", (long)(LONG)v);
      else
        snprintf(num, sizeof num, "%lu", (unsigned long)v);
      return _strdup(num);
    }
    break;
  case REG_QWORD:
    if (is_numeric(st->type) && len >= 8) {
      unsigned long long v;
      memcpy(&v, data, 8);
      snprintf(num, sizeof num, "%llu", v);
      return _strdup(num);
    }
    break;
  }
  snprintf(why, why_len, "has type %s; %s needs %s", type_name(type),
           st->name, expected_types(st->type));
  return NULL;
}

static void key_error(sysgi_config *cfg, LONG rc, const char *what) {
  char msg[200];
  sysgi_origin o = {SYSGI_ORIGIN_REGISTRY, KEY_NAME, 0};
  snprintf(msg, sizeof msg, "%s failed: error %ld%s", what, (long)rc,
           rc == ERROR_ACCESS_DENIED ? " (access denied)" : "");
  sysgi_config_add_error(cfg, &o, NULL, NULL, msg);
}

static LONG open_key(HKEY *k) {
  return RegOpenKeyExW(HKEY_LOCAL_MACHINE, SVC_REGISTRY_SUBKEY, 0,
                       KEY_READ | KEY_WOW64_64KEY, k);
}

int svc_registry_config_file(sysgi_config *cfg, wchar_t *out, size_t len) {
  HKEY k;
  LONG rc = open_key(&k);
  out[0] = L'\0';
  if (rc == ERROR_FILE_NOT_FOUND)
    return 0;
  if (rc != ERROR_SUCCESS) {
    key_error(cfg, rc, "opening " KEY_NAME);
    return SYSGI_E_CONFIG;
  }
  DWORD type, size = 0;
  int found = 0;
  rc = RegQueryValueExW(k, L"ConfigFile", NULL, &type, NULL, &size);
  if (rc == ERROR_SUCCESS && (type == REG_SZ || type == REG_EXPAND_SZ)) {
    BYTE *data = malloc(size + sizeof(wchar_t));
    if (data &&
        RegQueryValueExW(k, L"ConfigFile", NULL, &type, data, &size) ==
            ERROR_SUCCESS) {
      char *s = string_value(data, size, type);
      if (s && MultiByteToWideChar(CP_UTF8, 0, s, -1, out, (int)len) > 0)
        found = *out != L'\0';
      free(s);
    }
    free(data);
  }
  /* A ConfigFile of the wrong type is reported by svc_registry_load. */
  RegCloseKey(k);
  return found;
}

int svc_registry_load(sysgi_config *cfg) {
  HKEY k;
  LONG rc = open_key(&k);
  if (rc == ERROR_FILE_NOT_FOUND)
    return 0; /* no key: nothing set there */
  if (rc != ERROR_SUCCESS) {
    key_error(cfg, rc, "opening " KEY_NAME);
    return SYSGI_E_CONFIG;
  }
  DWORD n_values = 0, max_name = 0, max_data = 0;
  rc = RegQueryInfoKeyW(k, NULL, NULL, NULL, NULL, NULL, NULL, &n_values,
                        &max_name, &max_data, NULL, NULL);
  wchar_t *wname = rc == ERROR_SUCCESS ? malloc((max_name + 1) * sizeof *wname)
                                       : NULL;
  BYTE *data = wname ? malloc(max_data + sizeof(wchar_t)) : NULL;
  int result = 0;
  if (!data) {
    if (rc != ERROR_SUCCESS)
      key_error(cfg, rc, "reading " KEY_NAME);
    free(wname);
    RegCloseKey(k);
    return rc != ERROR_SUCCESS ? SYSGI_E_CONFIG : SYSGI_E_NOMEM;
  }
  for (DWORD i = 0; i < n_values; i++) {
    DWORD nl = max_name + 1, dl = max_data, type;
    rc = RegEnumValueW(k, i, wname, &nl, NULL, &type, data, &dl);
    if (rc == ERROR_NO_MORE_ITEMS)
      break;
    char *name = rc == ERROR_SUCCESS ? utf8(wname, (int)nl) : NULL;
    if (!name) {
      key_error(cfg, rc, "reading a value of " KEY_NAME);
      result = SYSGI_E_CONFIG;
      continue;
    }
    char where[400], why[800];
    snprintf(where, sizeof where, KEY_NAME "\\%s", *name ? name : "(Default)");
    sysgi_origin o = {SYSGI_ORIGIN_REGISTRY, where, 0};
    const sysgi_setting *st = *name ? sysgi_config_find(name) : NULL;
    /* Registry names only, and only server settings: "python-home" or
     * "WSGIPythonHome" as a value name is a mistake worth reporting. */
    if (!st || !st->registry || _stricmp(st->registry, name) != 0 ||
        !(st->scopes & SYSGI_SCOPE_SERVER)) {
      char known[600] = "";
      size_t n_set, used = 0;
      const sysgi_setting *t = sysgi_config_settings(&n_set);
      for (size_t j = 0; j < n_set && used + 40 < sizeof known; j++)
        if (t[j].registry)
          used += (size_t)snprintf(known + used, sizeof known - used, "%s%s",
                                   used ? ", " : "", t[j].registry);
      snprintf(why, sizeof why, "unknown registry value (known: %s)", known);
      sysgi_config_add_error(cfg, &o, NULL, NULL, why);
      result = SYSGI_E_CONFIG;
      free(name);
      continue;
    }
    char *text = value_text(st, type, data, dl, why, sizeof why);
    if (!text) {
      sysgi_config_add_error(cfg, &o, "server", st->name, why);
      result = SYSGI_E_CONFIG;
    } else if (sysgi_config_set(cfg, "server", st->name, text, &o) != 0) {
      result = SYSGI_E_CONFIG;
    }
    free(text);
    free(name);
  }
  free(wname);
  free(data);
  RegCloseKey(k);
  return result;
}
