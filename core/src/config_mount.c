/*
 * config_mount.c: the one mount matcher and the application-group macros,
 * shared by mod_sysgi, the http.sys front end and the model.
 */
#include "sysgi_config.h"

#include <string.h>

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

/* ASCII-only folding, as mod_wsgi's WSGICaseSensitivity Off and the
 * Windows file system do for the names people use in URLs. */
static int prefix_eq(const char *a, const char *b, size_t n, int ci) {
  if (!ci)
    return strncmp(a, b, n) == 0;
  for (size_t i = 0; i < n; i++)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
      return 0;
  return 1;
}

int sysgi_mount_match(const char *const *mounts, size_t n, const char *path,
                      int case_insensitive, size_t *matched_len) {
  int best = -1;
  size_t best_len = 0;
  if (!path)
    return -1;
  for (size_t i = 0; i < n; i++) {
    const char *m = mounts[i];
    size_t len;
    if (!m)
      continue;
    len = strlen(m);
    /* "/" and "/app/" as written are "" and "/app". */
    while (len > 0 && m[len - 1] == '/')
      len--;
    if (best >= 0 && len <= best_len)
      continue;
    if (!prefix_eq(path, m, len, case_insensitive))
      continue;
    if (path[len] != '\0' && path[len] != '/')
      continue; /* "/app" never serves "/apple" */
    best = (int)i;
    best_len = len;
  }
  if (best >= 0 && matched_len)
    *matched_len = best_len;
  return best;
}

int sysgi_mount_normalize(char *mount) {
  size_t n;
  if (!mount || mount[0] != '/')
    return SYSGI_E_CONFIG;
  n = strlen(mount);
  while (n > 0 && mount[n - 1] == '/')
    mount[--n] = '\0';
  return 0;
}

/* ---- application groups --------------------------------------------------- */

int sysgi_check_group_spec(const char *v) {
  size_t n;
  if (!v)
    return SYSGI_E_CONFIG;
  if (strncmp(v, "%{", 2) != 0)
    return 0; /* a literal name ("" is the main interpreter, as %{GLOBAL}) */
  if (!strcmp(v, "%{GLOBAL}") || !strcmp(v, "%{SERVER}") ||
      !strcmp(v, "%{RESOURCE}"))
    return 0;
  n = strlen(v);
  if (!strncmp(v, "%{ENV:", 6) && n > 7 && v[n - 1] == '}' &&
      !memchr(v + 6, '}', n - 7))
    return 0;
  return SYSGI_E_CONFIG;
}

/* Appends `s` (length n) at *pos; 0 or SYSGI_E_TOO_LARGE. */
static int put(char *out, size_t out_len, size_t *pos, const char *s, size_t n) {
  if (*pos + n >= out_len)
    return SYSGI_E_TOO_LARGE;
  memcpy(out + *pos, s, n);
  *pos += n;
  out[*pos] = '\0';
  return 0;
}

int sysgi_expand_group(const char *spec, const char *server_name,
                       const char *server_port, const char *script_name,
                       sysgi_getenv_fn getenv_fn, void *ctx, char *out,
                       size_t out_len) {
  size_t pos = 0;
  int rc = 0;
  if (!out || out_len == 0)
    return SYSGI_E_TOO_LARGE;
  out[0] = '\0';
  if (!spec)
    spec = "%{RESOURCE}"; /* mod_wsgi's default: one interpreter per mount */
  if (sysgi_check_group_spec(spec) != 0)
    return SYSGI_E_INVAL;
  if (strncmp(spec, "%{", 2) != 0) {
    rc = put(out, out_len, &pos, spec, strlen(spec));
  } else if (!strcmp(spec, "%{GLOBAL}")) {
    rc = 0;
  } else if (!strcmp(spec, "%{SERVER}") || !strcmp(spec, "%{RESOURCE}")) {
    const char *host = server_name ? server_name : "";
    rc = put(out, out_len, &pos, host, strlen(host));
    if (!rc && server_port && *server_port) {
      rc = put(out, out_len, &pos, ":", 1);
      if (!rc)
        rc = put(out, out_len, &pos, server_port, strlen(server_port));
    }
    if (!rc && spec[2] == 'R') {
      const char *sn = script_name ? script_name : "";
      rc = put(out, out_len, &pos, "|", 1);
      if (!rc)
        rc = put(out, out_len, &pos, sn, strlen(sn));
    }
  } else { /* %{ENV:name} */
    char name[256];
    size_t n = strlen(spec) - 7;
    const char *v = NULL;
    if (n >= sizeof name)
      return SYSGI_E_TOO_LARGE;
    memcpy(name, spec + 6, n);
    name[n] = '\0';
    if (getenv_fn)
      v = getenv_fn(ctx, name);
    if (v) /* unset: "" (the main interpreter, as mod_wsgi) */
      rc = put(out, out_len, &pos, v, strlen(v));
  }
  if (rc)
    out[0] = '\0';
  return rc;
}
