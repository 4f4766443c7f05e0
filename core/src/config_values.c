/*
 * config_values.c: the parsers and validators of the settings table. Each
 * says what is wrong with a value in words a user can act on; the model
 * adds where the value came from, the section and the key.
 */
#include "config_internal.h"
#include "config_platform.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sysgi__fmt(char *buf, size_t n, const char *fmt, ...) {
  va_list ap;
  if (!buf || n == 0)
    return;
  va_start(ap, fmt);
  if (vsnprintf(buf, n, fmt, ap) < 0)
    buf[0] = '\0';
  va_end(ap);
}

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

static int ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (lower((unsigned char)*a) != lower((unsigned char)*b))
      return 0;
  return *a == *b;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* ---- scalars --------------------------------------------------------------- */

int sysgi_parse_bool(const char *v, int *out) {
  static const char *const yes[] = {"on", "true", "1", "yes"};
  static const char *const no[] = {"off", "false", "0", "no"};
  if (!v)
    return SYSGI_E_CONFIG;
  for (size_t i = 0; i < 4; i++) {
    if (ieq(v, yes[i])) {
      if (out)
        *out = 1;
      return 0;
    }
    if (ieq(v, no[i])) {
      if (out)
        *out = 0;
      return 0;
    }
  }
  return SYSGI_E_CONFIG;
}

/* Decimal digits only (no sign, no space): strtoul would take " -1". */
static int parse_digits(const char **p, uint64_t *out) {
  uint64_t x = 0;
  const char *s = *p;
  if (!is_digit(*s))
    return SYSGI_E_CONFIG;
  for (; is_digit(*s); s++) {
    unsigned d = (unsigned)(*s - '0');
    if (x > (UINT64_MAX - d) / 10)
      return SYSGI_E_TOO_LARGE;
    x = x * 10 + d;
  }
  *p = s;
  *out = x;
  return 0;
}

int sysgi_parse_uint(const char *v, uint64_t min, uint64_t max,
                     uint64_t *out) {
  uint64_t x;
  if (!v || parse_digits(&v, &x) != 0 || *v || x < min || x > max)
    return SYSGI_E_CONFIG;
  if (out)
    *out = x;
  return 0;
}

int sysgi_parse_size(const char *v, uint64_t *out) {
  uint64_t x, mul = 1;
  if (!v || parse_digits(&v, &x) != 0)
    return SYSGI_E_CONFIG;
  switch (lower((unsigned char)*v)) {
  case '\0': break;
  case 'k': mul = 1024u; v++; break;
  case 'm': mul = 1024u * 1024u; v++; break;
  case 'g': mul = 1024u * 1024u * 1024u; v++; break;
  default: return SYSGI_E_CONFIG;
  }
  if (*v || (x && mul > UINT64_MAX / x))
    return SYSGI_E_CONFIG;
  if (out)
    *out = x * mul;
  return 0;
}

static int parse_int(const char *v, int64_t min, int64_t max, int *out) {
  int neg = 0;
  uint64_t x;
  if (*v == '-' || *v == '+')
    neg = *v++ == '-';
  if (parse_digits(&v, &x) != 0 || *v || x > (uint64_t)INT_MAX)
    return SYSGI_E_CONFIG;
  int64_t y = neg ? -(int64_t)x : (int64_t)x;
  if (y < min || y > max)
    return SYSGI_E_CONFIG;
  if (out)
    *out = (int)y;
  return 0;
}

static int is_ident(const char *s) {
  if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
    return 0;
  for (s++; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          is_digit(*s) || *s == '_'))
      return 0;
  return 1;
}

int sysgi__valid_group_name(const char *s) {
  if (!s || !*s || !strncmp(s, "%{", 2))
    return 0;
  for (; *s; s++)
    if ((unsigned char)*s < 0x21 || *s == 0x7f)
      return 0;
  return 1;
}

static int parse_log_level(const char *v, int *out) {
  static const struct {
    const char *name;
    int level;
  } levels[] = {{"error", SYSGI_LOG_ERR},   {"err", SYSGI_LOG_ERR},
                {"warn", SYSGI_LOG_WARN},   {"warning", SYSGI_LOG_WARN},
                {"info", SYSGI_LOG_INFO},   {"debug", SYSGI_LOG_DEBUG}};
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
    if (ieq(v, levels[i].name)) {
      if (out)
        *out = levels[i].level;
      return 0;
    }
  return SYSGI_E_CONFIG;
}

/* ---- listen URLs ------------------------------------------------------------- */

