/*
 * fake_httpapi.c: a strict fake of the HTTP Server API, linked into a test
 * program INSTEAD of httpapi.dll, for what Wine's http.sys lacks: streamed
 * responses (MORE_DATA + HttpSendResponseEntityBody), file-handle chunks,
 * bodies of several MB, chunked request bodies, request heads larger than
 * the receive buffer.
 *
 * How it stands in for http.sys:
 *  - The product calls Http* through dllimport pointers (__imp_Http*); this
 *    file defines those pointers, so no import library is needed. It also
 *    interposes CreateIoCompletionPort and CancelIoEx (same technique) to
 *    learn the completion port of the fake queue and to cancel receives.
 *  - Every call is completed asynchronously, on the fake's own thread, by
 *    posting a real completion packet (NtSetIoCompletion, with an NTSTATUS,
 *    so GetQueuedCompletionStatus reports errors like the kernel does).
 *  - At each send it hashes every buffer the send references (status
 *    reason, header strings, memory chunks); at completion, after a delay,
 *    it checks the hash is unchanged, records the data, then POISONS the
 *    writable buffers (0xDB). The test core frees its body buffers in
 *    sysgi_send_complete, so any later read would fault.
 *  - Anything a real http.sys would reject (second HttpSendHttpResponse,
 *    entity body without a MORE_DATA head, a send after the final one,
 *    DISCONNECT with MORE_DATA, unknown flags or chunk types, two sends in
 *    flight, body bytes != Content-Length, a request never answered when
 *    the queue closes, ...) is recorded as a violation and fails the test.
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <http.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_httpapi.h"

#define ST_SUCCESS ((LONG)0)
#define ST_BUFFER_OVERFLOW ((LONG)0x80000005L)
#define ST_END_OF_FILE ((LONG)0xC0000011L)
#define ST_CANCELLED ((LONG)0xC0000120L)
#define ST_CONNECTION_INVALID ((LONG)0xC000023AL)

#define MAX_REQS 4096
#define FAKE_SESSION ((HTTP_SERVER_SESSION_ID)0x5e55)
#define FAKE_GROUP ((HTTP_URL_GROUP_ID)0x6000)
#define ID_BASE 0x1000

typedef LONG(WINAPI *set_completion_fn)(HANDLE, ULONG_PTR, ULONG_PTR, LONG,
                                         SIZE_T);
typedef HANDLE(WINAPI *create_port_fn)(HANDLE, HANDLE, ULONG_PTR, DWORD);
typedef BOOL(WINAPI *cancel_fn)(HANDLE, LPOVERLAPPED);

typedef struct freq {
  HTTP_REQUEST_ID id;
  char *method, *url;
  char **names, **values;
  size_t n_headers;
  unsigned char *body;
  size_t body_len, body_off;
  int chunked, fail_after, state; /* 0 new, 1 MORE_DATA given, 2 received */
  int head_sent, more_expected, final_sent, send_pending, read_pending;
  int64_t content_length;
  size_t body_cap;
  fake_response resp;
  HANDLE done;
} freq;

enum { J_RECV, J_BODY, J_SEND, J_CANCEL };

typedef struct job {
  int kind;
  OVERLAPPED *ov;
  freq *r;
  void *buf;
  ULONG len;
  ULONG flags;
  int first;
  HTTP_RESPONSE *response;
  USHORT n_chunks;
  HTTP_DATA_CHUNK *chunks; /* copy of the descriptors */
  uint64_t hash;
  struct job *next;
} job;

static struct {
  CRITICAL_SECTION lock;
  CONDITION_VARIABLE cv;
  int started;
  int init_count;
  HANDLE queue, port;
  ULONG_PTR key;
  int bound_port, bound_group, closed;
  freq *reqs[MAX_REQS];
  int n_reqs;
  job *pending_recv[64];
  int n_pending_recv;
  job *head, *tail;
  char violations[8192];
  int n_violations;
  unsigned piece;
  set_completion_fn set_completion;
  create_port_fn real_create_port;
  cancel_fn real_cancel;
  OVERLAPPED stray_ov;
} F;

/* ---- helpers ------------------------------------------------------------- */

static void violation(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "fake_httpapi VIOLATION: %s\n", msg);
  fflush(stderr);
  size_t used = strlen(F.violations);
  snprintf(F.violations + used, sizeof F.violations - used, "%s; ", msg);
  F.n_violations++;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

static int writable(const void *p) {
  MEMORY_BASIC_INFORMATION mi;
  if (!p || !VirtualQuery(p, &mi, sizeof mi) || mi.State != MEM_COMMIT)
    return 0;
  return (mi.Protect & (PAGE_READWRITE | PAGE_EXECUTE_READWRITE)) != 0;
}

static void poison(void *p, size_t n) {
  if (n && writable(p) && writable((char *)p + n - 1))
    memset(p, 0xDB, n);
}

static void complete(OVERLAPPED *ov, LONG status, SIZE_T bytes) {
  ov->Internal = (ULONG_PTR)status;
  ov->InternalHigh = bytes;
  F.set_completion(F.port, F.key, (ULONG_PTR)ov, status, bytes);
}

