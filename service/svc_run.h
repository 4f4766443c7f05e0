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
 * SYSGI_E_* when it could not listen (logged). `cfg` must have passed
 * sysgi_config_finish(). `progress` may be NULL. */
int svc_run(const sysgi_config *cfg, HANDLE stop_event, svc_progress_fn progress,
            void *ctx);

#endif /* SYSGI_SVC_RUN_H */
