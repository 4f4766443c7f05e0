/*
 * fake_races.c: the scenarios of fake_test.exe for the front end's
 * concurrency defects (each uses a deterministic hook of the fake, see
 * fake_httpapi_hooks.c), shutdown with a stuck worker, and mod_wsgi parity
 * of the request mapping (Authorization, slashes, dot-segments, %2F).
 */
#include <stdlib.h>
#include <string.h>

#include "fake_test.h"

static const fake_response *inject_wait(fake_req_spec *s, unsigned ms) {
  return fake_http_wait(fake_http_inject(s), ms);
}

static fake_req_spec spec(const char *method, const char *url) {
  fake_req_spec s;
  memset(&s, 0, sizeof s);
  s.method = method;
  s.raw_url = url;
  return s;
}

static void expect_body(const fake_response *r, const char *body) {
  if (r)
    EXPECT(r->body_len == strlen(body) && !memcmp(r->body, body, r->body_len),
           "body %.*s, expected %s", (int)r->body_len, (char *)r->body, body);
}

/* Request mapping as Apache 2.4 with mod_wsgi does it (README, http.sys). */
static void parity(void) {
  static const struct {
    const char *url;
    int status;
    const char *body; /* SCRIPT_NAME|PATH_INFO */
  } paths[] = {
      {"//echo//a///b", 200, "|/echo/a/b"},
      {"/echo/./a/../b/.", 200, "|/echo/b/"},
      {"/echo/a/..", 200, "|/echo/"},
      {"/echo/a/%2e%2E/x", 200, "|/echo/x"},
      {"/echo/a/.%2e/x?q=/../y", 200, "|/echo/x"},
      {"/echo/%41%7e%20b", 200, "|/echo/A~ b"},
      {"/echo/a%2Fb", 404, NULL},
      {"/echo/a%2fb", 404, NULL},
      {"/../echo", 400, NULL},
      {"/echo/../../x", 400, NULL},
      {"/echo/%2e%2e/%2e%2e/x", 400, NULL},
  };
  const char *auth[1] = {"Authorization: Basic eDp5"};
  sysgi_httpsys *srv = start_server("", 2, 8);
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    const fake_response *r = get(paths[i].url);
    check_resp(r, paths[i].status);
    if (paths[i].body)
      expect_body(r, paths[i].body);
    if (why[0]) {
      char tmp[sizeof why];
      snprintf(tmp, sizeof tmp, "%s: %s", paths[i].url, why);
      snprintf(why, sizeof why, "%s", tmp);
      break;
    }
  }
  finish("path_slashes_and_dot_segments_as_apache");
  const fake_response *r =
      request("GET", "/env?HTTP_AUTHORIZATION", auth, 1, NULL, 0, 0);
  check_resp(r, 200);
  expect_body(r, "<unset>");
  finish("authorization_hidden_by_default");
  sysgi_httpsys_stop(srv);

  opt_pass_auth = 1;
  srv = start_server("/app", 2, 8);
  opt_pass_auth = 0;
  r = request("GET", "/app/env?HTTP_AUTHORIZATION", auth, 1, NULL, 0, 0);
  check_resp(r, 200);
  expect_body(r, "Basic eDp5");
  finish("pass_authorization");
  r = get("//app//echo/./x");
  check_resp(r, 200);
  expect_body(r, "/app|/echo/x");
  finish("mount_after_slash_merge");
  sysgi_httpsys_stop(srv);
}

/* A HEAD, 304 or 204 response with Content-Length and no body is complete:
 * no short-body warning, no disconnect. */
