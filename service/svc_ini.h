/* svc_ini.h: the INI file (sysgi.ini) into the configuration model. */
#ifndef SYSGI_SVC_INI_H
#define SYSGI_SVC_INI_H

#include <wchar.h>

#include "sysgi_config.h"

/* Reads the UTF-8 INI file at `path` (a byte order mark is allowed) into
 * cfg: each [section] through sysgi_config_add_section, each key through
 * sysgi_config_set(SYSGI_ORIGIN_FILE, full path, line). A line that is not
 * a header, a comment or "key = value", a section or key given twice, and
 * a file that cannot be read are recorded in cfg as errors naming
 * FILE:LINE. Returns 0, SYSGI_E_CONFIG (errors recorded), SYSGI_E_IO (the
 * file could not be read; recorded too) or SYSGI_E_NOMEM. */
int svc_ini_load(sysgi_config *cfg, const wchar_t *path);

#endif
