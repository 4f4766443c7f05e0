/*
 * python_loader.h: loads the Python DLL of a python-home at run time and
 * resolves every Python symbol the core uses (see gen_python_imports.cmake).
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
 * the reason in `err`. `loaded` receives the DLL path (may be NULL). */
int sysgi_python_load(const wchar_t *home, char *err, size_t err_len,
                      wchar_t *loaded, size_t loaded_len);

#endif /* SYSGI_PYTHON_LOADER_H */
