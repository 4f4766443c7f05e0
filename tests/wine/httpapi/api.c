/*
 * httpapi.dll for tests: a stand-in for Windows' HTTP Server API 2.0
 * (http.sys) over plain Winsock, loaded by Wine in place of its own
 * httpapi.dll (WINEDLLOVERRIDES=httpapi=n, this DLL next to the .exe), so
 * the real, unmodified sysgi.exe and echo_server.exe run on it. It exists
 * because Wine 8's http.sys lacks what sysgi needs (see WINE.md):
 * HttpSendResponseEntityBody, MORE_DATA, large and chunked request bodies,
 * 100 Continue, non-ASCII URLs, file-handle chunks, URL ACLs.
 *
 * What it implements, after Microsoft's documentation of each call:
 *  - sessions, URL groups (any number of URLs each), request queues, the
 *    binding property; "http://HOST:PORT/path/" with HOST an IPv4 address,
 *    a name, '+' (strong) or '*' (weak wildcard); routing in the four
 *    host classes of the UrlPrefix documentation and by the longest path
 *    (urls.c); one listening socket per port.
 *  - HTTP/1.1 (and 1.0) on one thread per connection (net.c, parse.c,
 *    respond.c): keep-alive,
 *    pipelining, Content-Length bodies of any size streamed from the
 *    socket, chunked request bodies de-chunked, "100 Continue" when the
 *    application first reads the body, raw bytes >= 0x80 in the path and
 *    header values, malformed requests answered 400 (or 404, 501, 505)
 *    without reaching the application.
 *  - HttpReceiveHttpRequest (ERROR_MORE_DATA with the size needed, retry by
 *    RequestId, COPY_BODY), HttpReceiveRequestEntityBody (partial reads,
 *    ERROR_HANDLE_EOF), HttpSendHttpResponse and HttpSendResponseEntityBody
 *    (MORE_DATA, DISCONNECT, memory and file-handle chunks; framing as
 *    http.sys: the given Content-Length, else computed for a complete
 *    response, else chunked for HTTP/1.1 or close-delimited for 1.0; no
 *    body for HEAD, 1xx, 204, 304; Date and Server added).
 *  - Overlapped completions, always ERROR_IO_PENDING, posted by our own
 *    thread after a random 0-3 ms delay (SYSGI_HTTPAPI_SEED fixes the
 *    sequence, SYSGI_HTTPAPI_MAX_DELAY_US the bound) with
 *    NtSetIoCompletion, so a failure carries its NTSTATUS and
 *    GetQueuedCompletionStatus reports it as for a kernel completion.
 *    Synchronous calls (no OVERLAPPED) wait for the same completion.
 *  - URL ACLs kept in a file (urlacl.c).
 *
 * How the completion port is learnt: the queue handle is a real overlapped
 * file object (a named-pipe end), so CreateIoCompletionPort accepts it, but
 * a DLL cannot ask the kernel which port a handle is bound to. So
 * HttpInitialize / HttpCreateRequestQueue patch the import address tables
 * of the main program and of every loaded module that imports httpapi.dll:
 * their kernel32 CreateIoCompletionPort and CancelIoEx slots point to our
 * hooks, which note the port and key of a queue handle and cancel our
 * operations, and pass every other handle to kernel32. (A caller that
 * reaches those functions through GetProcAddress is not seen.)
 *
 * Strictness: every misuse a real http.sys would reject or that breaks a
 * buffer-lifetime rule is a VIOLATION line in SYSGI_HTTPAPI_LOG (and on
 * stderr): a second HttpSendHttpResponse, entity body without a MORE_DATA
 * head, a send after the final one, two sends in flight, body bytes !=
 * Content-Length, unknown flags, a request never answered (or an
 * ERROR_MORE_DATA never retried) when its queue closes, a closed or
 * unknown handle, a buffer changed before its send completed. Head buffers
 * (and with SYSGI_HTTPAPI_POISON=all memory body chunks) are poisoned with
 * 0xDB once their send completes. SYSGI_HTTPAPI_TRACE=1 adds TRACE lines.
 *
 * Deliberate differences from http.sys: a request queue lives in the
 * process that created it (named queues and OPEN_EXISTING give
 * ERROR_NOT_SUPPORTED; a child that inherits the handle has a DLL that
 * does not know it, which it reports as a violation), so process groups
 * cannot be tested on it yet; no HTTPS (https URLs are refused
 * with ERROR_NOT_SUPPORTED), IPv4 only, no port sharing between processes
 * (a port held elsewhere gives ERROR_SHARING_VIOLATION), no kernel response
 * cache, no authentication, no timeouts (properties are accepted and
 * ignored), URL ACLs are recorded but not enforced, head limit 256 KiB,
 * finished requests and connections stay allocated (small records) so late
 * calls on them are recognised, until the process ends.
 *
 * This file: initialisation, sessions, request queues, the import hooks;
 * the other files are listed in ha.h.
 */
