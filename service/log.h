/* log.h: the server log of sysgi.exe: stderr, a file with size-based
 * rotation, and (in the service) the Windows Event Log. */
#ifndef SYSGI_SERVICE_LOG_H
#define SYSGI_SERVICE_LOG_H

#include <stdint.h>

/* Opens `path` (UTF-8) for appending as well as stderr; NULL: stderr only.
 * The file is shared for reading, writing and deletion, so it can be read
 * and rotated while the server runs. Returns 0 or -1. */
int svc_log_open(const char *path);
void svc_log_close(void);
/* Size-based rotation of the file: when a line would take it over
 * `max_size` bytes, FILE becomes FILE.1, FILE.1 becomes FILE.2, ... and
 * FILE.<keep> is deleted; keep 0 just starts FILE again. max_size 0: never
 * rotate (the default). */
void svc_log_set_rotation(uint64_t max_size, unsigned keep);
/* 0: no copy on stderr (the service: its stderr is a pipe read back into
 * this log). Default 1. */
void svc_log_set_stderr(int on);
/* 1: error lines also go to the Event Log (SYSGI_MSG_ERROR); needs
 * svc_eventlog_open(). Default 0. */
void svc_log_set_eventlog(int on);
/* Lines above `level` (SYSGI_LOG_*) are dropped; default SYSGI_LOG_INFO. */
void svc_log_set_level(int level);
/* sysgi_log_fn: ctx unused. Thread-safe; one line per call. */
void svc_log(void *ctx, int level, const char *msg);
void svc_logf(int level, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A line that is also one Event Log event with its own message ID
 * (SYSGI_MSG_*: started, stopped, configuration error, crash restart...),
 * whether or not svc_log_set_eventlog is on. */
void svc_log_eventf(unsigned long event_id, int level, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
