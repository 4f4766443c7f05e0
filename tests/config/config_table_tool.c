/*
 * sysgi_config_table: prints the configuration model's settings table, one
 * row per line, tab-separated: key, section, default, registry, directive,
 * help ("-" when none; "(server)" for a default taken from [server]).
 * tests/config/test_readme.py compares it with README.md's reference.
 * `sysgi_config_table --unsupported NAME` prints why an option of
 * WSGIDaemonProcess is rejected (exit 1 when it is not).
 */
#include <stdio.h>
#include <string.h>

#include "sysgi_config.h"

static const char *scope(unsigned s) {
  return s == SYSGI_SCOPE_SERVER ? "server"
         : s == SYSGI_SCOPE_APP  ? "app"
                                 : "process-group";
}

int main(int argc, char **argv) {
  size_t n;
  const sysgi_setting *t = sysgi_config_settings(&n);
  if (argc == 3 && !strcmp(argv[1], "--unsupported")) {
    const char *why = sysgi_config_unsupported(argv[2]);
    if (!why)
      return 1;
    printf("%s\n", why);
    return 0;
  }
  for (size_t i = 0; i < n; i++)
    printf("%s\t%s\t%s\t%s\t%s\t%s\n", t[i].name, scope(t[i].scopes),
           t[i].default_value ? t[i].default_value
           : t[i].inherit     ? "(server)"
                              : "-",
           t[i].registry ? t[i].registry : "-",
           t[i].directive ? t[i].directive : "-", t[i].help);
  return 0;
}
