/*
 * controller.c: the controller half of the http.sys front end for process
 * groups: a request queue that the service owns, with the URLs of one
 * group, that worker processes receive from (server.c in worker mode).
 *
 * Each queue has its own server session and one URL group per URL (Wine
 * takes one URL per group). http.sys routes a request to the queue whose
 * URL is the longest prefix of its path, so a group's "LISTEN/app/" wins
 * over the embedded server's "LISTEN" for /app/... and nothing else.
 */
#include "hs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Missing from mingw-w64's http.h (Windows 10+). */
#ifndef HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING
#define HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING 0x00000001
#endif

struct sysgi_httpsys_queue {
  HTTP_SERVER_SESSION_ID session;
  HTTP_URL_GROUP_ID *groups;
  size_t n_groups;
  HANDLE queue;
  int initialized;
};

static void qlog(const sysgi_httpsys_queue_config *qc, int level,
                 const char *fmt, const char *a, unsigned long b) {
  char msg[1024];
  if (!qc->log)
    return;
  snprintf(msg, sizeof msg, fmt, a, b);
  qc->log(qc->log_ctx, level, msg);
}

static wchar_t *wide(const char *s) {
  int n = s ? MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0)
            : 0;
  wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
  if (w)
    MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
  return w;
}

void sysgi_httpsys_queue_close(sysgi_httpsys_queue *q) {
  if (!q)
    return;
  for (size_t i = 0; i < q->n_groups; i++)
    if (q->groups[i])
      HttpCloseUrlGroup(q->groups[i]);
  /* The owner closes the queue for every worker (their receives fail). */
  if (q->queue)
    HttpCloseRequestQueue(q->queue);
  if (q->session)
    HttpCloseServerSession(q->session);
  if (q->initialized)
    HttpTerminate(HTTP_INITIALIZE_SERVER, NULL);
  free(q->groups);
  free(q);
}

int sysgi_httpsys_queue_create(const sysgi_httpsys_queue_config *qc,
                               sysgi_httpsys_queue **out) {
  const HTTPAPI_VERSION v2 = HTTPAPI_VERSION_2;
  *out = NULL;
  if (!qc || !qc->urls || !qc->n_urls)
    return SYSGI_E_INVAL;
  sysgi_httpsys_queue *q = calloc(1, sizeof *q);
  if (!q || !(q->groups = calloc(qc->n_urls, sizeof *q->groups))) {
    free(q);
    return SYSGI_E_NOMEM;
  }
  const char *what = "HttpInitialize";
  ULONG rc = HttpInitialize(v2, HTTP_INITIALIZE_SERVER, NULL);
  if (rc == NO_ERROR) {
    q->initialized = 1;
    what = "HttpCreateServerSession";
    rc = HttpCreateServerSession(v2, &q->session, 0);
  }
  if (rc == NO_ERROR && qc->limits) {
    /* As the embedded server's session (limits.c): the group's URLs
     * inherit them. A refusal (Wine) is a warning, not a failure. */
    char who[300];
    snprintf(who, sizeof who, "process-group queue %s: ",
             qc->name ? qc->name : "(unnamed)");
    hs_limits_session_timeouts(q->session, qc->limits, qc->log, qc->log_ctx,
                               who);
  }
  if (rc == NO_ERROR) {
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, qc->inheritable ? TRUE : FALSE};
    wchar_t *name = qc->name ? wide(qc->name) : NULL;
    what = "HttpCreateRequestQueue";
    rc = HttpCreateRequestQueue(v2, name, &sa, 0, &q->queue);
    if (rc != NO_ERROR && name) {
      /* Wine has no named queues: an unnamed, inherited one still works. */
      qlog(qc, SYSGI_LOG_DEBUG, "named request queue %s refused (error %lu): "
           "unnamed", qc->name, (unsigned long)rc);
      rc = HttpCreateRequestQueue(v2, NULL, &sa, 0, &q->queue);
    }
    free(name);
    if (rc == NO_ERROR && qc->inheritable &&
        !SetHandleInformation(q->queue, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT))
      qlog(qc, SYSGI_LOG_WARN, "%s: cannot make the request queue "
           "inheritable (error %lu)", "controller",
           (unsigned long)GetLastError());
  }
  for (size_t i = 0; rc == NO_ERROR && i < qc->n_urls; i++) {
    wchar_t *url = wide(qc->urls[i]);
    if (!url) {
      qlog(qc, SYSGI_LOG_ERR, "URL %s is not valid UTF-8%.0lu", qc->urls[i], 0);
      sysgi_httpsys_queue_close(q);
      return SYSGI_E_CONFIG;
    }
    what = qc->urls[i];
    rc = HttpCreateUrlGroup(q->session, &q->groups[i], 0);
    if (rc == NO_ERROR) {
      HTTP_BINDING_INFO b;
      q->n_groups = i + 1;
      ZeroMemory(&b, sizeof b);
      b.Flags.Present = 1;
      b.RequestQueueHandle = q->queue;
      rc = HttpSetUrlGroupProperty(q->groups[i], HttpServerBindingProperty, &b,
                                   sizeof b);
    }
    if (rc == NO_ERROR)
      rc = HttpAddUrlToUrlGroup(
          q->groups[i], url,
          (HTTP_URL_CONTEXT)(qc->url_contexts ? qc->url_contexts[i] : 0), 0);
    free(url);
  }
  if (rc != NO_ERROR) {
    qlog(qc, SYSGI_LOG_ERR, "process-group queue: %s failed: error %lu", what,
         (unsigned long)rc);
    sysgi_httpsys_queue_close(q);
    return sysgi_httpsys_translate_error(rc);
  }
  *out = q;
  return SYSGI_OK;
}

void *sysgi_httpsys_queue_handle(const sysgi_httpsys_queue *q) {
  return q ? q->queue : NULL;
}

int sysgi_httpsys_queue_open(const char *name, void **handle) {
  const HTTPAPI_VERSION v2 = HTTPAPI_VERSION_2;
  *handle = NULL;
  wchar_t *w = wide(name);
  if (!w)
    return SYSGI_E_INVAL;
  ULONG rc = HttpInitialize(v2, HTTP_INITIALIZE_SERVER, NULL);
  HANDLE h = NULL;
  if (rc == NO_ERROR)
    rc = HttpCreateRequestQueue(v2, w, NULL,
                                HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING, &h);
  free(w);
  if (rc != NO_ERROR)
    return sysgi_httpsys_translate_error(rc);
  *handle = h;
  return SYSGI_OK;
}
