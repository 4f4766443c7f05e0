/*
 * httpapi_probe.exe SCENARIO [PORT]: drives our test httpapi.dll directly,
 * to show that its checks fire (test_httpapi_dll.py reads the violation
 * log) and that its URL ACL store behaves like the real one.
 *   misuse PORT      breaks the rules one by one; prints "probe done"
 *   urlacl           add / query / enumerate / delete, with the real errors
 *   urlacl-add URL   adds a reservation (another process checks it)
 *   urlacl-has URL   exit 0 if URL is reserved, 3 if not
 * Prints "FAIL ..." and exits 1 when the DLL does not answer as expected.
 */
#include <winsock2.h>
#include <windows.h>
#include <http.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define EXPECT(cond, ...)                                                    \
  do {                                                                       \
    if (!(cond)) {                                                           \
      printf("FAIL line %d: ", __LINE__);                                    \
      printf(__VA_ARGS__);                                                   \
      printf("\n");                                                          \
      fflush(stdout);                                                        \
      failures++;                                                            \
    }                                                                        \
  } while (0)

static const HTTPAPI_VERSION V2 = HTTPAPI_VERSION_2;
static HANDLE queue, port;

/* Waits for the completion of `ov`; returns its Win32 error. */
static DWORD wait_ov(OVERLAPPED *ov, DWORD *bytes) {
  for (;;) {
    ULONG_PTR key;
    OVERLAPPED *got = NULL;
    BOOL ok = GetQueuedCompletionStatus(port, bytes, &key, &got, 30000);
    DWORD err = ok ? 0 : GetLastError();
    if (!got) {
      EXPECT(0, "no completion within 30 s (error %lu)", err);
      return err;
    }
    if (got == ov)
      return err;
  }
}

static SOCKET client(int p, const char *req) {
  SOCKET s = socket(AF_INET, SOCK_STREAM, 0);
  SOCKADDR_IN a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((u_short)p);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (SOCKADDR *)&a, sizeof a) != 0)
    EXPECT(0, "connect failed");
  send(s, req, (int)strlen(req), 0);
  return s;
}

/* Receives the next request into a fresh buffer; returns its id. */
static HTTP_REQUEST_ID receive(char *buf, ULONG len) {
  OVERLAPPED ov = {0};
  DWORD bytes = 0;
  ULONG rc = HttpReceiveHttpRequest(queue, HTTP_NULL_ID, 0,
                                    (HTTP_REQUEST *)buf, len, NULL, &ov);
  EXPECT(rc == ERROR_IO_PENDING, "receive returned %lu", rc);
  DWORD err = wait_ov(&ov, &bytes);
  EXPECT(err == 0, "receive completed with %lu", err);
  return ((HTTP_REQUEST *)buf)->RequestId;
}

static void send_head(HTTP_REQUEST_ID id, ULONG flags, const char *cl,
                      char *body, ULONG blen, ULONG expect) {
  HTTP_RESPONSE resp = {0};
  HTTP_DATA_CHUNK ch = {0};
  OVERLAPPED ov = {0};
  DWORD bytes;
  resp.StatusCode = 200;
  resp.pReason = "OK";
  resp.ReasonLength = 2;
  if (cl) {
    resp.Headers.KnownHeaders[HttpHeaderContentLength].pRawValue = cl;
    resp.Headers.KnownHeaders[HttpHeaderContentLength].RawValueLength =
        (USHORT)strlen(cl);
  }
  ch.DataChunkType = HttpDataChunkFromMemory;
  ch.FromMemory.pBuffer = body;
  ch.FromMemory.BufferLength = blen;
  resp.EntityChunkCount = body ? 1 : 0;
  resp.pEntityChunks = body ? &ch : NULL;
  ULONG rc = HttpSendHttpResponse(queue, id, flags, &resp, NULL, NULL, NULL,
                                  0, &ov, NULL);
  EXPECT(rc == expect, "HttpSendHttpResponse returned %lu, not %lu", rc,
         expect);
  if (rc == ERROR_IO_PENDING)
    wait_ov(&ov, &bytes);
}

