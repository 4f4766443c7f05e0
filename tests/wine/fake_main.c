/*
 * fake_test.exe: the real http.sys front end (httpsys/) against the strict
 * fake HTTP Server API (fake_httpapi.c) and the test core (fake_core.c).
 * Prints "ok NAME" or "FAIL NAME: why" per scenario; exit code = failures.
 * Run under Wine by test_fake.py.
 */
#include <stdlib.h>
#include <string.h>

#include <http.h>

#include "fake_test.h"

static int failures;
char why[4096];
volatile LONG short_body_warnings, receive_retry_logs;
int opt_pass_auth;
unsigned opt_shutdown_ms = 30000, opt_receives = 2;

static void log_line(void *ctx, int level, const char *msg) {
  (void)ctx;
  if (strstr(msg, "shorter than its Content-Length"))
    InterlockedIncrement(&short_body_warnings);
  if (strstr(msg, "HttpReceiveHttpRequest failed"))
    InterlockedIncrement(&receive_retry_logs);
  fprintf(stderr, "httpsys[%d]: %s\n", level, msg);
}

int want(const char *group) {
  const char *only = getenv("FAKE_ONLY");
  return !only || !*only || strcmp(only, group) == 0;
}

sysgi_httpsys *start_server(const char *mount, unsigned threads,
                                   unsigned max_queued) {
  const char *urls[1] = {"http://127.0.0.1:8080/"};
  sysgi_httpsys_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.urls = urls;
  cfg.n_urls = 1;
  cfg.mount = mount;
  cfg.script_filename = "C:\\app.py";
  cfg.enable_sendfile = 1; /* the file-handle chunk tests need it */
  cfg.threads = threads;
  cfg.max_queued = max_queued;
  cfg.receives = opt_receives;
  cfg.shutdown_timeout_ms = opt_shutdown_ms;
  cfg.pass_authorization = opt_pass_auth;
  cfg.log = log_line;
  sysgi_httpsys *srv = NULL;
  if (sysgi_httpsys_start(&cfg, &srv) != 0) {
    fprintf(stderr, "server start failed\n");
    exit(100);
  }
  return srv;
}

const fake_response *request(const char *method, const char *url,
                                    const char *const *headers, size_t nh,
                                    const void *body, size_t blen,
                                    int chunked) {
  fake_req_spec s;
  memset(&s, 0, sizeof s);
  s.method = method;
  s.raw_url = url;
  s.headers = headers;
  s.n_headers = nh;
  s.body = body;
  s.body_len = blen;
  s.chunked = chunked;
  return fake_http_wait(fake_http_inject(&s), WAIT_MS);
}

const fake_response *get(const char *url) {
  return request("GET", url, NULL, 0, NULL, 0, 0);
}


int body_is_pattern(const fake_response *r, uint64_t from,
                           size_t len) {
  if (r->body_len != len)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (r->body[i] != fake_pattern(from + i))
      return 0;
  return 1;
}

void finish(const char *name) {
  char v[8192];
  /* Let the last completions reach the core before counting tokens. */
  for (int i = 0; i < 200 && fake_core_tokens_out; i++)
    Sleep(10);
  int nv = fake_http_take_violations(v, sizeof v);
  EXPECT(nv == 0, "%d fake http.sys violation(s): %s", nv, v);
  EXPECT(fake_core_tokens_out == 0, "%ld send token(s) never completed",
         (long)fake_core_tokens_out);
  EXPECT(fake_core_double_completions == 0, "a send token completed twice");
  EXPECT(fake_core_late_completions == 0, "%ld send token(s) completed after "
         "their sysgi_handle returned (a write into a dead stack frame in "
         "the real core)", (long)fake_core_late_completions);
  EXPECT(fake_core_early_returns == 0, "%ld sysgi_handle return(s) with send "
         "tokens still out (wait_sends returned early)",
         (long)fake_core_early_returns);
  fake_core_late_completions = fake_core_early_returns = 0;
  if (why[0]) {
    printf("FAIL %s: %s\n", name, why);
    failures++;
  } else {
    printf("ok %s\n", name);
  }
  fflush(stdout);
  why[0] = '\0';
}

void check_resp(const fake_response *r, int status) {
  EXPECT(r != NULL, "no response within %d ms", WAIT_MS);
  if (r)
    EXPECT(r->status == status, "status %d, expected %d", r->status, status);
}

static DWORD WINAPI release_when_stopping(void *arg) {
  (void)arg;
  while (fake_http_pending_receives() > 0)
    Sleep(5);
  SetEvent(fake_core_gate);
  return 0;
}

