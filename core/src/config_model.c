/*
 * config_model.c: the model's sections and their values: set (with the
 * origin of each value, a later set replacing an earlier one), the error
 * list, and reading a value back.
 */
#include "config_internal.h"
#include "config_platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ----------------------------------------------------------- */

char *sysgi__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  return p ? memcpy(p, s, n) : NULL;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return 0;
  size_t c = *cap ? *cap * 2 : 8;
  while (c < need)
    c *= 2;
  void *p = realloc(*arr, c * elem);
  if (!p)
    return SYSGI_E_NOMEM;
  *arr = p;
  *cap = c;
  return 0;
}

void *sysgi__arena_alloc(void *ctx, size_t size) {
  sysgi_config *cfg = ctx;
  void *p;
  if (grow((void **)&cfg->allocs, &cfg->cap_allocs, cfg->n_allocs + 1,
           sizeof(void *)))
    return NULL;
  if (!(p = malloc(size ? size : 1)))
    return NULL;
  cfg->allocs[cfg->n_allocs++] = p;
  return p;
}

size_t sysgi__row_index(const sysgi_setting *s) {
  size_t n;
  return (size_t)(s - sysgi_config_settings(&n));
}

int sysgi__value_assign(sysgi__value *v, const char *text,
                        const sysgi_origin *o) {
  char *t = text ? sysgi__strdup(text) : NULL;
  char *w = o && o->where ? sysgi__strdup(o->where) : NULL;
  if ((text && !t) || (o && o->where && !w)) {
    free(t);
    free(w);
    return SYSGI_E_NOMEM;
  }
  free(v->text);
  free((char *)v->origin.where);
  v->text = t;
  v->origin.kind = o ? o->kind : SYSGI_ORIGIN_DEFAULT;
  v->origin.where = w;
  v->origin.line = o ? o->line : 0;
  return 0;
}

/* ---- origins and errors -------------------------------------------------------- */

const char *sysgi_origin_kind_name(int kind) {
  switch (kind) {
  case SYSGI_ORIGIN_DEFAULT: return "default";
  case SYSGI_ORIGIN_FILE: return "file";
  case SYSGI_ORIGIN_REGISTRY: return "registry";
  case SYSGI_ORIGIN_COMMAND_LINE: return "command line";
  case SYSGI_ORIGIN_DIRECTIVE: return "directive";
  default: return "unknown";
  }
}

const char *sysgi_origin_format(const sysgi_origin *o, char *buf, size_t n) {
  const char *w = o && o->where ? o->where : "";
  if (!buf || !n)
    return buf;
  if (!o || o->kind == SYSGI_ORIGIN_DEFAULT)
    sysgi__fmt(buf, n, "default");
  else if (o->kind == SYSGI_ORIGIN_REGISTRY)
    sysgi__fmt(buf, n, "registry %s", w);
  else if (o->kind == SYSGI_ORIGIN_COMMAND_LINE)
    sysgi__fmt(buf, n, "command line %s", w);
  else if (o->line)
    sysgi__fmt(buf, n, "%s:%u", w, o->line);
  else
    sysgi__fmt(buf, n, "%s", w);
  return buf;
}

void sysgi__error(sysgi_config *cfg, const sysgi_origin *o,
                  const char *section, const char *key, const char *fmt, ...) {
  char why[1024], where[1100], sec[300], line[2600];
  va_list ap;
  va_start(ap, fmt);
  if (vsnprintf(why, sizeof why, fmt, ap) < 0)
    why[0] = '\0';
  va_end(ap);
  where[0] = sec[0] = '\0';
  if (o && o->kind != SYSGI_ORIGIN_DEFAULT) {
    sysgi_origin_format(o, where, sizeof where - 2);
    strcat(where, ": ");
  }
  if (section)
    sysgi__fmt(sec, sizeof sec, "[%s] ", section);
  sysgi__fmt(line, sizeof line, "%s%s%s%s%s", where, sec, key ? key : "",
             key ? ": " : "", why);
  char *copy = sysgi__strdup(line);
  if (!copy || grow((void **)&cfg->errors, &cfg->cap_errors,
                    cfg->n_errors + 1, sizeof(char *))) {
    free(copy);
    cfg->out_of_memory = 1;
    return;
  }
  cfg->errors[cfg->n_errors++] = copy;
}

void sysgi_config_add_error(sysgi_config *cfg, const sysgi_origin *origin,
                            const char *section, const char *key,
                            const char *message) {
  if (cfg)
    sysgi__error(cfg, origin, section, key, "%s", message ? message : "error");
}

