/* The parsers and validators of the settings table, one by one. */
#include "ctest.h"

#define SRV SYSGI_SCOPE_SERVER
#define APP SYSGI_SCOPE_APP
#define GRP SYSGI_SCOPE_GROUP

CTEST(parse_bool) {
  const char *yes[] = {"on", "On", "ON", "true", "True", "1", "yes", "YES"};
  const char *no[] = {"off", "Off", "false", "FALSE", "0", "no", "No"};
  const char *bad[] = {"", "maybe", "2", "onn", " on", "on ", "-1", "y"};
  int v;
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
    v = -1;
    CHECK_EQ(sysgi_parse_bool(yes[i], &v), 0);
    CHECK_EQ(v, 1);
  }
  for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
    v = -1;
    CHECK_EQ(sysgi_parse_bool(no[i], &v), 0);
    CHECK_EQ(v, 0);
  }
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    CHECK_EQ(sysgi_parse_bool(bad[i], &v), SYSGI_E_CONFIG);
  CHECK_STR(ct_check("enable-sendfile", SRV, "maybe"),
            "'maybe' is not a boolean (use on/off, true/false, yes/no or 1/0)");
  CHECK(!ct_check("pass-authorization", APP, "yes"));
}

CTEST(parse_size) {
  uint64_t v;
  CHECK_EQ(sysgi_parse_size("0", &v), 0);
  CHECK_EQ(v, 0);
  CHECK_EQ(sysgi_parse_size("512", &v), 0);
  CHECK_EQ(v, 512);
  CHECK_EQ(sysgi_parse_size("1K", &v), 0);
  CHECK_EQ(v, 1024);
  CHECK_EQ(sysgi_parse_size("512M", &v), 0);
  CHECK_EQ(v, 512ull << 20);
  CHECK_EQ(sysgi_parse_size("512m", &v), 0);
  CHECK_EQ(v, 512ull << 20);
  CHECK_EQ(sysgi_parse_size("2G", &v), 0);
  CHECK_EQ(v, 2ull << 30);
  CHECK_EQ(sysgi_parse_size("3g", &v), 0);
  CHECK_EQ(v, 3ull << 30);
  const char *bad[] = {"", "M", "1.5G", "-1", "12X", "1KB", " 1K", "1 K",
                       "99999999999999999999", "17179869184G", "0x10"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    CHECK_EQ(sysgi_parse_size(bad[i], &v), SYSGI_E_CONFIG);
  CHECK_STR(ct_check("memory-limit", GRP, "lots"),
            "'lots' is not a size (a number of bytes, or with K, M or G: 512M)");
  CHECK(!ct_check("log-max-size", SRV, "10M"));
}

CTEST(parse_numbers) {
  uint64_t v;
  CHECK_EQ(sysgi_parse_uint("16", 1, 1024, &v), 0);
  CHECK_EQ(v, 16);
  CHECK_EQ(sysgi_parse_uint("0", 1, 1024, &v), SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_parse_uint("1025", 1, 1024, &v), SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_parse_uint("+3", 1, 1024, &v), SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_parse_uint("3 ", 1, 1024, &v), SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_parse_uint("", 0, 1024, &v), SYSGI_E_CONFIG);
  CHECK_STR(ct_check("threads", SRV, "0"), "'0' is not a number from 1 to 1024");
  CHECK_STR(ct_check("threads", GRP, "many"),
            "'many' is not a number from 1 to 1024");
  CHECK(!ct_check("processes", GRP, "4"));
  CHECK_STR(ct_check("processes", GRP, "257"),
            "'257' is not a number from 1 to 256");
  /* signed */
  CHECK(!ct_check("cpu-priority", GRP, "-20"));
  CHECK(!ct_check("cpu-priority", GRP, "+5"));
  CHECK(!ct_check("cpu-priority", GRP, "20"));
  CHECK_STR(ct_check("cpu-priority", GRP, "-21"),
            "'-21' is not a number from -20 to 20");
  CHECK(ct_check("cpu-priority", GRP, "--1"));
  /* seconds */
  CHECK(!ct_check("shutdown-timeout", SRV, "30"));
  CHECK_STR(ct_check("shutdown-timeout", SRV, "5s"),
            "'5s' is not a number of seconds from 0 to 3600");
  CHECK(ct_check("shutdown-timeout", GRP, "3601"));
  CHECK(!ct_check("request-timeout", GRP, "4294967"));
  CHECK(ct_check("request-timeout", GRP, "4294968"));
}

CTEST(parse_listen) {
  const char *good[] = {
      "http://+:8080/", "https://*:443/app/", "http://localhost:80/",
      "http://www.example.com:8000/a/b/", "http://127.0.0.1:1/",
      "http://[::1]:8080/", "http://+:80/ http://+:81/",
      "http://+:80/,https://+:443/", "  http://+:80/  "};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    const char *e = ct_check("listen", SRV, good[i]);
    if (e)
      fprintf(stderr, "%s: %s\n", good[i], e);
    CHECK(!e);
  }
  CHECK_STR(ct_check("listen", SRV, "+:8080/"),
            "'+:8080/' is not an http.sys URL prefix: it must start with "
            "http:// or https://");
  CHECK_STR(ct_check("listen", SRV, "http://+/"),
            "'http://+/' is not an http.sys URL prefix: the port is missing "
            "(http://+:8080/)");
  CHECK_STR(ct_check("listen", SRV, "http://+:0/"),
            "'http://+:0/' is not an http.sys URL prefix: the port must be a "
            "number from 1 to 65535");
  CHECK_CONTAINS(ct_check("listen", SRV, "http://+:65536/"), "1 to 65535");
  CHECK_CONTAINS(ct_check("listen", SRV, "http://+:80x/"), "must follow the port");
  CHECK_CONTAINS(ct_check("listen", SRV, "http://+:/"), "1 to 65535");
  CHECK_STR(ct_check("listen", SRV, "http://+:8080"),
            "'http://+:8080' is not an http.sys URL prefix: a path starting "
            "with '/' must follow the port");
  CHECK_STR(ct_check("listen", SRV, "http://+:8080/app"),
            "'http://+:8080/app' is not an http.sys URL prefix: it must end "
            "with '/'");
  CHECK_CONTAINS(ct_check("listen", SRV, "http://:80/"), "the host must be");
  CHECK_CONTAINS(ct_check("listen", SRV, "http://+x:80/"), "the host must be");
  CHECK_CONTAINS(ct_check("listen", SRV, "http://a b:80/"), "is not");
  CHECK_CONTAINS(ct_check("listen", SRV, "http://h%:80/"), "bad character");
  CHECK_CONTAINS(ct_check("listen", SRV, "http://+:80/a?b/"), "'?' in the path");
  CHECK_CONTAINS(ct_check("listen", SRV, "ftp://+:21/"), "http:// or https://");
  CHECK_CONTAINS(ct_check("listen", SRV, "http://[::1:80/"), "IPv6");
  CHECK_STR(ct_check("listen", SRV, ""), "no URL prefix given (http://+:8080/)");
  CHECK_STR(ct_check("listen", SRV, " , "), "no URL prefix given (http://+:8080/)");
  CHECK_STR(ct_check("listen", SRV, "http://+:80/ http://+:80/"),
            "'http://+:80/' is given twice");
}

