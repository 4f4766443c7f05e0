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
  /* Race hooks (fake_httpapi_hooks.c). hold_signal: the SetEvent of the
   * product thread that dispatches the first send completion is held until
   * a product thread waits on that event (closing or resetting it instead
   * is a violation); later sends of the request complete only once
   * fake_handler_returned is set (or after 3 s). sync_sends: each send
   * returns only after its completion has been dispatched. */
  int hold_signal;
  int sync_sends;
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
  int cancelled;      /* HttpCancelHttpRequest ended the request */
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
/* The next `n` HttpReceiveHttpRequest calls fail at once with `err`. */
void fake_http_fail_receives(int n, unsigned long err);
/* File-handle chunks: 0 sent (default); 1 refused at once with
 * ERROR_CALL_NOT_IMPLEMENTED (as Wine's http.sys); 2 accepted but their
 * send completes with an error (STATUS_UNSUCCESSFUL) and the client waits
 * until the server cancels the request. */
void fake_http_file_chunks(int mode);
/* The next HttpReceiveHttpRequest call sets event `started`, then waits
 * (up to 3 s) until CancelIoEx was called for its OVERLAPPED before it
 * posts: a re-post racing with stop. A receive posted with an OVERLAPPED
 * CancelIoEx was already called for is a violation. */
void fake_http_hold_next_receive(void *started);
/* Number of HttpCloseRequestQueue calls so far. */
int fake_http_queue_closes(void);

/* Events of the race hooks (fake_httpapi_hooks.c); fake_core.c uses them
 * on its /late paths. */
extern void *fake_hold_started, *fake_handler_returned;

#endif
