/*
 * supervisor.h: the process-group supervisor of the service and of
 * `sysgi serve --config`: per [process-group:NAME] one http.sys request
 * queue (the controller half of httpsys/) and `processes` worker processes
 * (`sysgi.exe worker`, worker.c) receiving from it, each in its own Job
 * Object; restarts with back-off, memory sampling and graceful recycling,
 * maximum-requests, and `sysgi recycle GROUP` through a named pipe.
 */
#ifndef SYSGI_SUPERVISOR_H
#define SYSGI_SUPERVISOR_H

#include "sysgi_config.h"

/* The control pipe of the running instance: `sysgi recycle` writes
 * "recycle NAME\n" and reads one reply line ("ok ..." or "error ..."). */
#define SVC_CONTROL_PIPE L"\\\\.\\pipe\\sysgi-control"

/* Worker exit codes (worker.c), which tell the supervisor why it ended. */
#define SVC_WORKER_EXIT_STOP 0       /* told to stop (stop, recycle, memory) */
#define SVC_WORKER_EXIT_CONFIG 1     /* bad arguments or configuration     */
#define SVC_WORKER_EXIT_LISTEN 2     /* could not receive from the queue   */
#define SVC_WORKER_EXIT_MAX_REQUESTS 10 /* maximum-requests reached         */
#define SVC_WORKER_EXIT_UNWIND 11    /* a request's thread did not unwind
                                        after interrupt-timeout: replaced */
#define SVC_WORKER_EXIT_STUCK 12     /* requests still running after
                                        graceful-timeout: exited under them */
#define SVC_WORKER_EXIT_PARENT 13    /* the supervisor went away           */
#define SVC_WORKER_EXIT_KILLED 14    /* TerminateProcess by the supervisor  */
#define SVC_WORKER_EXIT_IO 15        /* stopped, but an I/O operation of its
                                        front end was still pending after
                                        being cancelled: exited under it */

typedef struct svc_supervisor svc_supervisor;

/* Nonzero when some application of cfg runs in a process group. */
int svc_supervisor_needed(const sysgi_config *cfg);
/* Creates the queues (URL LISTEN + mount + "/" of each app of the group,
 * for each listen URL), starts the workers and the supervising thread and
 * the control pipe. cfg must outlive the supervisor. Returns 0 or a
 * negative SYSGI_E_* (logged). */
int svc_supervisor_start(const sysgi_config *cfg, svc_supervisor **out);
/* Tells every worker to drain, waits up to each group's shutdown-timeout,
 * terminates the rest, closes the queues. NULL is allowed. */
void svc_supervisor_stop(svc_supervisor *sup);

/* `sysgi recycle GROUP` (the client side of the control pipe). */
int svc_cmd_recycle(int argc, wchar_t **argv);
/* `sysgi worker ...` (worker.c), run by the supervisor only. */
int svc_cmd_worker(int argc, wchar_t **argv);

#endif
