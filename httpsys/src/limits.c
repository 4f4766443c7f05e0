/*
 * limits.c: issue 14's limits on the http.sys front end.
 *
 * The request limits (body size, header count and size, request line) are
 * checked by the core (sysgi_request.limit_request_*), so sysgi.exe and
 * mod_sysgi refuse the same requests the same way; this file only hands
 * them over. http.sys's own timers (HTTP_TIMEOUT_LIMIT_INFO) are set on the
 * server session, which every URL group of ours inherits: EntityBody,
 * DrainEntityBody, HeaderWait and IdleConnection in seconds (USHORT),
 * MinSendRate in bytes per second. A value of 0 in the model leaves
 * http.sys's default (120 s each, 150 bytes/s), so nothing is set when the
 * model sets nothing. Wine's http.sys answers error 120 for this property:
 * one warning, and the server runs on http.sys's defaults.
 */
#include "hs.h"

#include <stdarg.h>
#include <stdio.h>

/* Logs through the server's or the controller's log callback. */
static void tlog(sysgi_log_fn log, void *ctx, int level, const char *fmt,
                 ...) {
  char msg[1024];
  va_list ap;
  if (!log)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log(ctx, level, msg);
}

void hs_limits_session_timeouts(HTTP_SERVER_SESSION_ID session,
                                const sysgi_httpsys_limits *l,
                                sysgi_log_fn log, void *log_ctx,
                                const char *who) {
  if (!l->entity_body_s && !l->drain_entity_body_s && !l->header_wait_s &&
      !l->idle_connection_s && !l->min_send_rate)
    return;
  HTTP_TIMEOUT_LIMIT_INFO t;
  ZeroMemory(&t, sizeof t);
  t.Flags.Present = 1;
  t.EntityBody = (USHORT)(l->entity_body_s > 65535 ? 65535 : l->entity_body_s);
  t.DrainEntityBody = (USHORT)(l->drain_entity_body_s > 65535
                                   ? 65535 : l->drain_entity_body_s);
  t.HeaderWait = (USHORT)(l->header_wait_s > 65535 ? 65535 : l->header_wait_s);
  t.IdleConnection = (USHORT)(l->idle_connection_s > 65535
                                  ? 65535 : l->idle_connection_s);
  t.MinSendRate = l->min_send_rate;
  ULONG rc = HttpSetServerSessionProperty(session,
                                          HttpServerTimeoutsProperty, &t,
                                          sizeof t);
  if (rc == NO_ERROR) {
    tlog(log, log_ctx, SYSGI_LOG_DEBUG, "%shttp.sys timeouts set: "
         "entity-body %us, drain-entity-body %us, header-wait %us, "
         "idle-connection %us, min-send-rate %u bytes/s (0: http.sys's "
         "default)", who, (unsigned)t.EntityBody,
         (unsigned)t.DrainEntityBody, (unsigned)t.HeaderWait,
         (unsigned)t.IdleConnection, (unsigned)t.MinSendRate);
    return;
  }
  tlog(log, log_ctx, SYSGI_LOG_WARN, "%shttp.sys refused "
       "HttpServerTimeoutsProperty (error %lu%s): entity-body-timeout, "
       "drain-entity-body-timeout, header-wait-timeout, "
       "idle-connection-timeout and min-send-rate keep http.sys's defaults",
       who, (unsigned long)rc,
       rc == ERROR_CALL_NOT_IMPLEMENTED ? ", not implemented" : "");
}

void hs_limits_set_timeouts(sysgi_httpsys *srv) {
  hs_limits_session_timeouts(srv->session,
                             &srv->cfg.limits, srv->cfg.log,
                             srv->cfg.log_ctx, "");
}

void hs_limits_apply(sysgi_httpsys *srv, const hs_app *app,
                     sysgi_request *r) {
  const sysgi_httpsys_limits *l = &srv->cfg.limits;
  r->limit_request_body = app->limit_request_body;
  r->limit_request_fields = l->limit_request_fields;
  r->limit_request_field_size = l->limit_request_field_size;
  r->limit_request_line = l->limit_request_line;
}

int hs_limits_read_error(sysgi_httpsys *srv, unsigned long err,
                         unsigned long long waited_ms) {
  int e = sysgi_httpsys_translate_error(err);
  if (e != SYSGI_E_CLIENT_GONE)
    return e;
  /* http.sys ends a body whose next part did not come within EntityBody
   * by closing the connection, which fails the pending read like a client
   * that left: a read that waited that long was a timeout. */
  unsigned s = srv->cfg.limits.entity_body_s ? srv->cfg.limits.entity_body_s
                                             : 120;
  if (err != ERROR_OPERATION_ABORTED && waited_ms + 50 >= s * 1000ull)
    return SYSGI_E_TIMEOUT;
  return e;
}

const char *hs_limits_cause(int err) {
  switch (err) {
  case SYSGI_E_TIMEOUT: return "timeout";
  case SYSGI_E_CLIENT_GONE: return "client closed the connection";
  case SYSGI_E_NOMEM: return "out of memory";
  default: return "I/O error";
  }
}
