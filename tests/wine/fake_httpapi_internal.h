/*
 * fake_httpapi_internal.h: state and helpers shared by the files of
 * the strict fake HTTP Server API: fake_httpapi.c (the API entry points and
 * their checks, the interposed kernel32 calls), fake_httpapi_io.c (request
 * layout, the completion threads that record, check and poison the
 * buffers of each send), fake_httpapi_ctl.c (the test controls) and
 * fake_httpapi_hooks.c (the race hooks).
 */
#ifndef FAKE_HTTPAPI_INTERNAL_H
#define FAKE_HTTPAPI_INTERNAL_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <http.h>

#include <stdint.h>

#include "fake_httpapi.h"

#define ST_SUCCESS ((LONG)0)
#define ST_BUFFER_OVERFLOW ((LONG)0x80000005L)
#define ST_END_OF_FILE ((LONG)0xC0000011L)
#define ST_CANCELLED ((LONG)0xC0000120L)
#define ST_CONNECTION_INVALID ((LONG)0xC000023AL)
#define ST_UNSUCCESSFUL ((LONG)0xC0000001L)

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
  int hold_signal, sync_sends, bodyless;
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

typedef struct fake_state {
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
  int fail_recv_n;
  unsigned long fail_recv_err;
  int file_mode;
  int queue_closes;
  unsigned seed;
} fake_state;

extern fake_state F;

void violation(const char *fmt, ...);
void push_job(job *j);
uint64_t hash_send(const job *j);
DWORD WINAPI fake_completer(void *arg);
/* Starts the completion thread and resolves the real kernel calls, once. */
void fake_start(void);
freq *find_req(HTTP_REQUEST_ID id);
void run_send(job *j);
/* fake_httpapi_hooks.c */
void hook_arm_hold(OVERLAPPED *ov);
void hook_sync_begin(OVERLAPPED *ov);
void hook_sync_wait(void);

#endif