size_t sysgi_config_n_errors(const sysgi_config *cfg) {
  return cfg ? cfg->n_errors + (cfg->out_of_memory ? 1 : 0) : 0;
}

const char *sysgi_config_error(const sysgi_config *cfg, size_t i) {
  if (!cfg)
    return NULL;
  if (i < cfg->n_errors)
    return cfg->errors[i];
  if (i == cfg->n_errors && cfg->out_of_memory)
    return "out of memory while reading the configuration";
  return NULL;
}

/* ---- sections ---------------------------------------------------------------- */

static void free_section(sysgi__section *s) {
  size_t n;
  if (!s)
    return;
  sysgi_config_settings(&n);
  if (s->values)
    for (size_t i = 0; i < n; i++) {
      free(s->values[i].text);
      free((char *)s->values[i].origin.where);
    }
  free(s->values);
  free(s->name);
  free(s->arg);
  free((char *)s->origin.where);
  free(s);
}

static sysgi__section *new_section(unsigned scope, const char *name,
                                   const char *arg, const sysgi_origin *o) {
  size_t n;
  sysgi__section *s = calloc(1, sizeof(*s));
  sysgi_config_settings(&n);
  if (!s)
    return NULL;
  s->scope = scope;
  s->name = sysgi__strdup(name);
  s->arg = sysgi__strdup(arg);
  s->values = calloc(n, sizeof(sysgi__value));
  if (o && o->where)
    s->origin.where = sysgi__strdup(o->where);
  s->origin.kind = o ? o->kind : SYSGI_ORIGIN_DEFAULT;
  s->origin.line = o ? o->line : 0;
  if (!s->name || !s->arg || !s->values || (o && o->where && !s->origin.where)) {
    free_section(s);
    return NULL;
  }
  return s;
}

sysgi_config *sysgi_config_new(int case_insensitive_paths) {
  sysgi_config *cfg = calloc(1, sizeof(*cfg));
  if (!cfg)
    return NULL;
  cfg->case_insensitive = case_insensitive_paths ? 1 : 0;
  if (grow((void **)&cfg->sections, &cfg->cap_sections, 1, sizeof(void *)) ||
      !(cfg->sections[0] = new_section(SYSGI_SCOPE_SERVER, "server", "", NULL))) {
    free(cfg->sections);
    free(cfg);
    return NULL;
  }
  cfg->n_sections = 1;
  return cfg;
}

void sysgi_config_free(sysgi_config *cfg) {
  if (!cfg)
    return;
  for (size_t i = 0; i < cfg->n_sections; i++)
    free_section(cfg->sections[i]);
  for (size_t i = 0; i < cfg->n_errors; i++)
    free(cfg->errors[i]);
  for (size_t i = 0; i < cfg->n_allocs; i++)
    free(cfg->allocs[i]);
  free(cfg->sections);
  free(cfg->errors);
  free(cfg->allocs);
  free(cfg->apps);
  free(cfg->groups);
  free(cfg->mounts);
  free(cfg);
}

static int prefix(const char *s, const char *p) {
  for (; *p; s++, p++) {
    int a = (unsigned char)*s, b = (unsigned char)*p;
    if (a >= 'A' && a <= 'Z')
      a += 'a' - 'A';
    if (a != b)
      return 0;
  }
  return 1;
}

/* Splits a section name: "server", "app:/MOUNT", "process-group:NAME"
 * (the kind case-insensitively, as Windows' profile API does). Writes the
 * normalised argument into arg (size n). Returns the scope, or 0 with the
 * reason in arg. */
static unsigned parse_section_name(const char *name, char *arg, size_t n) {
  if (prefix(name, "server") && name[6] == '\0') {
    arg[0] = '\0';
    return SYSGI_SCOPE_SERVER;
  }
  if (prefix(name, "app:")) {
    const char *m = name + 4;
    if (m[0] != '/') {
      sysgi__fmt(arg, n, "the mount must start with '/' ([app:/] is the "
                 "root, [app:/blog] a sub-path)");
      return 0;
    }
    if (strlen(m) >= n || strpbrk(m, " \t?#\\") ||
        strstr(m, "//")) {
      sysgi__fmt(arg, n, "'%s' is not a URL path to mount on", m);
      return 0;
    }
    sysgi__fmt(arg, n, "%s", m);
    sysgi_mount_normalize(arg);
    return SYSGI_SCOPE_APP;
  }
  if (prefix(name, "process-group:")) {
    const char *g = name + 14;
    if (!sysgi__valid_group_name(g) || strlen(g) >= n) {
      sysgi__fmt(arg, n, "'%s' is not a process group name (letters, digits, "
                 "'-', '_' or '.', no spaces)", g);
      return 0;
    }
    sysgi__fmt(arg, n, "%s", g);
    return SYSGI_SCOPE_GROUP;
  }
  sysgi__fmt(arg, n, "unknown section (use [server], [app:/MOUNT] or "
             "[process-group:NAME])");
  return 0;
}

