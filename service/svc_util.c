/* svc_util.c: helpers shared by the service commands (svc_util.h). */
#include "svc_util.h"

#include <shlobj.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

char *svc_utf8(const wchar_t *w) {
  if (!w)
    return NULL;
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  char *s = n > 0 ? malloc((size_t)n) : NULL;
  if (s)
    WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
  return s;
}

wchar_t *svc_wide(const char *s) {
  if (!s)
    return NULL;
  int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
  wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
  if (w)
    MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
  return w;
}

void svc_win32_text(DWORD err, char *buf, size_t n) {
  wchar_t w[512];
  DWORD len = FormatMessageW(
      FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err,
      0, w, sizeof w / sizeof *w, NULL);
  while (len && (w[len - 1] == L'\n' || w[len - 1] == L'\r' ||
                 w[len - 1] == L' ' || w[len - 1] == L'.'))
    w[--len] = 0;
  if (!len)
    snprintf(buf, n, "Win32 error %lu", (unsigned long)err);
  else
    snprintf(buf, n, "%ls (error %lu)", w, (unsigned long)err);
}

int svc_exe_path(wchar_t *buf, DWORD n) {
  DWORD len = GetModuleFileNameW(NULL, buf, n);
  return len && len < n ? 0 : -1;
}

char *svc_default_log_file(void) {
  wchar_t *pd = NULL;
  char *out = NULL;
  /* ProgramData, not the install directory: a virtual account may write
   * where install granted it, never under Program Files. */
  if (SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &pd) == S_OK) {
    char *p8 = svc_utf8(pd);
    if (p8) {
      size_t n = strlen(p8) + sizeof "\\sysgi\\logs\\sysgi.log";
      out = malloc(n);
      if (out)
        snprintf(out, n, "%s\\sysgi\\logs\\sysgi.log", p8);
      free(p8);
    }
  }
  CoTaskMemFree(pd);
  return out;
}

int svc_make_parent_dirs(const char *path) {
  wchar_t *w = svc_wide(path);
  if (!w)
    return -1;
  wchar_t *last = wcsrchr(w, L'\\');
  wchar_t *slash = wcsrchr(w, L'/');
  if (slash && (!last || slash > last))
    last = slash;
  int rc = 0;
  if (last) {
    *last = 0;
    /* Walk forward creating each level; existing ones are fine. */
    for (wchar_t *p = w; *p; p++) {
      if ((*p == L'\\' || *p == L'/') && p > w && p[-1] != L':') {
        wchar_t c = *p;
        *p = 0;
        CreateDirectoryW(w, NULL);
        *p = c;
      }
    }
    if (!CreateDirectoryW(w, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
      rc = -1;
  }
  free(w);
  return rc;
}