#include "ha.h"

#include <psapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int v2(HTTPAPI_VERSION v) {
  return v.HttpApiMajorVersion == 2 && v.HttpApiMinorVersion == 0;
}

/* ---- import hooks --------------------------------------------------------- */

static HANDLE WINAPI hook_create_port(HANDLE file, HANDLE port, ULONG_PTR key,
                                      DWORD n) {
  ha_queue *q = NULL;
  if (file && file != INVALID_HANDLE_VALUE) {
    EnterCriticalSection(&G.lock);
    for (q = G.queues; q; q = q->next)
      if (q->handle == file && !q->closed)
        break;
    if (q) {
      if (q->bound)
        ha_violation("CreateIoCompletionPort: request queue bound twice");
      q->port = port;
      q->key = key;
      q->bound = 1;
      ha_trace("queue %p bound to port %p key %llu", (void *)file,
               (void *)port, (unsigned long long)key);
    }
    LeaveCriticalSection(&G.lock);
  }
  HANDLE rc = G.real_create_port(file, port, key, n);
  return q && !rc ? port : rc;
}

static BOOL WINAPI hook_cancel(HANDLE h, LPOVERLAPPED ov) {
  ha_queue *q = NULL;
  if (h && h != INVALID_HANDLE_VALUE) {
    EnterCriticalSection(&G.lock);
    for (q = G.queues; q; q = q->next)
      if (q->handle == h && !q->closed)
        break;
    LeaveCriticalSection(&G.lock);
  }
  return q ? ha_cancel(q, ov) : G.real_cancel(h, ov);
}

static int patch_slot(void **slot, void *fn) {
  DWORD old;
  if (!VirtualProtect(slot, sizeof *slot, PAGE_READWRITE, &old))
    return 0;
  *slot = fn;
  VirtualProtect(slot, sizeof *slot, old, &old);
  return 1;
}

/* Patches one module's import slots that hold `cp` or `cx`; with
 * `only_users`, only if the module imports httpapi.dll. */
static void hook_module(unsigned char *base, void *const cp[2],
                        void *const cx[2], int only_users, int *n_cp,
                        int *n_cx) {
  IMAGE_DOS_HEADER *dos = (IMAGE_DOS_HEADER *)base;
  if (dos->e_magic != IMAGE_DOS_SIGNATURE)
    return;
  IMAGE_NT_HEADERS *nt = (IMAGE_NT_HEADERS *)(base + dos->e_lfanew);
  IMAGE_DATA_DIRECTORY d =
      nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_IMPORT];
  if (!d.VirtualAddress)
    return;
  IMAGE_IMPORT_DESCRIPTOR *first =
      (IMAGE_IMPORT_DESCRIPTOR *)(base + d.VirtualAddress);
  if (only_users) {
    int uses = 0;
    for (IMAGE_IMPORT_DESCRIPTOR *imp = first; imp->Name && !uses; imp++)
      uses = _stricmp((const char *)(base + imp->Name), "httpapi.dll") == 0;
    if (!uses)
      return;
  }
  for (IMAGE_IMPORT_DESCRIPTOR *imp = first; imp->Name; imp++) {
    for (IMAGE_THUNK_DATA *t = (IMAGE_THUNK_DATA *)(base + imp->FirstThunk);
         t->u1.Function; t++) {
      void *f = (void *)t->u1.Function;
      if (f == cp[0] || (cp[1] && f == cp[1]))
        *n_cp += patch_slot((void **)&t->u1.Function, (void *)hook_create_port);
      else if (f == cx[0] || (cx[1] && f == cx[1]))
        *n_cx += patch_slot((void **)&t->u1.Function, (void *)hook_cancel);
    }
  }
}

