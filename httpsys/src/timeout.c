/*
 * timeout.c: request-timeout and interrupt-timeout for the http.sys front
 * end. A watchdog thread (one per server, only when some application has a
 * request timeout) calls the core's sysgi_expire_requests() four times a
 * second: the core raises RequestTimeout in overdue requests' threads and
 * logs threads that do not unwind; this file tells the server's owner
 * about the latter (cfg.on_stuck: the embedded server logs it, a
 * process-group worker drains and exits so the supervisor recycles it).
 */
#include "hs.h"

#define HS_WATCHDOG_PERIOD_MS 250

static int any_timeout(const sysgi_httpsys *srv) {
  if (srv->cfg.request_timeout_ms)
    return 1;
  for (size_t i = 0; i < srv->n_apps; i++)
    if (srv->apps[i].request_timeout_ms)
      return 1;
  return 0;
}

void hs_timeout_fill(const hs_conn *c, sysgi_request *r) {
  const sysgi_httpsys_config *cfg = &c->srv->cfg;
  const hs_app *a = c->app;
  r->request_timeout_ms =
      a && a->request_timeout_ms ? a->request_timeout_ms
                                 : cfg->request_timeout_ms;
  r->interrupt_timeout_ms =
      a && a->interrupt_timeout_ms ? a->interrupt_timeout_ms
                                   : cfg->interrupt_timeout_ms;
}

static DWORD WINAPI watchdog(void *arg) {
  sysgi_httpsys *srv = arg;
  while (WaitForSingleObject(srv->tmo_event, HS_WATCHDOG_PERIOD_MS) ==
         WAIT_TIMEOUT) {
    sysgi_expire_stats st;
    if (sysgi_expire_requests(0, &st) <= 0 || !st.newly_stuck)
      continue;
    /* The core has logged each request; this is the server's decision. */
    if (srv->cfg.on_stuck)
      srv->cfg.on_stuck(srv->cfg.on_stuck_ctx, st.stuck);
    else
      hs_log(srv, SYSGI_LOG_ERR, "%u worker thread(s) did not unwind after "
             "interrupt-timeout; they stay busy until their application "
             "returns (%u of %u threads left for other requests)", st.stuck,
             st.stuck < srv->cfg.threads ? srv->cfg.threads - st.stuck : 0,
             srv->cfg.threads);
  }
  return 0;
}

int hs_timeout_start(sysgi_httpsys *srv) {
  if (!any_timeout(srv))
    return SYSGI_OK;
  srv->tmo_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  srv->tmo_thread = srv->tmo_event
                        ? CreateThread(NULL, 0, watchdog, srv, 0, NULL)
                        : NULL;
  if (!srv->tmo_thread) {
    DWORD err = GetLastError();
    if (srv->tmo_event)
      CloseHandle(srv->tmo_event);
    srv->tmo_event = NULL;
    hs_log(srv, SYSGI_LOG_ERR, "cannot start the request-timeout watchdog "
           "(error %lu): request timeouts are not applied", err);
    return sysgi_httpsys_translate_error(err);
  }
  return SYSGI_OK;
}

void hs_timeout_stop(sysgi_httpsys *srv) {
  if (!srv->tmo_thread)
    return;
  SetEvent(srv->tmo_event);
  WaitForSingleObject(srv->tmo_thread, INFINITE);
  CloseHandle(srv->tmo_thread);
  CloseHandle(srv->tmo_event);
  srv->tmo_thread = srv->tmo_event = NULL;
}
