/*
 * arena.c: request-local memory. Most requests fit their status line and
 * headers in the inline buffer and never call malloc.
 */
#include "sysgi_internal.h"

#include <stdlib.h>

#define ALIGN(n) (((n) + 15u) & ~(size_t)15u)

void *sysgi_arena_alloc(sysgi_arena *a, size_t n) {
  n = ALIGN(n ? n : 1);
  if (a->inline_used + n <= sizeof a->inline_buf) {
    void *p = a->inline_buf + a->inline_used;
    a->inline_used += n;
    return p;
  }
  sysgi_arena_block *b = a->blocks;
  if (!b || b->used + n > b->cap) {
    size_t cap = n > 8192 ? n : 8192;
    b = malloc(sizeof *b + cap);
    if (!b)
      return NULL;
    b->cap = cap;
    b->used = 0;
    b->next = a->blocks;
    a->blocks = b;
  }
  void *p = b->data + b->used;
  b->used += n;
  return p;
}

void sysgi_arena_reset(sysgi_arena *a) {
  while (a->blocks) {
    sysgi_arena_block *next = a->blocks->next;
    free(a->blocks);
    a->blocks = next;
  }
  a->inline_used = 0;
}
