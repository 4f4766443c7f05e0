/*
 * complete.c: the log (violations, trace), the completer thread that posts
 * every completion after a random delay, the send checks done at
 * completion (hash unchanged, then poison), and the layout of a request in
 * the caller's HTTP_REQUEST buffer.
 */
#include "ha.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ha_globals G;

/* ---- log ----------------------------------------------------------------- */

/* One line per WriteFile on a file opened (once) for appending, so lines
 * of several processes sharing a log never interleave. */
void ha_log_line(const char *kind, const char *msg) {
  char line[1200];
  int n = snprintf(line, sizeof line, "%s pid=%lu %s\n", kind,
                   (unsigned long)GetCurrentProcessId(), msg);
  if (n < 0)
    return;
  if (n >= (int)sizeof line)
    n = (int)sizeof line - 1;
  if (!G.log_path[0])
    return;
  EnterCriticalSection(&G.log_lock);
  if (!G.log_file)
    G.log_file = CreateFileA(G.log_path, FILE_APPEND_DATA,
                             FILE_SHARE_READ | FILE_SHARE_WRITE |
                                 FILE_SHARE_DELETE,
                             NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  if (G.log_file != INVALID_HANDLE_VALUE) {
    DWORD w;
    WriteFile(G.log_file, line, (DWORD)n, &w, NULL);
  }
  LeaveCriticalSection(&G.log_lock);
}

void ha_violation(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "httpapi VIOLATION: %s\n", msg);
  fflush(stderr);
  ha_log_line("VIOLATION", msg);
}

void ha_trace(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  if (!G.trace)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ha_log_line("TRACE", msg);
}

int64_t ha_now_us(void) {
  static LARGE_INTEGER freq;
  LARGE_INTEGER t;
  if (!freq.QuadPart)
    QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&t);
  return (int64_t)(t.QuadPart / freq.QuadPart * 1000000 +
                   t.QuadPart % freq.QuadPart * 1000000 / freq.QuadPart);
}

static unsigned rnd(unsigned n) { /* xorshift64, under G.lock */
  G.rng ^= G.rng << 13;
  G.rng ^= G.rng >> 7;
  G.rng ^= G.rng << 17;
  return (unsigned)(G.rng % n);
}

/* ---- hash and poison ------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t ha_hash_send(const ha_op *op) {
  uint64_t h = 1469598103934665603ull;
  if (op->resp) {
    const HTTP_RESPONSE *rs = op->resp;
    h = fnv(h, &rs->StatusCode, sizeof rs->StatusCode);
    if (rs->pReason)
      h = fnv(h, rs->pReason, rs->ReasonLength);
    for (int i = 0; i < HttpHeaderResponseMaximum; i++)
      if (rs->Headers.KnownHeaders[i].pRawValue)
        h = fnv(h, rs->Headers.KnownHeaders[i].pRawValue,
                rs->Headers.KnownHeaders[i].RawValueLength);
    for (USHORT i = 0; i < rs->Headers.UnknownHeaderCount; i++) {
      const HTTP_UNKNOWN_HEADER *u = &rs->Headers.pUnknownHeaders[i];
      h = fnv(h, u->pName, u->NameLength);
      if (u->pRawValue)
        h = fnv(h, u->pRawValue, u->RawValueLength);
    }
  }
  for (USHORT i = 0; i < op->n_chunks; i++)
    if (op->chunks[i].DataChunkType == HttpDataChunkFromMemory)
      h = fnv(h, op->chunks[i].FromMemory.pBuffer,
              op->chunks[i].FromMemory.BufferLength);
  return h;
}

static int writable(const void *p) {
  MEMORY_BASIC_INFORMATION mi;
  if (!p || !VirtualQuery(p, &mi, sizeof mi) || mi.State != MEM_COMMIT)
    return 0;
  return (mi.Protect & (PAGE_READWRITE | PAGE_EXECUTE_READWRITE)) != 0;
}

static void poison(const void *p, size_t n) {
  if (n && writable(p) && writable((const char *)p + n - 1))
    memset((void *)p, 0xDB, n);
}

/* After a send completes nothing may read its buffers again: a server
 * that does sends 0xDB bytes, which the tests see. Memory body chunks are
 * poisoned only with SYSGI_HTTPAPI_POISON=all (a Python app may keep its
 * bytes constants; the C echo core frees its buffers on completion). */
