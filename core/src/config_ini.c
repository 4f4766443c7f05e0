/*
 * config_ini.c: an INI text (sysgi.ini) into the configuration model.
 *
 * Why our own line reader and not GetPrivateProfileSectionW: the profile
 * API returns a section's "key=value" strings without their line numbers,
 * so an error could name the key but not the line, and it silently merges
 * repeated sections and keys, maps the file through the ANSI code page
 * unless it is UTF-16, and caps sections at 32 KB. sysgi.ini is UTF-8 (a
 * byte order mark is allowed, as Notepad writes it), every error names
 * FILE:LINE, and, as Python's configparser (strict) does, a section or a
 * key given twice is an error rather than a silent override.
 *
 * Syntax: "[server]", "[app:/MOUNT]", "[process-group:NAME]" headers;
 * "key = value" lines (keys are case-insensitive, stored lower-case;
 * surrounding blanks are dropped, as are one pair of double quotes around
 * the whole value); whole-line comments starting with ';' or '#'. There
 * are no inline comments: ';' and '#' may appear in values (paths).
 *
 * Portable (no file I/O): service/svc_ini.c reads the file and hands the
 * bytes here, and tests/fuzz fuzzes this reader natively.
 */
#include "sysgi_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct seen {
  char *section, *key; /* key NULL: the section header itself */
  unsigned line;
} seen;

typedef struct reader {
  sysgi_config *cfg;
  const char *path; /* UTF-8, for origins */
  seen *seen;
  size_t n_seen, cap_seen;
  int failed;
} reader;

static void err_at(reader *r, unsigned line, const char *section,
                   const char *key, const char *msg) {
  sysgi_origin o = {SYSGI_ORIGIN_FILE, r->path, line};
  sysgi_config_add_error(r->cfg, &o, section, key, msg);
  r->failed = 1;
}

static char *dup_n(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

/* The line where section/key was first given, or 0; remembers it. */
static unsigned seen_before(reader *r, const char *section, const char *key,
                            unsigned line) {
  for (size_t i = 0; i < r->n_seen; i++) {
    const seen *s = &r->seen[i];
    if (strcmp(s->section, section) == 0 &&
        ((!key && !s->key) || (key && s->key && strcmp(s->key, key) == 0)))
      return s->line;
  }
  if (r->n_seen == r->cap_seen) {
    size_t cap = r->cap_seen ? r->cap_seen * 2 : 32;
    seen *n = realloc(r->seen, cap * sizeof *n);
    if (!n)
      return 0;
    r->seen = n;
    r->cap_seen = cap;
  }
  seen *s = &r->seen[r->n_seen];
  s->section = dup_n(section, strlen(section));
  s->key = key ? dup_n(key, strlen(key)) : NULL;
  s->line = line;
  if (s->section && (!key || s->key))
    r->n_seen++;
  else {
    free(s->section);
    free(s->key);
  }
  return 0;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static void trim(char **s, size_t *n) {
  while (*n && is_blank(**s)) {
    (*s)++;
    (*n)--;
  }
  while (*n && is_blank((*s)[*n - 1]))
    (*n)--;
}

/* Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF), what MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS)
 * accepted when this reader was Windows-only. */
static int valid_utf8(const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0)
        lo = 0xA0; /* overlong */
      else if (c == 0xED)
        hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0)
        lo = 0x90; /* overlong */
      else if (c == 0xF4)
        hi = 0x8F; /* above U+10FFFF */
    } else {
      return 0;
    }
    if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
      return 0;
    for (size_t k = 2; k < len; k++)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF)
        return 0;
    i += len;
  }
  return 1;
}

/* One line, without its end of line. `*section` is the current section
 * ("" before the first header); `*skip` is set after a header the model
 * refused, whose keys are then skipped: one error for the header is
 * enough. */