static void push_job(job *j) {
  j->next = NULL;
  if (F.tail)
    F.tail->next = j;
  else
    F.head = j;
  F.tail = j;
  WakeConditionVariable(&F.cv);
}

static freq *find_req(HTTP_REQUEST_ID id) {
  if (id < ID_BASE || id >= ID_BASE + (HTTP_REQUEST_ID)F.n_reqs)
    return NULL;
  return F.reqs[id - ID_BASE];
}

static void add_resp_header(freq *r, const char *name, size_t nl,
                            const char *value, size_t vl) {
  size_t old = r->resp.headers ? strlen(r->resp.headers) : 0;
  char *h = realloc(r->resp.headers, old + nl + vl + 4);
  if (!h)
    return;
  memcpy(h + old, name, nl);
  memcpy(h + old + nl, ": ", 2);
  memcpy(h + old + nl + 2, value, vl);
  h[old + nl + 2 + vl] = '\n';
  h[old + nl + 3 + vl] = '\0';
  r->resp.headers = h;
}

static void add_resp_body(freq *r, const void *p, size_t n) {
  if (r->resp.body_len + n > r->body_cap) {
    size_t cap = (r->body_cap ? r->body_cap * 2 : 65536) + n;
    unsigned char *b = realloc(r->resp.body, cap);
    if (!b) {
      violation("test out of memory");
      return;
    }
    r->resp.body = b;
    r->body_cap = cap;
  }
  memcpy(r->resp.body + r->resp.body_len, p, n);
  r->resp.body_len += n;
}

/* ---- request layout ------------------------------------------------------ */

static const char *const known_req[HttpHeaderRequestMaximum] = {
    "Cache-Control", "Connection", "Date", "Keep-Alive", "Pragma", "Trailer",
    "Transfer-Encoding", "Upgrade", "Via", "Warning", "Allow",
    "Content-Length", "Content-Type", "Content-Encoding", "Content-Language",
    "Content-Location", "Content-MD5", "Content-Range", "Expires",
    "Last-Modified", "Accept", "Accept-Charset", "Accept-Encoding",
    "Accept-Language", "Authorization", "Cookie", "Expect", "From", "Host",
    "If-Match", "If-Modified-Since", "If-None-Match", "If-Range",
    "If-Unmodified-Since", "Max-Forwards", "Proxy-Authorization", "Referer",
    "Range", "TE", "Translate", "User-Agent"};

static int known_req_id(const char *name) {
  for (int i = 0; i < HttpHeaderRequestMaximum; i++)
    if (_stricmp(known_req[i], name) == 0)
      return i;
  return -1;
}

static const struct {
  const char *name;
  HTTP_VERB verb;
} verbs[] = {{"GET", HttpVerbGET},       {"POST", HttpVerbPOST},
             {"HEAD", HttpVerbHEAD},     {"PUT", HttpVerbPUT},
             {"DELETE", HttpVerbDELETE}, {"OPTIONS", HttpVerbOPTIONS}};

/* Lays the request out in `buf` like http.sys: the structure, then the
 * arrays, addresses and strings it points to. Returns the size needed. */
static size_t layout(freq *r, HTTP_REQUEST *buf, size_t len) {
  size_t n_unknown = 0;
  for (size_t i = 0; i < r->n_headers; i++)
    if (known_req_id(r->names[i]) < 0)
      n_unknown++;
  size_t need = sizeof(HTTP_REQUEST) + n_unknown * sizeof(HTTP_UNKNOWN_HEADER) +
                2 * sizeof(SOCKADDR_IN) + strlen(r->url) + strlen(r->method) + 2;
  for (size_t i = 0; i < r->n_headers; i++)
    need += strlen(r->names[i]) + strlen(r->values[i]) + 2;
  need = (need + 7) & ~(size_t)7;
  if (!buf || len < need)
    return need;

  memset(buf, 0, need);
  char *p = (char *)buf + sizeof(HTTP_REQUEST);
  HTTP_UNKNOWN_HEADER *unk = (HTTP_UNKNOWN_HEADER *)p;
  p += n_unknown * sizeof *unk;
  SOCKADDR_IN *local = (SOCKADDR_IN *)p, *remote = local + 1;
  p += 2 * sizeof(SOCKADDR_IN);
  buf->RequestId = r->id;
  buf->ConnectionId = r->id;
  buf->Version.MajorVersion = 1;
  buf->Version.MinorVersion = 1;
  buf->Verb = HttpVerbUnknown;
  size_t ml = strlen(r->method);
  memcpy(p, r->method, ml + 1);
  buf->pUnknownVerb = p;
  buf->UnknownVerbLength = (USHORT)ml;
  for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
    if (strcmp(verbs[i].name, r->method) == 0) {
      buf->Verb = verbs[i].verb;
      buf->pUnknownVerb = NULL;
      buf->UnknownVerbLength = 0;
    }
  p += ml + 1;
  size_t ul = strlen(r->url);
  memcpy(p, r->url, ul + 1);
  buf->pRawUrl = p;
  buf->RawUrlLength = (USHORT)ul;
  p += ul + 1;
  local->sin_family = AF_INET;
  local->sin_port = htons(8080);
  local->sin_addr.s_addr = htonl(0x7f000001);
  remote->sin_family = AF_INET;
  remote->sin_port = htons(50000 + (unsigned)(r->id % 1000));
  remote->sin_addr.s_addr = htonl(0x7f000002);
  buf->Address.pLocalAddress = (PSOCKADDR)local;
  buf->Address.pRemoteAddress = (PSOCKADDR)remote;
  USHORT nu = 0;
  for (size_t i = 0; i < r->n_headers; i++) {
    size_t nl = strlen(r->names[i]), vl = strlen(r->values[i]);
    char *name = p, *value = p + nl + 1;
    memcpy(name, r->names[i], nl + 1);
    memcpy(value, r->values[i], vl + 1);
    p += nl + vl + 2;
    int id = known_req_id(name);
    if (id >= 0) {
      buf->Headers.KnownHeaders[id].pRawValue = value;
      buf->Headers.KnownHeaders[id].RawValueLength = (USHORT)vl;
    } else {
      unk[nu].pName = name;
      unk[nu].NameLength = (USHORT)nl;
      unk[nu].pRawValue = value;
      unk[nu].RawValueLength = (USHORT)vl;
      nu++;
    }
  }
  buf->Headers.UnknownHeaderCount = nu;
  buf->Headers.pUnknownHeaders = nu ? unk : NULL;
  if (r->body_len || r->chunked)
    buf->Flags |= HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS;
  return need;
}

