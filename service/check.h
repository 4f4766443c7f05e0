/* check.h: `sysgi check` (check.c). */
#ifndef SYSGI_CHECK_H
#define SYSGI_CHECK_H

#include <wchar.h>

#define SYSGI_CHECK_USAGE "sysgi check [--config PATH]"

/* argv: the arguments after "check". Returns the process exit code: 0
 * valid, 1 invalid, 2 usage error. */
int sysgi_check(int argc, wchar_t **argv);

#endif
