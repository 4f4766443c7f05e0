/* The model: sections, set with origins, override, defaults, inheritance,
 * cross-checks, the error messages and the dump. */
#include "ctest.h"

static const sysgi_origin INI3 = {SYSGI_ORIGIN_FILE, "C:\\sysgi\\sysgi.ini", 3};
static const sysgi_origin INI7 = {SYSGI_ORIGIN_FILE, "C:\\sysgi\\sysgi.ini", 7};
static const sysgi_origin REG = {SYSGI_ORIGIN_REGISTRY,
                                 "HKLM\\SOFTWARE\\sysgi\\Threads", 0};
static const sysgi_origin FLAG = {SYSGI_ORIGIN_COMMAND_LINE, "--threads", 0};
static const sysgi_origin CONF = {SYSGI_ORIGIN_DIRECTIVE, "/etc/httpd.conf", 12};

static sysgi_config *new_cfg(int ci) {
  sysgi_config *c = sysgi_config_new(ci);
  CHECK(c);
  return c;
}

CTEST(origin_format) {
  char b[200];
  CHECK_STR(sysgi_origin_format(&INI3, b, sizeof b), "C:\\sysgi\\sysgi.ini:3");
  CHECK_STR(sysgi_origin_format(&REG, b, sizeof b),
            "registry HKLM\\SOFTWARE\\sysgi\\Threads");
  CHECK_STR(sysgi_origin_format(&FLAG, b, sizeof b), "command line --threads");
  CHECK_STR(sysgi_origin_format(&CONF, b, sizeof b), "/etc/httpd.conf:12");
  CHECK_STR(sysgi_origin_format(NULL, b, sizeof b), "default");
  sysgi_origin f0 = {SYSGI_ORIGIN_FILE, "a.ini", 0};
  CHECK_STR(sysgi_origin_format(&f0, b, sizeof b), "a.ini");
  CHECK_STR(sysgi_origin_format(&INI3, b, 6), "C:\\sy");
  CHECK_STR(sysgi_origin_kind_name(SYSGI_ORIGIN_REGISTRY), "registry");
  CHECK_STR(sysgi_origin_kind_name(SYSGI_ORIGIN_DEFAULT), "default");
}

/* Each kind of origin in an error, with section and key. */
CTEST(error_messages) {
  sysgi_config *c = new_cfg(1);
  CHECK_EQ(sysgi_config_set(c, "server", "threads", "lots", &INI3),
           SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_set(c, "server", "Threads", "0", &REG), SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_set(c, "server", "threads", "2000", &FLAG),
           SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_set(c, "server", "enable-sendfile", "maybe", &CONF),
           SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_set(c, "server", "log-level", "loud", NULL),
           SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_n_errors(c), 5);
  CHECK_STR(sysgi_config_error(c, 0),
            "C:\\sysgi\\sysgi.ini:3: [server] threads: 'lots' is not a number "
            "from 1 to 1024");
  CHECK_STR(sysgi_config_error(c, 1),
            "registry HKLM\\SOFTWARE\\sysgi\\Threads: [server] Threads: unknown "
            "setting (the key for Threads is 'threads')");
  CHECK_STR(sysgi_config_error(c, 2),
            "command line --threads: [server] threads: '2000' is not a number "
            "from 1 to 1024");
  CHECK_STR(sysgi_config_error(c, 3),
            "/etc/httpd.conf:12: [server] enable-sendfile: 'maybe' is not a "
            "boolean (use on/off, true/false, yes/no or 1/0)");
  CHECK_STR(sysgi_config_error(c, 4),
            "[server] log-level: 'loud' is not a log level (use error, warn, "
            "info or debug)");
  CHECK(!sysgi_config_error(c, 5));
  /* nothing was stored by a failed set */
  CHECK(!sysgi_config_get(c, "server", "threads", NULL));
  CHECK_EQ(sysgi_config_finish(c), SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_n_errors(c), 5);
  sysgi_config_free(c);
}