static void bodyless(void) {
  sysgi_httpsys *srv = start_server("", 2, 8);
  short_body_warnings = 0;
  const fake_response *r = request("HEAD", "/hello", NULL, 0, NULL, 0, 0);
  check_resp(r, 200);
  if (r)
    EXPECT(!r->disconnect && r->body_len == 0 &&
               strstr(r->headers, "Content-Length: 5\n"),
           "HEAD: disconnect %d, %zu bytes, headers %s", r->disconnect,
           r->body_len, r->headers);
  EXPECT(short_body_warnings == 0, "short-body warning for a HEAD response");
  finish("head_with_content_length_keeps_connection");
  r = get("/notmodified");
  check_resp(r, 304);
  if (r)
    EXPECT(!r->disconnect && strstr(r->headers, "Content-Length: 1234\n"),
           "304: disconnect %d, headers %s", r->disconnect, r->headers);
  r = get("/nocontent");
  check_resp(r, 204);
  if (r)
    EXPECT(!r->disconnect, "204 disconnects");
  EXPECT(short_body_warnings == 0, "short-body warning for a 304/204");
  finish("not_modified_with_content_length_keeps_connection");
  sysgi_httpsys_stop(srv);
}

/* Defects 1 and 2: the I/O thread's completion must be over before the
 * worker moves on (frees the request, re-arms the event for the next
 * send, or returns tokens to the core). */
static void late_signal(void) {
  sysgi_httpsys *srv = start_server("", 2, 8);
  fake_req_spec s = spec("GET", "/hello?late=1");
  s.hold_signal = 1;
  ResetEvent(fake_handler_returned);
  const fake_response *r = inject_wait(&s, WAIT_MS);
  check_resp(r, 200);
  expect_body(r, "hello");
  finish("worker_waits_for_send_completion_signal");
  s = spec("GET", "/stream?late=1&n=2&size=1000");
  s.hold_signal = 1;
  ResetEvent(fake_handler_returned);
  r = inject_wait(&s, WAIT_MS);
  check_resp(r, 200);
  if (r)
    EXPECT(body_is_pattern(r, 0, 2000), "streamed body differs (%zu bytes)",
           r->body_len);
  finish("next_send_waits_for_previous_completion");
  sysgi_httpsys_stop(srv);
}

/* Defect 4: a receive that cannot be posted is retried (with back-off),
 * never lost. */
static void receives(void) {
  opt_receives = 2;
  sysgi_httpsys *srv = start_server("", 2, 8);
  receive_retry_logs = 0;
  fake_http_fail_receives(6, ERROR_NO_SYSTEM_RESOURCES);
  for (int i = 0; i < 3 && !why[0]; i++)
    check_resp(get("/hello"), 200);
  /* Both slots come back once the error stops. */
  for (int i = 0; i < 6000 && fake_http_pending_receives() < 2; i++)
    Sleep(10);
  EXPECT(fake_http_pending_receives() == 2, "%d receive(s) posted, expected 2",
         fake_http_pending_receives());
  EXPECT(receive_retry_logs > 0, "no log line for the failed receives");
  check_resp(get("/hello"), 200);
  finish("failed_receive_is_posted_again");
  fake_http_fail_receives(0, 0);
  sysgi_httpsys_stop(srv);
}

/* Defect 6: a file-handle chunk http.sys refuses is sent from memory; one
 * that fails after it was accepted cancels the request. */
static void file_fallback(void) {
  sysgi_httpsys *srv = start_server("", 2, 8);
  fake_http_file_chunks(1);
  const fake_response *r = get("/file?size=300000&offset=7");
  check_resp(r, 200);
  if (r) {
    EXPECT(r->n_file_chunks == 0, "%d file chunks", r->n_file_chunks);
    EXPECT(body_is_pattern(r, 7, 300000 - 7), "fallback body differs (%zu)",
           r->body_len);
  }
  r = get("/file?size=200000&offset=0&pre=1000");
  check_resp(r, 200);
  if (r) {
    int ok = r->body_len == 201000;
    for (size_t i = 0; ok && i < 1000; i++)
      ok = r->body[i] == fake_pattern(i);
    for (size_t i = 0; ok && i < 200000; i++)
      ok = r->body[1000 + i] == fake_pattern(i);
    EXPECT(ok, "memory + fallback body differs (%zu bytes)", r->body_len);
  }
  finish("file_chunk_refused_is_sent_from_memory");
  fake_http_file_chunks(2);
  r = get("/file?size=100000&offset=0");
  EXPECT(r != NULL, "the client was left hanging (no cancel, no response)");
  if (r)
    EXPECT(r->cancelled, "request not cancelled after the file send failed");
  finish("file_send_failing_late_cancels_request");
  fake_http_file_chunks(0);
  sysgi_httpsys_stop(srv);
}

