/*
 * fake_httpapi_ctl.c: the test-side controls of the strict fake HTTP
 * Server API (declared in fake_httpapi.h): injecting requests, waiting for
 * their responses, fault injection, the violation list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_httpapi_internal.h"

/* ---- test controls ------------------------------------------------------- */

static char *dup(const char *s, size_t n) {
  char *d = malloc(n + 1);
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

int fake_http_inject(const fake_req_spec *spec) {
  fake_start();
  freq *r = calloc(1, sizeof *r);
  size_t extra = spec->body_len || spec->chunked ? 1 : 0;
  r->method = dup(spec->method, strlen(spec->method));
  r->url = dup(spec->raw_url, strlen(spec->raw_url));
  r->names = calloc(spec->n_headers + 2, sizeof *r->names);
  r->values = calloc(spec->n_headers + 2, sizeof *r->values);
  r->names[0] = dup("Host", 4);
  r->values[0] = dup("127.0.0.1:8080", 14);
  r->n_headers = 1;
  for (size_t i = 0; i < spec->n_headers; i++) {
    const char *colon = strchr(spec->headers[i], ':');
    r->names[r->n_headers] = dup(spec->headers[i], (size_t)(colon - spec->headers[i]));
    const char *v = colon + 1;
    while (*v == ' ')
      v++;
    r->values[r->n_headers++] = dup(v, strlen(v));
  }
  if (extra) {
    char tmp[32];
    if (spec->chunked) {
      r->names[r->n_headers] = dup("Transfer-Encoding", 17);
      r->values[r->n_headers++] = dup("chunked", 7);
    } else {
      snprintf(tmp, sizeof tmp, "%zu", spec->body_len);
      r->names[r->n_headers] = dup("Content-Length", 14);
      r->values[r->n_headers++] = dup(tmp, strlen(tmp));
    }
  }
  r->body = malloc(spec->body_len + 1);
  memcpy(r->body, spec->body, spec->body_len);
  r->body_len = spec->body_len;
  r->chunked = spec->chunked;
  r->fail_after = spec->fail_sends_after;
  r->hold_signal = spec->hold_signal;
  r->sync_sends = spec->sync_sends;
  r->bodyless = strcmp(spec->method, "HEAD") == 0;
  r->content_length = -1;
  r->done = CreateEventW(NULL, TRUE, FALSE, NULL);
  EnterCriticalSection(&F.lock);
  int idx = F.n_reqs;
  r->id = ID_BASE + (HTTP_REQUEST_ID)idx;
  F.reqs[F.n_reqs++] = r;
  if (F.n_pending_recv > 0) {
    job *j = F.pending_recv[0];
    F.pending_recv[0] = F.pending_recv[--F.n_pending_recv];
    j->r = r;
    r->state = 3;
    push_job(j);
  }
  LeaveCriticalSection(&F.lock);
  return idx;
}

const fake_response *fake_http_wait(int idx, unsigned timeout_ms) {
  freq *r = F.reqs[idx];
  if (WaitForSingleObject(r->done, timeout_ms) != WAIT_OBJECT_0)
    return NULL;
  return &r->resp;
}

void fake_http_post_strays(int n) {
  for (int i = 0; i < n; i++) {
    /* Packets for an OVERLAPPED the product never used, and without
     * one, as Wine posts for synchronous calls. */
    if (i % 2)
      F.set_completion(F.port, F.key, (ULONG_PTR)&F.stray_ov, 0, 0);
    else
      F.set_completion(F.port, F.key, 0, 0, 0);
  }
}

int fake_http_take_violations(char *buf, size_t len) {
  EnterCriticalSection(&F.lock);
  int n = F.n_violations;
  snprintf(buf, len, "%s", F.violations);
  F.violations[0] = '\0';
  F.n_violations = 0;
  LeaveCriticalSection(&F.lock);
  return n;
}

int fake_http_pending_receives(void) {
  EnterCriticalSection(&F.lock);
  int n = F.n_pending_recv;
  LeaveCriticalSection(&F.lock);
  return n;
}

void *fake_http_queue_handle(void) { return F.queue; }

unsigned long long fake_http_request_id(int idx) { return F.reqs[idx]->id; }

void fake_http_fail_receives(int n, unsigned long err) {
  EnterCriticalSection(&F.lock);
  F.fail_recv_n = n;
  F.fail_recv_err = err;
  LeaveCriticalSection(&F.lock);
}

void fake_http_file_chunks(int mode) {
  EnterCriticalSection(&F.lock);
  F.file_mode = mode;
  LeaveCriticalSection(&F.lock);
}

int fake_http_queue_closes(void) {
  EnterCriticalSection(&F.lock);
  int n = F.queue_closes;
  LeaveCriticalSection(&F.lock);
  return n;
}
