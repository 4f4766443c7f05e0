/*
 * python_loader.h: loads the Python DLL of a python-home at run time and
 * resolves every Python symbol the core uses (see gen_python_imports.cmake).
 * Part of the core's Windows platform layer (library sysgi_pyload), linked
 * by sysgi.exe and by mod_sysgi for Windows, so both find Python the same
 * way: from the configured home only, never from the PATH.
 */
#ifndef SYSGI_PYTHON_LOADER_H
#define SYSGI_PYTHON_LOADER_H

#include <stddef.h>
#include <wchar.h>

typedef struct sysgi_py_import {
  const char *name; /* exported name in python3.dll / python3XY.dll */
  void **slot;      /* the __imp_<name> pointer the core calls through */
} sysgi_py_import;

/* Generated at build time. */
extern const sysgi_py_import sysgi_py_imports[];
extern const size_t sysgi_py_n_imports;

/* Loads python3.dll (python.org layout) or else the one python3XY.dll in
 * `home` (a virtual environment: in the `home` of its pyvenv.cfg) and fills
 * every slot. Returns 0, or -1 with ONE message naming the path tried and
 * the reason in `err`. `loaded` receives the DLL path (may be NULL).
 * Messages speak of sysgi.exe's "python-home" (see sysgi_python_load_opts
 * for other hosts). */
int sysgi_python_load(const wchar_t *home, char *err, size_t err_len,
                      wchar_t *loaded, size_t loaded_len);

/* How a host names things in the loader's messages, and how much of the
 * process the loader may change. */
typedef struct sysgi_pyload_opts {
  const char *setting;  /* the option naming the home: "python-home",
                           "WSGIPythonHome"                              */
  const char *if_unset; /* the sentence for an empty home, e.g. "pass
                           --python-home DIR or set PYTHONHOME"          */
  const char *product;  /* "sysgi.exe", "mod_sysgi" (the 64-bit binary)  */
  /* Nonzero: also make the home and the system directories the process's
   * default DLL search (SetDefaultDllDirectories), for a process that is
   * ours (sysgi.exe). Zero in a host such as httpd.exe, whose other
   * modules may rely on the usual search order: only the Python DLLs'
   * own loads are restricted then. */
  int process_dll_search;
} sysgi_pyload_opts;

/* sysgi_python_load() with the host's words and policy (`opts` NULL: the
 * sysgi.exe ones). */
int sysgi_python_load_opts(const wchar_t *home, const sysgi_pyload_opts *opts,
                           char *err, size_t err_len, wchar_t *loaded,
                           size_t loaded_len);

/* The same for hosts that keep paths in UTF-8 (Apache: httpd.conf is
 * UTF-8): `home` and `loaded` are UTF-8. */
int sysgi_python_load_utf8(const char *home, const sysgi_pyload_opts *opts,
                           char *err, size_t err_len, char *loaded,
                           size_t loaded_len);

#endif /* SYSGI_PYTHON_LOADER_H */