/* ---- the completion thread ----------------------------------------------- */

static uint64_t hash_send(const job *j) {
  uint64_t h = 1469598103934665603ull;
  if (j->response) {
    const HTTP_RESPONSE *rs = j->response;
    if (rs->pReason)
      h = fnv(h, rs->pReason, rs->ReasonLength);
    for (int i = 0; i < HttpHeaderResponseMaximum; i++)
      if (rs->Headers.KnownHeaders[i].pRawValue)
        h = fnv(h, rs->Headers.KnownHeaders[i].pRawValue,
                rs->Headers.KnownHeaders[i].RawValueLength);
    for (USHORT i = 0; i < rs->Headers.UnknownHeaderCount; i++) {
      const HTTP_UNKNOWN_HEADER *u = &rs->Headers.pUnknownHeaders[i];
      h = fnv(h, u->pName, u->NameLength);
      h = fnv(h, u->pRawValue, u->RawValueLength);
    }
  }
  for (USHORT i = 0; i < j->n_chunks; i++)
    if (j->chunks[i].DataChunkType == HttpDataChunkFromMemory)
      h = fnv(h, j->chunks[i].FromMemory.pBuffer,
              j->chunks[i].FromMemory.BufferLength);
  return h;
}

static void run_send(job *j) {
  freq *r = j->r;
  LONG status = ST_SUCCESS;
  size_t bytes = 0;
  if (hash_send(j) != j->hash)
    violation("request %llu: a buffer changed before its send completed",
              (unsigned long long)r->id);
  EnterCriticalSection(&F.lock);
  if (j->first) {
    HTTP_RESPONSE *rs = j->response;
    r->resp.status = rs->StatusCode;
    snprintf(r->resp.reason, sizeof r->resp.reason, "%.*s",
             (int)rs->ReasonLength, rs->pReason ? rs->pReason : "");
    static const char *const names[HttpHeaderResponseMaximum] = {
        "Cache-Control", "Connection", "Date", "Keep-Alive", "Pragma",
        "Trailer", "Transfer-Encoding", "Upgrade", "Via", "Warning", "Allow",
        "Content-Length", "Content-Type", "Content-Encoding",
        "Content-Language", "Content-Location", "Content-MD5",
        "Content-Range", "Expires", "Last-Modified", "Accept-Ranges", "Age",
        "ETag", "Location", "Proxy-Authenticate", "Retry-After", "Server",
        "Set-Cookie", "Vary", "WWW-Authenticate"};
    for (int i = 0; i < HttpHeaderResponseMaximum; i++) {
      HTTP_KNOWN_HEADER *k = &rs->Headers.KnownHeaders[i];
      if (k->pRawValue) {
        add_resp_header(r, names[i], strlen(names[i]), k->pRawValue,
                        k->RawValueLength);
        poison((void *)k->pRawValue, k->RawValueLength);
      }
    }
    for (USHORT i = 0; i < rs->Headers.UnknownHeaderCount; i++) {
      HTTP_UNKNOWN_HEADER *u = &rs->Headers.pUnknownHeaders[i];
      add_resp_header(r, u->pName, u->NameLength, u->pRawValue,
                      u->RawValueLength);
      poison((void *)u->pName, u->NameLength);
      poison((void *)u->pRawValue, u->RawValueLength);
    }
    if (rs->pReason)
      poison((void *)rs->pReason, rs->ReasonLength);
  }
  for (USHORT i = 0; i < j->n_chunks; i++) {
    HTTP_DATA_CHUNK *c = &j->chunks[i];
    if (c->DataChunkType == HttpDataChunkFromMemory) {
      add_resp_body(r, c->FromMemory.pBuffer, c->FromMemory.BufferLength);
      bytes += c->FromMemory.BufferLength;
      poison(c->FromMemory.pBuffer, c->FromMemory.BufferLength);
    } else {
      /* Read the file through the handle, at the chunk's offset. */
      ULONGLONG off = c->FromFileHandle.ByteRange.StartingOffset.QuadPart;
      ULONGLONG left = c->FromFileHandle.ByteRange.Length.QuadPart;
      char tmp[65536];
      r->resp.n_file_chunks++;
      while (left > 0) {
        OVERLAPPED o;
        DWORD got = 0;
        memset(&o, 0, sizeof o);
        o.Offset = (DWORD)off;
        o.OffsetHigh = (DWORD)(off >> 32);
        DWORD want = left > sizeof tmp ? (DWORD)sizeof tmp : (DWORD)left;
        if (!ReadFile(c->FromFileHandle.FileHandle, tmp, want, &got, &o) ||
            got == 0) {
          if (left != HTTP_BYTE_RANGE_TO_EOF)
            violation("request %llu: file chunk beyond the end of the file "
                      "or unreadable handle", (unsigned long long)r->id);
          break;
        }
        add_resp_body(r, tmp, got);
        bytes += got;
        off += got;
        if (left != HTTP_BYTE_RANGE_TO_EOF)
          left -= got;
      }
    }
  }
  r->resp.n_sends++;
  r->body_len += 0;
  r->send_pending = 0;
  int fail = r->fail_after > 0 && r->resp.n_sends >= r->fail_after;
  int final = !(j->flags & HTTP_SEND_RESPONSE_FLAG_MORE_DATA);
  if (j->flags & HTTP_SEND_RESPONSE_FLAG_MORE_DATA)
    r->resp.n_more_data++;
  if (fail) {
    status = ST_CONNECTION_INVALID;
    r->resp.failed = 1;
    r->final_sent = 1; /* the connection is gone */
  }
  if (final && !fail) {
    r->resp.disconnect = (j->flags & HTTP_SEND_RESPONSE_FLAG_DISCONNECT) != 0;
    if (r->content_length >= 0 && !r->resp.disconnect &&
        (int64_t)r->resp.body_len != r->content_length)
      violation("request %llu: %zu body bytes for Content-Length %lld",
                (unsigned long long)r->id, r->resp.body_len,
                (long long)r->content_length);
  }
  LeaveCriticalSection(&F.lock);
  complete(j->ov, status, bytes);
  if (final || fail) {
    r->resp.done = 1;
    SetEvent(r->done);
  }
}