CTEST(unknown_and_misplaced_keys) {
  sysgi_config *c = new_cfg(1);
  const char *script = ct_make("app.py");
  CHECK_EQ(sysgi_config_set(c, "server", "thread", "4", &INI3), SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_set(c, "server", "script", script, &INI3),
           SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_set(c, "app:/", "listen", "http://+:80/", &INI7),
           SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_set(c, "process-group:a", "user", "www-data", &INI7),
           SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_set(c, "process-group:a", "umask", "022", &INI7),
           SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_set(c, "app:/", "WSGICallableObject", "app", &INI7),
           SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_set(c, "server", "python-home", "x", NULL) != 0, 1);
  CHECK_EQ(sysgi_config_set(c, "app:/", "threads", "4", &INI7), SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_set(c, "app:/", "", "4", &INI7), SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_set(c, "app:/", "script", NULL, &INI7), SYSGI_E_CONFIG);
  CHECK_STR(sysgi_config_error(c, 0),
            "C:\\sysgi\\sysgi.ini:3: [server] thread: unknown setting");
  CHECK_STR(sysgi_config_error(c, 1),
            "C:\\sysgi\\sysgi.ini:3: [server] script: not allowed here (it "
            "belongs in [app:MOUNT])");
  CHECK_STR(sysgi_config_error(c, 2),
            "C:\\sysgi\\sysgi.ini:7: [app:/] listen: not allowed here (it "
            "belongs in [server])");
  CHECK_STR(sysgi_config_error(c, 3),
            "C:\\sysgi\\sysgi.ini:7: [process-group:a] user: not supported on "
            "Windows (a POSIX account; the service's account is chosen with "
            "'sysgi install --account', and 'restricted-token = on' limits a "
            "group's processes)");
  CHECK_STR(sysgi_config_error(c, 4),
            "C:\\sysgi\\sysgi.ini:7: [process-group:a] umask: not supported on "
            "Windows (POSIX file mode mask)");
  CHECK_STR(sysgi_config_error(c, 5),
            "C:\\sysgi\\sysgi.ini:7: [app:/] WSGICallableObject: unknown "
            "setting (the key for WSGICallableObject is 'callable-object')");
  CHECK_CONTAINS(sysgi_config_error(c, 6), "[server] python-home: no such directory: x");
  CHECK_STR(sysgi_config_error(c, 7),
            "C:\\sysgi\\sysgi.ini:7: [app:/] threads: not allowed here (it "
            "belongs in [server] or [process-group:NAME])");
  CHECK_STR(sysgi_config_error(c, 8),
            "C:\\sysgi\\sysgi.ini:7: [app:/] a setting without a name");
  CHECK_STR(sysgi_config_error(c, 9),
            "C:\\sysgi\\sysgi.ini:7: [app:/] script: no value");
  sysgi_config_free(c);
}

CTEST(bad_sections) {
  sysgi_config *c = new_cfg(1);
  CHECK_EQ(sysgi_config_add_section(c, "servers", &INI3), SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_add_section(c, "app:blog", &INI3), SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_add_section(c, "app:/a b", &INI3), SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_add_section(c, "process-group:", &INI3), SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_set(c, NULL, "threads", "4", &INI3), SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_add_section(c, "server", &INI3), 0);
  CHECK_EQ(sysgi_config_add_section(c, "SERVER", &INI3), 0);
  CHECK_STR(ct_errors(c),
            "C:\\sysgi\\sysgi.ini:3: [servers] unknown section (use [server], "
            "[app:/MOUNT] or [process-group:NAME])\n"
            "C:\\sysgi\\sysgi.ini:3: [app:blog] the mount must start with '/' "
            "([app:/] is the root, [app:/blog] a sub-path)\n"
            "C:\\sysgi\\sysgi.ini:3: [app:/a b] '/a b' is not a URL path to "
            "mount on\n"
            "C:\\sysgi\\sysgi.ini:3: [process-group:] '' is not a process group "
            "name (letters, digits, '-', '_' or '.', no spaces)\n"
            "C:\\sysgi\\sysgi.ini:3: threads: no section given");
  sysgi_config_add_error(c, &INI7, "server", NULL, "expected 'key = value'");
  sysgi_config_add_error(c, &REG, NULL, NULL, "REG_BINARY is not a string");
  CHECK_STR(sysgi_config_error(c, 5),
            "C:\\sysgi\\sysgi.ini:7: [server] expected 'key = value'");
  CHECK_STR(sysgi_config_error(c, 6),
            "registry HKLM\\SOFTWARE\\sysgi\\Threads: REG_BINARY is not a string");
  sysgi_config_free(c);
}

