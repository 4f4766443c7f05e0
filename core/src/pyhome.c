/*
 * pyhome.c: checking python-home before Py_InitializeEx(). CPython ends
 * the whole process when it cannot find its standard library, so a wrong
 * WSGIPythonHome / python-home must be caught here and reported (the front
 * end then answers 503) instead. A virtual environment is accepted too:
 * its pyvenv.cfg names the base installation ("home = <dir of python>"),
 * which becomes the Python home, and the environment's site-packages is
 * added to sys.path after start-up.
 */
#include "sysgi_internal.h"
#include "sysgi_pyvenv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#define SEP '\\'
#else
#define SEP '/'
#endif

static int readable(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f)
    fclose(f);
  return f != NULL;
}

/* "home = /usr/bin" from <venv>/pyvenv.cfg, or 0 if it is not a venv.
 * The text is parsed by sysgi_pyvenv_home(), shared with the Windows
 * loader (core/win/python_loader.c), which reads the same file before any
 * Python exists. */
static int venv_home(const char *dir, char *out, size_t len) {
  char cfg[1024];
  snprintf(cfg, sizeof cfg, "%s%cpyvenv.cfg", dir, SEP);
  FILE *f = fopen(cfg, "rb");
  if (!f)
    return 0;
  char *text = malloc(SYSGI_PYVENV_MAX);
  size_t n = text ? fread(text, 1, SYSGI_PYVENV_MAX, f) : 0;
  fclose(f);
  int found = text && sysgi_pyvenv_home(text, n, out, len);
  free(text);
  return found;
}

/* The standard library of Python major.minor under `prefix`? */
static int has_stdlib(const char *prefix, int major, int minor, char *looked,
                      size_t len) {
#ifdef _WIN32
  snprintf(looked, len, "%s\\python%d%d.zip", prefix, major, minor);
  if (readable(looked))
    return 1;
  snprintf(looked, len, "%s\\Lib\\os.py", prefix);
#else
  snprintf(looked, len, "%s/lib/python%d.%d/os.py", prefix, major, minor);
#endif
  return readable(looked);
}

int sysgi_pyhome_resolve(const char *home, char *base, size_t base_len,
                         char *site, size_t site_len) {
  int major = 0, minor = 0;
  if (sscanf(Py_GetVersion(), "%d.%d", &major, &minor) != 2)
    return SYSGI_E_NOPYTHON;
  site[0] = '\0';
  char vhome[1024];
  if (venv_home(home, vhome, sizeof vhome)) {
#ifdef _WIN32
    snprintf(base, base_len, "%s", vhome); /* python.exe sits in prefix */
    snprintf(site, site_len, "%s\\Lib\\site-packages", home);
#else
    /* "home" is the directory of the interpreter: <prefix>/bin. */
    char *slash = strrchr(vhome, '/');
    if (slash && slash != vhome)
      *slash = '\0';
    snprintf(base, base_len, "%s", vhome);
    snprintf(site, site_len, "%s/lib/python%d.%d/site-packages", home, major,
             minor);
#endif
  } else {
    snprintf(base, base_len, "%s", home);
  }
  char looked[1200];
  if (!has_stdlib(base, major, minor, looked, sizeof looked)) {
    sysgi_log_nogil(NULL, SYSGI_LOG_ERR,
                    "sysgi: python home '%s' holds no standard library of "
                    "Python %d.%d (the version this process loaded): '%s' "
                    "not found", home, major, minor, looked);
    return SYSGI_E_NOPYTHON;
  }
  return 0;
}
