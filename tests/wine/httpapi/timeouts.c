/*
 * timeouts.c: HttpServerTimeoutsProperty (HTTP_TIMEOUT_LIMIT_INFO), kept
 * and enforced as http.sys documents it (issue 14), so that sysgi.exe's
 * timeout settings can be tested where Wine's http.sys answers error 120:
 *   HeaderWait      the request head must be complete within it (from the
 *                   connection's first byte wait); else the connection is
 *                   closed without an answer;
 *   IdleConnection  a kept-alive connection with no next request is closed;
 *   EntityBody      a body read waits at most this long for more bytes
 *                   (the timer restarts with each arrival); then the read
 *                   fails as on http.sys, the connection closed
 *                   (ERROR_CONNECTION_INVALID);
 *   DrainEntityBody the unread rest of a body is drained within it after
 *                   the response, else the connection is closed;
 *   MinSendRate     a send blocked by the client that falls below this
 *                   many bytes per second (measured after its first second)
 *                   drops the connection.
 * Unlike http.sys, a timer left at 0 is not enforced at all (http.sys's
 * default is 120 s): the other suites must not change behaviour. Timeouts
 * are per DLL (sysgi.exe has one server session), not per URL group.
 * Each expiry writes a "TIMEOUT <timer> ..." line to the log.
 */
#include "ha.h"

#include <stdio.h>

ULONG ha_set_timeouts(const void *info, ULONG len) {
  if (!info || len != sizeof(HTTP_TIMEOUT_LIMIT_INFO))
    return ERROR_INVALID_PARAMETER;
  const HTTP_TIMEOUT_LIMIT_INFO *t = info;
  EnterCriticalSection(&G.lock);
  if (t->Flags.Present)
    G.timeouts = *t;
  else
    ZeroMemory(&G.timeouts, sizeof G.timeouts);
  LeaveCriticalSection(&G.lock);
  ha_trace("timeouts: entity-body %u drain %u idle %u header-wait %u "
           "min-send-rate %lu", (unsigned)t->EntityBody,
           (unsigned)t->DrainEntityBody, (unsigned)t->IdleConnection,
           (unsigned)t->HeaderWait, (unsigned long)t->MinSendRate);
  return NO_ERROR;
}

int64_t ha_timeout_us(int which) {
  EnterCriticalSection(&G.lock);
  const HTTP_TIMEOUT_LIMIT_INFO *t = &G.timeouts;
  int64_t s = which == HA_TO_ENTITY_BODY ? t->EntityBody
              : which == HA_TO_DRAIN     ? t->DrainEntityBody
              : which == HA_TO_IDLE      ? t->IdleConnection
              : which == HA_TO_HEADER    ? t->HeaderWait
                                         : 0;
  LeaveCriticalSection(&G.lock);
  return s * 1000000;
}

unsigned long ha_min_send_rate(void) {
  EnterCriticalSection(&G.lock);
  unsigned long r = G.timeouts.MinSendRate;
  LeaveCriticalSection(&G.lock);
  return r;
}

void ha_timer_arm(ha_conn *c, int which, int per_wait) {
  int64_t us = ha_timeout_us(which);
  c->timer = us ? which : 0;
  c->timed_out = 0;
  c->gap_us = per_wait ? us : 0;
  c->deadline_us = !per_wait && us ? ha_now_us() + us : 0;
}

void ha_timer_disarm(ha_conn *c) {
  c->timer = 0;
  c->gap_us = c->deadline_us = 0;
}

static const char *timer_name(int which) {
  switch (which) {
  case HA_TO_ENTITY_BODY: return "entity-body";
  case HA_TO_DRAIN: return "drain-entity-body";
  case HA_TO_IDLE: return "idle-connection";
  case HA_TO_HEADER: return "header-wait";
  case HA_TO_MIN_SEND_RATE: return "min-send-rate";
  default: return "?";
  }
}

void ha_timer_expired(ha_conn *c, int which, const char *detail) {
  char msg[300];
  c->timed_out = 1;
  snprintf(msg, sizeof msg, "%s connection %llu%s%s: closed",
           timer_name(which), (unsigned long long)c->id,
           detail ? ": " : "", detail ? detail : "");
  ha_log_line("TIMEOUT", msg);
}
