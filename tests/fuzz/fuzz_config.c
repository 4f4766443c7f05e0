/*
 * fuzz_config.c: the configuration model with arbitrary
 * (section, key, value) triples, as every reader (INI, registry, command
 * line, mod_sysgi's directives) feeds it, then finish(), the dump, the
 * typed views, the matcher and the group expander.
 *
 * Input: records separated by '\n'; a record is SECTION '\t' KEY '\t'
 * VALUE (a record without a tab declares the section), except that a
 * first byte of 0x01 makes the record a check_value call on the setting
 * KEY, and 0x02 a match of VALUE against the finished model. Invariants:
 * no crash, an error count that agrees with the return codes, every error
 * message non-empty, every typed view readable.
 */
#include "fuzz_util.h"

#include <stdio.h>

#include "sysgi_config.h"

static void dump_fn(void *ctx, const char *section, const char *key,
                    const char *value, const sysgi_origin *origin) {
  char buf[512];
  size_t *n = ctx;
  *n += strlen(section) + strlen(key) + (value ? strlen(value) : 0);
  sysgi_origin_format(origin, buf, sizeof buf);
}

static const char *env_fn(void *ctx, const char *name) {
  (void)ctx;
  return name[0] == 'X' ? "ENVVALUE" : NULL;
}

static void touch(const char *s) {
  volatile size_t n = s ? strlen(s) : 0;
  (void)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz in = {data, data + size};
  sysgi_config *cfg = sysgi_config_new((int)(size & 1));
  if (!cfg)
    return 0;
  char *match_paths[8];
  size_t n_match = 0;
  int failed = 0;
  while (fz_more(&in)) {
    size_t len;
    char *rec = fz_field(&in, '\n', &len);
    fz r = {(const uint8_t *)rec, (const uint8_t *)rec + len};
    unsigned kind = len && (rec[0] == 1 || rec[0] == 2) ? fz_byte(&r) : 0;
    char *section = fz_field(&r, '\t', NULL);
    char *key = fz_field(&r, '\t', NULL);
    char *value = r.p < r.end ? fz_field(&r, '\n', NULL) : NULL;
    sysgi_origin o = {SYSGI_ORIGIN_FILE, "/nonexistent/fuzz/sysgi.ini",
                      (unsigned)len};
    if (kind == 1 && key) {
      const sysgi_setting *s = sysgi_config_find(key);
      char err[256];
      if (s && sysgi_config_check_value(s, value ? value : "", err,
                                        sizeof err) != 0)
        if (!err[0])
          abort(); /* an error must say why */
    } else if (kind == 2) {
      if (n_match < 8 && value) {
        match_paths[n_match++] = value;
        value = NULL;
      }
    } else if (section && !key) {
      if (sysgi_config_add_section(cfg, section, &o) != 0)
        failed = 1;
    } else if (section && key) {
      if (sysgi_config_set(cfg, section, key, value ? value : "", &o) != 0)
        failed = 1;
      touch(sysgi_config_get(cfg, section, key, NULL));
    }
    free(section);
    free(key);
    free(value);
    free(rec);
  }
  int rc = sysgi_config_finish(cfg);
  if (failed && rc == 0)
    abort(); /* a refused set must make finish() fail */
  if ((rc != 0) != (sysgi_config_n_errors(cfg) != 0))
    abort();
  for (size_t i = 0; i < sysgi_config_n_errors(cfg); i++)
    if (!sysgi_config_error(cfg, i) || !*sysgi_config_error(cfg, i))
      abort();
  size_t total = 0;
  sysgi_config_dump(cfg, dump_fn, &total);
  if (rc == 0) {
    const sysgi_server_settings *s = sysgi_config_server(cfg);
    for (size_t i = 0; i < s->n_listen; i++)
      touch(s->listen[i]);
    for (size_t i = 0; i < s->n_python_path; i++)
      touch(s->python_path[i]);
    touch(s->python_home);
    touch(s->log_file);
    for (size_t i = 0; i < sysgi_config_n_apps(cfg); i++) {
      const sysgi_app_settings *a = sysgi_config_app(cfg, i);
      touch(a->mount);
      touch(a->script);
      touch(a->application_group);
      char out[256];
      sysgi_expand_group(a->application_group, "host", "8080", a->mount,
                         env_fn, NULL, out, sizeof out);
    }
    for (size_t i = 0; i < sysgi_config_n_groups(cfg); i++) {
      const sysgi_group_settings *g = sysgi_config_group(cfg, i);
      if (sysgi_config_find_group(cfg, g->name) != g)
        abort();
    }
    for (size_t i = 0; i < n_match; i++) {
      size_t sn = 0;
      const sysgi_app_settings *a = sysgi_config_match(cfg, match_paths[i],
                                                       &sn);
      if (a && sn > strlen(match_paths[i]))
        abort(); /* SCRIPT_NAME longer than the path */
    }
  }
  for (size_t i = 0; i < n_match; i++)
    free(match_paths[i]);
  sysgi_config_free(cfg);
  return 0;
}
