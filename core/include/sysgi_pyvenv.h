/*
 * sysgi_pyvenv.h: the one parser of a virtual environment's pyvenv.cfg.
 *
 * Two places need the "home = <dir>" of a pyvenv.cfg: the Windows loader
 * (core/win/python_loader.c), which must find the base installation's DLLs
 * before any Python exists and reads files with Win32 wide-char calls, and
 * the core (core/src/pyhome.c), which hands the base prefix to
 * Py_SetPythonHome. Reading the file is each caller's business (wide paths
 * on Windows, plain fopen elsewhere); the parsing of its text lives here
 * once, in portable C with no Python, so both agree on what a pyvenv.cfg
 * says.
 */
#ifndef SYSGI_PYVENV_H
#define SYSGI_PYVENV_H

#include <stddef.h>

/* Largest pyvenv.cfg text the callers read; the file is a few lines. */
#define SYSGI_PYVENV_MAX 65536

/* Finds the "home" key in `text` (`len` bytes, the content of a
 * pyvenv.cfg; need not be NUL-terminated) as CPython's getpath does: one
 * `key = value` per line, the key compared without case, both sides
 * stripped of blanks, a UTF-8 BOM ignored, the first "home" wins.
 * Returns 1 and copies the value (NUL-terminated, UTF-8 as in the file)
 * into `out`, or 0 when there is no non-empty home or it does not fit
 * into `out_len` bytes (`out` is then ""). */
int sysgi_pyvenv_home(const char *text, size_t len, char *out, size_t out_len);

#endif /* SYSGI_PYVENV_H */