static void poison_send(ha_op *op) {
  if (op->resp) {
    HTTP_RESPONSE *rs = op->resp;
    for (int i = 0; i < HttpHeaderResponseMaximum; i++)
      poison(rs->Headers.KnownHeaders[i].pRawValue,
             rs->Headers.KnownHeaders[i].RawValueLength);
    for (USHORT i = 0; i < rs->Headers.UnknownHeaderCount; i++) {
      poison(rs->Headers.pUnknownHeaders[i].pName,
             rs->Headers.pUnknownHeaders[i].NameLength);
      poison(rs->Headers.pUnknownHeaders[i].pRawValue,
             rs->Headers.pUnknownHeaders[i].RawValueLength);
    }
    poison(rs->pReason, rs->ReasonLength);
  }
  if (G.poison_all)
    for (USHORT i = 0; i < op->n_chunks; i++)
      if (op->chunks[i].DataChunkType == HttpDataChunkFromMemory)
        poison(op->chunks[i].FromMemory.pBuffer,
               op->chunks[i].FromMemory.BufferLength);
}

/* ---- completions ---------------------------------------------------------- */

void ha_op_free(ha_op *op) {
  if (op->sync_event)
    CloseHandle(op->sync_event);
  free(op->chunks);
  if (op->r) /* last: the record may be freed as soon as this is 0 */
    InterlockedDecrement(&op->r->ops);
  free(op);
  InterlockedDecrement(&ha_live_ops);
}

void ha_complete_later(ha_op *op, LONG status, SIZE_T bytes) {
  op->status = status;
  op->bytes = bytes;
  op->due_us = ha_now_us() + rnd(G.max_delay_us + 1);
  ha_op **p = &G.due_head;
  while (*p && (*p)->due_us <= op->due_us)
    p = &(*p)->next;
  op->next = *p;
  *p = op;
  WakeConditionVariable(&G.done_cv);
}

/* Posts the completion as the kernel does: the status and count in the
 * OVERLAPPED, its event set, a packet on the queue's port unless the
 * event's low bit asks not to. */
static void post(ha_op *op) {
  OVERLAPPED *ov = op->ov;
  ov->Internal = (ULONG_PTR)op->status;
  ov->InternalHigh = op->bytes;
  if (ov == &op->sync_ov) {
    SetEvent(op->sync_event); /* the caller frees op */
    return;
  }
  HANDLE port = op->q->port;
  ULONG_PTR key = op->q->key;
  int to_port = op->q->bound && !((ULONG_PTR)ov->hEvent & 1);
  if (ov->hEvent)
    SetEvent((HANDLE)((ULONG_PTR)ov->hEvent & ~(ULONG_PTR)1));
  if (to_port) {
    LONG st = G.set_completion(port, key, (ULONG_PTR)ov, op->status,
                               op->bytes);
    if (st != 0)
      ha_violation("posting a completion failed (NTSTATUS 0x%08lx): the "
                   "completion port was closed with I/O in flight",
                   (unsigned long)st);
  }
  ha_op_free(op);
}

static void finish_recv(ha_op *op) {
  ha_req *r = op->r;
  if (op->status != ST_SUCCESS)
    return; /* cancelled */
  size_t need = ha_layout(r, op->buf, op->len, op->flags);
  EnterCriticalSection(&G.lock);
  if (need > op->len) {
    HTTP_REQUEST *b = op->buf;
    ZeroMemory(b, sizeof *b);
    b->RequestId = r->id;
    b->ConnectionId = r->c->id;
    r->state = R_MORE_DATA;
    op->status = ST_BUFFER_OVERFLOW;
  } else {
    r->state = R_RECEIVED;
    if (op->flags & HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY)
      r->pre_given = 1;
  }
  op->bytes = need;
  LeaveCriticalSection(&G.lock);
  ha_trace("receive completed: request %llu, %llu bytes%s",
           (unsigned long long)r->id, (unsigned long long)need,
           need > op->len ? " (ERROR_MORE_DATA)" : "");
}

static void finish_send(ha_op *op) {
  if (ha_hash_send(op) != op->hash)
    ha_violation("request %llu: a buffer of a send changed before the send "
                 "completed", (unsigned long long)op->r->id);
  poison_send(op);
  EnterCriticalSection(&G.lock);
  ha_req *r = op->r;
  r->send_pending = 0;
  if (r->final_sent && !r->read_pending && r->state == R_RECEIVED) {
    /* Over: only the small record stays (late calls are recognised by
     * it); the head copy is needed by nothing any more. */
    free(r->block);
    free(r->names);
    free(r->values);
    r->block = NULL;
    r->names = r->values = NULL;
    r->n_headers = 0;
    static char none[1];
    r->method = r->raw_url = r->host = none;
  }
  LeaveCriticalSection(&G.lock);
}

