/*
 * config_finish.c: from sections of text to the typed views. finish()
 * applies defaults and inheritance, runs the cross-checks that need the
 * whole configuration (mounts that collide, an app without a script or
 * naming an unknown process group), and orders apps and groups; dump() and
 * match() read the result.
 */
#include "config_internal.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(offsetof(sysgi_server_settings, n_listen) ==
                   offsetof(sysgi_server_settings, listen) + sizeof(void *),
               "listen list layout");
_Static_assert(offsetof(sysgi_server_settings, n_python_path) ==
                   offsetof(sysgi_server_settings, python_path) +
                       sizeof(void *),
               "python_path list layout");
_Static_assert(offsetof(sysgi_group_settings, n_python_path) ==
                   offsetof(sysgi_group_settings, python_path) +
                       sizeof(void *),
               "group python_path list layout");

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

int sysgi__mount_cmp(const char *a, const char *b, int ci) {
  if (!ci)
    return strcmp(a, b);
  for (;; a++, b++) {
    int x = lower((unsigned char)*a), y = lower((unsigned char)*b);
    if (x != y || !x)
      return x - y;
  }
}

static void *view_of(sysgi__section *s) { return &s->view; }

/* Gives every row of the section's scope a value (set, inherited from the
 * server, or the default) and parses it into the view. */
static void fill(sysgi_config *cfg, sysgi__section *s) {
  size_t n;
  const sysgi_setting *t = sysgi_config_settings(&n);
  const sysgi__section *server = cfg->sections[0];
  char err[1024];
  for (size_t i = 0; i < n; i++) {
    sysgi__value *v = &s->values[i];
    int rc;
    if (!(t[i].scopes & s->scope))
      continue;
    if (!v->set) {
      const sysgi__value *from = NULL;
      if (t[i].inherit) {
        const sysgi_setting *srv =
            sysgi_config_find_scoped(t[i].inherit, SYSGI_SCOPE_SERVER);
        from = srv ? &server->values[sysgi__row_index(srv)] : NULL;
      }
      if (from && from->text)
        rc = sysgi__value_assign(v, from->text, &from->origin);
      else
        rc = sysgi__value_assign(v, t[i].default_value, NULL);
      if (rc) {
        cfg->out_of_memory = 1;
        continue;
      }
    }
    if (!v->text)
      continue; /* no default: the view's field stays NULL / 0 */
    /* Values were checked when set; a path may have gone since, and a
     * default is checked here for the first time. */
    rc = sysgi__parse_value(&t[i], v->text, (char *)view_of(s) + t[i].offset,
                            sysgi__arena_alloc, cfg, err, sizeof err);
    if (rc == SYSGI_E_NOMEM)
      cfg->out_of_memory = 1;
    else if (rc)
      sysgi__error(cfg, &v->origin, s->name, t[i].name, "%s", err);
  }
}

static int cmp_app(const void *a, const void *b) {
  const sysgi__section *x = *(sysgi__section *const *)a;
  const sysgi__section *y = *(sysgi__section *const *)b;
  int c = strcmp(x->arg, y->arg);
  return c ? c : strcmp(x->name, y->name);
}

static int cmp_group(const void *a, const void *b) {
  const sysgi__section *x = *(sysgi__section *const *)a;
  const sysgi__section *y = *(sysgi__section *const *)b;
  return strcmp(x->arg, y->arg);
}

static const sysgi__value *value_of(const sysgi__section *s, const char *key) {
  const sysgi_setting *row = sysgi_config_find_scoped(key, s->scope);
  return row ? &s->values[sysgi__row_index(row)] : NULL;
}

static void check_apps(sysgi_config *cfg) {
  for (size_t i = 0; i < cfg->n_apps; i++) {
    sysgi__section *a = cfg->apps[i];
    const sysgi__value *script = value_of(a, "script");
    const sysgi__value *pg = value_of(a, "process-group");
    const char *g = a->view.app.process_group;
    if (!script || !script->text)
      sysgi__error(cfg, &a->origin, a->name, "script",
                   "missing (every application needs its WSGI script)");
    if (g && *g && !sysgi_config_find_group(cfg, g))
      sysgi__error(cfg, pg ? &pg->origin : &a->origin, a->name,
                   "process-group", "no [process-group:%s] is defined", g);
    /* Sorted, a collision is with a neighbour, or (case-insensitively)
     * with some earlier entry: compare with all of them, n is small. */
    for (size_t j = 0; j < i; j++) {
      sysgi__section *b = cfg->apps[j];
      char where[600];
      if (sysgi__mount_cmp(a->arg, b->arg, cfg->case_insensitive) != 0)
        continue;
      sysgi_origin_format(&b->origin, where, sizeof where);
      sysgi__error(cfg, &a->origin, a->name, NULL,
                   "the mount '%s' collides with [%s] (%s)%s",
                   a->arg[0] ? a->arg : "/", b->name, where,
                   cfg->case_insensitive && strcmp(a->arg, b->arg)
                       ? "; mounts compare case-insensitively"
                       : "");
    }
  }
}