static DWORD WINAPI completer(void *arg) {
  (void)arg;
  static const ULONG pieces[] = {1000, 65536, 7, 300000, 4096};
  EnterCriticalSection(&F.lock);
  for (;;) {
    while (!F.head)
      SleepConditionVariableCS(&F.cv, &F.lock, INFINITE);
    job *j = F.head;
    F.head = j->next;
    if (!F.head)
      F.tail = NULL;
    LeaveCriticalSection(&F.lock);
    /* Give the product time to touch buffers it should not touch. */
    Sleep(1);
    freq *r = j->r;
    switch (j->kind) {
    case J_RECV: {
      size_t need = layout(r, j->buf, j->len);
      if (need > j->len) {
        if (j->len >= sizeof(HTTP_REQUEST)) {
          memset(j->buf, 0, sizeof(HTTP_REQUEST));
          ((HTTP_REQUEST *)j->buf)->RequestId = r->id;
        }
        r->state = 1;
        complete(j->ov, ST_BUFFER_OVERFLOW, need);
      } else {
        r->state = 2;
        complete(j->ov, ST_SUCCESS, need);
      }
      break;
    }
    case J_BODY: {
      EnterCriticalSection(&F.lock);
      size_t left = r->body_len - r->body_off;
      ULONG n = pieces[F.piece++ % (sizeof pieces / sizeof pieces[0])];
      if (n > j->len)
        n = j->len;
      if (n > left)
        n = (ULONG)left;
      memcpy(j->buf, r->body + r->body_off, n);
      r->body_off += n;
      r->read_pending = 0;
      LeaveCriticalSection(&F.lock);
      complete(j->ov, n ? ST_SUCCESS : ST_END_OF_FILE, n);
      break;
    }
    case J_SEND:
      run_send(j);
      break;
    case J_CANCEL:
      complete(j->ov, ST_CANCELLED, 0);
      break;
    }
    free(j->chunks);
    free(j);
    EnterCriticalSection(&F.lock);
  }
  return 0;
}

static void start(void) {
  if (F.started)
    return;
  F.started = 1;
  InitializeCriticalSection(&F.lock);
  InitializeConditionVariable(&F.cv);
  HMODULE nt = GetModuleHandleW(L"ntdll.dll");
  HMODULE k32 = GetModuleHandleW(L"kernel32.dll");
  F.set_completion = (set_completion_fn)(void (*)(void))GetProcAddress(
      nt, "NtSetIoCompletion");
  F.real_create_port = (create_port_fn)(void (*)(void))GetProcAddress(
      k32, "CreateIoCompletionPort");
  F.real_cancel =
      (cancel_fn)(void (*)(void))GetProcAddress(k32, "CancelIoEx");
  CloseHandle(CreateThread(NULL, 0, completer, NULL, 0, NULL));
}

/* ---- the HTTP Server API ------------------------------------------------- */