/* The section called `name` (as written, after the kind), or NULL. */
static sysgi__section *lookup(const sysgi_config *cfg, unsigned scope,
                              const char *name) {
  size_t skip = scope == SYSGI_SCOPE_APP ? 4 : scope == SYSGI_SCOPE_GROUP ? 14 : 0;
  if (scope == SYSGI_SCOPE_SERVER)
    return cfg->sections[0];
  for (size_t i = 1; i < cfg->n_sections; i++) {
    sysgi__section *s = cfg->sections[i];
    if (s->scope == scope && !strcmp(s->name + skip, name + skip))
      return s;
  }
  return NULL;
}

/* Finds or creates the section; NULL after recording why. */
static sysgi__section *section_for(sysgi_config *cfg, const char *name,
                                   const sysgi_origin *o, const char *key) {
  char arg[512];
  unsigned scope;
  sysgi__section *s;
  if (!name) {
    sysgi__error(cfg, o, NULL, key, "no section given");
    return NULL;
  }
  if (!(scope = parse_section_name(name, arg, sizeof arg))) {
    sysgi__error(cfg, o, name, key, "%s", arg);
    return NULL;
  }
  if ((s = lookup(cfg, scope, name)))
    return s;
  if (grow((void **)&cfg->sections, &cfg->cap_sections, cfg->n_sections + 1,
           sizeof(void *)) ||
      !(s = new_section(scope, name, arg, o))) {
    cfg->out_of_memory = 1;
    return NULL;
  }
  /* "App:/x" and "app:/x" are one section; keep the canonical kind. */
  memcpy(s->name, scope == SYSGI_SCOPE_APP ? "app:" : "process-group:",
         scope == SYSGI_SCOPE_APP ? 4 : 14);
  cfg->sections[cfg->n_sections++] = s;
  return s;
}

int sysgi_config_add_section(sysgi_config *cfg, const char *section,
                             const sysgi_origin *origin) {
  if (!cfg || cfg->finished)
    return SYSGI_E_INVAL;
  return section_for(cfg, section, origin, NULL) ? 0 : SYSGI_E_CONFIG;
}

static const char *scope_name(unsigned scope) {
  return scope == SYSGI_SCOPE_SERVER ? "[server]"
         : scope == SYSGI_SCOPE_APP  ? "[app:MOUNT]"
                                     : "[process-group:NAME]";
}

/* Why `key` has no row in `scope`, recorded as an error. */
static void unknown_key(sysgi_config *cfg, const sysgi_origin *o,
                        const sysgi__section *s, const char *key) {
  const sysgi_setting *other = sysgi_config_find(key);
  const char *why = sysgi_config_unsupported(key);
  char where[160] = "";
  if (why && s->scope == SYSGI_SCOPE_GROUP) {
    sysgi__error(cfg, o, s->name, key, "%s", why);
    return;
  }
  if (other && !strcmp(other->name, key)) {
    size_t n;
    const sysgi_setting *t = sysgi_config_settings(&n);
    for (size_t i = 0; i < n; i++)
      if (!strcmp(t[i].name, key)) {
        size_t l = strlen(where);
        sysgi__fmt(where + l, sizeof where - l, "%s%s", l ? " or " : "",
                   scope_name(t[i].scopes));
      }
    sysgi__error(cfg, o, s->name, key, "not allowed here (it belongs in %s)",
                 where);
  } else if (other) {
    sysgi__error(cfg, o, s->name, key, "unknown setting (the key for %s is "
                 "'%s')", key, other->name);
  } else {
    sysgi__error(cfg, o, s->name, key, "unknown setting");
  }
}

/* A relative path from a file is relative to that file's directory, so
 * an INI file can be moved with its site. *out is NULL when `v` stays. */
