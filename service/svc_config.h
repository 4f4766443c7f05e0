/*
 * svc_config.h: the configuration sysgi.exe runs with (service and
 * `sysgi check`): the INI file, then the registry key HKLM\SOFTWARE\sysgi
 * over it, through the core's model (sysgi_config.h).
 */
#ifndef SYSGI_SVC_CONFIG_H
#define SYSGI_SVC_CONFIG_H

#include <wchar.h>

#include "sysgi_config.h"

/* Loads the configuration the service runs with: the INI file at ini_path
 * (NULL: the registry's ConfigFile value, else sysgi.ini next to sysgi.exe),
 * then the registry values of HKLM\SOFTWARE\sysgi over it, then finish().
 * Always stores a config in *out (free it with sysgi_config_free) so the
 * caller can print its errors; returns 0 or SYSGI_E_CONFIG (SYSGI_E_NOMEM
 * when not even the model could be allocated; *out is then NULL). */
int svc_config_load(const wchar_t *ini_path, sysgi_config **out);

/* After finish(): records an error (naming the INI file `ini`, may be
 * NULL) when cfg has no application and no other error. `sysgi serve
 * --config` uses it: a foreground server with nothing to serve is a
 * mistake. The service does not: the MSI installs it with the commented
 * default INI and no application yet, and it must start, stay visible and
 * answer 404 with a log line saying why (`sysgi check` warns). Returns 0 or
 * SYSGI_E_CONFIG. */
int svc_config_require_app(sysgi_config *cfg, const wchar_t *ini);

#endif /* SYSGI_SVC_CONFIG_H */