int main(void) {
  fake_core_gate = CreateEventW(NULL, TRUE, FALSE, NULL);
  fake_core_entered = CreateEventW(NULL, FALSE, FALSE, NULL);
  sysgi_httpsys *srv;
  const fake_response *r;
  if (!want("base"))
    goto races;
  srv = start_server("", 4, 16);

  r = get("/hello");
  check_resp(r, 200);
  if (r) {
    EXPECT(r->body_len == 5 && !memcmp(r->body, "hello", 5), "body");
    EXPECT(r->n_sends == 1 && r->n_more_data == 0,
           "one complete HttpSendHttpResponse expected, got %d sends",
           r->n_sends);
    EXPECT(strstr(r->headers, "Content-Length: 5\n") != NULL, "headers: %s",
           r->headers);
  }
  finish("hello_is_one_send");

  r = get("/empty");
  check_resp(r, 200);
  if (r)
    EXPECT(r->n_sends == 1 && r->body_len == 0, "%d sends, %zu bytes",
           r->n_sends, r->body_len);
  finish("empty_body");

  r = get("/stream?n=50&size=10000");
  check_resp(r, 200);
  if (r) {
    EXPECT(body_is_pattern(r, 0, 500000), "streamed body differs (%zu bytes)",
           r->body_len);
    EXPECT(r->n_sends == 51 && r->n_more_data == 50,
           "%d sends / %d MORE_DATA, expected 51/50", r->n_sends,
           r->n_more_data);
    EXPECT(!strstr(r->headers, "Content-Length"), "no Content-Length "
           "expected (http.sys chunks the response)");
  }
  finish("stream_unknown_length_more_data");

  r = get("/stream?n=20&size=5000&cl=1");
  check_resp(r, 200);
  if (r) {
    EXPECT(body_is_pattern(r, 0, 100000), "body differs");
    EXPECT(r->n_sends == 20 && r->n_more_data == 19,
           "%d sends / %d MORE_DATA, expected 20/19 (last chunk is final)",
           r->n_sends, r->n_more_data);
  }
  finish("stream_known_length_last_chunk_final");

  r = get("/stream?n=8&size=1048576&cl=1");
  check_resp(r, 200);
  if (r)
    EXPECT(body_is_pattern(r, 0, 8u << 20), "8 MiB body differs");
  finish("eight_mib_response");

  r = get("/file?size=3000000&offset=123");
  check_resp(r, 200);
  if (r) {
    EXPECT(r->n_file_chunks == 1, "%d file chunks", r->n_file_chunks);
    EXPECT(body_is_pattern(r, 123, 3000000 - 123), "file body differs (%zu)",
           r->body_len);
  }
  finish("file_handle_chunk");

  r = get("/file?size=200000&offset=0&pre=1000");
  check_resp(r, 200);
  if (r) {
    int ok = r->body_len == 201000;
    for (size_t i = 0; ok && i < 1000; i++)
      ok = r->body[i] == fake_pattern(i);
    for (size_t i = 0; ok && i < 200000; i++)
      ok = r->body[1000 + i] == fake_pattern(i);
    EXPECT(ok, "memory + file body differs");
    EXPECT(r->n_sends == 2, "%d sends", r->n_sends);
  }
  finish("memory_then_file_chunk");

  /* Request bodies of several MB, with Content-Length and chunked. */
  for (int chunked = 0; chunked < 2; chunked++) {
    size_t n = chunked ? 3u << 20 : 5u << 20;
    unsigned char *b = malloc(n);
    uint64_t h = 1469598103934665603ull;
    char expect[64];
    for (size_t i = 0; i < n; i++) {
      b[i] = fake_pattern(i * 7);
      h ^= b[i];
      h *= 1099511628211ull;
    }
    snprintf(expect, sizeof expect, "%zu %016llx", n, (unsigned long long)h);
    r = request("POST", "/upload", NULL, 0, b, n, chunked);
    check_resp(r, 200);
    if (r)
      EXPECT(r->body_len == strlen(expect) &&
                 !memcmp(r->body, expect, r->body_len),
             "upload answered %.*s, expected %s", (int)r->body_len, r->body,
             expect);
    free(b);
    finish(chunked ? "chunked_request_body_3mib" : "request_body_5mib");
  }

  /* A head bigger than the receive buffer: ERROR_MORE_DATA, then the same
   * request again into a bigger buffer. */
  {
    static char store[300][120];
    const char *hs[300];
    for (int i = 0; i < 300; i++) {
      snprintf(store[i], sizeof store[i], "X-Big-%03d: %0100d", i, i);
      hs[i] = store[i];
    }
    r = request("GET", "/vars", hs, 300, NULL, 0, 0);
    check_resp(r, 200);
    if (r)
      EXPECT(r->body_len && strstr((char *)r->body, "|300|"), "vars: %.*s",
             (int)r->body_len, r->body);
    finish("request_head_larger_than_buffer");
  }

  r = get("/auth");
  check_resp(r, 401);
  if (r) {
    EXPECT(strstr(r->headers, "WWW-Authenticate: Basic realm=\"x\"\n") &&
               strstr(r->headers, "WWW-Authenticate: Negotiate\n") &&
               strstr(r->headers, "Set-Cookie: a=1\n") &&
               strstr(r->headers, "Set-Cookie: b=2\n"),
           "headers: %s", r->headers);
  }
  finish("repeated_headers_stay_separate");

  r = get("/short?n=1&size=10&cl=1");
  check_resp(r, 200);
  if (r)
    EXPECT(r->disconnect && r->body_len == 10,
           "short body must end with DISCONNECT (%d, %zu bytes)",
           r->disconnect, r->body_len);
  finish("short_body_disconnects");

  r = get("/overflow?n=4&size=1000");
  check_resp(r, 200);
  if (r)
    EXPECT(body_is_pattern(r, 0, 1500) && !r->disconnect,
           "overflow: %zu bytes", r->body_len);
  finish("body_beyond_content_length_is_cut");

  /* An abort of a chunked response cancels the request: a final send
   * (even with DISCONNECT) would end the chunked body as if complete. */
  r = get("/abort?n=6&size=1000");
  check_resp(r, 200);
  if (r)
    EXPECT(r->cancelled && !r->disconnect,
           "abort of a chunked response must cancel the request "
           "(cancelled %d, disconnect %d)", r->cancelled, r->disconnect);
  finish("abort_disconnects");
  /* With a Content-Length, closing after the short body is enough. */
  r = get("/abort?n=6&size=1000&cl=1");
  check_resp(r, 200);
  if (r)
    EXPECT(r->disconnect && !r->cancelled,
           "abort with a Content-Length must end with DISCONNECT");
  finish("abort_with_length_disconnects");

  r = get("/error");
  check_resp(r, 500);
  finish("app_error_is_500");
  r = get("/nopython");
  check_resp(r, 503);
  finish("no_python_is_503");
  r = get("/bad%zz");
  check_resp(r, 400);
  finish("malformed_escape_is_400");
  r = get("/nul%00byte");
  check_resp(r, 404); /* as Apache: an encoded NUL is a 404 */
  finish("encoded_nul_is_404");
  r = get("/vars?a=%41");
  check_resp(r, 200);
  if (r)
    EXPECT(r->body_len && !strncmp((char *)r->body, "|/vars|a=%41|0|http",
                                   r->body_len),
           "vars: %.*s", (int)r->body_len, r->body);
  finish("cgi_vars");

  /* A client that goes away mid-stream: sends fail, the request ends, no
   * token is lost. */
  {
    fake_req_spec s;
    memset(&s, 0, sizeof s);
    s.method = "GET";
    s.raw_url = "/stream?n=20&size=1000";
    s.fail_sends_after = 3;
    r = fake_http_wait(fake_http_inject(&s), WAIT_MS);
    EXPECT(r && r->failed, "no failed response");
    finish("client_gone_mid_stream");
  }

  fake_http_post_strays(200);
  r = get("/hello");
  check_resp(r, 200);
  finish("stray_completion_packets_ignored");

  /* 20 concurrent streamed requests: 4 workers + 16 queued, no 503. */
  {
    int ids[20];
    for (int i = 0; i < 20; i++) {
      fake_req_spec s;
      memset(&s, 0, sizeof s);
      s.method = "GET";
      s.raw_url = i % 2 ? "/stream?n=10&size=3000" : "/stream?n=5&size=7000&cl=1";
      ids[i] = fake_http_inject(&s);
    }
    for (int i = 0; i < 20; i++) {
      r = fake_http_wait(ids[i], WAIT_MS);
      check_resp(r, 200);
      if (r)
        EXPECT(body_is_pattern(r, 0, 30000 + (i % 2 ? 0 : 5000)),
               "request %d body differs", i);
    }
    finish("concurrent_streams");
  }
  /* The fake itself must refuse what http.sys refuses (self-test). */
  {
    fake_req_spec s;
    char v[8192];
    HTTP_DATA_CHUNK ch;
    OVERLAPPED ov;
    static char data[4] = "data";
    memset(&s, 0, sizeof s);
    s.method = "GET";
    s.raw_url = "/hello";
    int idx = fake_http_inject(&s);
    check_resp(fake_http_wait(idx, WAIT_MS), 200);
    memset(&ch, 0, sizeof ch);
    memset(&ov, 0, sizeof ov);
    ch.DataChunkType = HttpDataChunkFromMemory;
    ch.FromMemory.pBuffer = data;
    ch.FromMemory.BufferLength = sizeof data;
    ULONG rc = HttpSendResponseEntityBody(fake_http_queue_handle(),
                                          fake_http_request_id(idx), 0, 1,
                                          &ch, NULL, NULL, 0, &ov, NULL);
    int nv = fake_http_take_violations(v, sizeof v);
    EXPECT(rc != ERROR_IO_PENDING && nv == 1 && strstr(v, "after the final"),
           "send after final not refused: rc %lu, %d violations: %s", rc, nv,
           v);
    idx = fake_http_inject(&s);
    check_resp(fake_http_wait(idx, WAIT_MS), 200);
    rc = HttpSendResponseEntityBody(
        fake_http_queue_handle(), fake_http_request_id(idx),
        HTTP_SEND_RESPONSE_FLAG_MORE_DATA | HTTP_SEND_RESPONSE_FLAG_DISCONNECT,
        1, &ch, NULL, NULL, 0, &ov, NULL);
    nv = fake_http_take_violations(v, sizeof v);
    EXPECT(rc != ERROR_IO_PENDING && nv == 1, "bad flags not refused");
    finish("fake_refuses_what_http_sys_refuses");
  }
  sysgi_httpsys_stop(srv);
  finish("stop_after_traffic");

  /* Mount point: SCRIPT_NAME / PATH_INFO split, case-insensitive like
   * http.sys prefix matching. */
  srv = start_server("/app/", 2, 4);
  r = get("/APP/vars?q=1");
  check_resp(r, 200);
  if (r)
    EXPECT(r->body_len && !strncmp((char *)r->body, "/app|/vars|q=1|", 15),
           "vars: %.*s", (int)r->body_len, r->body);
  finish("mount_split");
  r = get("/application");
  check_resp(r, 404);
  finish("outside_mount_is_404");
  sysgi_httpsys_stop(srv);
  finish("stop_mount_server");

  /* Saturation: 1 worker, 1 queued; the third request gets 503. */
  srv = start_server("", 1, 1);
  {
    fake_req_spec s;
    memset(&s, 0, sizeof s);
    s.method = "GET";
    s.raw_url = "/block";
    ResetEvent(fake_core_gate);
    ResetEvent(fake_core_entered);
    int a = fake_http_inject(&s);
    WaitForSingleObject(fake_core_entered, WAIT_MS);
    int b = fake_http_inject(&s);
    int c = fake_http_inject(&s);
    /* Exactly one of b, c is refused at once (which one depends on the
     * order in which the I/O threads submit them). */
    const fake_response *rb = NULL, *rc = NULL;
    for (int i = 0; i < WAIT_MS / 10 && !rb && !rc; i++) {
      rb = fake_http_wait(b, 0);
      rc = fake_http_wait(c, 0);
      if (!rb && !rc)
        Sleep(10);
    }
    const fake_response *busy = rb ? rb : rc;
    check_resp(busy, 503);
    if (busy)
      EXPECT(strstr(busy->headers, "Retry-After: 1\n") != NULL,
             "503 without Retry-After");
    SetEvent(fake_core_gate);
    check_resp(fake_http_wait(a, WAIT_MS), 200);
    check_resp(fake_http_wait(rb ? c : b, WAIT_MS), 200);
    finish("saturated_pool_answers_503");
  }
  sysgi_httpsys_stop(srv);
  finish("stop_saturated_server");

  /* Stop while a request runs: it finishes, receives are cancelled, the
   * queue closes with every request answered (checked by the fake). */
  srv = start_server("", 2, 4);
  {
    fake_req_spec s;
    memset(&s, 0, sizeof s);
    s.method = "GET";
    s.raw_url = "/block";
    ResetEvent(fake_core_gate);
    ResetEvent(fake_core_entered);
    int a = fake_http_inject(&s);
    WaitForSingleObject(fake_core_entered, WAIT_MS);
    /* Released only once stop has begun (it cancels the receives first),
     * so stop must wait for the request. */
    HANDLE t = CreateThread(NULL, 0, release_when_stopping, NULL, 0, NULL);
    sysgi_httpsys_stop(srv);
    WaitForSingleObject(t, WAIT_MS);
    CloseHandle(t);
    check_resp(fake_http_wait(a, 0), 200);
    EXPECT(fake_http_pending_receives() == 0, "receives left posted");
    finish("stop_finishes_in_flight_request");
  }
races:
  run_races();
  printf("done %d failure(s)\n", failures);
  fflush(stdout);
  return failures;
}