int sysgi_config_finish(sysgi_config *cfg) {
  if (!cfg)
    return SYSGI_E_INVAL;
  if (cfg->finished)
    return sysgi_config_n_errors(cfg) ? SYSGI_E_CONFIG : 0;
  cfg->finished = 1;
  for (size_t i = 0; i < cfg->n_sections; i++) {
    sysgi__section *s = cfg->sections[i];
    if (s->scope == SYSGI_SCOPE_APP)
      cfg->n_apps++;
    else if (s->scope == SYSGI_SCOPE_GROUP)
      cfg->n_groups++;
  }
  cfg->apps = calloc(cfg->n_apps + 1, sizeof(void *));
  cfg->groups = calloc(cfg->n_groups + 1, sizeof(void *));
  cfg->mounts = calloc(cfg->n_apps + 1, sizeof(char *));
  if (!cfg->apps || !cfg->groups || !cfg->mounts) {
    cfg->out_of_memory = 1;
    cfg->n_apps = cfg->n_groups = 0;
    return SYSGI_E_CONFIG;
  }
  cfg->n_apps = cfg->n_groups = 0;
  for (size_t i = 1; i < cfg->n_sections; i++) {
    sysgi__section *s = cfg->sections[i];
    if (s->scope == SYSGI_SCOPE_APP)
      cfg->apps[cfg->n_apps++] = s;
    else
      cfg->groups[cfg->n_groups++] = s;
  }
  qsort(cfg->apps, cfg->n_apps, sizeof(void *), cmp_app);
  qsort(cfg->groups, cfg->n_groups, sizeof(void *), cmp_group);

  /* The server first: apps and groups inherit from it, and its
   * case-sensitivity decides how mounts compare. */
  cfg->sections[0]->view.server.case_sensitivity = -1;
  fill(cfg, cfg->sections[0]);
  if (cfg->sections[0]->view.server.case_sensitivity >= 0)
    cfg->case_insensitive = !cfg->sections[0]->view.server.case_sensitivity;
  cfg->sections[0]->view.server.case_insensitive_paths = cfg->case_insensitive;
  for (size_t i = 0; i < cfg->n_groups; i++) {
    fill(cfg, cfg->groups[i]);
    cfg->groups[i]->view.group.name = cfg->groups[i]->arg;
  }
  for (size_t i = 0; i < cfg->n_apps; i++) {
    fill(cfg, cfg->apps[i]);
    cfg->apps[i]->view.app.mount = cfg->apps[i]->arg;
    cfg->apps[i]->view.app.section = cfg->apps[i]->name;
    cfg->mounts[i] = cfg->apps[i]->arg;
  }
  check_apps(cfg);
  return sysgi_config_n_errors(cfg) ? SYSGI_E_CONFIG : 0;
}

/* ---- views ------------------------------------------------------------------ */

const sysgi_server_settings *sysgi_config_server(const sysgi_config *cfg) {
  return cfg && cfg->finished ? &cfg->sections[0]->view.server : NULL;
}

size_t sysgi_config_n_apps(const sysgi_config *cfg) {
  return cfg && cfg->finished ? cfg->n_apps : 0;
}

const sysgi_app_settings *sysgi_config_app(const sysgi_config *cfg, size_t i) {
  return cfg && cfg->finished && i < cfg->n_apps ? &cfg->apps[i]->view.app
                                                 : NULL;
}

size_t sysgi_config_n_groups(const sysgi_config *cfg) {
  return cfg && cfg->finished ? cfg->n_groups : 0;
}

const sysgi_group_settings *sysgi_config_group(const sysgi_config *cfg,
                                               size_t i) {
  return cfg && cfg->finished && i < cfg->n_groups
             ? &cfg->groups[i]->view.group
             : NULL;
}

const sysgi_group_settings *sysgi_config_find_group(const sysgi_config *cfg,
                                                    const char *name) {
  if (!cfg || !cfg->finished || !name)
    return NULL;
  for (size_t i = 0; i < cfg->n_groups; i++)
    if (!strcmp(cfg->groups[i]->arg, name))
      return &cfg->groups[i]->view.group;
  return NULL;
}

const sysgi_app_settings *sysgi_config_match(const sysgi_config *cfg,
                                             const char *path,
                                             size_t *script_name_len) {
  size_t len = 0;
  int i;
  if (!cfg || !cfg->finished || !path)
    return NULL;
  i = sysgi_mount_match(cfg->mounts, cfg->n_apps, path, cfg->case_insensitive,
                        &len);
  if (i < 0)
    return NULL;
  if (script_name_len)
    *script_name_len = len;
  return &cfg->apps[i]->view.app;
}

/* ---- dump ------------------------------------------------------------------- */

static void dump_section(const sysgi__section *s, sysgi_config_dump_fn fn,
                         void *ctx) {
  size_t n;
  const sysgi_setting *t = sysgi_config_settings(&n);
  for (size_t i = 0; i < n; i++)
    if (t[i].scopes & s->scope)
      fn(ctx, s->name, t[i].name, s->values[i].text, &s->values[i].origin);
}

void sysgi_config_dump(const sysgi_config *cfg, sysgi_config_dump_fn fn,
                       void *ctx) {
  if (!cfg || !fn || !cfg->finished)
    return;
  dump_section(cfg->sections[0], fn, ctx);
  for (size_t i = 0; i < cfg->n_apps; i++)
    dump_section(cfg->apps[i], fn, ctx);
  for (size_t i = 0; i < cfg->n_groups; i++)
    dump_section(cfg->groups[i], fn, ctx);
}
