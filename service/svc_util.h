/* svc_util.h: names and small helpers shared by the service commands. */
#ifndef SYSGI_SVC_UTIL_H
#define SYSGI_SVC_UTIL_H

#include <winsock2.h>
#include <windows.h>

#include <stddef.h>

#define SVC_NAME L"sysgi"
#define SVC_DISPLAY_NAME L"sysgi WSGI server"
#define SVC_DESCRIPTION                                                       \
  L"Serves Python WSGI applications through http.sys (sysgi)."
#define SVC_DEFAULT_ACCOUNT L"NT SERVICE\\sysgi"
/* The configuration key of issue 9 (ConfigFile, Listen, PythonHome...). */
#define SVC_CONFIG_KEY L"SOFTWARE\\sysgi"
/* The service's own key, removed with the service: what install did
 * (ReservedUrls), so uninstall undoes exactly that. */
#define SVC_PARAMS_KEY                                                        \
  L"SYSTEM\\CurrentControlSet\\Services\\sysgi\\Parameters"
#define SVC_EVENTLOG_KEY                                                      \
  L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\sysgi"

/* Service-specific exit codes (SERVICE_STATUS.dwServiceSpecificExitCode,
 * shown by `sc query` and `sysgi status`). */
#define SVC_EXIT_CONFIG 1   /* the configuration is invalid            */
#define SVC_EXIT_LISTEN 2   /* svc_run could not listen                 */
#define SVC_EXIT_LOG 3      /* the log file cannot be opened            */
#define SVC_EXIT_INTERNAL 4 /* out of memory, no event, ...             */

/* malloc'ed conversions; NULL in, NULL out; NULL on failure. */
char *svc_utf8(const wchar_t *w);
wchar_t *svc_wide(const char *s);

/* The system's text for a Win32 error, without the trailing newline, into
 * buf (always terminated). */
void svc_win32_text(DWORD err, char *buf, size_t n);

/* Full path of sysgi.exe into buf (MAX_PATH wide chars). Returns 0 / -1. */
int svc_exe_path(wchar_t *buf, DWORD n);

/* The log file the service uses when `log-file` is not set:
 * %ProgramData%\sysgi\logs\sysgi.log (UTF-8, malloc'ed). */
char *svc_default_log_file(void);

/* Creates every missing directory of `path`'s parent (UTF-8). 0 / -1. */
int svc_make_parent_dirs(const char *path);

#endif
