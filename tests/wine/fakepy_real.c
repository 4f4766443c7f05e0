/*
 * fakepy_real.c: a stand-in for python3XY.dll in the loader test: one
 * function and two data objects under CPython's names, so the test can
 * check that data symbols resolve through the __imp_ table as well as
 * functions (PyExc_TypeError is a pointer variable, _Py_NoneStruct an
 * object).
 */
typedef struct fake_object {
  long refcnt;
  const char *magic;
} fake_object;

__declspec(dllexport) fake_object _Py_NoneStruct = {1, "none-object"};
static fake_object type_error = {1, "type-error"};
__declspec(dllexport) fake_object *PyExc_TypeError = &type_error;

__declspec(dllexport) const char *Py_GetVersion(void) {
  return "3.99.0 (loader test)";
}

/* Python 3.9+ exports PyInterpreterState_Get; 3.8 exported the same
 * function as _PyInterpreterState_Get (FAKEPY_38 builds that variant). */
static fake_object interp = {1, "interpreter"};
#ifdef FAKEPY_38
__declspec(dllexport) fake_object *_PyInterpreterState_Get(void) {
  return &interp;
}
#else
__declspec(dllexport) fake_object *PyInterpreterState_Get(void) {
  return &interp;
}
#endif
