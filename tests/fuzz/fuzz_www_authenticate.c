/*
 * fuzz_www_authenticate.c: the WWW-Authenticate splitter of the core
 * (sysgi_split_www_authenticate in core/src/headers.c), which cuts an
 * application's combined value into one header per challenge. Invariants:
 * at most max+1 (the "too many" answer), spans inside the value, in order,
 * not overlapping, non-empty, without blanks at either end, and every
 * comma outside a quoted string between two spans.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sysgi_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t max = 1 + data[0] % 20;
  size_t len = size - 1;
  char *v = malloc(len ? len : 1);
  if (!v)
    return 0;
  memcpy(v, data + 1, len);
  size_t(*spans)[2] = malloc(sizeof *spans * max);
  if (!spans)
    abort();
  size_t n = sysgi_split_www_authenticate(v, len, spans, max);
  if (n > max + 1)
    abort();
  if (n <= max) {
    size_t prev_end = 0;
    for (size_t i = 0; i < n; i++) {
      size_t s = spans[i][0], e = spans[i][1];
      if (s >= e || e > len || (i && s < prev_end))
        abort();
      if (v[s] == ' ' || v[s] == '\t' || v[e - 1] == ' ' || v[e - 1] == '\t')
        abort();
      if (i && memchr(v + prev_end, ',', s - prev_end) == NULL)
        abort(); /* two challenges with no comma between them */
      prev_end = e;
    }
  }
  free(spans);
  free(v);
  return 0;
}