/* The registry, read after the INI file, wins, and the origin follows. */
CTEST(override_keeps_last_origin) {
  sysgi_config *c = new_cfg(1);
  const sysgi_origin *o = NULL;
  CHECK_EQ(sysgi_config_set(c, "server", "threads", "16", &INI3), 0);
  CHECK_STR(sysgi_config_get(c, "server", "threads", &o), "16");
  CHECK_EQ(o->kind, SYSGI_ORIGIN_FILE);
  CHECK_EQ(o->line, 3);
  CHECK_EQ(sysgi_config_set(c, "server", "threads", "4", &REG), 0);
  CHECK_STR(sysgi_config_get(c, "server", "threads", &o), "4");
  CHECK_EQ(o->kind, SYSGI_ORIGIN_REGISTRY);
  CHECK_STR(o->where, "HKLM\\SOFTWARE\\sysgi\\Threads");
  CHECK_EQ(o->line, 0);
  /* a bad later value does not replace the good one */
  CHECK_EQ(sysgi_config_set(c, "server", "threads", "x", &FLAG), SYSGI_E_CONFIG);
  CHECK_STR(sysgi_config_get(c, "server", "threads", &o), "4");
  CHECK_EQ(sysgi_config_set(c, "server", "threads", "2", &FLAG), 0);
  CHECK_EQ(sysgi_config_n_errors(c), 1);
  sysgi_config_n_errors(c);
  /* the origin is copied: the caller's strings may go */
  char where[64];
  snprintf(where, sizeof where, "--max-queued");
  sysgi_origin tmp = {SYSGI_ORIGIN_COMMAND_LINE, where, 0};
  CHECK_EQ(sysgi_config_set(c, "server", "max-queued", "10", &tmp), 0);
  memset(where, 'x', sizeof where - 1);
  CHECK_EQ(sysgi_config_finish(c), SYSGI_E_CONFIG); /* the one error above */
  CHECK_EQ(sysgi_config_server(c)->threads, 2);
  CHECK_EQ(sysgi_config_server(c)->max_queued, 10);
  CHECK_STR(sysgi_config_get(c, "server", "max-queued", &o), "10");
  CHECK_STR(o->where, "--max-queued");
  sysgi_config_free(c);
}

