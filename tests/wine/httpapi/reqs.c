/*
 * reqs.c: the table of request records, by id. The last HA_KEEP requests
 * keep their record, so that a late call on one of them is recognised
 * (ERROR_CONNECTION_INVALID, no violation) and the queue's close can check
 * them; an older record is freed once nothing can reach it any more (no op
 * of it in flight, not waiting on its queue, its connection thread past
 * it), else it waits on G.zombies until then. A connection record is freed
 * with the last request record that points to it, after its thread ended.
 * Before this, every record was kept for the life of the process: about
 * 1 KiB of heap per request (the record and the holes it pinned).
 */
#include "ha.h"

#include <stdlib.h>

static int reachable(const ha_req *r) {
  return r->ops > 0 || (r->state == R_QUEUED && !r->cancelled) ||
         (r->c->cur == r && !r->c->exited);
}

static void conn_maybe_free(ha_conn *c) {
  if (c->refs == 0 && c->thread_done) {
    free(c);
    InterlockedDecrement(&ha_live_conns);
  }
}

static void req_free(ha_req *r) {
  ha_conn *c = r->c;
  free(r->names);
  free(r->values);
  free(r->block);
  free(r->pre);
  free(r);
  c->refs--;
  conn_maybe_free(c);
}

/* Frees the zombies nothing reaches any more. */
static void sweep(void) {
  for (ha_req **p = &G.zombies; *p;) {
    ha_req *r = *p;
    if (reachable(r)) {
      p = &r->next_zombie;
      continue;
    }
    *p = r->next_zombie;
    G.n_zombies--;
    req_free(r);
  }
}

void ha_req_add(ha_req *r) {
  size_t slot = G.n_reqs % HA_KEEP;
  ha_req *old = G.reqs[slot];
  if (old) {
    if (reachable(old)) {
      old->next_zombie = G.zombies;
      G.zombies = old;
      G.n_zombies++;
    } else {
      req_free(old);
    }
  }
  if (G.n_reqs % 64 == 0)
    sweep();
  r->id = ID_BASE + G.n_reqs;
  G.reqs[slot] = r;
  G.n_reqs++;
  r->c->refs++;
}

ha_req *ha_find_req(HTTP_REQUEST_ID id) {
  if (id < ID_BASE || id - ID_BASE >= G.n_reqs)
    return NULL;
  uint64_t i = id - ID_BASE;
  if (G.n_reqs - i <= HA_KEEP)
    return G.reqs[i % HA_KEEP];
  for (ha_req *r = G.zombies; r; r = r->next_zombie)
    if (r->id == id)
      return r;
  return NULL;
}

int ha_req_forgotten(HTTP_REQUEST_ID id) {
  return id >= ID_BASE && id - ID_BASE < G.n_reqs && !ha_find_req(id);
}

void ha_reqs_each(void (*fn)(ha_req *r, void *arg), void *arg) {
  for (size_t i = 0; i < HA_KEEP; i++)
    if (G.reqs[i])
      fn(G.reqs[i], arg);
  for (ha_req *r = G.zombies; r; r = r->next_zombie)
    fn(r, arg);
}

void ha_conn_thread_done(ha_conn *c) {
  c->thread_done = 1;
  conn_maybe_free(c);
}