static ULONG send_body(HTTP_REQUEST_ID id, ULONG flags, char *body,
                       ULONG blen, int wait) {
  HTTP_DATA_CHUNK ch = {0};
  static OVERLAPPED ov;
  DWORD bytes;
  ch.DataChunkType = HttpDataChunkFromMemory;
  ch.FromMemory.pBuffer = body;
  ch.FromMemory.BufferLength = blen;
  memset(&ov, 0, sizeof ov);
  ULONG rc = HttpSendResponseEntityBody(queue, id, flags, body ? 1 : 0,
                                        body ? &ch : NULL, NULL, NULL, 0, &ov,
                                        NULL);
  if (rc == ERROR_IO_PENDING && wait)
    wait_ov(&ov, &bytes);
  return rc;
}

static int misuse(int p) {
  wchar_t url[64];
  HTTP_SERVER_SESSION_ID session;
  HTTP_URL_GROUP_ID group;
  HTTP_BINDING_INFO b = {0};
  WSADATA wsa;
  WSAStartup(MAKEWORD(2, 2), &wsa);
  EXPECT(HttpInitialize(V2, HTTP_INITIALIZE_SERVER, NULL) == 0, "init");
  EXPECT(HttpCreateServerSession(V2, &session, 0) == 0, "session");
  EXPECT(HttpCreateRequestQueue(V2, NULL, NULL, 0, &queue) == 0, "queue");
  EXPECT(HttpCreateUrlGroup(session, &group, 0) == 0, "group");
  b.Flags.Present = 1;
  b.RequestQueueHandle = queue;
  EXPECT(HttpSetUrlGroupProperty(group, HttpServerBindingProperty, &b,
                                 sizeof b) == 0, "bind");
  swprintf(url, 64, L"http://127.0.0.1:%d/", p);
  EXPECT(HttpAddUrlToUrlGroup(group, url, 7, 0) == 0, "add url");
  EXPECT(HttpAddUrlToUrlGroup(group, url, 7, 0) == ERROR_ALREADY_EXISTS,
         "same URL twice");
  port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
  EXPECT(CreateIoCompletionPort(queue, port, 42, 0) == port, "port");

  char host[64];
  snprintf(host, sizeof host, "Host: 127.0.0.1:%d\r\n\r\n", p);
  char req[128];
  snprintf(req, sizeof req, "GET /one%%C3%%A9?q=1 HTTP/1.1\r\n%s", host);
  SOCKET c1 = client(p, req);

  /* ERROR_MORE_DATA: the status and the size through the port. */
  static char small[sizeof(HTTP_REQUEST_V2)], big[65536];
  OVERLAPPED ov = {0};
  DWORD bytes = 0;
  ULONG rc = HttpReceiveHttpRequest(queue, HTTP_NULL_ID, 0,
                                    (HTTP_REQUEST *)small, sizeof small, NULL,
                                    &ov);
  EXPECT(rc == ERROR_IO_PENDING, "receive: %lu", rc);
  DWORD err = wait_ov(&ov, &bytes);
  HTTP_REQUEST_ID id = ((HTTP_REQUEST *)small)->RequestId;
  EXPECT(err == ERROR_MORE_DATA && bytes > sizeof small && id,
         "small buffer: error %lu, %lu bytes", err, bytes);
  memset(&ov, 0, sizeof ov);
  rc = HttpReceiveHttpRequest(queue, id, 0, (HTTP_REQUEST *)big, bytes, NULL,
                              &ov);
  err = wait_ov(&ov, &bytes);
  HTTP_REQUEST *r = (HTTP_REQUEST *)big;
  EXPECT(err == 0 && r->RequestId == id && r->UrlContext == 7 &&
             r->Verb == HttpVerbGET && r->RawUrlLength == 14 &&
             memcmp(r->pRawUrl, "/one%C3%A9?q=1", 14) == 0,
         "retry: error %lu", err);
  wchar_t want_host[32];
  swprintf(want_host, 32, L"127.0.0.1:%d", p);
  const HTTP_COOKED_URL *cu = &r->CookedUrl;
  EXPECT(cu->AbsPathLength == 10 &&
             wcsncmp(cu->pAbsPath, L"/one\u00e9", 5) == 0 &&
             cu->QueryStringLength == 8 &&
             wcsncmp(cu->pQueryString, L"?q=1", 4) == 0 &&
             cu->HostLength == wcslen(want_host) * 2 &&
             wcsncmp(cu->pHost, want_host, wcslen(want_host)) == 0 &&
             cu->FullUrlLength == wcslen(cu->pFullUrl) * 2 &&
             cu->FullUrlLength == (7 + wcslen(want_host) + 5 + 4) * 2,
         "cooked URL %ls (%u)", cu->pFullUrl, cu->FullUrlLength);
  EXPECT(r->Address.pRemoteAddress->sa_family == AF_INET &&
             ntohs(((SOCKADDR_IN *)r->Address.pLocalAddress)->sin_port) == p &&
             r->Headers.KnownHeaders[HttpHeaderHost].RawValueLength ==
                 wcslen(want_host) && r->Flags == 0,
         "addresses, Host or flags");

  /* Entity body before the head. */
  char body[16] = "hello";
  EXPECT(send_body(id, 0, body, 5, 1) == ERROR_INVALID_PARAMETER, "early");
  /* A buffer changed while its send is in flight; then poisoned. */
  char *heap = malloc(5);
  memcpy(heap, "hello", 5);
  HTTP_RESPONSE resp = {0};
  HTTP_DATA_CHUNK ch = {0};
  resp.StatusCode = 200;
  ch.DataChunkType = HttpDataChunkFromMemory;
  ch.FromMemory.pBuffer = heap;
  ch.FromMemory.BufferLength = 5;
  resp.EntityChunkCount = 1;
  resp.pEntityChunks = &ch;
  memset(&ov, 0, sizeof ov);
  rc = HttpSendHttpResponse(queue, id, HTTP_SEND_RESPONSE_FLAG_MORE_DATA,
                            &resp, NULL, NULL, NULL, 0, &ov, NULL);
  heap[0] = 'J'; /* too early */
  wait_ov(&ov, &bytes);
  EXPECT(heap[1] == (char)0xDB, "memory chunk not poisoned");
  /* A second head, a final body, a send after it. */
  send_head(id, 0, NULL, NULL, 0, ERROR_INVALID_PARAMETER);
  EXPECT(send_body(id, 0, body, 5, 1) == ERROR_IO_PENDING, "final body");
  EXPECT(send_body(id, 0, body, 5, 1) == ERROR_INVALID_PARAMETER, "after");
  closesocket(c1);

  /* Content-Length 10, 5 bytes, no DISCONNECT. */
  snprintf(req, sizeof req, "GET /two HTTP/1.1\r\n%s", host);
  SOCKET c2 = client(p, req);
  id = receive(big, sizeof big);
  send_head(id, 0, "10", body, 5, ERROR_IO_PENDING);
  closesocket(c2);

  /* Unknown flags; two sends in flight. */
  snprintf(req, sizeof req, "GET /three HTTP/1.1\r\n%s", host);
  SOCKET c3 = client(p, req);
  id = receive(big, sizeof big);
  send_head(id, 0x1000, NULL, body, 5, ERROR_INVALID_PARAMETER);
  memset(&resp, 0, sizeof resp);
  resp.StatusCode = 200;
  memset(&ov, 0, sizeof ov);
  rc = HttpSendHttpResponse(queue, id, HTTP_SEND_RESPONSE_FLAG_MORE_DATA,
                            &resp, NULL, NULL, NULL, 0, &ov, NULL);
  EXPECT(rc == ERROR_IO_PENDING, "streamed head: %lu", rc);
  EXPECT(send_body(id, 0, body, 5, 0) == ERROR_INVALID_PARAMETER,
         "second send in flight");
  wait_ov(&ov, &bytes);
  EXPECT(send_body(id, 0, body, 5, 1) == ERROR_IO_PENDING, "final");
  closesocket(c3);

  /* COPY_BODY, then the rest read synchronously, then ERROR_HANDLE_EOF. */
  snprintf(req, sizeof req, "POST /four HTTP/1.1\r\nContent-Length: 3\r\n"
           "%sabc", host);
  SOCKET c4b = client(p, req);
  memset(&ov, 0, sizeof ov);
  HttpReceiveHttpRequest(queue, HTTP_NULL_ID, HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY,
                         (HTTP_REQUEST *)big, sizeof big, NULL, &ov);
  EXPECT(wait_ov(&ov, &bytes) == 0, "COPY_BODY receive");
  id = r->RequestId;
  char got[16];
  ULONG n_got = 0, n;
  if (r->EntityChunkCount) {
    n_got = r->pEntityChunks[0].FromMemory.BufferLength;
    memcpy(got, r->pEntityChunks[0].FromMemory.pBuffer, n_got);
  }
  while (n_got < 3 &&
         (rc = HttpReceiveRequestEntityBody(queue, id, 0, got + n_got,
                                            sizeof got - n_got, &n, NULL)) ==
             0)
    n_got += n;
  rc = HttpReceiveRequestEntityBody(queue, id, 0, got, sizeof got, &n, NULL);
  EXPECT(n_got == 3 && memcmp(got, "abc", 3) == 0 && rc == ERROR_HANDLE_EOF,
         "body: %lu bytes, then %lu", n_got, rc);
  send_head(id, 0, NULL, body, 5, ERROR_IO_PENDING);
  closesocket(c4b);

  /* CancelIoEx on a waiting receive; HttpCancelHttpRequest resets. */
  memset(&ov, 0, sizeof ov);
  HttpReceiveHttpRequest(queue, HTTP_NULL_ID, 0, (HTTP_REQUEST *)big,
                         sizeof big, NULL, &ov);
  EXPECT(CancelIoEx(queue, &ov), "CancelIoEx: %lu", GetLastError());
  EXPECT(wait_ov(&ov, &bytes) == ERROR_OPERATION_ABORTED, "cancelled");
  snprintf(req, sizeof req, "GET /five HTTP/1.1\r\n%s", host);
  SOCKET c5b = client(p, req);
  id = receive(big, sizeof big);
  EXPECT(HttpCancelHttpRequest(queue, id, NULL) == 0, "cancel request");
  DWORD tmo = 30000;
  setsockopt(c5b, SOL_SOCKET, SO_RCVTIMEO, (const char *)&tmo, sizeof tmo);
  EXPECT(recv(c5b, got, sizeof got, 0) <= 0 &&
             WSAGetLastError() != WSAETIMEDOUT,
         "the cancelled request's connection stays open");
  closesocket(c5b);

  /* One request never answered, one ERROR_MORE_DATA never retried. */
  snprintf(req, sizeof req, "GET /never HTTP/1.1\r\n%s", host);
  SOCKET c4 = client(p, req);
  receive(big, sizeof big);
  snprintf(req, sizeof req, "GET /small HTTP/1.1\r\n%s", host);
  SOCKET c5 = client(p, req);
  memset(&ov, 0, sizeof ov);
  HttpReceiveHttpRequest(queue, HTTP_NULL_ID, 0, (HTTP_REQUEST *)small,
                         sizeof small, NULL, &ov);
  err = wait_ov(&ov, &bytes);
  EXPECT(err == ERROR_MORE_DATA, "second small receive: %lu", err);

  memset(&ov, 0, sizeof ov);
  HttpReceiveHttpRequest(queue, HTTP_NULL_ID, 0, (HTTP_REQUEST *)big,
                         sizeof big, NULL, &ov);
  EXPECT(HttpShutdownRequestQueue(queue) == 0, "shutdown");
  EXPECT(wait_ov(&ov, &bytes) == ERROR_OPERATION_ABORTED, "shut receive");
  HttpCloseUrlGroup(group);
  EXPECT(HttpCloseRequestQueue(queue) == 0, "close");
  memset(&ov, 0, sizeof ov);
  rc = HttpReceiveHttpRequest(queue, HTTP_NULL_ID, 0, (HTTP_REQUEST *)big,
                              sizeof big, NULL, &ov);
  EXPECT(rc == ERROR_INVALID_HANDLE, "receive on a closed queue: %lu", rc);
  HttpCloseServerSession(session);
  HttpTerminate(HTTP_INITIALIZE_SERVER, NULL);
  closesocket(c4);
  closesocket(c5);
  printf("probe done\n");
  fflush(stdout);
  return failures != 0;
}