static DWORD WINAPI completer(void *arg) {
  (void)arg;
  EnterCriticalSection(&G.lock);
  for (;;) {
    if (!G.due_head) {
      SleepConditionVariableCS(&G.done_cv, &G.lock, INFINITE);
      continue;
    }
    /* Timers tick in milliseconds: what is due within one is due now,
     * else a 0-3 ms delay would cost 1-4 ms on every completion. */
    int64_t wait = G.due_head->due_us - ha_now_us();
    if (wait >= 1000) {
      SleepConditionVariableCS(&G.done_cv, &G.lock, (DWORD)(wait / 1000));
      continue;
    }
    ha_op *op = G.due_head;
    G.due_head = op->next;
    LeaveCriticalSection(&G.lock);
    if (op->kind == OP_RECV)
      finish_recv(op);
    else if (op->kind == OP_SEND)
      finish_send(op);
    else if (op->kind == OP_BODY) {
      EnterCriticalSection(&G.lock);
      op->r->read_pending = 0;
      LeaveCriticalSection(&G.lock);
    }
    post(op);
    EnterCriticalSection(&G.lock);
  }
  return 0;
}

void ha_start(void) {
  static volatile LONG once;
  if (InterlockedCompareExchange(&once, 1, 0) != 0) {
    while (!G.started)
      Sleep(1);
    return;
  }
  InitializeCriticalSection(&G.lock);
  InitializeCriticalSection(&G.log_lock);
  InitializeConditionVariable(&G.done_cv);
  const char *log = getenv("SYSGI_HTTPAPI_LOG");
  if (log)
    snprintf(G.log_path, sizeof G.log_path, "%s", log);
  const char *tr = getenv("SYSGI_HTTPAPI_TRACE");
  G.trace = tr && strcmp(tr, "1") == 0;
  const char *se = getenv("SYSGI_HTTPAPI_STATS");
  G.stats_every = se ? (unsigned)strtoul(se, NULL, 10) : 0;
  const char *po = getenv("SYSGI_HTTPAPI_POISON");
  G.poison_all = po && strcmp(po, "all") == 0;
  const char *md = getenv("SYSGI_HTTPAPI_MAX_DELAY_US");
  G.max_delay_us = md ? (unsigned)strtoul(md, NULL, 10) : 3000;
  const char *seed = getenv("SYSGI_HTTPAPI_SEED");
  unsigned long long seed_v =
      seed ? strtoull(seed, NULL, 10)
           : ((GetTickCount64() << 20) ^ GetCurrentProcessId()) % 1000000007ULL;
  G.rng = seed_v * 6364136223846793005ULL + 1442695040888963407ULL;
  if (!G.rng)
    G.rng = 88172645463325252ULL;
  G.next_session = 0x5e5500000001ULL;
  G.next_conn = 0x6c00000000000001ULL;
  HMODULE nt = GetModuleHandleW(L"ntdll.dll");
  HMODULE k32 = GetModuleHandleW(L"kernel32.dll");
  G.set_completion = (LONG(WINAPI *)(HANDLE, ULONG_PTR, ULONG_PTR, LONG,
                                     SIZE_T))(void (*)(void))
      GetProcAddress(nt, "NtSetIoCompletion");
  G.real_create_port = (HANDLE(WINAPI *)(HANDLE, HANDLE, ULONG_PTR, DWORD))(
      void (*)(void))GetProcAddress(k32, "CreateIoCompletionPort");
  G.real_cancel = (BOOL(WINAPI *)(HANDLE, LPOVERLAPPED))(void (*)(void))
      GetProcAddress(k32, "CancelIoEx");
  WSADATA wsa;
  WSAStartup(MAKEWORD(2, 2), &wsa);
  char msg[64];
  /* The seed, so a failing run can be repeated (SYSGI_HTTPAPI_SEED). */
  snprintf(msg, sizeof msg, "seed=%llu max_delay_us=%u", seed_v,
           G.max_delay_us);
  ha_log_line("LOADED", msg);
  CloseHandle(CreateThread(NULL, 0, completer, NULL, 0, NULL));
  G.started = 1;
}

/* ---- request layout -------------------------------------------------------- */

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

