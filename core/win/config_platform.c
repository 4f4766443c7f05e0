/*
 * config_platform.c (Windows): the configuration model's questions to the
 * file system. Paths arrive as UTF-8 and are asked about in UTF-16, so
 * non-ASCII names work whatever the ANSI code page is.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdlib.h>

#include "config_platform.h"

int sysgi__path_kind(const char *utf8_path) {
  wchar_t small[MAX_PATH], *w = small;
  int n;
  DWORD attr;
  if (!utf8_path || !*utf8_path)
    return SYSGI__PATH_NONE;
  n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8_path, -1, NULL, 0);
  if (n <= 0)
    return SYSGI__PATH_NONE;
  if (n > MAX_PATH && !(w = malloc((size_t)n * sizeof(wchar_t))))
    return SYSGI__PATH_NONE;
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8_path, -1, w, n);
  attr = GetFileAttributesW(w);
  if (w != small)
    free(w);
  if (attr == INVALID_FILE_ATTRIBUTES)
    return SYSGI__PATH_NONE;
  return (attr & FILE_ATTRIBUTE_DIRECTORY) ? SYSGI__PATH_DIR : SYSGI__PATH_FILE;
}

int sysgi__path_is_absolute(const char *p) {
  if (!p)
    return 0;
  if ((p[0] == '\\' || p[0] == '/') && (p[1] == '\\' || p[1] == '/'))
    return 1; /* \\server\share, \\?\C:\ */
  return ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) &&
         p[1] == ':' && (p[2] == '\\' || p[2] == '/');
}

int sysgi__path_is_sep(char c) { return c == '/' || c == '\\'; }
char sysgi__path_sep(void) { return '\\'; }
char sysgi__path_list_sep(void) { return ';'; }
int sysgi__case_insensitive_paths(void) { return 1; }
