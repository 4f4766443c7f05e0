/*
 * timeout.c: WSGIRequestTimeout and WSGIInterruptTimeout in mod_sysgi.
 *
 * The directives go through the configuration model's parser (whole
 * seconds, as request-timeout in sysgi.ini). Each child that serves WSGI
 * requests runs one watchdog thread, started in child_init and stopped by
 * a cleanup of the child's pool, which calls the core's
 * sysgi_expire_requests() four times a second: the core raises
 * RequestTimeout in the overdue requests' threads (504, or an aborted
 * connection after the head) and logs threads that do not unwind. Unlike
 * mod_wsgi 6.0 (daemon mode only) this works for embedded applications.
 */
#include "mod_sysgi.h"

#include "http_log.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"
#include "apr_thread_mutex.h"
#include "apr_thread_cond.h"

APLOG_USE_MODULE(sysgi);

#define WATCHDOG_PERIOD apr_time_from_msec(250)

const char *sysgi_ap_set_timeout(cmd_parms *cmd, void *mconfig,
                                 const char *v) {
  sysgi_dir_config *dc = mconfig;
  const char *key = cmd->info; /* "request-timeout" / "interrupt-timeout" */
  const sysgi_setting *s = sysgi_config_find_scoped(key, SYSGI_SCOPE_SERVER);
  char err[512];
  apr_uint64_t n = 0;
  if (!s || sysgi_config_check_value(s, v, err, sizeof err) != 0)
    return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name,
                        s ? err : "unknown setting");
  if (sysgi_parse_uint(v, 0, (uint64_t)s->max, &n) != 0)
    return apr_psprintf(cmd->pool, "%s: '%s' is not a number of seconds",
                        cmd->cmd->name, v);
  if (!strcmp(key, "request-timeout"))
    dc->request_timeout_ms = (int)(n * 1000 > 0x7fffffff ? 0x7fffffff
                                                          : n * 1000);
  else
    dc->interrupt_timeout_ms = (int)(n * 1000 > 0x7fffffff ? 0x7fffffff
                                                            : n * 1000);
  if (!sysgi_globals) /* directives may come before pre_config */
    sysgi_reset_globals(cmd->server->process->pconf);
  if (n)
    sysgi_globals->timeouts_used = 1;
  return NULL;
}

void sysgi_ap_request_timeouts(const sysgi_dir_config *dc, sysgi_request *out) {
  out->request_timeout_ms =
      dc->request_timeout_ms > 0 ? (unsigned)dc->request_timeout_ms : 0;
  out->interrupt_timeout_ms =
      dc->interrupt_timeout_ms > 0 ? (unsigned)dc->interrupt_timeout_ms : 0;
}

/* ---- the watchdog -------------------------------------------------------- */

typedef struct watchdog {
  apr_thread_t *thread;
  apr_thread_mutex_t *mu;
  apr_thread_cond_t *cv;
  int stop;
  server_rec *s;
} watchdog;

static void *APR_THREAD_FUNC watchdog_main(apr_thread_t *t, void *data) {
  watchdog *w = data;
  unsigned reported = 0;
  apr_thread_mutex_lock(w->mu);
  while (!w->stop) {
    sysgi_expire_stats st;
    apr_thread_cond_timedwait(w->cv, w->mu, WATCHDOG_PERIOD);
    if (w->stop)
      break;
    apr_thread_mutex_unlock(w->mu);
    /* The core logs each stuck request once; this says what it costs. */
    if (sysgi_expire_requests(0, &st) > 0 && st.newly_stuck &&
        st.stuck > reported)
      ap_log_error(APLOG_MARK, APLOG_ERR, 0, w->s,
                   "mod_sysgi: %u request thread(s) of this child did not "
                   "unwind after WSGIInterruptTimeout; they stay busy until "
                   "their application returns (restart Apache gracefully "
                   "to replace this child)", st.stuck);
    reported = st.stuck;
    apr_thread_mutex_lock(w->mu);
  }
  apr_thread_mutex_unlock(w->mu);
  /* Returns (no apr_thread_exit): that would destroy the thread's pool,
   * which the join below and pchild's destruction still own. */
  (void)t;
  return NULL;
}

/* A pre-cleanup of pchild: it runs before pchild's sub-pools are destroyed
 * (the thread's own pool is one of them, and APR destroys sub-pools
 * before running ordinary cleanups) and before the runtime's cleanup, so
 * the watchdog never runs on a freed pool or touches Python after
 * shutdown. */
static apr_status_t watchdog_stop(void *data) {
  watchdog *w = data;
  apr_status_t rv;
  apr_thread_mutex_lock(w->mu);
  w->stop = 1;
  apr_thread_cond_signal(w->cv);
  apr_thread_mutex_unlock(w->mu);
  apr_thread_join(&rv, w->thread);
  return APR_SUCCESS;
}

void sysgi_ap_timeout_child_init(apr_pool_t *pchild, server_rec *s) {
  watchdog *w;
  if (!sysgi_globals || !sysgi_globals->timeouts_used ||
      !sysgi_runtime_ready())
    return;
  w = apr_pcalloc(pchild, sizeof(*w));
  w->s = s;
  if (apr_thread_mutex_create(&w->mu, APR_THREAD_MUTEX_DEFAULT, pchild) ||
      apr_thread_cond_create(&w->cv, pchild) ||
      apr_thread_create(&w->thread, NULL, watchdog_main, w, pchild)) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "mod_sysgi: cannot start the "
                 "WSGIRequestTimeout watchdog thread: request timeouts are "
                 "not applied in this process");
    return;
  }
  apr_pool_pre_cleanup_register(pchild, w, watchdog_stop);
}