static const char *const verb_names[] = {
    [HttpVerbOPTIONS] = "OPTIONS",     [HttpVerbGET] = "GET",
    [HttpVerbHEAD] = "HEAD",           [HttpVerbPOST] = "POST",
    [HttpVerbPUT] = "PUT",             [HttpVerbDELETE] = "DELETE",
    [HttpVerbTRACE] = "TRACE",         [HttpVerbCONNECT] = "CONNECT",
    [HttpVerbTRACK] = "TRACK",         [HttpVerbMOVE] = "MOVE",
    [HttpVerbCOPY] = "COPY",           [HttpVerbPROPFIND] = "PROPFIND",
    [HttpVerbPROPPATCH] = "PROPPATCH", [HttpVerbMKCOL] = "MKCOL",
    [HttpVerbLOCK] = "LOCK",           [HttpVerbUNLOCK] = "UNLOCK",
    [HttpVerbSEARCH] = "SEARCH"};

static int hexv(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  ch = (char)(ch | 0x20);
  return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* UTF-8 if valid, else latin-1 (the raw bytes), into `out` (NULL: count).
 * Returns the number of wchar_t. */
static int widen(const char *s, int n, wchar_t *out, int cap) {
  if (n == 0)
    return 0;
  int w = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, n, out,
                              out ? cap : 0);
  if (w > 0)
    return w;
  if (out)
    for (int i = 0; i < n && i < cap; i++)
      out[i] = (unsigned char)s[i];
  return n;
}

/* The cooked URL: "http://" host, the percent-decoded path, the raw query.
 * Returns wchar_t count (excluding NUL); fills the offsets of its parts. */
static int cook(ha_req *r, wchar_t *out, int cap, int *host_n, int *path_n,
                int *query_n) {
  char tmp[HA_BUF];
  const char *url = r->raw_url;
  if (_strnicmp(url, "http://", 7) == 0) {
    url = strchr(url + 7, '/');
    if (!url)
      url = "/";
  }
  const char *q = strchr(url, '?');
  size_t plen = q ? (size_t)(q - url) : strlen(url), o = 0;
  for (size_t i = 0; i < plen && o < sizeof tmp; i++) {
    int hi, lo;
    if (url[i] == '%' && i + 2 < plen + 1 && (hi = hexv(url[i + 1])) >= 0 &&
        (lo = hexv(url[i + 2])) >= 0) {
      tmp[o++] = (char)(hi * 16 + lo);
      i += 2;
    } else {
      tmp[o++] = url[i];
    }
  }
  int n = 0, k;
  k = widen("http://", 7, out ? out + n : NULL, cap - n);
  n += k;
  k = widen(r->host, (int)strlen(r->host), out ? out + n : NULL, cap - n);
  n += k;
  *host_n = k;
  k = widen(tmp, (int)o, out ? out + n : NULL, cap - n);
  n += k;
  *path_n = k;
  k = q ? widen(q, (int)strlen(q), out ? out + n : NULL, cap - n) : 0;
  n += k;
  *query_n = k;
  return n;
}

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