static int resolve_paths(const sysgi_setting *row, const char *v,
                         const sysgi_origin *o, char **out) {
  const char *dir_end, *p;
  size_t dir_len, cap;
  char list_sep = row->type == SYSGI_T_PATH_LIST ? sysgi__path_list_sep() : 0;
  char *r, *w;
  *out = NULL;
  if (!o || o->kind != SYSGI_ORIGIN_FILE || !o->where)
    return 0;
  dir_end = NULL;
  for (p = o->where; *p; p++)
    if (sysgi__path_is_sep(*p))
      dir_end = p;
  if (!dir_end)
    return 0; /* the file is in the working directory */
  dir_len = (size_t)(dir_end - o->where) + 1;
  cap = strlen(v) + 1;
  for (p = v; *p; p++)
    if (*p == list_sep)
      cap += dir_len;
  cap += dir_len;
  if (!(r = malloc(cap)))
    return SYSGI_E_NOMEM;
  w = r;
  for (p = v;;) {
    size_t len = list_sep ? strcspn(p, (char[]){list_sep, 0}) : strlen(p);
    if (len) {
      char item0 = p[0];
      int rel = !sysgi__path_is_absolute(p) && !sysgi__path_is_sep(item0) &&
                !(len > 1 && p[1] == ':');
      if (rel) {
        memcpy(w, o->where, dir_len);
        w += dir_len;
      }
      memcpy(w, p, len);
      w += len;
    }
    p += len;
    if (!*p)
      break;
    *w++ = *p++;
  }
  *w = '\0';
  *out = r;
  return 0;
}

int sysgi_config_set(sysgi_config *cfg, const char *section, const char *key,
                     const char *value, const sysgi_origin *origin) {
  sysgi__section *s;
  const sysgi_setting *row;
  char err[1024], *resolved = NULL;
  int rc;
  if (!cfg)
    return SYSGI_E_INVAL;
  if (cfg->finished) {
    sysgi__error(cfg, origin, section, key, "set after the configuration "
                 "was finished");
    return SYSGI_E_INVAL;
  }
  if (!(s = section_for(cfg, section, origin, key)))
    return cfg->out_of_memory ? SYSGI_E_NOMEM : SYSGI_E_CONFIG;
  if (!key || !*key) {
    sysgi__error(cfg, origin, s->name, NULL, "a setting without a name");
    return SYSGI_E_CONFIG;
  }
  if (!(row = sysgi_config_find_scoped(key, s->scope))) {
    unknown_key(cfg, origin, s, key);
    return SYSGI_E_CONFIG;
  }
  if (!value) {
    sysgi__error(cfg, origin, s->name, key, "no value");
    return SYSGI_E_CONFIG;
  }
  if (row->registry && !strcmp(row->name, "config-file") && origin &&
      origin->kind == SYSGI_ORIGIN_FILE) {
    sysgi__error(cfg, origin, s->name, key, "cannot be set in the file it "
                 "names (use the registry value ConfigFile or --config)");
    return SYSGI_E_CONFIG;
  }
  if (sysgi__is_path_type(row->type) &&
      resolve_paths(row, value, origin, &resolved)) {
    cfg->out_of_memory = 1;
    return SYSGI_E_NOMEM;
  }
  rc = sysgi__parse_value(row, resolved ? resolved : value, NULL, NULL, NULL,
                          err, sizeof err);
  if (rc == 0) {
    sysgi__value *v = &s->values[sysgi__row_index(row)];
    rc = sysgi__value_assign(v, resolved ? resolved : value, origin);
    if (rc)
      cfg->out_of_memory = 1;
    else
      v->set = 1;
  } else if (rc == SYSGI_E_NOMEM) {
    cfg->out_of_memory = 1;
  } else {
    sysgi__error(cfg, origin, s->name, key, "%s", err);
  }
  free(resolved);
  return rc;
}

const char *sysgi_config_get(const sysgi_config *cfg, const char *section,
                             const char *key, const sysgi_origin **origin) {
  char arg[512];
  unsigned scope;
  const sysgi__section *s;
  const sysgi_setting *row;
  if (!cfg || !section || !key ||
      !(scope = parse_section_name(section, arg, sizeof arg)))
    return NULL;
  if (scope != SYSGI_SCOPE_SERVER) {
    /* Sections are stored under their canonical kind. */
    char canon[600];
    sysgi__fmt(canon, sizeof canon, "%s%s",
               scope == SYSGI_SCOPE_APP ? "app:" : "process-group:",
               section + (scope == SYSGI_SCOPE_APP ? 4 : 14));
    s = lookup(cfg, scope, canon);
  } else {
    s = cfg->sections[0];
  }
  if (!s || !(row = sysgi_config_find_scoped(key, scope)))
    return NULL;
  const sysgi__value *v = &s->values[sysgi__row_index(row)];
  if (!v->text)
    return NULL;
  if (origin)
    *origin = &v->origin;
  return v->text;
}
