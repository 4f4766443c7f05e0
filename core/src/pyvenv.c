/*
 * pyvenv.c: parsing the text of a pyvenv.cfg (see sysgi_pyvenv.h for why
 * the file reading stays with the callers).
 */
#include "sysgi_pyvenv.h"

#include <string.h>

static int blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static char lower(char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

int sysgi_pyvenv_home(const char *text, size_t len, char *out, size_t out_len) {
  size_t i = 0;
  if (out_len)
    out[0] = '\0';
  if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
    i = 3;
  while (i < len) {
    size_t end = i;
    while (end < len && text[end] != '\n' && text[end] != '\0')
      end++;
    size_t eq = i;
    while (eq < end && text[eq] != '=')
      eq++;
    if (eq < end) {
      size_t k0 = i, k1 = eq, v0 = eq + 1, v1 = end;
      while (k0 < k1 && blank(text[k0]))
        k0++;
      while (k1 > k0 && blank(text[k1 - 1]))
        k1--;
      while (v0 < v1 && blank(text[v0]))
        v0++;
      while (v1 > v0 && blank(text[v1 - 1]))
        v1--;
      if (k1 - k0 == 4 && lower(text[k0]) == 'h' && lower(text[k0 + 1]) == 'o' &&
          lower(text[k0 + 2]) == 'm' && lower(text[k0 + 3]) == 'e') {
        size_t n = v1 - v0;
        if (n == 0 || n >= out_len)
          return 0;
        memcpy(out, text + v0, n);
        out[n] = '\0';
        return 1;
      }
    }
    i = end + 1;
  }
  return 0;
}