/* Defect 3: the 503 answered without a worker; the send's completion ends
 * the request, possibly before HttpSendHttpResponse has returned. */
static void busy(void) {
  sysgi_httpsys *srv = start_server("", 1, 1);
  fake_req_spec s = spec("GET", "/block");
  ResetEvent(fake_core_gate);
  ResetEvent(fake_core_entered);
  int a = fake_http_inject(&s);
  WaitForSingleObject(fake_core_entered, WAIT_MS);
  s.sync_sends = 1;
  int b = fake_http_inject(&s);
  int c = fake_http_inject(&s);
  const fake_response *rb = NULL, *rc = NULL;
  for (int i = 0; i < WAIT_MS / 10 && !rb && !rc; i++) {
    rb = fake_http_wait(b, 0);
    rc = fake_http_wait(c, 0);
    if (!rb && !rc)
      Sleep(10);
  }
  check_resp(rb ? rb : rc, 503);
  SetEvent(fake_core_gate);
  check_resp(fake_http_wait(a, WAIT_MS), 200);
  check_resp(fake_http_wait(rb ? c : b, WAIT_MS), 200);
  finish("busy_503_completion_before_send_returns");
  sysgi_httpsys_stop(srv);
}

/* Defect 5 (must run last: the server it stops is left running). A worker
 * stuck in the application past the shutdown timeout: stop says so and
 * leaves the queue open under it. */
static void stuck(void) {
  opt_shutdown_ms = 300;
  sysgi_httpsys *srv = start_server("", 2, 4);
  opt_shutdown_ms = 30000;
  fake_req_spec s = spec("GET", "/block");
  ResetEvent(fake_core_gate);
  ResetEvent(fake_core_entered);
  int a = fake_http_inject(&s);
  WaitForSingleObject(fake_core_entered, WAIT_MS);
  int closes = fake_http_queue_closes();
  int n = sysgi_httpsys_stop(srv);
  EXPECT(n == 1, "stop reported %d stuck request(s), expected 1", n);
  EXPECT(fake_http_queue_closes() == closes,
         "the request queue was closed under a worker still in the app");
  /* The stuck request may still finish, on the open queue. */
  SetEvent(fake_core_gate);
  check_resp(fake_http_wait(a, WAIT_MS), 200);
  finish("stop_reports_stuck_worker_and_keeps_queue");
}

/* Issue 10: a receive being re-posted (after a request's receive
 * completed) just as stop cancels the receives. Posted after the cancel,
 * it stays posted on a worker's queue, which the other processes keep
 * open: the worker then cannot stop cleanly. The fake holds the re-post
 * until stop's CancelIoEx has been called for its OVERLAPPED. */
static void stop_during_repost(void) {
  sysgi_httpsys *srv = start_server("", 2, 8);
  HANDLE started = CreateEventW(NULL, TRUE, FALSE, NULL);
  fake_http_hold_next_receive(started);
  fake_req_spec s = spec("GET", "/hello");
  int a = fake_http_inject(&s);
  EXPECT(WaitForSingleObject(started, WAIT_MS) == WAIT_OBJECT_0,
         "no receive was posted again after a request");
  int n = sysgi_httpsys_stop(srv);
  EXPECT(n == 0, "stop returned %d", n);
  check_resp(fake_http_wait(a, WAIT_MS), 200);
  CloseHandle(started);
  finish("stop_posts_no_receive_after_cancelling");
}

void run_races(void) {
  if (want("repost"))
    stop_during_repost();
  if (want("parity"))
    parity();
  if (want("bodyless"))
    bodyless();
  if (want("late"))
    late_signal();
  if (want("receives"))
    receives();
  if (want("file"))
    file_fallback();
  if (want("busy"))
    busy();
  if (want("stuck"))
    stuck();
}