static void parse_line(reader *r, char *s, size_t n, unsigned line,
                       char **section, int *skip) {
  char msg[256];
  trim(&s, &n);
  if (n == 0 || s[0] == ';' || s[0] == '#')
    return;
  if (!valid_utf8(s, n)) {
    err_at(r, line, NULL, NULL, "not valid UTF-8 (save the file as UTF-8)");
    return;
  }
  if (s[0] == '[') {
    *skip = 1;
    if (s[n - 1] != ']') {
      err_at(r, line, NULL, NULL, "a section header must end with ']'");
      return;
    }
    char *name = s + 1;
    size_t nl = n - 2;
    trim(&name, &nl);
    char *sec = dup_n(name, nl);
    if (!sec)
      return;
    unsigned first = seen_before(r, sec, NULL, line);
    if (first) {
      snprintf(msg, sizeof msg, "section [%s] appears twice (first at line "
               "%u): merge them", sec, first);
      err_at(r, line, NULL, NULL, msg);
    } else {
      sysgi_origin o = {SYSGI_ORIGIN_FILE, r->path, line};
      if (sysgi_config_add_section(r->cfg, sec, &o) != 0) {
        r->failed = 1;
        free(sec);
        return;
      }
    }
    /* The keys of a repeated section are still checked. */
    free(*section);
    *section = sec;
    *skip = 0;
    return;
  }
  char *eq = memchr(s, '=', n);
  if (!eq) {
    snprintf(msg, sizeof msg, "expected 'key = value' or '[section]', got "
             "'%.*s'", (int)(n > 60 ? 60 : n), s);
    err_at(r, line, NULL, NULL, msg);
    return;
  }
  char *k = s, *v = eq + 1;
  size_t kl = (size_t)(eq - s), vl = n - kl - 1;
  trim(&k, &kl);
  trim(&v, &vl);
  if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
    v++;
    vl -= 2;
  }
  if (kl == 0) {
    err_at(r, line, NULL, NULL, "a key is missing before '='");
    return;
  }
  int empty = vl == 0;
  char *key = dup_n(k, kl), *value = dup_n(v, vl);
  if (!key || !value) {
    free(key);
    free(value);
    return;
  }
  for (char *p = key; *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  if (*skip) {
    /* The header was refused: already reported. */
  } else if (!**section) {
    snprintf(msg, sizeof msg, "'%s' comes before any section: put it under "
             "[server] or an [app:/MOUNT]", key);
    err_at(r, line, NULL, NULL, msg);
  } else {
    unsigned first = seen_before(r, *section, key, line);
    if (first) {
      snprintf(msg, sizeof msg, "given twice in this section (first at "
               "line %u)", first);
      err_at(r, line, *section, key, msg);
    } else if (empty && sysgi_config_find(key)) {
      err_at(r, line, *section, key, "no value after '=' (remove the line "
             "to get the default)");
    } else {
      sysgi_origin o = {SYSGI_ORIGIN_FILE, r->path, line};
      if (sysgi_config_set(r->cfg, *section, key, value, &o) != 0)
        r->failed = 1;
    }
  }
  free(key);
  free(value);
}

int sysgi_config_read_ini(sysgi_config *cfg, const char *data, size_t len,
                          const char *path) {
  reader r = {cfg, path ? path : "", NULL, 0, 0, 0};
  const char *p = data ? data : "", *end = p + (data ? len : 0);
  int rc = SYSGI_OK;
  if (end - p >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
    p += 3;
  if (end - p >= 2 && (!memcmp(p, "\xFF\xFE", 2) || !memcmp(p, "\xFE\xFF", 2))) {
    err_at(&r, 1, NULL, NULL, "the file is UTF-16 (Notepad's 'Unicode'): "
           "save it as UTF-8");
  } else {
    char *section = dup_n("", 0);
    char *linebuf = NULL;
    size_t linecap = 0;
    int skip = 0;
    unsigned line = 0;
    if (!section)
      rc = SYSGI_E_NOMEM;
    while (p < end && section) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
      if (n && p[n - 1] == '\r')
        n--;
      if (memchr(p, '\0', n)) {
        err_at(&r, line + 1, NULL, NULL, "a NUL byte: this is not a text "
               "file");
        break;
      }
      /* parse_line trims in place: a private copy of the line. */
      if (n + 1 > linecap) {
        char *b = realloc(linebuf, n + 1);
        if (!b) {
          rc = SYSGI_E_NOMEM;
          break;
        }
        linebuf = b;
        linecap = n + 1;
      }
      memcpy(linebuf, p, n);
      linebuf[n] = '\0';
      parse_line(&r, linebuf, n, ++line, &section, &skip);
      p = nl ? nl + 1 : end;
    }
    free(linebuf);
    free(section);
  }
  if (rc == SYSGI_OK && r.failed)
    rc = SYSGI_E_CONFIG;
  for (size_t i = 0; i < r.n_seen; i++) {
    free(r.seen[i].section);
    free(r.seen[i].key);
  }
  free(r.seen);
  return rc;
}
