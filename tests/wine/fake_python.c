/*
 * fake_python.c: a real x64 DLL that is not a usable Python: it exports
 * one Python name only. The tests copy it into a python-home as
 * python3.dll or python312.dll (and patch a copy into a "32-bit" DLL) to
 * check that sysgi.exe names the DLL and the reason, and answers 503.
 */
__declspec(dllexport) const char *Py_GetVersion(void) { return "0.0 fake"; }
