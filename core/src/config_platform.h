/*
 * config_platform.h: what the configuration model asks the platform
 * (core/posix/ or core/win/, chosen by CMake). The portable core never
 * includes windows.h; these functions do it for it.
 */
#ifndef SYSGI_CONFIG_PLATFORM_H
#define SYSGI_CONFIG_PLATFORM_H

#include <stddef.h>

enum sysgi__path_kind {
  SYSGI__PATH_NONE = 0, /* does not exist (or cannot be reached) */
  SYSGI__PATH_FILE = 1,
  SYSGI__PATH_DIR = 2
};

/* What is at `utf8_path` (UTF-8; on Windows converted to UTF-16 and asked
 * with GetFileAttributesW). */
int sysgi__path_kind(const char *utf8_path);
/* Nonzero for an absolute path ("/x"; "C:\x", "C:/x", "\\server\share"). */
int sysgi__path_is_absolute(const char *utf8_path);
/* Nonzero when c separates directories ('/'; '/' or '\\'). */
int sysgi__path_is_sep(char c);
/* The separator the platform writes ('/' or '\\'). */
char sysgi__path_sep(void);
/* The separator of path lists (':' or ';'). */
char sysgi__path_list_sep(void);
/* 1 on Windows, 0 on POSIX. */
int sysgi__case_insensitive_paths(void);

#endif /* SYSGI_CONFIG_PLATFORM_H */