CTEST(parse_paths) {
  char file[1200], dir[1200], missing[1200], list[2600];
  snprintf(file, sizeof file, "%s", ct_make("wsgi.py"));
  snprintf(dir, sizeof dir, "%s", ct_make("venv/"));
  snprintf(missing, sizeof missing, "%s", ct_path("nope"));
  CHECK(!ct_check("script", APP, file));
  CHECK(!ct_check("python-home", SRV, dir));
  CHECK(!ct_check("home", GRP, dir));
  char want[1400];
  snprintf(want, sizeof want, "no such file: %s", missing);
  CHECK_STR(ct_check("script", APP, missing), want);
  snprintf(want, sizeof want, "%s is a directory, not a file", dir);
  CHECK_STR(ct_check("script", APP, dir), want);
  snprintf(want, sizeof want, "no such directory: %s", missing);
  CHECK_STR(ct_check("python-home", SRV, missing), want);
  snprintf(want, sizeof want, "%s is a file, not a directory", file);
  CHECK_STR(ct_check("python-home", GRP, file), want);
  CHECK(ct_check("script", APP, ""));
  /* a log file need not exist, its directory must */
  CHECK(!ct_check("log-file", SRV, ct_path("sysgi.log")));
  CHECK(!ct_check("log-file", SRV, "relative.log"));
  char log[1300];
  snprintf(log, sizeof log, "%s%csysgi.log", missing, ct_sep());
  CHECK_CONTAINS(ct_check("log-file", SRV, log), "no such directory: ");
  CHECK_CONTAINS(ct_check("log-file", SRV, dir), "is a directory, not a file");
  /* path lists: every entry must exist; empty entries are skipped */
  char sep = ct_sep() == '\\' ? ';' : ':';
  snprintf(list, sizeof list, "%s%c%s%c", dir, sep, file, sep);
  CHECK(!ct_check("python-path", SRV, list));
  CHECK(!ct_check("python-path", GRP, ""));
  snprintf(list, sizeof list, "%s%c%s", dir, sep, missing);
  snprintf(want, sizeof want, "no such file or directory: %s", missing);
  CHECK_STR(ct_check("python-path", SRV, list), want);
}

