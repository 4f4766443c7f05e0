/*
 * config_internal.h: what the files of the configuration model share.
 */
#ifndef SYSGI_CONFIG_INTERNAL_H
#define SYSGI_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "sysgi_config.h"

/* A list setting's place in its view: `const char *const *v; size_t n;`
 * next to each other (checked by _Static_assert in config_finish.c). */
typedef struct sysgi__list {
  const char *const *v;
  size_t n;
} sysgi__list;

/* Allocator for what a parsed value keeps (list arrays): the model's
 * arena, freed with the model. Returns NULL when out of memory. */
typedef void *(*sysgi__alloc_fn)(void *ctx, size_t size);

/* Parses `text` with setting `s`'s parser. When `out` is not NULL the typed
 * value is stored there (the field at s->offset of the view; strings point
 * into `text`, which must outlive the view; lists are allocated with
 * alloc(actx)). On error writes the reason into err and returns
 * SYSGI_E_CONFIG (SYSGI_E_NOMEM when alloc failed). */
int sysgi__parse_value(const sysgi_setting *s, const char *text, void *out,
                       sysgi__alloc_fn alloc, void *actx, char *err,
                       size_t err_len);

/* Whether a setting's value is a path (or list of paths) that a file
 * origin makes relative to the file's directory. */
int sysgi__is_path_type(int type);

/* A valid process-group name: non-empty, printable, no white space, not a
 * %{...} macro. */
int sysgi__valid_group_name(const char *name);

/* snprintf that always NUL-terminates and never fails the caller. */
void sysgi__fmt(char *buf, size_t n, const char *fmt, ...);

#endif /* SYSGI_CONFIG_INTERNAL_H */

/* ---- the model (config_model.c, config_finish.c) ------------------------- */
#ifndef SYSGI_CONFIG_MODEL_TYPES
#define SYSGI_CONFIG_MODEL_TYPES

/* One setting's value in one section. `text` and `origin.where` are owned.
 * `set`: given by a source (else a default or inherited after finish). */
typedef struct sysgi__value {
  char *text;
  sysgi_origin origin;
  int set;
} sysgi__value;

typedef struct sysgi__section {
  unsigned scope;        /* one SYSGI_SCOPE_* bit                         */
  char *name;            /* as written: "server", "app:/x/", "process-group:a" */
  char *arg;             /* the normalised mount ("" root) or group name  */
  sysgi_origin origin;   /* where it was first named (owned `where`)      */
  sysgi__value *values;  /* one per table row (rows of other scopes unused) */
  union {
    sysgi_server_settings server;
    sysgi_app_settings app;
    sysgi_group_settings group;
  } view;
} sysgi__section;

struct sysgi_config {
  int case_insensitive;
  int finished;
  sysgi__section **sections; /* [0] is always "server"                    */
  size_t n_sections, cap_sections;
  char **errors;
  size_t n_errors, cap_errors;
  void **allocs;             /* the arena: lists of the views             */
  size_t n_allocs, cap_allocs;
  /* after finish: apps by mount, groups by name, and the mounts for match */
  sysgi__section **apps, **groups;
  size_t n_apps, n_groups;
  const char **mounts;
  int out_of_memory;
};

/* Records "ORIGIN: [SECTION] KEY: why" (printf-style why). */
void sysgi__error(sysgi_config *cfg, const sysgi_origin *o,
                  const char *section, const char *key, const char *fmt, ...);
void *sysgi__arena_alloc(void *cfg, size_t size);
char *sysgi__strdup(const char *s);
/* Replaces v's text and origin with copies; 0 or SYSGI_E_NOMEM. */
int sysgi__value_assign(sysgi__value *v, const char *text,
                        const sysgi_origin *o);
/* The index of row `s` in the table. */
size_t sysgi__row_index(const sysgi_setting *s);
int sysgi__mount_cmp(const char *a, const char *b, int case_insensitive);

#endif