CTEST(defaults_and_inheritance) {
  sysgi_config *c = new_cfg(0);
  char script[1200], home[1200];
  const sysgi_origin *o;
  snprintf(script, sizeof script, "%s", ct_make("site.py"));
  snprintf(home, sizeof home, "%s", ct_make("home/"));
  CHECK_EQ(sysgi_config_set(c, "server", "enable-sendfile", "on", &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "server", "python-home", home, &REG), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/", "script", script, &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/", "process-group", "site", &INI7), 0);
  CHECK_EQ(sysgi_config_add_section(c, "process-group:site", &INI7), 0);
  CHECK_EQ(sysgi_config_finish(c), 0);
  const sysgi_server_settings *s = sysgi_config_server(c);
  CHECK_EQ(s->n_listen, 1);
  CHECK_STR(s->listen[0], "http://127.0.0.1:8000/");
  CHECK_EQ(s->threads, 8);
  CHECK_EQ(s->max_queued, 64);
  CHECK_STR(s->python_home, home);
  CHECK_EQ(s->n_python_path, 0);
  CHECK_EQ(s->enable_sendfile, 1);
  CHECK_EQ(s->dont_write_bytecode, 0);
  CHECK_EQ(s->case_insensitive_paths, 0);
  CHECK_EQ(s->case_sensitivity, -1);
  CHECK_EQ(s->shutdown_timeout_ms, 5000);
  CHECK(!s->log_file);
  CHECK_EQ(s->log_level, SYSGI_LOG_INFO);
  CHECK_EQ(s->log_max_size, 10u << 20);
  CHECK_EQ(s->log_keep, 5);
  CHECK(!s->config_file);
  CHECK_STR(sysgi_config_get(c, "server", "threads", &o), "8");
  CHECK_EQ(o->kind, SYSGI_ORIGIN_DEFAULT);
  CHECK(!sysgi_config_get(c, "server", "python-path", &o));

  CHECK_EQ(sysgi_config_n_apps(c), 1);
  const sysgi_app_settings *a = sysgi_config_app(c, 0);
  CHECK_STR(a->mount, "");
  CHECK_STR(a->section, "app:/");
  CHECK_STR(a->script, script);
  CHECK_STR(a->callable_object, "application");
  CHECK_STR(a->application_group, "%{RESOURCE}");
  CHECK_STR(a->process_group, "site");
  CHECK_EQ(a->pass_authorization, 0);
  CHECK_EQ(a->script_reloading, 1);
  CHECK_EQ(a->enable_sendfile, 1); /* the server's */
  CHECK_STR(sysgi_config_get(c, "app:/", "enable-sendfile", &o), "on");
  CHECK_EQ(o->kind, SYSGI_ORIGIN_FILE); /* where the server's came from */
  CHECK_EQ(o->line, 3);

  CHECK_EQ(sysgi_config_n_groups(c), 1);
  const sysgi_group_settings *g = sysgi_config_group(c, 0);
  CHECK(g == sysgi_config_find_group(c, "site"));
  CHECK(!sysgi_config_find_group(c, "Site"));
  CHECK_STR(g->name, "site");
  CHECK_EQ(g->processes, 1);
  CHECK_EQ(g->threads, 15);
  CHECK_STR(g->python_home, home); /* the server's */
  CHECK_EQ(g->memory_limit, 0);
  CHECK_EQ(g->shutdown_timeout_ms, 5000);
  CHECK_EQ(g->deadlock_timeout_ms, 300000);
  CHECK_EQ(g->graceful_timeout_ms, 15000);
  CHECK_EQ(g->listen_backlog, 100);
  CHECK(!g->lang && !g->locale && !g->home && !g->display_name);
  CHECK_EQ(g->dont_write_bytecode, 0); /* the server's */
  CHECK_EQ(g->restricted_token, 0);
  CHECK(!sysgi_config_app(c, 1) && !sysgi_config_group(c, 1));
  sysgi_config_free(c);
}

