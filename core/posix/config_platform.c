/*
 * config_platform.c (POSIX): the configuration model's questions to the
 * file system, answered with stat(2).
 */
#define _POSIX_C_SOURCE 200809L
#include "config_platform.h"

#include <sys/stat.h>

int sysgi__path_kind(const char *utf8_path) {
  struct stat st;
  if (!utf8_path || !*utf8_path || stat(utf8_path, &st) != 0)
    return SYSGI__PATH_NONE;
  if (S_ISDIR(st.st_mode))
    return SYSGI__PATH_DIR;
  return S_ISREG(st.st_mode) ? SYSGI__PATH_FILE : SYSGI__PATH_NONE;
}

int sysgi__path_is_absolute(const char *p) { return p && p[0] == '/'; }
int sysgi__path_is_sep(char c) { return c == '/'; }
char sysgi__path_sep(void) { return '/'; }
char sysgi__path_list_sep(void) { return ':'; }
int sysgi__case_insensitive_paths(void) { return 0; }
