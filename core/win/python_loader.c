/*
 * python_loader.c: finds and loads the Python DLL of the configured
 * python-home and resolves the core's Python symbols from it, so sysgi.exe
 * depends on no Python version and the PATH never decides which Python runs
 * (the idea of the PyInstaller bootloader, with the linker doing the
 * bookkeeping: see gen_python_imports.cmake).
 *
 * python3.dll (python.org layout) forwards every Stable-ABI name to the
 * versioned python3XY.dll next to it; a home holding only python3XY.dll
 * works too, since that DLL exports the same names itself.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "python_loader.h"
#include "sysgi_pyvenv.h"

#define IMAGE_MACHINE_AMD64 0x8664
#define IMAGE_MACHINE_I386 0x014c
#define IMAGE_MACHINE_ARM64 0xaa64

static int is_dir(const wchar_t *p) {
  DWORD a = GetFileAttributesW(p);
  return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
}

static int is_file(const wchar_t *p) {
  DWORD a = GetFileAttributesW(p);
  return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

static void win_message(DWORD code, char *out, size_t len) {
  char *msg = NULL;
  DWORD n = FormatMessageA(FORMAT_MESSAGE_ALLOCATE_BUFFER |
                               FORMAT_MESSAGE_FROM_SYSTEM |
                               FORMAT_MESSAGE_IGNORE_INSERTS,
                           NULL, code, 0, (char *)&msg, 0, NULL);
  while (n > 0 && (msg[n - 1] == '\r' || msg[n - 1] == '\n' || msg[n - 1] == '.'))
    msg[--n] = '\0';
  snprintf(out, len, "error %lu%s%s", (unsigned long)code, n ? ": " : "",
           n ? msg : "");
  if (msg)
    LocalFree(msg);
}

/* Looks in `dir` for python3.dll and for the versioned python3XY.dll.
 * `py3` gets dir\python3.dll or "", `versioned` the single python3XY.dll
 * or "". Returns the number of versioned DLLs (-1 and a message in `err`
 * when there are several: which one python3.dll forwards to is
 * ambiguous). */
static int scan_dir(const wchar_t *dir, wchar_t *py3, wchar_t *versioned,
                    size_t len, char *err, size_t err_len) {
  _snwprintf(py3, len, L"%ls\\python3.dll", dir);
  py3[len - 1] = L'\0';
  if (!is_file(py3))
    py3[0] = L'\0';
  versioned[0] = L'\0';
  wchar_t pattern[MAX_PATH + 32];
  _snwprintf(pattern, MAX_PATH + 32, L"%ls\\python3*.dll", dir);
  pattern[MAX_PATH + 31] = L'\0';
  WIN32_FIND_DATAW fd;
  HANDLE h = FindFirstFileW(pattern, &fd);
  int found = 0;
  char names[256] = "";
  if (h == INVALID_HANDLE_VALUE)
    return 0;
  do {
    /* python3XY.dll / python3XYZ.dll: digits only (not python3_d.dll). */
    const wchar_t *n = fd.cFileName + 7;
    size_t digits = 0;
    while (n[digits] >= L'0' && n[digits] <= L'9')
      digits++;
    if (digits == 0 || _wcsicmp(n + digits, L".dll") != 0)
      continue;
    if (found++ == 0) {
      _snwprintf(versioned, len, L"%ls\\%ls", dir, fd.cFileName);
      versioned[len - 1] = L'\0';
    }
    size_t used = strlen(names);
    snprintf(names + used, sizeof names - used, "%s%ls", used ? ", " : "",
             fd.cFileName);
  } while (FindNextFileW(h, &fd));
  FindClose(h);
  if (found > 1) {
    snprintf(err, err_len, "several Python DLLs (%s) in %ls: keep one",
             names, dir);
    return -1;
  }
  return found;
}

/* A virtual environment's pyvenv.cfg names its base installation in
 * "home = C:\Python312"; the DLLs live there. The text is parsed by
 * sysgi_pyvenv_home() (core/src/pyvenv.c), the same parser the core uses
 * for Py_SetPythonHome later: here the file is read with a wide path,
 * before any Python exists. */
static int venv_base(const wchar_t *home, wchar_t *out, size_t out_len) {
  wchar_t cfg[MAX_PATH + 16];
  _snwprintf(cfg, MAX_PATH + 16, L"%ls\\pyvenv.cfg", home);
  cfg[MAX_PATH + 15] = L'\0';
  FILE *f = _wfopen(cfg, L"rb");
  if (!f)
    return 0;
  char *text = malloc(SYSGI_PYVENV_MAX);
  char value[MAX_PATH * 3];
  size_t n = text ? fread(text, 1, SYSGI_PYVENV_MAX, f) : 0;
  fclose(f);
  int ok = text && sysgi_pyvenv_home(text, n, value, sizeof value) &&
           MultiByteToWideChar(CP_UTF8, 0, value, -1, out, (int)out_len) > 0;
  free(text);
  return ok;
}

