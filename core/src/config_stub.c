/* Temporary: the model's entry points until config_model.c lands. Every
 * call fails, so nothing can mistake this for the real model. */
#include "sysgi_config.h"
#include <stdlib.h>
const char *sysgi_origin_kind_name(int kind) { return "?"; }
const char *sysgi_origin_format(const sysgi_origin *o, char *buf, size_t n) { if (n) buf[0] = 0; return buf; }
int sysgi_config_check_value(const sysgi_setting *s, const char *v, char *e, size_t n) { return SYSGI_E_UNSUPPORTED; }
int sysgi_parse_bool(const char *v, int *o) { return SYSGI_E_UNSUPPORTED; }
int sysgi_parse_size(const char *v, uint64_t *o) { return SYSGI_E_UNSUPPORTED; }
int sysgi_parse_uint(const char *v, uint64_t a, uint64_t b, uint64_t *o) { return SYSGI_E_UNSUPPORTED; }
int sysgi_config_default_case_insensitive(void) { return 0; }
sysgi_config *sysgi_config_new(int ci) { return NULL; }
void sysgi_config_free(sysgi_config *c) {}
int sysgi_config_set(sysgi_config *c, const char *s, const char *k, const char *v, const sysgi_origin *o) { return SYSGI_E_UNSUPPORTED; }
int sysgi_config_add_section(sysgi_config *c, const char *s, const sysgi_origin *o) { return SYSGI_E_UNSUPPORTED; }
void sysgi_config_add_error(sysgi_config *c, const sysgi_origin *o, const char *s, const char *k, const char *m) {}
int sysgi_config_finish(sysgi_config *c) { return SYSGI_E_UNSUPPORTED; }
size_t sysgi_config_n_errors(const sysgi_config *c) { return 0; }
const char *sysgi_config_error(const sysgi_config *c, size_t i) { return NULL; }
const char *sysgi_config_get(const sysgi_config *c, const char *s, const char *k, const sysgi_origin **o) { return NULL; }
void sysgi_config_dump(const sysgi_config *c, sysgi_config_dump_fn f, void *x) {}
const sysgi_server_settings *sysgi_config_server(const sysgi_config *c) { return NULL; }
size_t sysgi_config_n_apps(const sysgi_config *c) { return 0; }
const sysgi_app_settings *sysgi_config_app(const sysgi_config *c, size_t i) { return NULL; }
size_t sysgi_config_n_groups(const sysgi_config *c) { return 0; }
const sysgi_group_settings *sysgi_config_group(const sysgi_config *c, size_t i) { return NULL; }
const sysgi_group_settings *sysgi_config_find_group(const sysgi_config *c, const char *n) { return NULL; }
const sysgi_app_settings *sysgi_config_match(const sysgi_config *c, const char *p, size_t *l) { return NULL; }