/* Points the CreateIoCompletionPort and CancelIoEx import slots of the
 * main program, and of every loaded module that imports httpapi.dll, at
 * our hooks, whatever DLL name they were bound through. Idempotent: a
 * patched slot no longer holds kernel32's address. */
void ha_hook_imports(void) {
  HMODULE kb = GetModuleHandleW(L"kernelbase.dll");
  void *cp[2] = {(void *)G.real_create_port,
                 kb ? (void *)GetProcAddress(kb, "CreateIoCompletionPort")
                    : NULL};
  void *cx[2] = {(void *)G.real_cancel,
                 kb ? (void *)GetProcAddress(kb, "CancelIoEx") : NULL};
  int n_cp = 0, n_cx = 0;
  HMODULE self = NULL, mods[512];
  DWORD need = 0;
  GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                         GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                     (LPCWSTR)(void *)ha_hook_imports, &self);
  EnterCriticalSection(&G.lock);
  hook_module((unsigned char *)GetModuleHandleW(NULL), cp, cx, 0, &n_cp,
              &n_cx);
  if (K32EnumProcessModules(GetCurrentProcess(), mods, sizeof mods, &need))
    for (DWORD i = 0; i < need / sizeof *mods && i < 512; i++)
      if (mods[i] != self && mods[i] != GetModuleHandleW(NULL))
        hook_module((unsigned char *)mods[i], cp, cx, 1, &n_cp, &n_cx);
  LeaveCriticalSection(&G.lock);
  if (n_cp || n_cx)
    ha_trace("import hooks: %d CreateIoCompletionPort, %d CancelIoEx", n_cp,
             n_cx);
}

/* ---- initialisation and sessions ------------------------------------------ */

ULONG WINAPI HttpInitialize(HTTPAPI_VERSION v, ULONG flags, PVOID reserved) {
  ha_start();
  ha_hook_imports();
  ha_trace("HttpInitialize flags=%lu", flags);
  if (reserved || !(flags & (HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CONFIG)) ||
      (flags & ~(ULONG)(HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CONFIG))) {
    ha_violation("HttpInitialize: flags %lu / reserved %p", flags, reserved);
    return ERROR_INVALID_PARAMETER;
  }
  if (v.HttpApiMajorVersion != 1 && !v2(v))
    return ERROR_INVALID_PARAMETER;
  EnterCriticalSection(&G.lock);
  if (flags & HTTP_INITIALIZE_SERVER)
    G.init_server++;
  if (flags & HTTP_INITIALIZE_CONFIG)
    G.init_config++;
  LeaveCriticalSection(&G.lock);
  return NO_ERROR;
}

ULONG WINAPI HttpTerminate(ULONG flags, PVOID reserved) {
  ha_start();
  ha_trace("HttpTerminate flags=%lu", flags);
  EnterCriticalSection(&G.lock);
  ULONG rc = NO_ERROR;
  if (reserved || ((flags & HTTP_INITIALIZE_SERVER) && G.init_server <= 0) ||
      ((flags & HTTP_INITIALIZE_CONFIG) && G.init_config <= 0) || !flags) {
    ha_violation("HttpTerminate(%lu) without a matching HttpInitialize",
                 flags);
    rc = ERROR_INVALID_PARAMETER;
  } else {
    if (flags & HTTP_INITIALIZE_SERVER)
      G.init_server--;
    if (flags & HTTP_INITIALIZE_CONFIG)
      G.init_config--;
  }
  LeaveCriticalSection(&G.lock);
  return rc;
}

int ha_session_index(HTTP_SERVER_SESSION_ID id) {
  for (int i = 0; i < G.n_sessions; i++)
    if (G.sessions[i] == id)
      return i;
  return -1;
}

ULONG WINAPI HttpCreateServerSession(HTTPAPI_VERSION v,
                                     PHTTP_SERVER_SESSION_ID id,
                                     ULONG reserved) {
  ha_start();
  ha_trace("HttpCreateServerSession");
  if (!v2(v) || reserved || !id)
    return ERROR_INVALID_PARAMETER;
  EnterCriticalSection(&G.lock);
  ULONG rc = NO_ERROR;
  if (G.init_server <= 0) {
    ha_violation("HttpCreateServerSession before HttpInitialize(SERVER)");
    rc = ERROR_DLL_INIT_FAILED;
  } else if (G.n_sessions == 64) {
    rc = ERROR_NOT_ENOUGH_MEMORY;
  } else {
    *id = G.next_session++;
    G.sessions[G.n_sessions++] = *id;
  }
  LeaveCriticalSection(&G.lock);
  return rc;
}