CTEST(typed_values) {
  sysgi_config *c = new_cfg(1);
  char dir[1200], file[1200], pp[2600];
  char sep = ct_sep() == '\\' ? ';' : ':';
  snprintf(dir, sizeof dir, "%s", ct_make("lib/"));
  snprintf(file, sizeof file, "%s", ct_make("lib.zip"));
  snprintf(pp, sizeof pp, "%s%c%s", dir, sep, file);
  CHECK_EQ(sysgi_config_set(c, "server", "listen",
                            "http://+:80/, https://+:443/app/", &REG), 0);
  CHECK_EQ(sysgi_config_set(c, "server", "python-path", pp, &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "server", "log-max-size", "1G", &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "server", "log-level", "debug", &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "server", "shutdown-timeout", "30", &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "process-group:g", "processes", "2", &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "process-group:g", "memory-limit", "512M", &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "process-group:g", "virtual-memory-limit", "2G", &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "process-group:g", "cpu-priority", "-5", &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "process-group:g", "lang", "en_US.UTF-8", &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "process-group:g", "python-path", pp, &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "process-group:g", "request-timeout", "60", &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "process-group:g", "stack-size", "512K", &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "process-group:g", "restricted-token", "on", &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "server", "dont-write-bytecode", "on", &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "process-group:h", "dont-write-bytecode", "off", &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "process-group:g", "restricted-token", "maybe", &INI7),
           SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_finish(c), SYSGI_E_CONFIG); /* the "maybe" */
  CHECK_EQ(sysgi_config_n_errors(c), 1);
  const sysgi_server_settings *s = sysgi_config_server(c);
  CHECK_EQ(s->n_listen, 2);
  CHECK_STR(s->listen[0], "http://+:80/");
  CHECK_STR(s->listen[1], "https://+:443/app/");
  CHECK_EQ(s->n_python_path, 2);
  CHECK_STR(s->python_path[0], dir);
  CHECK_STR(s->python_path[1], file);
  CHECK_EQ(s->log_max_size, 1ull << 30);
  CHECK_EQ(s->log_level, SYSGI_LOG_DEBUG);
  CHECK_EQ(s->shutdown_timeout_ms, 30000);
  CHECK_EQ(s->case_insensitive_paths, 1);
  const sysgi_group_settings *g = sysgi_config_find_group(c, "g");
  CHECK(g);
  CHECK_EQ(g->processes, 2);
  CHECK_EQ(g->memory_limit, 512ull << 20);
  CHECK_EQ(g->virtual_memory_limit, 2ull << 30);
  CHECK_EQ(g->cpu_priority, -5);
  CHECK_STR(g->lang, "en_US.UTF-8");
  CHECK_EQ(g->n_python_path, 2);
  CHECK_STR(g->python_path[1], file);
  CHECK_EQ(g->request_timeout_ms, 60000);
  CHECK_EQ(g->stack_size, 512u << 10);
  CHECK(!g->python_home); /* the server has none */
  CHECK_EQ(g->restricted_token, 1);
  CHECK_EQ(g->dont_write_bytecode, 1); /* the server's */
  CHECK_EQ(sysgi_config_find_group(c, "h")->dont_write_bytecode, 0);
  CHECK_EQ(sysgi_config_n_apps(c), 0);
  sysgi_config_free(c);
}

/* Relative paths in a file are relative to the file's directory; from the
 * registry or a flag they stay as given. config-file cannot come from a
 * file. */
CTEST(relative_paths_and_config_file) {
  sysgi_config *c = new_cfg(1);
  char ini[1200], want[1300];
  ct_make("site/");
  ct_make("site/wsgi.py");
  ct_make("site/lib/");
  snprintf(ini, sizeof ini, "%s", ct_path("site/sysgi.ini"));
  sysgi_origin o = {SYSGI_ORIGIN_FILE, ini, 2};
  CHECK_EQ(sysgi_config_set(c, "app:/x", "script", "wsgi.py", &o), 0);
  snprintf(want, sizeof want, "%s", ct_path("site/wsgi.py"));
  CHECK_STR(sysgi_config_get(c, "app:/x", "script", NULL), want);
  CHECK_EQ(sysgi_config_set(c, "server", "python-path", "lib", &o), 0);
  snprintf(want, sizeof want, "%s", ct_path("site/lib"));
  CHECK_STR(sysgi_config_get(c, "server", "python-path", NULL), want);
  CHECK_EQ(sysgi_config_set(c, "app:/y", "script", "wsgi.py", &REG),
           SYSGI_E_CONFIG);
  CHECK_CONTAINS(sysgi_config_error(c, 0), "[app:/y] script: no such file: wsgi.py");
  CHECK_EQ(sysgi_config_set(c, "server", "config-file", ini, &o), SYSGI_E_CONFIG);
  CHECK_CONTAINS(sysgi_config_error(c, 1), "[server] config-file: cannot be set "
                 "in the file it names");
  const char *real_ini = ct_make("site/sysgi.ini");
  sysgi_origin reg = {SYSGI_ORIGIN_REGISTRY, "HKLM\\SOFTWARE\\sysgi\\ConfigFile", 0};
  CHECK_EQ(sysgi_config_set(c, "server", "config-file", real_ini, &reg), 0);
  CHECK_EQ(sysgi_config_n_errors(c), 2);
  sysgi_config_free(c);
}

