/*
 * svc_ini.c: the INI file (sysgi.ini) into the configuration model.
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
 */
#include <winsock2.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc_ini.h"

#define INI_MAX_BYTES (4u * 1024 * 1024)

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

static int valid_utf8(const char *s, size_t n) {
  return n == 0 ||
         MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)n, NULL,
                             0) > 0;
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
    } else {
      sysgi_origin o = {SYSGI_ORIGIN_FILE, r->path, line};
      if (sysgi_config_set(r->cfg, *section, key, value, &o) != 0)
        r->failed = 1;
    }
  }
  free(key);
  free(value);
}

static char *read_all(reader *r, const wchar_t *path, size_t *len) {
  char msg[300];
  HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                         NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    snprintf(msg, sizeof msg, "cannot open the configuration file: %s "
             "(error %lu)",
             e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND
                 ? "no such file"
                 : e == ERROR_ACCESS_DENIED ? "access denied" : "failed",
             (unsigned long)e);
    err_at(r, 0, NULL, NULL, msg);
    return NULL;
  }
  LARGE_INTEGER size;
  char *buf = NULL;
  DWORD got = 0;
  if (!GetFileSizeEx(h, &size) || size.QuadPart > INI_MAX_BYTES) {
    err_at(r, 0, NULL, NULL, "the configuration file is larger than 4 MB");
  } else if (!(buf = malloc((size_t)size.QuadPart + 1))) {
    err_at(r, 0, NULL, NULL, "out of memory");
  } else if (!ReadFile(h, buf, (DWORD)size.QuadPart, &got, NULL)) {
    err_at(r, 0, NULL, NULL, "cannot read the configuration file");
    free(buf);
    buf = NULL;
  }
  CloseHandle(h);
  if (buf) {
    buf[got] = '\0';
    *len = got;
  }
  return buf;
}

int svc_ini_load(sysgi_config *cfg, const wchar_t *path) {
  wchar_t full[MAX_PATH * 2];
  DWORD fl = GetFullPathNameW(path, MAX_PATH * 2, full, NULL);
  const wchar_t *use = fl && fl < MAX_PATH * 2 ? full : path;
  int n8 = WideCharToMultiByte(CP_UTF8, 0, use, -1, NULL, 0, NULL, NULL);
  char *path8 = n8 > 0 ? malloc((size_t)n8) : NULL;
  if (!path8)
    return SYSGI_E_NOMEM;
  WideCharToMultiByte(CP_UTF8, 0, use, -1, path8, n8, NULL, NULL);

  reader r = {cfg, path8, NULL, 0, 0, 0};
  size_t len = 0;
  char *buf = read_all(&r, use, &len);
  int rc = buf ? SYSGI_OK : SYSGI_E_IO;
  if (buf) {
    char *p = buf, *end = buf + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
      p += 3;
    if (len >= 2 && (!memcmp(p, "\xFF\xFE", 2) || !memcmp(p, "\xFE\xFF", 2))) {
      err_at(&r, 1, NULL, NULL, "the file is UTF-16 (Notepad's 'Unicode'): "
             "save it as UTF-8");
    } else {
      char *section = dup_n("", 0);
      int skip = 0;
      unsigned line = 0;
      while (p < end && section) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n && p[n - 1] == '\r')
          n--;
        if (memchr(p, '\0', n)) {
          err_at(&r, line + 1, NULL, NULL, "a NUL byte: this is not a text "
                 "file");
          break;
        }
        parse_line(&r, p, n, ++line, &section, &skip);
        p = nl ? nl + 1 : end;
      }
      free(section);
    }
    if (r.failed)
      rc = SYSGI_E_CONFIG;
  }
  for (size_t i = 0; i < r.n_seen; i++) {
    free(r.seen[i].section);
    free(r.seen[i].key);
  }
  free(r.seen);
  free(buf);
  free(path8);
  return rc;
}