ULONG WINAPI HttpCloseServerSession(HTTP_SERVER_SESSION_ID id) {
  ha_start();
  ha_trace("HttpCloseServerSession");
  EnterCriticalSection(&G.lock);
  int i = ha_session_index(id);
  ULONG rc = NO_ERROR;
  if (i < 0) {
    ha_violation("HttpCloseServerSession of an unknown or closed session");
    rc = ERROR_INVALID_PARAMETER;
  } else {
    G.sessions[i] = G.sessions[--G.n_sessions];
    for (ha_group *g = G.groups; g; g = g->next)
      if (g->session == id && !g->closed)
        ha_close_group(g); /* as http.sys: the session's groups go with it */
    ha_unlisten_unused();
  }
  LeaveCriticalSection(&G.lock);
  return rc;
}

ULONG WINAPI HttpSetServerSessionProperty(HTTP_SERVER_SESSION_ID id,
                                          HTTP_SERVER_PROPERTY prop,
                                          PVOID info, ULONG len) {
  ha_start();
  ha_trace("HttpSetServerSessionProperty %d", (int)prop);
  EnterCriticalSection(&G.lock);
  int ok = ha_session_index(id) >= 0;
  LeaveCriticalSection(&G.lock);
  if (!ok) {
    ha_violation("HttpSetServerSessionProperty on an unknown session");
    return ERROR_INVALID_PARAMETER;
  }
  if (prop == HttpServerTimeoutsProperty)
    return ha_set_timeouts(info, len); /* kept and enforced: timeouts.c */
  return info && len ? NO_ERROR : ERROR_INVALID_PARAMETER; /* not enforced */
}

/* ---- request queues --------------------------------------------------------- */

ha_queue *ha_find_queue(HANDLE h, const char *fn) {
  for (ha_queue *q = G.queues; q; q = q->next)
    if (q->handle == h && !q->closed)
      return q;
  for (int i = 0; i < G.n_closed; i++)
    if (G.closed_handles[i] == h) {
      ha_violation("%s on a closed request queue", fn);
      return NULL;
    }
  ha_violation("%s on an unknown request queue handle %p", fn, (void *)h);
  return NULL;
}

ha_req *ha_find_req(HTTP_REQUEST_ID id) {
  if (id < ID_BASE || id - ID_BASE >= G.n_reqs)
    return NULL;
  return G.reqs[id - ID_BASE];
}

ULONG WINAPI HttpCreateRequestQueue(HTTPAPI_VERSION v, PCWSTR name,
                                    PSECURITY_ATTRIBUTES sa, ULONG flags,
                                    PHANDLE h) {
  static LONG n;
  ha_start();
  ha_hook_imports();
  ha_trace("HttpCreateRequestQueue");
  if (!v2(v) || !h || flags & ~(ULONG)3)
    return ERROR_INVALID_PARAMETER;
  if (name || flags) /* named queues, OPEN_EXISTING, CONTROLLER */
    return ERROR_NOT_SUPPORTED;
  EnterCriticalSection(&G.lock);
  int init = G.init_server > 0;
  LeaveCriticalSection(&G.lock);
  if (!init) {
    ha_violation("HttpCreateRequestQueue before HttpInitialize(SERVER)");
    return ERROR_DLL_INIT_FAILED;
  }
  wchar_t pipe[96];
  swprintf(pipe, 96, L"\\\\.\\pipe\\sysgi-httpapi-%lu-%ld",
           (unsigned long)GetCurrentProcessId(), InterlockedIncrement(&n));
  ha_queue *q = calloc(1, sizeof *q);
  if (!q)
    return ERROR_NOT_ENOUGH_MEMORY;
  q->handle = CreateNamedPipeW(pipe, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED |
                                         FILE_FLAG_FIRST_PIPE_INSTANCE,
                               PIPE_TYPE_BYTE, 1, 0, 0, 0, sa);
  if (q->handle == INVALID_HANDLE_VALUE) {
    ULONG err = GetLastError();
    free(q);
    return err;
  }
  EnterCriticalSection(&G.lock);
  for (int i = 0; i < G.n_closed; i++)
    if (G.closed_handles[i] == q->handle)
      G.closed_handles[i] = G.closed_handles[--G.n_closed];
  q->next = G.queues;
  G.queues = q;
  LeaveCriticalSection(&G.lock);
  *h = q->handle;
  return NO_ERROR;
}