CTEST(app_checks) {
  sysgi_config *c = new_cfg(1);
  const char *script = ct_make("a.py");
  CHECK_EQ(sysgi_config_add_section(c, "app:/empty", &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/x", "script", script, &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/x", "process-group", "nogroup", &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/y", "script", script, &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/y", "process-group", "%{GLOBAL}", &INI7), 0);
  CHECK_EQ(sysgi_config_finish(c), SYSGI_E_CONFIG);
  CHECK_STR(ct_errors(c),
            "C:\\sysgi\\sysgi.ini:3: [app:/empty] script: missing (every "
            "application needs its WSGI script)\n"
            "C:\\sysgi\\sysgi.ini:7: [app:/x] process-group: no "
            "[process-group:nogroup] is defined");
  CHECK_STR(sysgi_config_app(c, 2)->process_group, "");
  /* finish twice, set after finish */
  CHECK_EQ(sysgi_config_finish(c), SYSGI_E_CONFIG);
  CHECK_EQ(sysgi_config_set(c, "server", "threads", "3", &INI3), SYSGI_E_INVAL);
  CHECK_EQ(sysgi_config_add_section(c, "app:/z", &INI3), SYSGI_E_INVAL);
  sysgi_config_free(c);
}

CTEST(mount_collisions) {
  const char *script = ct_make("c.py");
  /* Windows: case-insensitive */
  sysgi_config *c = new_cfg(1);
  CHECK_EQ(sysgi_config_set(c, "app:/Blog", "script", script, &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/blog", "script", script, &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/shop/", "script", script, &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/shop", "script", script, &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "App:/shop", "callable-object", "app", &INI3), 0);
  CHECK_EQ(sysgi_config_finish(c), SYSGI_E_CONFIG);
  CHECK_STR(ct_errors(c),
            "C:\\sysgi\\sysgi.ini:7: [app:/blog] the mount '/blog' collides with "
            "[app:/Blog] (C:\\sysgi\\sysgi.ini:3); mounts compare "
            "case-insensitively\n"
            "C:\\sysgi\\sysgi.ini:7: [app:/shop/] the mount '/shop' collides "
            "with [app:/shop] (C:\\sysgi\\sysgi.ini:3)");
  CHECK_EQ(sysgi_config_n_apps(c), 4);
  CHECK_STR(sysgi_config_get(c, "app:/shop", "callable-object", NULL), "app");
  sysgi_config_free(c);
  /* case-sensitivity = on overrides the platform's default */
  c = new_cfg(1);
  CHECK_EQ(sysgi_config_set(c, "server", "case-sensitivity", "on", &REG), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/Blog", "script", script, &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/blog", "script", script, &INI7), 0);
  CHECK_EQ(sysgi_config_finish(c), 0);
  CHECK_EQ(sysgi_config_server(c)->case_insensitive_paths, 0);
  CHECK_EQ(sysgi_config_server(c)->case_sensitivity, 1);
  CHECK_STR(sysgi_config_match(c, "/blog/x", NULL)->mount, "/blog");
  CHECK(!sysgi_config_match(c, "/BLOG/x", NULL));
  sysgi_config_free(c);
  c = new_cfg(0);
  CHECK_EQ(sysgi_config_set(c, "server", "case-sensitivity", "off", &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/Blog", "script", script, &INI3), 0);
  CHECK_EQ(sysgi_config_finish(c), 0);
  CHECK_EQ(sysgi_config_server(c)->case_insensitive_paths, 1);
  CHECK_STR(sysgi_config_match(c, "/BLOG/x", NULL)->mount, "/Blog");
  sysgi_config_free(c);
  /* POSIX: /Blog and /blog are two apps */
  c = new_cfg(0);
  CHECK_EQ(sysgi_config_set(c, "app:/Blog", "script", script, &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/blog", "script", script, &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/", "script", script, &INI7), 0);
  CHECK_EQ(sysgi_config_finish(c), 0);
  CHECK_EQ(sysgi_config_n_apps(c), 3);
  sysgi_config_free(c);
}

CTEST(config_match) {
  const char *script = ct_make("m.py");
  sysgi_config *c = new_cfg(1);
  size_t len = 99;
  CHECK_EQ(sysgi_config_set(c, "app:/", "script", script, &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/App", "script", script, &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/app/api/", "script", script, &INI3), 0);
  CHECK_EQ(sysgi_config_finish(c), 0);
  CHECK_STR(sysgi_config_match(c, "/app/api/v1", &len)->mount, "/app/api");
  CHECK_EQ(len, 8);
  CHECK_STR(sysgi_config_match(c, "/APP/x", &len)->mount, "/App");
  CHECK_EQ(len, 4);
  CHECK_STR(sysgi_config_match(c, "/apple", &len)->mount, "");
  CHECK_EQ(len, 0);
  CHECK_STR(sysgi_config_match(c, "/", &len)->mount, "");
  sysgi_config_free(c);
  c = new_cfg(0);
  CHECK_EQ(sysgi_config_set(c, "app:/App", "script", script, &INI3), 0);
  CHECK_EQ(sysgi_config_finish(c), 0);
  CHECK(!sysgi_config_match(c, "/app/x", &len));
  CHECK_STR(sysgi_config_match(c, "/App/x", &len)->mount, "/App");
  sysgi_config_free(c);
}

typedef struct dump_buf {
  char text[16384];
  size_t lines;
} dump_buf;

static void dump_line(void *ctx, const char *section, const char *key,
                      const char *value, const sysgi_origin *o) {
  dump_buf *d = ctx;
  char where[600];
  size_t l = strlen(d->text);
  snprintf(d->text + l, sizeof d->text - l, "[%s] %s = %s (%s)\n", section,
           key, value ? value : "-", sysgi_origin_format(o, where, sizeof where));
  d->lines++;
}

/* Server first, then apps by mount, then groups by name; keys in the
 * table's order; every setting present, defaults included. */
CTEST(dump_order) {
  const char *script = ct_make("d.py");
  sysgi_config *c = new_cfg(1);
  size_t n, per[8] = {0};
  const sysgi_setting *t = sysgi_config_settings(&n);
  dump_buf *d = calloc(1, sizeof *d);
  CHECK(d);
  for (size_t i = 0; i < n; i++)
    per[t[i].scopes]++;
  CHECK_EQ(sysgi_config_set(c, "process-group:zeta", "processes", "2", &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/wiki", "script", script, &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "process-group:alpha", "threads", "3", &INI7), 0);
  CHECK_EQ(sysgi_config_set(c, "app:/", "script", script, &INI3), 0);
  CHECK_EQ(sysgi_config_set(c, "server", "threads", "12", &REG), 0);
  CHECK_EQ(sysgi_config_finish(c), 0);
  sysgi_config_dump(c, dump_line, d);
  CHECK_EQ(d->lines, per[SYSGI_SCOPE_SERVER] + 2 * per[SYSGI_SCOPE_APP] +
                         2 * per[SYSGI_SCOPE_GROUP]);
  const char *p_srv = strstr(d->text, "[server] listen = http://127.0.0.1:8000/ (default)\n");
  const char *p_thr = strstr(d->text, "[server] threads = 12 (registry HKLM\\SOFTWARE\\sysgi\\Threads)\n");
  const char *p_root = strstr(d->text, "[app:/] script = ");
  const char *p_wiki = strstr(d->text, "[app:/wiki] script = ");
  const char *p_alpha = strstr(d->text, "[process-group:alpha] processes = 1 (default)\n");
  const char *p_alpha_t = strstr(d->text, "[process-group:alpha] threads = 3 (C:\\sysgi\\sysgi.ini:7)\n");
  const char *p_zeta = strstr(d->text, "[process-group:zeta] processes = 2 (C:\\sysgi\\sysgi.ini:7)\n");
  CHECK(p_srv && p_thr && p_root && p_wiki && p_alpha && p_alpha_t && p_zeta);
  CHECK(p_srv < p_thr && p_thr < p_root && p_root < p_wiki && p_wiki < p_alpha &&
        p_alpha < p_alpha_t && p_alpha_t < p_zeta);
  CHECK(strstr(d->text, "[server] python-home = - (default)\n"));
  CHECK(strstr(d->text, "[app:/wiki] callable-object = application (default)\n"));
  /* the first line is the first row of the table */
  char first[128];
  snprintf(first, sizeof first, "[server] %s = ", t[0].name);
  CHECK(!strncmp(d->text, first, strlen(first)));
  /* before finish: nothing */
  sysgi_config *c2 = new_cfg(0);
  d->lines = 0;
  sysgi_config_dump(c2, dump_line, d);
  CHECK_EQ(d->lines, 0);
  CHECK(!sysgi_config_server(c2));
  sysgi_config_free(c2);
  free(d);
  sysgi_config_free(c);
}

/* The example of DESIGN.md section 4, with this machine's paths. */
CTEST(design_example) {
  sysgi_config *c = new_cfg(1);
  char home[1200], venv[1200], script[1200];
  snprintf(home, sizeof home, "%s", ct_make("Python312/"));
  snprintf(venv, sizeof venv, "%s", ct_make("venvs/"));
  snprintf(venv, sizeof venv, "%s", ct_make("venvs/mysite/"));
  ct_make("sites/");
  ct_make("sites/mysite/");
  snprintf(script, sizeof script, "%s", ct_make("sites/mysite/wsgi.py"));
  struct {
    const char *section, *key, *value;
  } lines[] = {
      {"server", "listen", "http://+:8080/"},
      {"server", "threads", "16"},
      {"server", "python-home", home},
      {"server", "enable-sendfile", "off"},
      {"app:/", "script", script},
      {"app:/", "application-group", "%{GLOBAL}"},
      {"app:/", "process-group", "mysite"},
      {"process-group:mysite", "processes", "2"},
      {"process-group:mysite", "threads", "15"},
      {"process-group:mysite", "python-home", venv},
      {"process-group:mysite", "lang", "en_US.UTF-8"},
      {"process-group:mysite", "locale", "en_US.UTF-8"},
      {"process-group:mysite", "memory-limit", "512M"},
      {"process-group:mysite", "virtual-memory-limit", "2G"},
  };
  for (unsigned i = 0; i < sizeof lines / sizeof *lines; i++) {
    sysgi_origin o = {SYSGI_ORIGIN_FILE, "sysgi.ini", i + 2};
    CHECK_EQ(sysgi_config_set(c, lines[i].section, lines[i].key,
                              lines[i].value, &o), 0);
  }
  CHECK_EQ(sysgi_config_finish(c), 0);
  CHECK_STR(ct_errors(c), "");
  CHECK_EQ(sysgi_config_server(c)->threads, 16);
  const sysgi_app_settings *a = sysgi_config_match(c, "/anything", NULL);
  CHECK(a);
  CHECK_STR(a->application_group, "%{GLOBAL}");
  const sysgi_group_settings *g = sysgi_config_find_group(c, a->process_group);
  CHECK(g);
  CHECK_EQ(g->processes, 2);
  CHECK_STR(g->python_home, venv);
  CHECK_EQ(g->virtual_memory_limit, 2ull << 30);
  sysgi_config_free(c);
}
