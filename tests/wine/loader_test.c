/*
 * loader_test.exe HOME: core/win/python_loader.c with a table of three
 * Python symbols (one function, two data objects), declared with dllimport
 * exactly as Python.h declares them, so calls and data reads go through
 * the __imp_ pointers the loader fills. Prints "ok ..." lines or the
 * loader's message; exit code 0 only if everything resolved and works.
 */
#include <winsock2.h>
#include <windows.h>
#include <shellapi.h>

#include <stdio.h>
#include <string.h>

#include "python_loader.h"

typedef struct fake_object {
  long refcnt;
  const char *magic;
} fake_object;

/* As Python.h declares them (PyAPI_FUNC / PyAPI_DATA). */
__declspec(dllimport) const char *Py_GetVersion(void);
__declspec(dllimport) extern fake_object *PyExc_TypeError;
__declspec(dllimport) extern fake_object _Py_NoneStruct;
__declspec(dllimport) fake_object *PyInterpreterState_Get(void);

/* The table the build generates for sysgi.exe, written by hand. */
void *__imp_Py_GetVersion;
void *__imp_PyExc_TypeError;
void *__imp__Py_NoneStruct;
void *__imp_PyInterpreterState_Get;
const sysgi_py_import sysgi_py_imports[] = {
    {"Py_GetVersion", &__imp_Py_GetVersion},
    {"PyExc_TypeError", &__imp_PyExc_TypeError},
    {"_Py_NoneStruct", &__imp__Py_NoneStruct},
    {"PyInterpreterState_Get", &__imp_PyInterpreterState_Get},
};
const size_t sysgi_py_n_imports = 4;

int main(void) {
  int argc;
  wchar_t **argv = CommandLineToArgvW(GetCommandLineW(), &argc);
  char err[1024];
  wchar_t dll[MAX_PATH];
  if (argc < 2)
    return 2;
  if (argc > 2 && wcscmp(argv[2], L"apache") == 0) {
    /* As mod_sysgi calls it: UTF-8, Apache's words, the process's DLL
     * search order untouched. HOME "-" stands for an unset home. */
    static const sysgi_pyload_opts ap = {"WSGIPythonHome",
                                         "set WSGIPythonHome", "mod_sysgi", 0};
    char home8[MAX_PATH * 3], dll8[MAX_PATH * 3];
    WideCharToMultiByte(CP_UTF8, 0, argv[1], -1, home8, sizeof home8, NULL,
                        NULL);
    if (sysgi_python_load_utf8(strcmp(home8, "-") ? home8 : NULL, &ap, err,
                               sizeof err, dll8, sizeof dll8) != 0) {
      printf("error %s\n", err);
      return 1;
    }
    printf("loaded %s\n", dll8);
  } else if (sysgi_python_load(argv[1], err, sizeof err, dll, MAX_PATH) != 0) {
    printf("error %s\n", err);
    return 1;
  } else {
    printf("loaded %ls\n", dll);
  }
  int bad = 0;
  const char *v = Py_GetVersion();
  bad |= strcmp(v, "3.99.0 (loader test)") != 0;
  printf("%s function %s\n", bad ? "FAIL" : "ok", v);
  int b2 = strcmp(PyExc_TypeError->magic, "type-error") != 0;
  printf("%s data pointer %s\n", b2 ? "FAIL" : "ok", PyExc_TypeError->magic);
  int b3 = strcmp(_Py_NoneStruct.magic, "none-object") != 0 ||
           (void *)&_Py_NoneStruct != __imp__Py_NoneStruct;
  printf("%s data object %s\n", b3 ? "FAIL" : "ok", _Py_NoneStruct.magic);
  int b4 = strcmp(PyInterpreterState_Get()->magic, "interpreter") != 0;
  printf("%s function interpreter\n", b4 ? "FAIL" : "ok");
  fflush(stdout);
  return bad || b2 || b3 || b4;
}