ULONG WINAPI HttpSetRequestQueueProperty(HANDLE h, HTTP_SERVER_PROPERTY prop,
                                         PVOID info, ULONG len, ULONG reserved,
                                         PVOID preserved) {
  ha_start();
  ha_trace("HttpSetRequestQueueProperty %d", (int)prop);
  EnterCriticalSection(&G.lock);
  ha_queue *q = ha_find_queue(h, "HttpSetRequestQueueProperty");
  LeaveCriticalSection(&G.lock);
  if (!q || !info || reserved || preserved)
    return ERROR_INVALID_PARAMETER;
  if (prop == HttpServerQueueLengthProperty ||
      prop == HttpServer503VerbosityProperty ||
      prop == HttpServerStateProperty)
    return len >= sizeof(ULONG) ? NO_ERROR : ERROR_INVALID_PARAMETER;
  return ERROR_INVALID_PARAMETER;
}

void ha_queue_request(ha_req *r) {
  ha_queue *q = r->q;
  if (q->n_recvs > 0) {
    ha_op *op = q->recvs[0];
    memmove(q->recvs, q->recvs + 1, (size_t)--q->n_recvs * sizeof *q->recvs);
    op->r = r;
    r->state = R_DELIVERING;
    if (op->flags & HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY)
      ha_take_pre(r);
    ha_complete_later(op, ST_SUCCESS, 0);
    return;
  }
  r->next_ready = NULL;
  if (q->ready_tail)
    q->ready_tail->next_ready = r;
  else
    q->ready_head = r;
  q->ready_tail = r;
}

void ha_abort_queue(ha_queue *q) {
  for (ha_conn *c = G.conns; c; c = c->next) {
    if (c->cur && c->cur->q == q && !c->dead) {
      c->abort = 1;
      c->cur->done = 1;
      WakeAllConditionVariable(&c->cv);
    }
  }
  for (ha_req *r = q->ready_head; r; r = r->next_ready)
    r->cancelled = 1;
  q->ready_head = q->ready_tail = NULL;
}

static ULONG shut(HANDLE h, int closing) {
  const char *fn = closing ? "HttpCloseRequestQueue" : "HttpShutdownRequestQueue";
  ha_start();
  ha_trace("%s", fn);
  EnterCriticalSection(&G.lock);
  ha_queue *q = ha_find_queue(h, fn);
  if (!q) {
    LeaveCriticalSection(&G.lock);
    return ERROR_INVALID_HANDLE;
  }
  /* The first of shutdown and close ends every request of the queue. */
  for (size_t i = 0; !q->shut && i < G.n_reqs; i++) {
    ha_req *r = G.reqs[i];
    if (r->q != q)
      continue;
    int gone = r->cancelled || r->c->dead;
    if (r->state == R_RECEIVED && !r->final_sent && !gone)
      ha_violation("request %llu received but never answered when its queue "
                   "closed (%s)", (unsigned long long)r->id, fn);
    if (r->state == R_MORE_DATA && !gone)
      ha_violation("request %llu: ERROR_MORE_DATA never followed by a "
                   "receive with its RequestId", (unsigned long long)r->id);
    if (r->send_pending || r->read_pending)
      ha_violation("request %llu: I/O in flight when its queue closed",
                   (unsigned long long)r->id);
  }
  int found;
  ha_cancel_receives(q, NULL, &found);
  ha_abort_queue(q);
  q->shut = 1;
  if (closing) {
    q->closed = 1;
    for (ha_group *g = G.groups; g; g = g->next)
      if (g->queue == q)
        g->queue = NULL;
    if (G.n_closed < 256)
      G.closed_handles[G.n_closed++] = q->handle;
    CloseHandle(q->handle);
  }
  LeaveCriticalSection(&G.lock);
  return NO_ERROR;
}

ULONG WINAPI HttpShutdownRequestQueue(HANDLE h) { return shut(h, 0); }
ULONG WINAPI HttpCloseRequestQueue(HANDLE h) { return shut(h, 1); }
