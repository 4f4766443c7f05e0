/* log.h: the server log of sysgi.exe (stderr, and a file if configured). */
#ifndef SYSGI_SERVICE_LOG_H
#define SYSGI_SERVICE_LOG_H

/* Opens `path` (UTF-8) for appending as well as stderr; NULL: stderr only.
 * Returns 0 or -1. */
int svc_log_open(const char *path);
void svc_log_close(void);
/* Lines above `level` (SYSGI_LOG_*) are dropped; default SYSGI_LOG_INFO. */
void svc_log_set_level(int level);
/* sysgi_log_fn: ctx unused. Thread-safe; one line per call. */
void svc_log(void *ctx, int level, const char *msg);
void svc_logf(int level, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