/* Checks the PE header: a clear reason beats ERROR_BAD_EXE_FORMAT. */
static int check_pe(const wchar_t *path, const char *product, char *why,
                    size_t len) {
  HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL,
                         OPEN_EXISTING, 0, NULL);
  unsigned char buf[512];
  DWORD got = 0;
  if (h == INVALID_HANDLE_VALUE) {
    char m[256];
    win_message(GetLastError(), m, sizeof m);
    snprintf(why, len, "cannot be opened (%s)", m);
    return -1;
  }
  BOOL ok = ReadFile(h, buf, sizeof buf, &got, NULL);
  CloseHandle(h);
  if (!ok || got < 64 || buf[0] != 'M' || buf[1] != 'Z') {
    snprintf(why, len, "is not a Windows DLL (no MZ header)");
    return -1;
  }
  DWORD pe = (DWORD)buf[0x3c] | (DWORD)buf[0x3d] << 8 |
             (DWORD)buf[0x3e] << 16 | (DWORD)buf[0x3f] << 24;
  if (pe > got - 6 || memcmp(buf + pe, "PE\0\0", 4) != 0) {
    snprintf(why, len, "is not a Windows DLL (no PE header)");
    return -1;
  }
  unsigned machine = buf[pe + 4] | buf[pe + 5] << 8;
  if (machine == IMAGE_MACHINE_AMD64)
    return 0;
  if (machine == IMAGE_MACHINE_I386)
    snprintf(why, len, "is a 32-bit (x86) DLL: %s is 64-bit and needs "
             "a 64-bit (x64) Python", product);
  else if (machine == IMAGE_MACHINE_ARM64)
    snprintf(why, len, "is an ARM64 DLL: %s needs an x64 Python", product);
  else
    snprintf(why, len, "is a DLL for another machine type (0x%04x): %s "
             "needs an x64 Python", machine, product);
  return -1;
}

static void reset_slots(void) {
  for (size_t i = 0; i < sysgi_py_n_imports; i++)
    *sysgi_py_imports[i].slot = NULL;
}

static const sysgi_pyload_opts sysgi_exe_opts = {
    "python-home", "pass --python-home DIR or set PYTHONHOME", "sysgi.exe", 1};

int sysgi_python_load(const wchar_t *home, char *err, size_t err_len,
                      wchar_t *loaded, size_t loaded_len) {
  return sysgi_python_load_opts(home, NULL, err, err_len, loaded, loaded_len);
}

