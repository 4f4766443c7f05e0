/* The INI reader (sysgi_config_read_ini, core/src/config_ini.c) on
 * in-memory texts: what service/svc_ini.c hands it from the file. The
 * Wine suites (wine_config_check, wine_serve_config) read real files. */
#include "ctest.h"

#define F "C:\\sysgi\\sysgi.ini"

static sysgi_config *read_text(const char *text, size_t len, int *rc) {
  sysgi_config *c = sysgi_config_new(1);
  CHECK(c);
  *rc = sysgi_config_read_ini(c, text, len, F);
  return c;
}

/* The one error the text gives, or fails. */
static void expect_error(const char *text, size_t len, const char *want) {
  int rc;
  sysgi_config *c = read_text(text, len, &rc);
  CHECK_EQ(rc, SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_n_errors(c), 1);
  CHECK_STR(sysgi_config_error(c, 0), want);
  sysgi_config_free(c);
}
#define EXPECT(text, want) expect_error(text, sizeof text - 1, want)

CTEST(ini_values_and_origins) {
  static const char text[] =
      "\xEF\xBB\xBF; a comment\r\n"
      "# another\n"
      "[server]\n"
      "  Threads = 16  \r\n"
      "python-warnings = \"ignore::DeprecationWarning\"\n"
      "\n"
      "[app:/]\n"
      "callable-object=app"; /* no end of line */
  int rc;
  sysgi_config *c = read_text(text, sizeof text - 1, &rc);
  CHECK_EQ(rc, 0);
  CHECK_EQ(sysgi_config_n_errors(c), 0);
  const sysgi_origin *o;
  CHECK_STR(sysgi_config_get(c, "server", "threads", &o), "16");
  CHECK_EQ(o->kind, SYSGI_ORIGIN_FILE);
  CHECK_STR(o->where, F);
  CHECK_EQ(o->line, 4);
  CHECK_STR(sysgi_config_get(c, "server", "python-warnings", NULL),
            "ignore::DeprecationWarning");
  CHECK_STR(sysgi_config_get(c, "app:/", "callable-object", &o), "app");
  CHECK_EQ(o->line, 8);
  sysgi_config_free(c);
}

CTEST(ini_errors) {
  EXPECT("[server]\nthreads\n",
         F ":2: expected 'key = value' or '[section]', got 'threads'");
  EXPECT("[server\n", F ":1: a section header must end with ']'");
  EXPECT("threads = 2\n", F ":1: 'threads' comes before any section: put it "
                          "under [server] or an [app:/MOUNT]");
  EXPECT("[server]\n= 2\n", F ":2: a key is missing before '='");
  EXPECT("[server]\nthreads = 2\nTHREADS = 3\n",
         F ":3: [server] threads: given twice in this section (first at "
           "line 2)");
  EXPECT("[server]\n[server]\n", F ":2: section [server] appears twice "
                                 "(first at line 1): merge them");
  EXPECT("[server]\nthreads =\n", F ":2: [server] threads: no value after "
                                  "'=' (remove the line to get the default)");
  EXPECT("\xFF\xFE[\0s\0", F ":1: the file is UTF-16 (Notepad's 'Unicode'): "
                           "save it as UTF-8");
  EXPECT("[server]\nthreads = 2\0\n",
         F ":2: a NUL byte: this is not a text file");
}

/* Strict UTF-8, as MultiByteToWideChar(MB_ERR_INVALID_CHARS) was. */
CTEST(ini_utf8) {
  const char *bad[] = {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80",
                       "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80", "\xC3",
                       "\x80", "\xE2\x82"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[64];
    int n = snprintf(text, sizeof text, "[server]\ndisplay = %s\n", bad[i]);
    expect_error(text, (size_t)n,
                 F ":2: not valid UTF-8 (save the file as UTF-8)");
  }
  static const char good[] =
      "[process-group:caf\xC3\xA9]\n"
      "display-name = \xE2\x82\xAC \xF0\x9F\x98\x80 \xED\x9F\xBF\n";
  int rc;
  sysgi_config *c = read_text(good, sizeof good - 1, &rc);
  CHECK_EQ(sysgi_config_n_errors(c), 0);
  CHECK_EQ(rc, 0);
  sysgi_config_free(c);
}

/* Not NUL-terminated: the reader stays inside `len` bytes. */
CTEST(ini_exact_length) {
  char *text = malloc(19);
  CHECK(text);
  memcpy(text, "[server]\nthreads=4X", 19);
  int rc;
  sysgi_config *c = read_text(text, 18, &rc);
  CHECK_EQ(rc, 0);
  CHECK_STR(sysgi_config_get(c, "server", "threads", NULL), "4");
  sysgi_config_free(c);
  c = read_text(text, 0, &rc);
  CHECK_EQ(rc, 0);
  sysgi_config_free(c);
  free(text);
}
