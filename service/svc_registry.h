/* svc_registry.h: HKLM\SOFTWARE\sysgi into the configuration model. */
#ifndef SYSGI_SVC_REGISTRY_H
#define SYSGI_SVC_REGISTRY_H

#include <wchar.h>

#include "sysgi_config.h"

#define SVC_REGISTRY_SUBKEY L"SOFTWARE\\sysgi"

/* The ConfigFile value (REG_SZ, or REG_EXPAND_SZ expanded) into `out`.
 * Returns 1 when set, 0 when the key or the value is absent, or
 * SYSGI_E_CONFIG when the key cannot be opened (recorded in cfg). */
int svc_registry_config_file(sysgi_config *cfg, wchar_t *out, size_t len);

/* Every value of the key through sysgi_config_set(cfg, "server", ...) with
 * SYSGI_ORIGIN_REGISTRY and the value's full name: call it after the INI
 * file, so that these win. A value name that is not a registry name of a
 * server setting, and a value of a type its setting cannot take, are
 * recorded as errors naming the value. No key: nothing to do, 0. Returns 0
 * or SYSGI_E_CONFIG. */
int svc_registry_load(sysgi_config *cfg);

#endif