size_t ha_layout(ha_req *r, HTTP_REQUEST *buf, size_t len, ULONG flags) {
  /* Pass 1: sizes. Repeated known headers are joined with ", " like
   * http.sys does. */
  size_t known_len[HttpHeaderRequestMaximum] = {0};
  int known_seen[HttpHeaderRequestMaximum] = {0};
  size_t n_unknown = 0, strings = 0;
  for (size_t i = 0; i < r->n_headers; i++) {
    int id = known_req_id(r->names[i]);
    size_t vl = strlen(r->values[i]);
    if (id >= 0) {
      known_len[id] += (known_seen[id] ? 2 : 0) + vl;
      known_seen[id] = 1;
    } else {
      n_unknown++;
      strings += strlen(r->names[i]) + vl + 2;
    }
  }
  for (int i = 0; i < HttpHeaderRequestMaximum; i++)
    if (known_seen[i])
      strings += known_len[i] + 1;
  strings += strlen(r->raw_url) + strlen(r->method) + 2;
  int host_n, path_n, query_n;
  int wn = cook(r, NULL, 0, &host_n, &path_n, &query_n);
  int copy_body = (flags & HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY) && r->pre_len;
  size_t need = ALIGN8(sizeof(HTTP_REQUEST)) +
                ALIGN8(n_unknown * sizeof(HTTP_UNKNOWN_HEADER)) +
                (copy_body ? ALIGN8(sizeof(HTTP_DATA_CHUNK)) : 0) +
                2 * sizeof(SOCKADDR_IN) + ((size_t)wn + 1) * sizeof(wchar_t) +
                strings + (copy_body ? r->pre_len : 0);
  need = ALIGN8(need);
  if (!buf || len < need)
    return need;

  /* Pass 2: write. */
  memset(buf, 0, need);
  char *p = (char *)buf + ALIGN8(sizeof(HTTP_REQUEST));
  HTTP_UNKNOWN_HEADER *unk = (HTTP_UNKNOWN_HEADER *)p;
  p += ALIGN8(n_unknown * sizeof *unk);
  HTTP_DATA_CHUNK *chunk = NULL;
  if (copy_body) {
    chunk = (HTTP_DATA_CHUNK *)p;
    p += ALIGN8(sizeof *chunk);
  }
  SOCKADDR_IN *local = (SOCKADDR_IN *)p, *remote = local + 1;
  p += 2 * sizeof(SOCKADDR_IN);
  *local = r->c->local;
  *remote = r->c->remote;
  wchar_t *w = (wchar_t *)p;
  cook(r, w, wn, &host_n, &path_n, &query_n);
  w[wn] = 0;
  p += ((size_t)wn + 1) * sizeof(wchar_t);
  buf->CookedUrl.pFullUrl = w;
  buf->CookedUrl.FullUrlLength = (USHORT)(wn * 2);
  buf->CookedUrl.pHost = w + 7;
  buf->CookedUrl.HostLength = (USHORT)(host_n * 2);
  buf->CookedUrl.pAbsPath = w + 7 + host_n;
  buf->CookedUrl.AbsPathLength = (USHORT)(path_n * 2);
  buf->CookedUrl.pQueryString = query_n ? w + 7 + host_n + path_n : NULL;
  buf->CookedUrl.QueryStringLength = (USHORT)(query_n * 2);

  /* More body to read unless COPY_BODY hands over all of it. */
  int more = r->has_body && !r->body_done &&
             !(copy_body && !r->chunked && r->body_left == 0);
  buf->Flags = more ? HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS : 0;
  buf->ConnectionId = r->c->id;
  buf->RequestId = r->id;
  buf->UrlContext = r->url_ctx;
  buf->Version.MajorVersion = r->major;
  buf->Version.MinorVersion = r->minor;
  buf->Verb = HttpVerbUnknown;
  for (size_t i = 0; i < sizeof verb_names / sizeof verb_names[0]; i++)
    if (verb_names[i] && strcmp(verb_names[i], r->method) == 0)
      buf->Verb = (HTTP_VERB)i;
  size_t ml = strlen(r->method);
  memcpy(p, r->method, ml + 1);
  if (buf->Verb == HttpVerbUnknown) {
    buf->pUnknownVerb = p;
    buf->UnknownVerbLength = (USHORT)ml;
  }
  p += ml + 1;
  size_t ul = strlen(r->raw_url);
  memcpy(p, r->raw_url, ul + 1);
  buf->pRawUrl = p;
  buf->RawUrlLength = (USHORT)ul;
  p += ul + 1;
  buf->Address.pLocalAddress = (PSOCKADDR)local;
  buf->Address.pRemoteAddress = (PSOCKADDR)remote;

  for (int id = 0; id < HttpHeaderRequestMaximum; id++) {
    if (!known_seen[id])
      continue;
    char *v = p;
    size_t o = 0;
    for (size_t i = 0; i < r->n_headers; i++) {
      if (known_req_id(r->names[i]) != id)
        continue;
      if (o) {
        memcpy(v + o, ", ", 2);
        o += 2;
      }
      size_t vl = strlen(r->values[i]);
      memcpy(v + o, r->values[i], vl);
      o += vl;
    }
    v[o] = '\0';
    buf->Headers.KnownHeaders[id].pRawValue = v;
    buf->Headers.KnownHeaders[id].RawValueLength = (USHORT)o;
    p += o + 1;
  }
  USHORT nu = 0;
  for (size_t i = 0; i < r->n_headers; i++) {
    if (known_req_id(r->names[i]) >= 0)
      continue;
    size_t nl = strlen(r->names[i]), vl = strlen(r->values[i]);
    memcpy(p, r->names[i], nl + 1);
    unk[nu].pName = p;
    unk[nu].NameLength = (USHORT)nl;
    p += nl + 1;
    memcpy(p, r->values[i], vl + 1);
    unk[nu].pRawValue = p;
    unk[nu].RawValueLength = (USHORT)vl;
    p += vl + 1;
    nu++;
  }
  buf->Headers.UnknownHeaderCount = nu;
  buf->Headers.pUnknownHeaders = nu ? unk : NULL;
  buf->BytesReceived = r->head_bytes;
  if (copy_body) {
    memcpy(p, r->pre, r->pre_len);
    chunk->DataChunkType = HttpDataChunkFromMemory;
    chunk->FromMemory.pBuffer = p;
    chunk->FromMemory.BufferLength = (ULONG)r->pre_len;
    buf->EntityChunkCount = 1;
    buf->pEntityChunks = chunk;
  }
  return need;
}
