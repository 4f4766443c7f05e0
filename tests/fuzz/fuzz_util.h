/*
 * fuzz_util.h: reading structured values out of a fuzz input, the same
 * way in every target: a "field" is the bytes up to the next separator
 * byte (or the end), copied into a NUL-terminated heap string of exactly
 * its size, so ASan sees any read past it.
 */
#ifndef SYSGI_FUZZ_UTIL_H
#define SYSGI_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct fz {
  const uint8_t *p, *end;
} fz;

static inline int fz_more(const fz *f) { return f->p < f->end; }

/* The next field up to `sep` (not included); *len its length. NULL at the
 * end of the input. The caller frees it. */
static inline char *fz_field(fz *f, uint8_t sep, size_t *len) {
  if (f->p >= f->end)
    return NULL;
  const uint8_t *s = memchr(f->p, sep, (size_t)(f->end - f->p));
  size_t n = s ? (size_t)(s - f->p) : (size_t)(f->end - f->p);
  char *out = malloc(n + 1);
  if (!out)
    abort();
  memcpy(out, f->p, n);
  out[n] = '\0';
  f->p += n + (s != NULL);
  if (len)
    *len = n;
  return out;
}

/* One byte (0 at the end). */
static inline unsigned fz_byte(fz *f) {
  return f->p < f->end ? *f->p++ : 0;
}

#endif