static int v2(HTTPAPI_VERSION v) {
  return v.HttpApiMajorVersion == 2 && v.HttpApiMinorVersion == 0;
}

static ULONG WINAPI fake_HttpInitialize(HTTPAPI_VERSION v, ULONG flags,
                                        PVOID reserved) {
  start();
  EnterCriticalSection(&F.lock);
  if (!v2(v) || !(flags & HTTP_INITIALIZE_SERVER) || reserved)
    violation("HttpInitialize(version %u.%u, flags %lu)",
              v.HttpApiMajorVersion, v.HttpApiMinorVersion, flags);
  F.init_count++;
  LeaveCriticalSection(&F.lock);
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpTerminate(ULONG flags, PVOID reserved) {
  EnterCriticalSection(&F.lock);
  if (--F.init_count < 0 || !(flags & HTTP_INITIALIZE_SERVER) || reserved)
    violation("HttpTerminate without HttpInitialize / bad flags");
  LeaveCriticalSection(&F.lock);
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpCreateServerSession(HTTPAPI_VERSION v,
                                                 PHTTP_SERVER_SESSION_ID id,
                                                 ULONG reserved) {
  if (!v2(v) || F.init_count <= 0 || reserved)
    violation("HttpCreateServerSession before HttpInitialize / bad version");
  *id = FAKE_SESSION;
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpCloseServerSession(HTTP_SERVER_SESSION_ID id) {
  if (id != FAKE_SESSION)
    violation("HttpCloseServerSession of an unknown session");
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpCreateUrlGroup(HTTP_SERVER_SESSION_ID s,
                                            PHTTP_URL_GROUP_ID g,
                                            ULONG reserved) {
  if (s != FAKE_SESSION || reserved)
    violation("HttpCreateUrlGroup on an unknown session");
  *g = FAKE_GROUP;
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpCloseUrlGroup(HTTP_URL_GROUP_ID g) {
  if (g != FAKE_GROUP)
    violation("HttpCloseUrlGroup of an unknown group");
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpAddUrlToUrlGroup(HTTP_URL_GROUP_ID g,
                                              PCWSTR url, HTTP_URL_CONTEXT ctx,
                                              ULONG reserved) {
  size_t n = url ? wcslen(url) : 0;
  if (g != FAKE_GROUP || reserved)
    violation("HttpAddUrlToUrlGroup on an unknown group");
  if (n < 8 || (wcsncmp(url, L"http://", 7) && wcsncmp(url, L"https://", 8)) ||
      url[n - 1] != L'/')
    return ERROR_INVALID_PARAMETER; /* as http.sys: needs scheme and '/' */
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpSetUrlGroupProperty(HTTP_URL_GROUP_ID g,
                                                 HTTP_SERVER_PROPERTY prop,
                                                 PVOID info, ULONG len) {
  if (g != FAKE_GROUP)
    violation("HttpSetUrlGroupProperty on an unknown group");
  if (prop == HttpServerBindingProperty) {
    HTTP_BINDING_INFO *b = info;
    if (len != sizeof *b || !b->Flags.Present || b->RequestQueueHandle != F.queue)
      violation("binding property: bad size, flag or queue handle");
    else
      F.bound_group = 1;
  }
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpCreateRequestQueue(HTTPAPI_VERSION v, PCWSTR name,
                                                PSECURITY_ATTRIBUTES sa,
                                                ULONG flags, PHANDLE h) {
  if (!v2(v) || F.init_count <= 0)
    violation("HttpCreateRequestQueue before HttpInitialize / bad version");
  if (F.queue)
    violation("a second request queue (the fake serves one)");
  F.queue = CreateEventW(NULL, FALSE, FALSE, NULL); /* a real handle */
  F.closed = 0;
  F.bound_port = 0;
  F.bound_group = 0;
  *h = F.queue;
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpCloseRequestQueue(HANDLE h) {
  EnterCriticalSection(&F.lock);
  if (h != F.queue || !h) {
    violation("HttpCloseRequestQueue of an unknown handle");
    LeaveCriticalSection(&F.lock);
    return ERROR_INVALID_HANDLE;
  }
  for (int i = 0; i < F.n_pending_recv; i++) {
    F.pending_recv[i]->kind = J_CANCEL;
    push_job(F.pending_recv[i]);
  }
  F.n_pending_recv = 0;
  for (int i = 0; i < F.n_reqs; i++) {
    freq *r = F.reqs[i];
    if (r->state == 2 && !r->final_sent)
      violation("request %llu received but never answered",
                (unsigned long long)r->id);
    if (r->send_pending || r->read_pending)
      violation("request %llu: I/O in flight when the queue closed",
                (unsigned long long)r->id);
  }
  F.queue = NULL;
  F.closed = 1;
  LeaveCriticalSection(&F.lock);
  CloseHandle(h);
  return NO_ERROR;
}

static int check_async(const char *fn, HANDLE h, void *pbytes,
                       OVERLAPPED *ov) {
  if (h != F.queue || !h) {
    violation("%s on an unknown queue handle", fn);
    return 0;
  }
  if (!F.bound_port) {
    violation("%s before the queue was bound to a completion port", fn);
    return 0;
  }
  if (!ov) {
    violation("%s: synchronous call on a queue bound to a completion port",
              fn);
    return 0;
  }
  if (pbytes)
    violation("%s: pBytes must be NULL with an OVERLAPPED", fn);
  return 1;
}

static ULONG WINAPI fake_HttpReceiveHttpRequest(HANDLE h, HTTP_REQUEST_ID id,
                                                ULONG flags,
                                                PHTTP_REQUEST buf, ULONG len,
                                                PULONG pbytes,
                                                LPOVERLAPPED ov) {
  EnterCriticalSection(&F.lock);
  ULONG rc = ERROR_IO_PENDING;
  if (!check_async("HttpReceiveHttpRequest", h, pbytes, ov)) {
    rc = ERROR_INVALID_PARAMETER;
  } else if (flags & ~(ULONG)HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY) {
    violation("HttpReceiveHttpRequest: flags 0x%lx", flags);
    rc = ERROR_INVALID_PARAMETER;
  } else if (!buf || len < sizeof(HTTP_REQUEST)) {
    violation("HttpReceiveHttpRequest: buffer of %lu bytes", len);
    rc = ERROR_INVALID_PARAMETER;
  } else {
    job *j = calloc(1, sizeof *j);
    j->kind = J_RECV;
    j->ov = ov;
    j->buf = buf;
    j->len = len;
    if (id != HTTP_NULL_ID) {
      freq *r = find_req(id);
      if (!r || r->state != 1) {
        violation("HttpReceiveHttpRequest for request %llu that did not "
                  "report ERROR_MORE_DATA", (unsigned long long)id);
        free(j);
        rc = ERROR_CONNECTION_INVALID;
      } else {
        j->r = r;
        push_job(j);
      }
    } else {
      for (int i = 0; i < F.n_reqs && !j->r; i++)
        if (F.reqs[i]->state == 0 && !F.reqs[i]->head_sent) {
          j->r = F.reqs[i];
          j->r->state = 3; /* being delivered */
        }
      if (j->r)
        push_job(j);
      else if (F.n_pending_recv < 64)
        F.pending_recv[F.n_pending_recv++] = j;
      else {
        violation("more than 64 receives posted");
        free(j);
      }
    }
  }
  LeaveCriticalSection(&F.lock);
  return rc;
}

static ULONG WINAPI fake_HttpReceiveRequestEntityBody(
    HANDLE h, HTTP_REQUEST_ID id, ULONG flags, PVOID buf, ULONG len,
    PULONG pbytes, LPOVERLAPPED ov) {
  EnterCriticalSection(&F.lock);
  ULONG rc = ERROR_IO_PENDING;
  freq *r = find_req(id);
  if (!check_async("HttpReceiveRequestEntityBody", h, pbytes, ov)) {
    rc = ERROR_INVALID_PARAMETER;
  } else if (!r || r->state != 2) {
    violation("HttpReceiveRequestEntityBody for unknown request %llu",
              (unsigned long long)id);
    rc = ERROR_CONNECTION_INVALID;
  } else if (r->final_sent) {
    violation("HttpReceiveRequestEntityBody after the final send");
    rc = ERROR_CONNECTION_INVALID;
  } else if (flags & ~(ULONG)HTTP_RECEIVE_REQUEST_ENTITY_BODY_FLAG_FILL_BUFFER) {
    violation("HttpReceiveRequestEntityBody: flags 0x%lx", flags);
    rc = ERROR_INVALID_PARAMETER;
  } else if (!buf || !len) {
    violation("HttpReceiveRequestEntityBody: empty buffer");
    rc = ERROR_INVALID_PARAMETER;
  } else if (r->read_pending) {
    violation("two body reads in flight on request %llu",
              (unsigned long long)id);
    rc = ERROR_INVALID_PARAMETER;
  } else if (r->body_off == r->body_len) {
    rc = ERROR_HANDLE_EOF; /* an error status: no packet, like http.sys */
  } else {
    job *j = calloc(1, sizeof *j);
    j->kind = J_BODY;
    j->ov = ov;
    j->r = r;
    j->buf = buf;
    j->len = len;
    r->read_pending = 1;
    push_job(j);
  }
  LeaveCriticalSection(&F.lock);
  return rc;
}

/* Checks flags and chunks common to both sends; returns 0 if rejected. */
static int check_send(const char *fn, freq *r, ULONG flags, USHORT n,
                      const HTTP_DATA_CHUNK *chunks) {
  const ULONG known = HTTP_SEND_RESPONSE_FLAG_DISCONNECT |
                      HTTP_SEND_RESPONSE_FLAG_MORE_DATA |
                      HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA;
  if (flags & ~known) {
    violation("%s: unknown flags 0x%lx", fn, flags);
    return 0;
  }
  if ((flags & HTTP_SEND_RESPONSE_FLAG_DISCONNECT) &&
      (flags & HTTP_SEND_RESPONSE_FLAG_MORE_DATA)) {
    violation("%s: DISCONNECT together with MORE_DATA", fn);
    return 0;
  }
  if (r->final_sent) {
    violation("%s after the final send of request %llu", fn,
              (unsigned long long)r->id);
    return 0;
  }
  if (r->send_pending) {
    violation("%s while another send of request %llu is in flight", fn,
              (unsigned long long)r->id);
    return 0;
  }
  if (n && !chunks) {
    violation("%s: %u chunks but no array", fn, n);
    return 0;
  }
  for (USHORT i = 0; i < n; i++) {
    const HTTP_DATA_CHUNK *c = &chunks[i];
    if (c->DataChunkType == HttpDataChunkFromMemory) {
      if (!c->FromMemory.pBuffer || !c->FromMemory.BufferLength) {
        violation("%s: empty memory chunk", fn);
        return 0;
      }
    } else if (c->DataChunkType == HttpDataChunkFromFileHandle) {
      if (!c->FromFileHandle.FileHandle ||
          c->FromFileHandle.FileHandle == INVALID_HANDLE_VALUE ||
          !c->FromFileHandle.ByteRange.Length.QuadPart) {
        violation("%s: bad file chunk", fn);
        return 0;
      }
    } else {
      violation("%s: chunk type %d", fn, (int)c->DataChunkType);
      return 0;
    }
  }
  return 1;
}

static job *send_job(freq *r, OVERLAPPED *ov, ULONG flags, USHORT n,
                     const HTTP_DATA_CHUNK *chunks) {
  job *j = calloc(1, sizeof *j);
  j->kind = J_SEND;
  j->ov = ov;
  j->r = r;
  j->flags = flags;
  j->n_chunks = n;
  if (n) {
    j->chunks = malloc(n * sizeof *chunks);
    memcpy(j->chunks, chunks, n * sizeof *chunks);
  }
  r->send_pending = 1;
  if (!(flags & HTTP_SEND_RESPONSE_FLAG_MORE_DATA))
    r->final_sent = 1;
  r->more_expected = (flags & HTTP_SEND_RESPONSE_FLAG_MORE_DATA) != 0;
  return j;
}

static ULONG WINAPI fake_HttpSendHttpResponse(
    HANDLE h, HTTP_REQUEST_ID id, ULONG flags, PHTTP_RESPONSE resp,
    PVOID cache, PULONG pbytes, PVOID r1, ULONG r2, LPOVERLAPPED ov,
    PVOID log) {
  EnterCriticalSection(&F.lock);
  ULONG rc = ERROR_IO_PENDING;
  freq *r = find_req(id);
  if (!check_async("HttpSendHttpResponse", h, pbytes, ov)) {
    rc = ERROR_INVALID_PARAMETER;
  } else if (!r || r->state != 2) {
    violation("HttpSendHttpResponse for unknown request %llu",
              (unsigned long long)id);
    rc = ERROR_CONNECTION_INVALID;
  } else if (r->head_sent) {
    violation("second HttpSendHttpResponse for request %llu",
              (unsigned long long)id);
    rc = ERROR_INVALID_PARAMETER;
  } else if (!resp || resp->StatusCode < 100 || resp->StatusCode > 999 ||
             (resp->ReasonLength && !resp->pReason) ||
             resp->Version.MajorVersion != 1) {
    violation("HttpSendHttpResponse: bad HTTP_RESPONSE");
    rc = ERROR_INVALID_PARAMETER;
  } else if (check_send("HttpSendHttpResponse", r, flags,
                        resp->EntityChunkCount, resp->pEntityChunks)) {
    HTTP_RESPONSE_HEADERS *hd = &resp->Headers;
    int ok = 1;
    for (int i = 0; i < HttpHeaderResponseMaximum; i++)
      if (hd->KnownHeaders[i].RawValueLength && !hd->KnownHeaders[i].pRawValue)
        ok = 0;
    for (USHORT i = 0; i < hd->UnknownHeaderCount; i++) {
      HTTP_UNKNOWN_HEADER *u = &hd->pUnknownHeaders[i];
      if (!u->pName || !u->NameLength || (u->RawValueLength && !u->pRawValue) ||
          memchr(u->pName, ':', u->NameLength) ||
          memchr(u->pRawValue, '\n', u->RawValueLength))
        ok = 0;
    }
    HTTP_KNOWN_HEADER *cl = &hd->KnownHeaders[HttpHeaderContentLength];
    HTTP_KNOWN_HEADER *te = &hd->KnownHeaders[HttpHeaderTransferEncoding];
    if (te->pRawValue && cl->pRawValue)
      ok = 0;
    if (!ok) {
      violation("HttpSendHttpResponse: malformed headers");
      rc = ERROR_INVALID_PARAMETER;
    } else {
      r->content_length = -1;
      if (cl->pRawValue) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%.*s", (int)cl->RawValueLength,
                 cl->pRawValue);
        r->content_length = _strtoi64(tmp, NULL, 10);
      }
      job *j = send_job(r, ov, flags, resp->EntityChunkCount,
                        resp->pEntityChunks);
      j->first = 1;
      j->response = resp;
      j->hash = hash_send(j);
      r->head_sent = 1;
      push_job(j);
    }
  } else {
    rc = ERROR_INVALID_PARAMETER;
  }
  LeaveCriticalSection(&F.lock);
  return rc;
}

static ULONG WINAPI fake_HttpSendResponseEntityBody(
    HANDLE h, HTTP_REQUEST_ID id, ULONG flags, USHORT n,
    PHTTP_DATA_CHUNK chunks, PULONG pbytes, PVOID r1, ULONG r2,
    LPOVERLAPPED ov, PVOID log) {
  EnterCriticalSection(&F.lock);
  ULONG rc = ERROR_IO_PENDING;
  freq *r = find_req(id);
  if (!check_async("HttpSendResponseEntityBody", h, pbytes, ov)) {
    rc = ERROR_INVALID_PARAMETER;
  } else if (!r || r->state != 2) {
    violation("HttpSendResponseEntityBody for unknown request %llu",
              (unsigned long long)id);
    rc = ERROR_CONNECTION_INVALID;
  } else if (!r->head_sent) {
    violation("HttpSendResponseEntityBody before HttpSendHttpResponse");
    rc = ERROR_INVALID_PARAMETER;
  } else if (!r->more_expected && !r->final_sent) {
    violation("HttpSendResponseEntityBody after a head sent without "
              "MORE_DATA");
    rc = ERROR_INVALID_PARAMETER;
  } else if (check_send("HttpSendResponseEntityBody", r, flags, n, chunks)) {
    job *j = send_job(r, ov, flags, n, chunks);
    j->hash = hash_send(j);
    push_job(j);
  } else {
    rc = ERROR_INVALID_PARAMETER;
  }
  LeaveCriticalSection(&F.lock);
  return rc;
}

static ULONG WINAPI fake_HttpCancelHttpRequest(HANDLE h, HTTP_REQUEST_ID id,
                                               LPOVERLAPPED ov) {
  EnterCriticalSection(&F.lock);
  freq *r = find_req(id);
  if (r) {
    r->final_sent = 1;
    r->resp.failed = 1;
    r->resp.done = 1;
    SetEvent(r->done);
  }
  LeaveCriticalSection(&F.lock);
  return NO_ERROR;
}

static ULONG WINAPI fake_HttpShutdownRequestQueue(HANDLE h) {
  return NO_ERROR;
}

/* The product's import slots (it was compiled with http.h's dllimport). */
void *__imp_HttpInitialize = (void *)fake_HttpInitialize;
void *__imp_HttpTerminate = (void *)fake_HttpTerminate;
void *__imp_HttpCreateServerSession = (void *)fake_HttpCreateServerSession;
void *__imp_HttpCloseServerSession = (void *)fake_HttpCloseServerSession;
void *__imp_HttpCreateUrlGroup = (void *)fake_HttpCreateUrlGroup;
void *__imp_HttpCloseUrlGroup = (void *)fake_HttpCloseUrlGroup;
void *__imp_HttpAddUrlToUrlGroup = (void *)fake_HttpAddUrlToUrlGroup;
void *__imp_HttpSetUrlGroupProperty = (void *)fake_HttpSetUrlGroupProperty;
void *__imp_HttpCreateRequestQueue = (void *)fake_HttpCreateRequestQueue;
void *__imp_HttpCloseRequestQueue = (void *)fake_HttpCloseRequestQueue;
void *__imp_HttpReceiveHttpRequest = (void *)fake_HttpReceiveHttpRequest;
void *__imp_HttpReceiveRequestEntityBody =
    (void *)fake_HttpReceiveRequestEntityBody;
void *__imp_HttpSendHttpResponse = (void *)fake_HttpSendHttpResponse;
void *__imp_HttpSendResponseEntityBody =
    (void *)fake_HttpSendResponseEntityBody;
void *__imp_HttpCancelHttpRequest = (void *)fake_HttpCancelHttpRequest;
void *__imp_HttpShutdownRequestQueue = (void *)fake_HttpShutdownRequestQueue;

/* ---- interposed kernel32 calls ------------------------------------------- */

static HANDLE WINAPI fake_CreateIoCompletionPort(HANDLE file, HANDLE port,
                                                 ULONG_PTR key, DWORD n) {
  start();
  if (file && file == F.queue) {
    F.port = port;
    F.key = key;
    F.bound_port = 1;
    return port;
  }
  return F.real_create_port(file, port, key, n);
}

static BOOL WINAPI fake_CancelIoEx(HANDLE h, LPOVERLAPPED ov) {
  start();
  if (!h || h != F.queue)
    return F.real_cancel(h, ov);
  EnterCriticalSection(&F.lock);
  int found = 0;
  for (int i = 0; i < F.n_pending_recv; i++) {
    if (!ov || F.pending_recv[i]->ov == ov) {
      F.pending_recv[i]->kind = J_CANCEL;
      push_job(F.pending_recv[i]);
      F.pending_recv[i--] = F.pending_recv[--F.n_pending_recv];
      found = 1;
    }
  }
  LeaveCriticalSection(&F.lock);
  if (!found)
    SetLastError(ERROR_NOT_FOUND);
  return found;
}

void *__imp_CreateIoCompletionPort = (void *)fake_CreateIoCompletionPort;
void *__imp_CancelIoEx = (void *)fake_CancelIoEx;

/* ---- test controls ------------------------------------------------------- */

static char *dup(const char *s, size_t n) {
  char *d = malloc(n + 1);
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

int fake_http_inject(const fake_req_spec *spec) {
  start();
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
