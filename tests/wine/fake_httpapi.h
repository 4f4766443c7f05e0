/*
 * fake_httpapi.h: the test-side controls of the strict fake HTTP Server
 * API (fake_httpapi.c). The fake replaces httpapi.dll at link time; the
 * product code (httpsys/) cannot tell the difference, except that the fake
 * records a violation for every call a real http.sys would reject, or that
 * breaks a buffer-lifetime rule.
 */
#ifndef FAKE_HTTPAPI_H
#define FAKE_HTTPAPI_H

#include <stddef.h>

typedef struct fake_req_spec {
  const char *method;
  const char *raw_url;
  const char *const *headers; /* "Name: value" */
  size_t n_headers;
  const void *body;
  size_t body_len;
  int chunked;          /* Transfer-Encoding: chunked, no Content-Length */
  int fail_sends_after; /* >0: the Nth send and later fail (client gone) */
} fake_req_spec;

typedef struct fake_response {
  int done;     /* the final send completed (or the request failed) */
  int failed;   /* sends were failed on purpose */
  int status;
  char reason[64];
  char *headers; /* "Name: value\n" lines, known then unknown headers */
  unsigned char *body;
  size_t body_len;
  int n_sends;        /* HttpSendHttpResponse + HttpSendResponseEntityBody */
  int n_more_data;    /* sends that carried MORE_DATA */
  int n_file_chunks;
  int disconnect;     /* final send asked to close the connection */
} fake_response;

/* Queues a request as if a client had sent it; returns its index. */
int fake_http_inject(const fake_req_spec *spec);
/* Waits for the request's response; NULL on timeout. */
const fake_response *fake_http_wait(int idx, unsigned timeout_ms);
/* Posts completion packets that are not the product's (as Wine does). */
void fake_http_post_strays(int n);
/* Violations so far (text appended to `buf`); resets the list. */
int fake_http_take_violations(char *buf, size_t len);
/* For the fake's self-test: the queue handle and a request's id. */
void *fake_http_queue_handle(void);
unsigned long long fake_http_request_id(int idx);
/* Number of receives currently posted by the product. */
int fake_http_pending_receives(void);

#endif
