/*
 * fake_httpapi_io.c: the asynchronous half of the strict fake HTTP Server
 * API (see fake_httpapi.c): lays requests out in the product's receive
 * buffers like http.sys, and completes every queued operation on its own
 * thread through the completion port. For a send it checks that no buffer
 * changed since the call, records status, headers and body (reading file
 * chunks through their handles), then poisons the writable buffers before
 * posting the completion.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_httpapi_internal.h"

fake_state F;

/* ---- helpers ------------------------------------------------------------- */

void violation(const char *fmt, ...) {
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

void push_job(job *j) {
  j->next = NULL;
  if (F.tail)
    F.tail->next = j;
  else
    F.head = j;
  F.tail = j;
  WakeConditionVariable(&F.cv);
}

freq *find_req(HTTP_REQUEST_ID id) {
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

uint64_t hash_send(const job *j) {
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

void run_send(job *j) {
  freq *r = j->r;
  LONG status = ST_SUCCESS;
  int file_fails = 0;
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
    } else if (F.file_mode == 2) {
      file_fails = 1; /* accepted, then failed: nothing read */
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
  if (file_fails && !fail) {
    /* http.sys keeps the request: the client waits until the server
     * cancels it (HttpCancelHttpRequest) or its own timeout. */
    status = ST_UNSUCCESSFUL;
    r->final_sent = 0;
    r->more_expected = 1;
    final = 0;
  }
  int bodyless = r->bodyless || r->resp.status == 204 ||
                 r->resp.status == 304 || r->resp.status < 200;
  if (bodyless && r->resp.body_len)
    violation("request %llu: %zu body bytes in a response without a body "
              "(HEAD, 1xx, 204, 304)", (unsigned long long)r->id,
              r->resp.body_len);
  if (final && !fail) {
    r->resp.disconnect = (j->flags & HTTP_SEND_RESPONSE_FLAG_DISCONNECT) != 0;
    if (r->content_length >= 0 && !r->resp.disconnect && !bodyless &&
        (int64_t)r->resp.body_len != r->content_length)
      violation("request %llu: %zu body bytes for Content-Length %lld",
                (unsigned long long)r->id, r->resp.body_len,
                (long long)r->content_length);
  }
  if (r->hold_signal && r->resp.n_sends == 1)
    hook_arm_hold(j->ov);
  LeaveCriticalSection(&F.lock);
  complete(j->ov, status, bytes);
  if (final || fail) {
    r->resp.done = 1;
    SetEvent(r->done);
  }
}

/* A small random delay (0 to 5 ms, mostly under 1 ms) before each
 * completion, from a per-thread generator seeded by FAKE_SEED: the
 * product then sees completions race its own threads, and a seed that
 * failed can be run again. */
static void random_delay(unsigned *state) {
  *state = *state * 1103515245u + 12345u;
  unsigned r = (*state >> 16) % 100;
  Sleep(r < 40 ? 0 : r < 85 ? 1 : 2 + r % 4);
}

#define N_COMPLETERS 4

DWORD WINAPI fake_completer(void *arg) {
  unsigned rng = F.seed * 2654435761u + (unsigned)(uintptr_t)arg;
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
    random_delay(&rng);
    freq *r = j->r;
    if (j->kind == J_SEND && r->hold_signal && r->resp.n_sends >= 1)
      WaitForSingleObject(fake_handler_returned, 3000);
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

void fake_start(void) {
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
  char seed[32];
  DWORD n = GetEnvironmentVariableA("FAKE_SEED", seed, sizeof seed);
  F.seed = n > 0 && n < sizeof seed ? (unsigned)strtoul(seed, NULL, 10)
                                    : (unsigned)GetTickCount();
  fprintf(stderr, "fake_httpapi: FAKE_SEED=%u\n", F.seed);
  fake_hold_started = CreateEventW(NULL, FALSE, FALSE, NULL);
  fake_handler_returned = CreateEventW(NULL, TRUE, FALSE, NULL);
  for (uintptr_t i = 0; i < N_COMPLETERS; i++)
    CloseHandle(CreateThread(NULL, 0, fake_completer, (void *)i, 0, NULL));
}