int sysgi_python_load_opts(const wchar_t *home, const sysgi_pyload_opts *o,
                           char *err, size_t err_len, wchar_t *loaded,
                           size_t loaded_len) {
  if (!o)
    o = &sysgi_exe_opts;
  wchar_t dll[MAX_PATH + 64], base[MAX_PATH];
  char why[512];
  const wchar_t *dir = home;

  if (!home || !*home) {
    snprintf(err, err_len, "cannot load Python: no %s (%s)", o->setting,
             o->if_unset);
    return -1;
  }
  if (!is_dir(home)) {
    snprintf(err, err_len, "cannot load Python from %s %ls: %s",
             o->setting, home, GetFileAttributesW(home) == INVALID_FILE_ATTRIBUTES
                       ? "no such directory"
                       : "not a directory");
    return -1;
  }
  wchar_t py3[MAX_PATH + 64], versioned[MAX_PATH + 64];
  int f = scan_dir(home, py3, versioned, MAX_PATH + 64, why, sizeof why);
  if (f == 0 && !py3[0] && venv_base(home, base, MAX_PATH)) {
    dir = base;
    f = scan_dir(base, py3, versioned, MAX_PATH + 64, why, sizeof why);
  }
  if (f < 0) {
    snprintf(err, err_len, "cannot load Python from %s %ls: %s",
             o->setting, home, why);
    return -1;
  }
  if (!py3[0] && !versioned[0]) {
    snprintf(err, err_len, "cannot load Python from %s %ls: neither "
             "python3.dll nor python3XY.dll found in %ls%s",
             o->setting, home, dir, dir == home ? "" : " (its pyvenv.cfg home)");
    return -1;
  }
  /* python3.dll when present (python.org layout), else python3XY.dll. */
  wcscpy(dll, py3[0] ? py3 : versioned);
  const wchar_t *bad = NULL;
  if (check_pe(dll, o->product, why, sizeof why) != 0)
    bad = dll;
  else if (py3[0] && versioned[0] && check_pe(versioned, o->product, why,
                                             sizeof why) != 0)
    bad = versioned;
  if (bad) {
    snprintf(err, err_len, "cannot load Python %ls: the file %s", bad, why);
    return -1;
  }

  /* Dependencies (vcruntime140.dll, ...) come from the home and the
   * system, never from the PATH or the current directory. The versioned
   * DLL is loaded first, by full path, so python3.dll's forwarders bind to
   * the one in this home rather than to whatever python3XY.dll the search
   * order finds first. */
  if (o->process_dll_search)
    SetDefaultDllDirectories(LOAD_LIBRARY_SEARCH_DEFAULT_DIRS);
  /* Both flags below include the directories added here. */
  AddDllDirectory(dir);
  const DWORD flags =
      LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_DEFAULT_DIRS;
  HMODULE pinned = NULL, mod = NULL;
  const wchar_t *failed = NULL;
  if (py3[0] && versioned[0] && !(pinned = LoadLibraryExW(versioned, NULL, flags)))
    failed = versioned;
  if (!failed && !(mod = LoadLibraryExW(dll, NULL, flags)))
    failed = dll;
  if (failed) {
    DWORD code = GetLastError();
    win_message(code, why, sizeof why);
    if (pinned)
      FreeLibrary(pinned);
    snprintf(err, err_len, "cannot load Python %ls: LoadLibrary failed (%s)%s",
             failed, why, code == ERROR_BAD_EXE_FORMAT
                              ? "; a 64-bit Python is needed" : "");
    return -1;
  }

  size_t missing = 0;
  char names[300] = "";
  for (size_t i = 0; i < sysgi_py_n_imports; i++) {
    const char *name = sysgi_py_imports[i].name;
    FARPROC p = GetProcAddress(mod, name);
    /* PyInterpreterState_Get joined the Stable ABI in 3.9: 3.8's
     * python3.dll lacks it, and python38.dll exports the same function
     * under its 3.8 name, _PyInterpreterState_Get. */
    HMODULE versioned_mod = pinned ? pinned : mod;
    if (!p && pinned)
      p = GetProcAddress(pinned, name);
    if (!p && strcmp(name, "PyInterpreterState_Get") == 0)
      p = GetProcAddress(versioned_mod, "_PyInterpreterState_Get");
    *sysgi_py_imports[i].slot = (void *)p;
    if (!p) {
      size_t used = strlen(names);
      if (missing++ < 6)
        snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "",
                 sysgi_py_imports[i].name);
    }
  }
  if (missing) {
    reset_slots();
    FreeLibrary(mod);
    if (pinned)
      FreeLibrary(pinned);
    snprintf(err, err_len, "cannot load Python %ls: it lacks %zu of the %zu "
             "Python functions %s needs (%s%s): %s", dll, missing,
             sysgi_py_n_imports, o->product, names, missing > 6 ? ", ..." : "",
             py3[0] && !versioned[0]
                 ? "python3.dll forwards them to a python3XY.dll, and there "
                   "is no python3XY.dll next to it"
                 : "a CPython older than sysgi supports, or not CPython");
    return -1;
  }
  if (loaded && loaded_len) {
    wcsncpy(loaded, dll, loaded_len - 1);
    loaded[loaded_len - 1] = L'\0';
  }
  return 0;
}

/* UTF-8 <-> UTF-16 for sysgi_python_load_utf8: 0 on failure. */
static int widen(const char *s, wchar_t *out, int len) {
  return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, out, len);
}

int sysgi_python_load_utf8(const char *home, const sysgi_pyload_opts *o,
                           char *err, size_t err_len, char *loaded,
                           size_t loaded_len) {
  wchar_t whome[MAX_PATH], wloaded[MAX_PATH + 64];
  if (!o)
    o = &sysgi_exe_opts;
  if (home && *home && !widen(home, whome, MAX_PATH)) {
    snprintf(err, err_len, "cannot load Python from %s %s: not valid UTF-8 "
             "or longer than %d characters", o->setting, home, MAX_PATH - 1);
    return -1;
  }
  int rc = sysgi_python_load_opts(home && *home ? whome : NULL, o, err,
                                  err_len, wloaded, MAX_PATH + 64);
  if (rc == 0 && loaded && loaded_len &&
      !WideCharToMultiByte(CP_UTF8, 0, wloaded, -1, loaded, (int)loaded_len,
                           NULL, NULL))
    loaded[0] = '\0';
  return rc;
}
