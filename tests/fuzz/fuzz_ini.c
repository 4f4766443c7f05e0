/*
 * fuzz_ini.c: the INI reader (sysgi_config_read_ini, the text of a
 * sysgi.ini as service/svc_ini.c reads it from disk) on arbitrary bytes,
 * then finish() and the dump. Invariants: no crash or leak; a
 * non-zero return has errors recorded, and every error names the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sysgi_config.h"

#define PATH "/nonexistent/fuzz/sysgi.ini"

static void dump_fn(void *ctx, const char *section, const char *key,
                    const char *value, const sysgi_origin *origin) {
  char buf[512];
  (void)ctx;
  (void)section;
  (void)key;
  (void)value;
  sysgi_origin_format(origin, buf, sizeof buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* An exact-size copy: ASan catches a read past the end. */
  char *buf = malloc(size ? size : 1);
  if (!buf)
    return 0;
  memcpy(buf, data, size);
  sysgi_config *cfg = sysgi_config_new(1);
  if (!cfg) {
    free(buf);
    return 0;
  }
  int rc = sysgi_config_read_ini(cfg, buf, size, PATH);
  if (rc != 0 && rc != SYSGI_E_CONFIG && rc != SYSGI_E_NOMEM)
    abort();
  if (rc == SYSGI_E_CONFIG && sysgi_config_n_errors(cfg) == 0)
    abort();
  for (size_t i = 0; i < sysgi_config_n_errors(cfg); i++)
    if (strncmp(sysgi_config_error(cfg, i), PATH, strlen(PATH)) != 0)
      abort(); /* every reader error names FILE[:LINE] */
  int frc = sysgi_config_finish(cfg);
  if (rc != 0 && frc == 0)
    abort();
  sysgi_config_dump(cfg, dump_fn, NULL);
  sysgi_config_free(cfg);
  free(buf);
  return 0;
}