static ULONG acl_set(const wchar_t *url, const wchar_t *sddl, int del) {
  HTTP_SERVICE_CONFIG_URLACL_SET s = {0};
  s.KeyDesc.pUrlPrefix = (PWSTR)url;
  s.ParamDesc.pStringSecurityDescriptor = (PWSTR)sddl;
  return del ? HttpDeleteServiceConfiguration(NULL, HttpServiceConfigUrlAclInfo,
                                              &s, sizeof s, NULL)
             : HttpSetServiceConfiguration(NULL, HttpServiceConfigUrlAclInfo,
                                           &s, sizeof s, NULL);
}

static ULONG acl_query(const wchar_t *url, DWORD token, int next, char *out,
                       ULONG len, ULONG *need) {
  HTTP_SERVICE_CONFIG_URLACL_QUERY q = {0};
  q.QueryDesc = next ? HttpServiceConfigQueryNext : HttpServiceConfigQueryExact;
  q.KeyDesc.pUrlPrefix = (PWSTR)url;
  q.dwToken = token;
  return HttpQueryServiceConfiguration(NULL, HttpServiceConfigUrlAclInfo, &q,
                                       sizeof q, out, len, need, NULL);
}

static int urlacl(void) {
  const wchar_t *u = L"http://+:8123/probe/", *sd = L"D:(A;;GX;;;WD)";
  char out[1024];
  ULONG need = 0;
  EXPECT(HttpInitialize(V2, HTTP_INITIALIZE_CONFIG, NULL) == 0, "init");
  EXPECT(acl_set(u, sd, 0) == 0, "add");
  EXPECT(acl_set(L"HTTP://+:8123/Probe/", sd, 0) == ERROR_ALREADY_EXISTS,
         "add twice");
  EXPECT(acl_set(L"http://+:8124/x/", L"O:BA", 0) == ERROR_INVALID_PARAMETER,
         "SDDL without D:");
  EXPECT(acl_set(L"http://+/x/", sd, 0) == ERROR_INVALID_PARAMETER,
         "URL without port");
  EXPECT(acl_query(u, 0, 0, out, 8, &need) == ERROR_INSUFFICIENT_BUFFER &&
             need > sizeof(HTTP_SERVICE_CONFIG_URLACL_SET),
         "small query buffer");
  EXPECT(acl_query(u, 0, 0, out, sizeof out, &need) == 0, "query");
  HTTP_SERVICE_CONFIG_URLACL_SET *s = (HTTP_SERVICE_CONFIG_URLACL_SET *)out;
  EXPECT(wcscmp(s->KeyDesc.pUrlPrefix, u) == 0 &&
             wcscmp(s->ParamDesc.pStringSecurityDescriptor, sd) == 0,
         "query result");
  EXPECT(acl_query(NULL, 0, 1, out, sizeof out, &need) == 0, "enumerate 0");
  EXPECT(acl_query(NULL, 1, 1, out, sizeof out, &need) == ERROR_NO_MORE_ITEMS,
         "enumerate 1");
  EXPECT(acl_set(u, NULL, 1) == 0, "delete");
  EXPECT(acl_set(u, NULL, 1) == ERROR_FILE_NOT_FOUND, "delete twice");
  EXPECT(acl_query(u, 0, 0, out, sizeof out, &need) == ERROR_FILE_NOT_FOUND,
         "query deleted");
  HttpTerminate(HTTP_INITIALIZE_CONFIG, NULL);
  printf("probe done\n");
  return failures != 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "misuse") == 0)
    return misuse(atoi(argv[2]));
  if (argc >= 2 && strcmp(argv[1], "urlacl") == 0)
    return urlacl();
  if (argc >= 3 && (strcmp(argv[1], "urlacl-add") == 0 ||
                    strcmp(argv[1], "urlacl-has") == 0)) {
    wchar_t u[512];
    char out[2048];
    ULONG need;
    MultiByteToWideChar(CP_UTF8, 0, argv[2], -1, u, 512);
    HttpInitialize(V2, HTTP_INITIALIZE_CONFIG, NULL);
    ULONG rc = argv[1][7] == 'a' ? acl_set(u, L"D:(A;;GX;;;WD)", 0)
                                 : acl_query(u, 0, 0, out, sizeof out, &need);
    printf("result %lu\n", rc);
    HttpTerminate(HTTP_INITIALIZE_CONFIG, NULL);
    return rc == 0 ? 0 : rc == ERROR_FILE_NOT_FOUND ? 3 : 1;
  }
  fprintf(stderr, "usage: httpapi_probe misuse PORT | urlacl | "
                  "urlacl-add URL | urlacl-has URL\n");
  return 2;
}