CTEST(parse_names) {
  CHECK(!ct_check("callable-object", APP, "application"));
  CHECK(!ct_check("callable-object", APP, "_app2"));
  CHECK_STR(ct_check("callable-object", APP, "my-app"),
            "'my-app' is not a Python identifier (the name of the WSGI "
            "callable in the script)");
  CHECK(ct_check("callable-object", APP, "2app"));
  CHECK(ct_check("callable-object", APP, ""));
  const char *groups[] = {"%{GLOBAL}", "%{SERVER}", "%{RESOURCE}",
                          "%{ENV:SITE}", "mysite", ""};
  for (size_t i = 0; i < sizeof groups / sizeof *groups; i++)
    CHECK(!ct_check("application-group", APP, groups[i]));
  CHECK_STR(ct_check("application-group", APP, "%{HOST}"),
            "unknown application group macro '%{HOST}' (use %{GLOBAL}, "
            "%{SERVER}, %{RESOURCE}, %{ENV:name} or a literal name)");
  CHECK(ct_check("application-group", APP, "%{ENV:}"));
  CHECK(ct_check("application-group", APP, "%{ENV:A"));
  CHECK(!ct_check("process-group", APP, "%{GLOBAL}"));
  CHECK(!ct_check("process-group", APP, "mysite"));
  CHECK_CONTAINS(ct_check("process-group", APP, "my site"),
                 "is not a process group name");
  CHECK(ct_check("process-group", APP, "%{SERVER}"));
  CHECK(!ct_check("log-level", SRV, "DEBUG"));
  CHECK(!ct_check("log-level", SRV, "warning"));
  CHECK_STR(ct_check("log-level", SRV, "loud"),
            "'loud' is not a log level (use error, warn, info or debug)");
  CHECK_STR(ct_check("lang", GRP, ""), "must not be empty");
  CHECK(sysgi_check_group_spec(NULL) != 0);
  char err[64];
  CHECK_EQ(sysgi_config_check_value(NULL, "x", err, sizeof err), SYSGI_E_CONFIG);
  CHECK_STR(err, "unknown setting");
}

/* The table itself: every row complete, (name, scope) unique, registry
 * names on server rows only, every default accepted by its own parser. */