/* One http.sys URL prefix: http[s]://HOST:PORT/PATH/ where HOST is '+',
 * '*', a name, an IPv4 address or [IPv6]; HttpAddUrlToUrlGroup wants the
 * port written out and the trailing '/'. */
static int check_url(const char *u, size_t len, char *err, size_t n) {
  const char *p = u, *end = u + len, *host;
  uint64_t port;
  if (len >= 7 && !strncmp(p, "http://", 7))
    p += 7;
  else if (len >= 8 && !strncmp(p, "https://", 8))
    p += 8;
  else {
    sysgi__fmt(err, n, "'%.*s' is not an http.sys URL prefix: it must start "
               "with http:// or https://", (int)len, u);
    return SYSGI_E_CONFIG;
  }
  host = p;
  if (p < end && *p == '[') {
    while (p < end && *p != ']')
      p++;
    if (p == end || p == host + 1) {
      sysgi__fmt(err, n, "'%.*s' is not an http.sys URL prefix: bad IPv6 "
                 "host", (int)len, u);
      return SYSGI_E_CONFIG;
    }
    p++;
  } else {
    for (; p < end && *p != ':' && *p != '/'; p++)
      if (!(((unsigned char)*p >= 0x80) || is_digit(*p) || *p == '-' ||
            *p == '.' || *p == '+' || *p == '*' || *p == '_' ||
            (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
        sysgi__fmt(err, n, "'%.*s' is not an http.sys URL prefix: bad "
                   "character '%c' in the host", (int)len, u, *p);
        return SYSGI_E_CONFIG;
      }
    if (p == host || ((host[0] == '+' || host[0] == '*') && p != host + 1)) {
      sysgi__fmt(err, n, "'%.*s' is not an http.sys URL prefix: the host "
                 "must be +, *, a name or an address", (int)len, u);
      return SYSGI_E_CONFIG;
    }
  }
  if (p == end || *p != ':') {
    sysgi__fmt(err, n, "'%.*s' is not an http.sys URL prefix: the port is "
               "missing (http://+:8080/)", (int)len, u);
    return SYSGI_E_CONFIG;
  }
  p++;
  if (parse_digits(&p, &port) != 0 || p > end || port < 1 || port > 65535) {
    sysgi__fmt(err, n, "'%.*s' is not an http.sys URL prefix: the port must "
               "be a number from 1 to 65535", (int)len, u);
    return SYSGI_E_CONFIG;
  }
  if (p == end || *p != '/') {
    sysgi__fmt(err, n, "'%.*s' is not an http.sys URL prefix: a path "
               "starting with '/' must follow the port", (int)len, u);
    return SYSGI_E_CONFIG;
  }
  for (const char *q = p; q < end; q++)
    if (*q == '?' || *q == '#' || *q == '\\' || (unsigned char)*q < 0x21) {
      sysgi__fmt(err, n, "'%.*s' is not an http.sys URL prefix: '%c' in the "
                 "path", (int)len, u, *q);
      return SYSGI_E_CONFIG;
    }
  if (end[-1] != '/') {
    sysgi__fmt(err, n, "'%.*s' is not an http.sys URL prefix: it must end "
               "with '/'", (int)len, u);
    return SYSGI_E_CONFIG;
  }
  return 0;
}

/* ---- lists ------------------------------------------------------------------- */

typedef int (*item_fn)(const char *item, size_t len, char *err, size_t n);

static int check_listen_item(const char *s, size_t len, char *err, size_t n) {
  return check_url(s, len, err, n);
}

static int check_path_item(const char *s, size_t len, char *err, size_t n) {
  char small[1024], *p = small;
  int kind;
  if (len >= sizeof small && !(p = malloc(len + 1)))
    return SYSGI_E_NOMEM;
  memcpy(p, s, len);
  p[len] = '\0';
  kind = sysgi__path_kind(p);
  if (kind == SYSGI__PATH_NONE)
    sysgi__fmt(err, n, "no such file or directory: %s", p);
  if (p != small)
    free(p);
  return kind == SYSGI__PATH_NONE ? SYSGI_E_CONFIG : 0;
}

/* Splits `text` at the separators, checks each item, and (when out is
 * set) builds the array of copies. Empty items are skipped; an item given
 * twice is an error (it is a typo, and http.sys refuses a URL twice). */
static int parse_list(const char *text, const char *seps, item_fn check,
                      int need_one, sysgi__list *out, sysgi__alloc_fn alloc, void *actx,
                      char *err, size_t n) {
  size_t count = 0, bytes = 0, k = 0;
  char **v = NULL, *buf = NULL;
  for (int pass = 0; pass < 2; pass++) {
    const char *p = text;
    while (*p) {
      size_t len = strcspn(p, seps);
      if (len) {
        if (pass == 0) {
          int rc = check(p, len, err, n);
          if (rc)
            return rc;
          for (const char *q = text; q < p;) {
            size_t l2 = strcspn(q, seps);
            if (l2 == len && !memcmp(q, p, len)) {
              sysgi__fmt(err, n, "'%.*s' is given twice", (int)len, p);
              return SYSGI_E_CONFIG;
            }
            q += l2;
            if (*q)
              q++;
          }
          count++;
          bytes += len + 1;
        } else {
          v[k++] = memcpy(buf, p, len);
          buf[len] = '\0';
          buf += len + 1;
        }
      }
      p += len;
      if (*p)
        p++;
    }
    if (pass == 0) {
      if (need_one && !count) {
        sysgi__fmt(err, n, "no URL prefix given (http://+:8080/)");
        return SYSGI_E_CONFIG;
      }
      if (!out)
        return 0;
      out->v = NULL;
      out->n = 0;
      if (!count)
        return 0;
      v = alloc(actx, count * sizeof(char *) + bytes);
      if (!v)
        return SYSGI_E_NOMEM;
      buf = (char *)(v + count);
    }
  }
  out->v = (const char *const *)v;
  out->n = count;
  return 0;
}

/* ---- the dispatcher ------------------------------------------------------------ */

int sysgi__is_path_type(int type) {
  return type == SYSGI_T_FILE || type == SYSGI_T_DIR ||
         type == SYSGI_T_NEW_FILE || type == SYSGI_T_PATH_LIST;
}

/* The directory part of a NEW_FILE must exist; a bare name is in the
 * working directory, which does. */
static int check_new_file(const char *v, char *err, size_t n) {
  size_t len = strlen(v), cut = len;
  char small[1024], *dir = small;
  int kind;
  if (sysgi__path_kind(v) == SYSGI__PATH_DIR) {
    sysgi__fmt(err, n, "%s is a directory, not a file", v);
    return SYSGI_E_CONFIG;
  }
  while (cut > 0 && !sysgi__path_is_sep(v[cut - 1]))
    cut--;
  if (cut == 0)
    return 0;
  if (cut >= sizeof small && !(dir = malloc(cut + 1)))
    return SYSGI_E_NOMEM;
  memcpy(dir, v, cut);
  dir[cut] = '\0';
  kind = sysgi__path_kind(dir);
  if (kind != SYSGI__PATH_DIR)
    sysgi__fmt(err, n, "no such directory: %s (for the file %s)", dir, v);
  if (dir != small)
    free(dir);
  return kind == SYSGI__PATH_DIR ? 0 : SYSGI_E_CONFIG;
}

int sysgi__parse_value(const sysgi_setting *s, const char *v, void *out,
                       sysgi__alloc_fn alloc, void *actx, char *err,
                       size_t n) {
  uint64_t u;
  int kind;
  if (err && n)
    err[0] = '\0';
  if (!v) {
    sysgi__fmt(err, n, "no value");
    return SYSGI_E_CONFIG;
  }
  switch (s->type) {
  case SYSGI_T_BOOL:
    if (sysgi_parse_bool(v, (int *)out) == 0)
      return 0;
    sysgi__fmt(err, n, "'%s' is not a boolean (use on/off, true/false, "
               "yes/no or 1/0)", v);
    return SYSGI_E_CONFIG;
  case SYSGI_T_UINT:
    if (sysgi_parse_uint(v, (uint64_t)s->min, (uint64_t)s->max, &u) == 0) {
      if (out)
        *(unsigned *)out = (unsigned)u;
      return 0;
    }
    sysgi__fmt(err, n, "'%s' is not a number from %lld to %lld", v,
               (long long)s->min, (long long)s->max);
    return SYSGI_E_CONFIG;
  case SYSGI_T_INT:
    if (parse_int(v, s->min, s->max, (int *)out) == 0)
      return 0;
    sysgi__fmt(err, n, "'%s' is not a number from %lld to %lld", v,
               (long long)s->min, (long long)s->max);
    return SYSGI_E_CONFIG;
  case SYSGI_T_SIZE:
    if (sysgi_parse_size(v, (uint64_t *)out) == 0)
      return 0;
    sysgi__fmt(err, n, "'%s' is not a size (a number of bytes, or with K, M "
               "or G: 512M)", v);
    return SYSGI_E_CONFIG;
  case SYSGI_T_SECONDS:
    if (sysgi_parse_uint(v, (uint64_t)s->min, (uint64_t)s->max, &u) == 0) {
      if (out)
        *(unsigned *)out = (unsigned)(u * 1000u);
      return 0;
    }
    sysgi__fmt(err, n, "'%s' is not a number of seconds from %lld to %lld",
               v, (long long)s->min, (long long)s->max);
    return SYSGI_E_CONFIG;
  case SYSGI_T_LOG_LEVEL:
    if (parse_log_level(v, (int *)out) == 0)
      return 0;
    sysgi__fmt(err, n, "'%s' is not a log level (use error, warn, info or "
               "debug)", v);
    return SYSGI_E_CONFIG;
  case SYSGI_T_LISTEN:
    return parse_list(v, " \t,", check_listen_item, 1, (sysgi__list *)out,
                      alloc, actx, err, n);
  case SYSGI_T_PATH_LIST: {
    char seps[2] = {sysgi__path_list_sep(), '\0'};
    return parse_list(v, seps, check_path_item, 0, (sysgi__list *)out,
                      alloc, actx, err, n);
  }
  default:
    break;
  }
  /* The rest are strings: validated here, stored as a pointer to `v`. */
  switch (s->type) {
  case SYSGI_T_STRING:
    if (!*v) {
      sysgi__fmt(err, n, "must not be empty");
      return SYSGI_E_CONFIG;
    }
    break;
  case SYSGI_T_FILE:
  case SYSGI_T_DIR:
    kind = sysgi__path_kind(v);
    if (s->type == SYSGI_T_FILE && kind != SYSGI__PATH_FILE) {
      sysgi__fmt(err, n, kind == SYSGI__PATH_DIR
                             ? "%s is a directory, not a file"
                             : "no such file: %s", v);
      return SYSGI_E_CONFIG;
    }
    if (s->type == SYSGI_T_DIR && kind != SYSGI__PATH_DIR) {
      sysgi__fmt(err, n, kind == SYSGI__PATH_FILE
                             ? "%s is a file, not a directory"
                             : "no such directory: %s", v);
      return SYSGI_E_CONFIG;
    }
    break;
  case SYSGI_T_NEW_FILE: {
    int rc;
    if (!*v) {
      sysgi__fmt(err, n, "must not be empty");
      return SYSGI_E_CONFIG;
    }
    if ((rc = check_new_file(v, err, n)) != 0)
      return rc;
    break;
  }
  case SYSGI_T_IDENTIFIER:
    if (!is_ident(v)) {
      sysgi__fmt(err, n, "'%s' is not a Python identifier (the name of the "
                 "WSGI callable in the script)", v);
      return SYSGI_E_CONFIG;
    }
    break;
  case SYSGI_T_APP_GROUP:
    if (sysgi_check_group_spec(v) != 0) {
      sysgi__fmt(err, n, "unknown application group macro '%s' (use "
                 "%%{GLOBAL}, %%{SERVER}, %%{RESOURCE}, %%{ENV:name} or a "
                 "literal name)", v);
      return SYSGI_E_CONFIG;
    }
    break;
  case SYSGI_T_HASH_SEED:
    if (strcmp(v, "random") &&
        sysgi_parse_uint(v, 0, 4294967295u, &u) != 0) {
      sysgi__fmt(err, n, "'%s' is not 'random' or a number from 0 to "
                 "4294967295", v);
      return SYSGI_E_CONFIG;
    }
    break;
  case SYSGI_T_PROC_GROUP:
    if (*v && strcmp(v, "%{GLOBAL}") && !sysgi__valid_group_name(v)) {
      sysgi__fmt(err, n, "'%s' is not a process group name (use %%{GLOBAL} "
                 "or the NAME of a [process-group:NAME])", v);
      return SYSGI_E_CONFIG;
    }
    if (out) /* %{GLOBAL}: no group, the server's own process */
      *(const char **)out = strcmp(v, "%{GLOBAL}") ? v : "";
    return 0;
  default:
    sysgi__fmt(err, n, "internal error: setting %s has no parser", s->name);
    return SYSGI_E_CONFIG;
  }
  if (out)
    *(const char **)out = v;
  return 0;
}

int sysgi_config_check_value(const sysgi_setting *s, const char *value,
                             char *err, size_t err_len) {
  if (!s) {
    sysgi__fmt(err, err_len, "unknown setting");
    return SYSGI_E_CONFIG;
  }
  return sysgi__parse_value(s, value, NULL, NULL, NULL, err, err_len);
}

int sysgi_config_default_case_insensitive(void) {
  return sysgi__case_insensitive_paths();
}
