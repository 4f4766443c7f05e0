/*
 * worker_env.h: a process group's options applied in its worker process,
 * before Python is loaded.
 *
 * The worker (`sysgi.exe worker`) reads the configuration model, then
 * calls svc_worker_env_apply() for its group before it loads Python with
 * the svc_worker_python it returns (the same loader and runtime start as
 * the server's: core/win/python_loader.c and sysgi_runtime_init, which
 * resolve a virtual environment's pyvenv.cfg). What is applied:
 *   lang                 LANG in the environment of the worker and its
 *                        children;
 *   locale               LC_ALL likewise, and the C runtime locale of the
 *                        worker (setlocale(LC_ALL)) when the C runtime
 *                        knows the name (a POSIX "en_US.UTF-8" is tried
 *                        as given, then as "en-US.UTF-8" and "en-US"); an
 *                        unknown name is a logged warning, not an error;
 *   dont-write-bytecode  PYTHONDONTWRITEBYTECODE=1 (Python's start-up
 *                        imports and child Pythons) and
 *                        svc_worker_python.dont_write_bytecode (the
 *                        runtime's sys.dont_write_bytecode, as for the
 *                        server);
 *   home                 the working directory;
 *   python-home          svc_worker_python.python_home: the group's, else
 *                        the server's (the model inherits it);
 *   python-path          svc_worker_python.python_path: the group's only
 *                        (the server's python-path is for embedded mode,
 *                        as mod_wsgi's WSGIPythonPath);
 *   cpu-priority         the priority class of the worker (svc_priority_class).
 * restricted-token is not applied here: a token is chosen when the process
 * is created (svc_spawn's token, svc_restricted_token).
 */
#ifndef SYSGI_SERVICE_WORKER_ENV_H
#define SYSGI_SERVICE_WORKER_ENV_H

#include <winsock2.h>
#include <windows.h>

#include <stddef.h>

#include "sysgi_config.h"

/* What the worker hands to the loader and to sysgi_runtime_config.
 * Pointers into the model: valid until sysgi_config_free(). */
typedef struct svc_worker_python {
  const char *python_home;          /* NULL: none (the loader then tries
                                       PYTHONHOME, as for the server)      */
  const char *const *python_path;   /* the group's python-path             */
  size_t n_python_path;
  int dont_write_bytecode;
} svc_worker_python;

/* Applies the options of the process group `group` of `cfg` (after
 * sysgi_config_finish) to this process, as listed above, logging each
 * (debug) and fills *py. Returns 0; SYSGI_E_CONFIG when the model has no
 * such group (logged); SYSGI_E_IO when the working directory or an
 * environment variable cannot be set (logged: the worker must not run
 * with half its settings). An unknown locale is only a warning. */
int svc_worker_env_apply(const sysgi_config *cfg, const char *group,
                         svc_worker_python *py);

/* The locale part alone: LANG = lang and LC_ALL = locale (either may be
 * NULL: left alone) in the environment, and setlocale(LC_ALL) to locale.
 * Writes the name the C runtime accepted into `accepted` ("" when none;
 * may be NULL). Returns 0, SYSGI_E_IO (an environment variable could not
 * be set; logged). */
int svc_worker_env_locale(const char *lang, const char *locale,
                          char *accepted, size_t accepted_len);

/* Call after sysgi_runtime_init() when the group has a locale: CPython's
 * start-up sets LC_CTYPE to the user's default locale (on Windows its
 * setlocale(LC_CTYPE, "") does not read LC_ALL), so this sets LC_CTYPE
 * back to the group's locale, for the whole C runtime locale to be the
 * group's as on POSIX. It reaches Python when Python shares sysgi.exe's C
 * runtime (msvcrt: mingw builds such as the test fixture); a python.org
 * build has its own (the UCRT), where the application calls
 * locale.setlocale(locale.LC_ALL, os.environ['LC_ALL']) itself. NULL or
 * an unknown name: nothing (the warning was logged before). Returns 1
 * when LC_CTYPE was set, else 0. */
int svc_worker_env_locale_after_python(const char *locale);

/* mod_wsgi's cpu-priority (a nice value: -20 highest .. 20 lowest) as a
 * Windows priority class:
 *   -20 .. -11  HIGH_PRIORITY_CLASS
 *   -10 ..  -1  ABOVE_NORMAL_PRIORITY_CLASS
 *         0     NORMAL_PRIORITY_CLASS
 *     1 ..  10  BELOW_NORMAL_PRIORITY_CLASS
 *    11 ..  20  IDLE_PRIORITY_CLASS
 * REALTIME_PRIORITY_CLASS is never used (it can starve the system's own
 * threads). Values outside -20..20 are clamped. */
DWORD svc_priority_class(int cpu_priority);

#endif /* SYSGI_SERVICE_WORKER_ENV_H */