CTEST(table_rows) {
  size_t n;
  const sysgi_setting *t = sysgi_config_settings(&n);
  CHECK(n >= 40);
  for (size_t i = 0; i < n; i++) {
    unsigned s = t[i].scopes;
    CHECK(t[i].name && *t[i].name && t[i].help && *t[i].help);
    CHECK(s == SRV || s == APP || s == GRP);
    CHECK(!t[i].registry || s == SRV);
    CHECK(sysgi_config_find_scoped(t[i].name, s) == &t[i]);
    if (t[i].default_value) {
      char err[256];
      if (sysgi_config_check_value(&t[i], t[i].default_value, err, sizeof err))
        fprintf(stderr, "%s: default %s: %s\n", t[i].name,
                t[i].default_value, err);
      CHECK_EQ(sysgi_config_check_value(&t[i], t[i].default_value, err,
                                        sizeof err), 0);
    }
    if (t[i].inherit)
      CHECK(sysgi_config_find_scoped(t[i].inherit, SRV));
    CHECK(!sysgi_config_unsupported(t[i].name));
  }
  /* find: by name, directive, option and registry name */
  CHECK_STR(sysgi_config_find("python-home")->name, "python-home");
  CHECK_EQ(sysgi_config_find("python-home")->scopes, SRV);
  CHECK_STR(sysgi_config_find("WSGIPythonHome")->name, "python-home");
  CHECK_STR(sysgi_config_find("wsgipythonhome")->name, "python-home");
  CHECK_STR(sysgi_config_find("PythonHome")->name, "python-home");
  CHECK_STR(sysgi_config_find("WSGIDaemonProcess processes=")->name, "processes");
  CHECK_STR(sysgi_config_find("ConfigFile")->name, "config-file");
  CHECK_STR(sysgi_config_find("WSGIScriptReloading")->name, "script-reloading");
  CHECK(!sysgi_config_find("no-such-thing"));
  CHECK(!sysgi_config_find(NULL));
  CHECK_EQ(sysgi_config_find_scoped("threads", GRP)->scopes, GRP);
  CHECK_STR(sysgi_config_find_scoped("threads", GRP)->default_value, "15");
  CHECK_STR(sysgi_config_find_scoped("threads", SRV)->default_value, "8");
  CHECK(!sysgi_config_find_scoped("script", SRV));
  CHECK_CONTAINS(sysgi_config_unsupported("user"), "not supported on Windows");
  CHECK_CONTAINS(sysgi_config_unsupported("chroot"), "not supported on Windows");
  CHECK(!sysgi_config_unsupported("processes"));
}

/* Every WSGIDaemonProcess option of mod_wsgi 4.9.4 (from its source, as
 * listed in ../shared/reference/mod_wsgi-directives.txt) is either a
 * [process-group] setting or rejected with a reason: none is "unknown". */
CTEST(daemon_options_covered) {
  static const char *const opts[] = {
      "chroot", "connect-timeout", "cpu-priority", "cpu-time-limit",
      "deadlock-timeout", "display-name", "eviction-timeout",
      "graceful-timeout", "group", "header-buffer-size", "home",
      "inactivity-timeout", "lang", "listen-backlog", "locale",
      "maximum-requests", "memory-limit", "newrelic-config-file",
      "newrelic-environment", "processes", "python-eggs", "python-home",
      "python-path", "queue-timeout", "receive-buffer-size",
      "request-timeout", "response-buffer-size", "response-socket-timeout",
      "restart-interval", "script-group", "script-user", "send-buffer-size",
      "server-metrics", "shutdown-timeout", "socket-timeout", "socket-user",
      "stack-size", "startup-timeout", "supplementary-groups", "threads",
      "umask", "user", "virtual-memory-limit"};
  size_t supported = 0;
  for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
    const sysgi_setting *s = sysgi_config_find_scoped(opts[i], GRP);
    const char *why = sysgi_config_unsupported(opts[i]);
    if (!s && !why)
      fprintf(stderr, "WSGIDaemonProcess %s= is not covered\n", opts[i]);
    CHECK(s || why);
    CHECK(!(s && why));
    if (s) {
      char want[64];
      snprintf(want, sizeof want, "WSGIDaemonProcess %s=", opts[i]);
      CHECK_STR(s->directive, want);
      supported++;
    }
  }
  CHECK_EQ(supported, 24);
}
