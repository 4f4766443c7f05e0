/*
 * svc_run.h: the server run by both `sysgi serve` (foreground) and the
 * Windows service: Python from the model's python-home, http.sys with every
 * application of the model.
 */
#ifndef SYSGI_SVC_RUN_H
#define SYSGI_SVC_RUN_H

#include <winsock2.h>
#include <windows.h>

#include "sysgi_config.h"

/* "loading Python", "importing scripts", "listening" */
typedef void (*svc_progress_fn)(void *ctx, const char *stage);

/* Runs the server of `cfg` until stop_event is set: loads Python from the
 * server's python-home (a failure is logged once and every request gets
 * 503), starts http.sys with every application, calls progress at each
 * stage (the service turns these into START_PENDING checkpoints), then waits
 * for stop_event (which may already be set: a stop during initialisation
 * must end cleanly, with no request served), drains in-flight requests up to
 * shutdown-timeout, stops. Returns 0 after a clean stop, or a negative
 * SYSGI_E_* when it could not listen (logged). SYSGI_E_TIMEOUT: requests
 * were still running in the application after shutdown-timeout (logged);
 * Python was left running under them, and the caller must exit the process
 * (ExitProcess) rather than return through anything that finalizes. `cfg`
 * must have passed sysgi_config_finish(). `progress` may be NULL. The
 * caller opens the log (svc_log_open with the server's log-file, and
 * svc_log_set_level) before. */
int svc_run(const sysgi_config *cfg, HANDLE stop_event, svc_progress_fn progress,
            void *ctx);

/* ---- shared with the process-group worker (worker.c) ----------------- */

#include "sysgi_httpsys.h"

/* Loads Python from group_home (NULL: the server's python-home, else
 * PYTHONHOME; a venv is resolved by the loader) with group_path as extra
 * sys.path (n 0: the server's python-path), dont_write_bytecode (-1: the
 * server's) and the server's interpreter options, and starts the runtime. Returns 1 when Python runs; 0 after
 * logging one line naming the cause. */
int svc_start_python(const sysgi_server_settings *s, const char *group_home,
                     const char *const *group_path, size_t n_group_path,
                     int dont_write_bytecode, int multiprocess);
/* The process group of app `a`, or NULL when it runs embedded ("",
 * %{GLOBAL}). */
const char *svc_app_group(const sysgi_app_settings *a);
/* Imports the scripts of the apps of `group` (NULL: the embedded ones). */
void svc_import_scripts(const sysgi_config *cfg, const char *group,
                        HANDLE stop_event);
/* The front end's table of the apps of `group` (NULL: embedded), count in
 * *n; strings owned by cfg. NULL when out of memory; free() it. */
sysgi_httpsys_app *svc_httpsys_apps(const sysgi_config *cfg, const char *group,
                                     size_t *n);

/* The http.sys timeouts and request limits of the model's [server]. */
void svc_httpsys_limits_fill(sysgi_httpsys_limits *l,
                             const sysgi_server_settings *s);
/* The front end's configuration shared by the embedded server (group NULL)
 * and a process-group worker (group: its name): listen URLs, the apps
 * (copied by sysgi_httpsys_start), threads, receives, drain timeout
 * (shutdown-timeout; a group's graceful-timeout), the limits, the request
 * timeouts (a group's own value wins) and the log. The caller adds what
 * is its own: handle, queue, on_stuck. */
void svc_httpsys_config_fill(sysgi_httpsys_config *hc, const sysgi_config *cfg,
                             const char *group, const sysgi_httpsys_app *apps,
                             size_t n_apps);

#endif /* SYSGI_SVC_RUN_H */
