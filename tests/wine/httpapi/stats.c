/*
 * stats.c: what the process holds, logged as a STATS line every
 * SYSGI_HTTPAPI_STATS requests (and on demand), so that a growth seen from
 * outside (the soak's RSS) can be attributed: this DLL's own records and
 * live objects, the process's heaps (busy bytes), handles, threads and
 * committed private memory.
 */
#include "ha.h"

#include <tlhelp32.h>
#include <stdio.h>

volatile LONG ha_live_ops, ha_live_conns, ha_live_threads;

static void heaps(unsigned long long *busy, unsigned long long *blocks,
                  unsigned long long *free_b, unsigned long long *region,
                  unsigned *n_heaps) {
  HANDLE hs[64];
  DWORD n = GetProcessHeaps(64, hs);
  if (n > 64)
    n = 64;
  *busy = *blocks = *free_b = *region = 0;
  *n_heaps = n;
  for (DWORD i = 0; i < n; i++) {
    PROCESS_HEAP_ENTRY e;
    e.lpData = NULL;
    if (!HeapLock(hs[i]))
      continue;
    while (HeapWalk(hs[i], &e))
      if (e.wFlags & PROCESS_HEAP_REGION)
        *region += e.Region.dwCommittedSize;
      else if (e.wFlags & PROCESS_HEAP_ENTRY_BUSY) {
        *busy += e.cbData;
        (*blocks)++;
      } else if (!(e.wFlags & PROCESS_HEAP_UNCOMMITTED_RANGE))
        *free_b += e.cbData;
    HeapUnlock(hs[i]);
  }
}

static unsigned threads(void) {
  HANDLE s = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
  if (s == INVALID_HANDLE_VALUE)
    return 0;
  THREADENTRY32 t;
  t.dwSize = sizeof t;
  unsigned n = 0;
  DWORD me = GetCurrentProcessId();
  for (BOOL ok = Thread32First(s, &t); ok; ok = Thread32Next(s, &t))
    n += t.th32OwnerProcessID == me;
  CloseHandle(s);
  return n;
}

static void committed(unsigned long long *priv, unsigned long long *other) {
  MEMORY_BASIC_INFORMATION m;
  char *p = NULL;
  *priv = *other = 0;
  while (VirtualQuery(p, &m, sizeof m) == sizeof m) {
    if (m.State == MEM_COMMIT) {
      if (m.Type == MEM_PRIVATE)
        *priv += m.RegionSize;
      else
        *other += m.RegionSize;
    }
    char *next = (char *)m.BaseAddress + m.RegionSize;
    if (next <= p)
      break;
    p = next;
  }
}

static void count_req(ha_req *r, void *arg) {
  size_t *n = arg;
  n[0]++;
  n[1] += r->block != NULL;
  n[2] += r->pre != NULL;
}

void ha_stats(const char *why) {
  EnterCriticalSection(&G.lock);
  size_t counts[3] = {0, 0, 0}; /* records, heads, pre */
  ha_reqs_each(count_req, counts);
  size_t recs = counts[0], heads = counts[1], pres = counts[2];
  size_t conns = 0;
  for (ha_conn *c = G.conns; c; c = c->next)
    conns++;
  size_t n_reqs = G.n_reqs, zombies = G.n_zombies;
  LeaveCriticalSection(&G.lock);
  unsigned long long busy, blocks, free_b, region, priv, other;
  unsigned n_heaps;
  heaps(&busy, &blocks, &free_b, &region, &n_heaps);
  committed(&priv, &other);
  DWORD handles = 0;
  GetProcessHandleCount(GetCurrentProcess(), &handles);
  char msg[640];
  snprintf(msg, sizeof msg,
           "%s requests=%zu records=%zu zombies=%zu heads=%zu pre=%zu conns_listed=%zu "
           "conns_alloc=%ld conn_threads=%ld ops=%ld threads=%u handles=%lu "
           "heaps=%u heap_busy=%llu heap_blocks=%llu heap_free=%llu "
           "heap_committed_kib=%llu private_kib=%llu "
           "other_kib=%llu",
           why, n_reqs, recs, zombies, heads, pres, conns, (long)ha_live_conns,
           (long)ha_live_threads, (long)ha_live_ops, threads(),
           (unsigned long)handles, n_heaps, busy, blocks, free_b, region >> 10,
           priv >> 10,
           other >> 10);
  ha_log_line("STATS", msg);
}
