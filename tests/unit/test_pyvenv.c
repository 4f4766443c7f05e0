/* test_pyvenv.c: the pyvenv.cfg parser shared by the core and the Windows
 * loader (core/src/pyvenv.c), and the run-time Python version. */
#include <Python.h>
#include "test.h"

#include "sysgi_pyvenv.h"

static int home(const char *text, char *out, size_t len) {
  return sysgi_pyvenv_home(text, strlen(text), out, len);
}

TEST_IMPL(pyvenv_parse) {
  char out[64];
  ASSERT_EQ(home("home = /usr/bin\ninclude-system-site-packages = false\n",
                 out, sizeof out), 1);
  ASSERT_STR_EQ(out, "/usr/bin");
  /* CRLF, case, blanks, BOM, as CPython's getpath reads it. */
  ASSERT_EQ(home("\xef\xbb\xbfversion = 3.11.2\r\n  HOME\t=  C:\\Py 311  \r\n",
                 out, sizeof out), 1);
  ASSERT_STR_EQ(out, "C:\\Py 311");
  /* The first home wins; a key merely starting with "home" is not it. */
  ASSERT_EQ(home("homedir = /x\nhome=/a\nhome=/b\n", out, sizeof out), 1);
  ASSERT_STR_EQ(out, "/a");
  /* No '=' on the line, empty value, no home at all. */
  ASSERT_EQ(home("home /usr/bin\n", out, sizeof out), 0);
  ASSERT_STR_EQ(out, "");
  ASSERT_EQ(home("home =   \n", out, sizeof out), 0);
  ASSERT_EQ(home("", out, sizeof out), 0);
  /* A value that does not fit is refused, not cut. */
  ASSERT_EQ(home("home = /0123456789\n", out, 8), 0);
  ASSERT_STR_EQ(out, "");
  /* Text without a final newline nor a NUL: only `len` bytes are read. */
  const char raw[] = {'h', 'o', 'm', 'e', '=', '/', 'q', 'X'};
  ASSERT_EQ(sysgi_pyvenv_home(raw, 7, out, sizeof out), 1);
  ASSERT_STR_EQ(out, "/q");
  return 0;
}

/* The banner's version comes from the library at run time. */
TEST_IMPL(python_version_runtime) {
  char v[32], want[32];
  int major = 0, minor = 0;
  ASSERT_EQ(sscanf(Py_GetVersion(), "%d.%d", &major, &minor), 2);
  snprintf(want, sizeof want, "%d.%d", major, minor);
  sysgi_python_version(v, sizeof v);
  ASSERT_STR_EQ(v, want);
  sysgi_python_version(v, 2); /* truncated, still terminated */
  ASSERT_EQ(strlen(v), 1);
  return 0;
}
