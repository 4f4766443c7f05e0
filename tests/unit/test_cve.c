/*
 * test_cve.c: CVE-2014-0242, the method check. This test (test code only)
 * keeps a pointer into a Python object after dropping the last reference,
 * exactly the mistake mod_wsgi 3.3 made with Content-Type, and asserts that
 * under PYTHONMALLOC=debug the memory shows the 0xDD "dead byte" poison at
 * once. That proves the debug-malloc runs of this suite can catch such a
 * bug in the core: a header or body buffer read after its object died
 * arrives as 0xDD bytes, not as the expected text.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "test.h"

TEST_IMPL(cve_2014_0242_poison) {
  /* CTest sets PYTHONMALLOC=debug; a plain `sysgi_unit_tests` run sets it
   * here, before this process starts Python. */
  if (!sysgi_runtime_ready())
    setenv("PYTHONMALLOC", "debug", 1);
  const char *env = getenv("PYTHONMALLOC");
  ASSERT(env && strcmp(env, "debug") == 0);
  test_runtime();
  PyGILState_STATE g = PyGILState_Ensure();
  /* A dynamically built value, like the Content-Type of the advisory. */
  PyObject *s = PyUnicode_FromFormat("text/html; charset=%s", "utf-8");
  PyObject *b = PyUnicode_AsLatin1String(s);
  Py_DECREF(s);
  const char *p = PyBytes_AsString(b);
  ASSERT(strcmp(p, "text/html; charset=utf-8") == 0);
  Py_DECREF(b); /* the last reference: `p` now dangles */
  /* Other threads allocating in the meantime. */
  PyObject *junk = PyList_New(0);
  for (int i = 0; i < 1000; i++) {
    /* Big enough for the raw allocator: this test wants to see the
     * poison, not a reuse of the block by the same size class. */
    PyObject *x = PyBytes_FromStringAndSize(NULL, 2000);
    PyList_Append(junk, x);
    Py_DECREF(x);
  }
  int poisoned = 1;
  for (int i = 0; i < 8; i++)
    if ((unsigned char)p[i] != 0xDD)
      poisoned = 0;
  Py_DECREF(junk);
  PyGILState_Release(g);
  ASSERT(poisoned);
  /* And the core itself: a header value built dynamically and dropped
   * before the first body byte arrives intact at the front end. */
  fake_conn *c = test_get("cve",
      "import gc\n"
      "def application(environ, start_response):\n"
      "    ct = 'text/' + ''.join(['p', 'l', 'a', 'i', 'n']) + '; charset=' + 'x' * 40\n"
      "    start_response('200 OK', [('Content-Type', ct), ('X-' + 'Dyn' * 3, str(12345) * 10)])\n"
      "    del ct\n"
      "    gc.collect()\n"
      "    junk = [str(i) * 10 for i in range(20000)]\n"
      "    yield b'body'\n");
  ASSERT_STR_EQ(fake_header(c, "Content-Type"),
                "text/plain; charset=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  ASSERT_STR_EQ(fake_header(c, "X-DynDynDyn"),
                "12345123451234512345123451234512345123451234512345");
  test_done(c);
  return 0;
}
