/*
 * config_table.c: the settings table (nginx's ngx_command_t is the model):
 * one row per setting and scope, with its mod_wsgi name, registry value,
 * parser, default and help. The README's configuration reference is
 * checked against this table by tests/config/test_readme.py.
 */
#include "sysgi_config.h"

#include <stddef.h>
#include <string.h>

#define SRV(f) SYSGI_SCOPE_SERVER, offsetof(sysgi_server_settings, f)
#define APP(f) SYSGI_SCOPE_APP, offsetof(sysgi_app_settings, f)
#define GRP(f) SYSGI_SCOPE_GROUP, offsetof(sysgi_group_settings, f)
#define DAEMON(opt) "WSGIDaemonProcess " opt "="

/* A row reads like the README's line: name, directive, registry,
 * SRV/APP/GRP(field), default, help, parser, min, max, inherit. ROW passes
 * its arguments on to ROW_ so that SRV(f) has become "scope, offset". */
#define ROW_(name, dir, reg, scope, off, def, help, type, min, max, inherit) \
  {name, dir, reg, scope, def, help, type, min, max, off, inherit}
#define ROW(...) ROW_(__VA_ARGS__)

static const sysgi_setting table[] = {
    /* ---- [server] ---- */
    ROW("listen", NULL, "Listen", SRV(listen), "http://127.0.0.1:8000/",
     "http.sys URL prefixes to serve (http[s]://host:port/path/), space or "
     "comma separated", SYSGI_T_LISTEN, 0, 0, NULL),
    ROW("threads", NULL, "Threads", SRV(threads), "8",
     "worker threads running requests", SYSGI_T_UINT, 1, 1024, NULL),
    ROW("max-queued", NULL, "MaxQueued", SRV(max_queued), "64",
     "requests waiting for a worker before 503", SYSGI_T_UINT, 1, 65535, NULL),
    ROW("python-home", "WSGIPythonHome", "PythonHome", SRV(python_home), NULL,
     "Python installation or virtual environment directory", SYSGI_T_DIR, 0,
     0, NULL),
    ROW("python-path", "WSGIPythonPath", "PythonPath", SRV(python_path), NULL,
     "extra sys.path entries (';' separated on Windows, ':' on POSIX)",
     SYSGI_T_PATH_LIST, 0, 0, NULL),
    ROW("enable-sendfile", "WSGIEnableSendfile", "EnableSendfile",
     SRV(enable_sendfile), "off",
     "send wsgi.file_wrapper files with the kernel", SYSGI_T_BOOL, 0, 0, NULL),
    ROW("dont-write-bytecode", "WSGIDontWriteBytecode", "DontWriteBytecode",
     SRV(dont_write_bytecode), "off", "never write .pyc files", SYSGI_T_BOOL,
     0, 0, NULL),
    ROW("case-sensitivity", "WSGICaseSensitivity", "CaseSensitivity",
     SRV(case_sensitivity), NULL,
     "on: mounts compare case-sensitively (unset: off on Windows, on "
     "elsewhere)", SYSGI_T_BOOL, 0, 0, NULL),
    ROW("shutdown-timeout", NULL, "ShutdownTimeout", SRV(shutdown_timeout_ms),
     "5", "seconds a stop waits for requests in flight", SYSGI_T_SECONDS, 0,
     3600, NULL),
    ROW("log-file", NULL, "LogFile", SRV(log_file), NULL,
     "the server's log file (its directory must exist)", SYSGI_T_NEW_FILE, 0,
     0, NULL),
    ROW("log-level", NULL, "LogLevel", SRV(log_level), "info",
     "error, warn, info or debug", SYSGI_T_LOG_LEVEL, 0, 0, NULL),
    ROW("log-max-size", NULL, "LogMaxSize", SRV(log_max_size), "10M",
     "size at which the log file is rotated (0: never)", SYSGI_T_SIZE, 0, 0,
     NULL),
    ROW("log-keep", NULL, "LogKeep", SRV(log_keep), "5",
     "rotated log files kept", SYSGI_T_UINT, 0, 100, NULL),
    ROW("config-file", NULL, "ConfigFile", SRV(config_file), NULL,
     "the INI file (registry or command line only)", SYSGI_T_FILE, 0, 0,
     NULL),
    ROW("python-optimize", "WSGIPythonOptimize", "PythonOptimize",
     SRV(python_optimize), "0",
     "Python's optimisation level (1: as -O, 2: as -OO)", SYSGI_T_UINT, 0, 2,
     NULL),
    ROW("python-hash-seed", "WSGIPythonHashSeed", "PythonHashSeed",
     SRV(python_hash_seed), NULL,
     "PYTHONHASHSEED: random or a number from 0 to 4294967295",
     SYSGI_T_HASH_SEED, 0, 0, NULL),
    ROW("python-warnings", "WSGIPythonWarnings", "PythonWarnings",
     SRV(python_warnings), NULL,
     "Python warnings filters (as -W; ',' separated)", SYSGI_T_STRING, 0, 0,
     NULL),

    /* ---- [app:MOUNT] ---- */
    ROW("script", "WSGIScriptAlias", NULL, APP(script), NULL,
     "the WSGI script file (required)", SYSGI_T_FILE, 0, 0, NULL),
    ROW("callable-object", "WSGICallableObject", NULL, APP(callable_object),
     "application", "name of the WSGI callable in the script",
     SYSGI_T_IDENTIFIER, 0, 0, NULL),
    ROW("application-group", "WSGIApplicationGroup", NULL,
     APP(application_group), "%{RESOURCE}",
     "interpreter: %{GLOBAL}, %{SERVER}, %{RESOURCE}, %{ENV:name} or a name",
     SYSGI_T_APP_GROUP, 0, 0, NULL),
    ROW("process-group", "WSGIProcessGroup", NULL, APP(process_group),
     "%{GLOBAL}",
     "the [process-group:NAME] that runs the app (%{GLOBAL}: the server)",
     SYSGI_T_PROC_GROUP, 0, 0, NULL),
    ROW("pass-authorization", "WSGIPassAuthorization", NULL,
     APP(pass_authorization), "off",
     "pass the Authorization header as HTTP_AUTHORIZATION", SYSGI_T_BOOL, 0,
     0, NULL),
    ROW("enable-sendfile", "WSGIEnableSendfile", NULL, APP(enable_sendfile),
     NULL, "send wsgi.file_wrapper files with the kernel", SYSGI_T_BOOL, 0, 0,
     "enable-sendfile"),
    ROW("script-reloading", "WSGIScriptReloading", NULL, APP(script_reloading),
     "on", "reload the script when its file changes", SYSGI_T_BOOL, 0, 0,
     NULL),
    ROW("chunked-request", "WSGIChunkedRequest", NULL, APP(chunked_request),
     "on", "accept request bodies sent chunked (off: 411 Length Required)",
     SYSGI_T_BOOL, 0, 0, NULL),

    /* ---- [process-group:NAME]: WSGIDaemonProcess's options ---- */
    ROW("processes", DAEMON("processes"), NULL, GRP(processes), "1",
     "worker processes", SYSGI_T_UINT, 1, 256, NULL),
    ROW("threads", DAEMON("threads"), NULL, GRP(threads), "15",
     "threads per process", SYSGI_T_UINT, 1, 1024, NULL),
    ROW("python-home", DAEMON("python-home"), NULL, GRP(python_home), NULL,
     "Python installation or virtual environment of the group",
     SYSGI_T_DIR, 0, 0, "python-home"),
    ROW("python-path", DAEMON("python-path"), NULL, GRP(python_path), NULL,
     "extra sys.path entries of the group", SYSGI_T_PATH_LIST, 0, 0, NULL),
    ROW("dont-write-bytecode", NULL, NULL, GRP(dont_write_bytecode), NULL,
     "never write .pyc files in the group's processes", SYSGI_T_BOOL, 0, 0,
     "dont-write-bytecode"),
    ROW("home", DAEMON("home"), NULL, GRP(home), NULL,
     "working directory of the processes", SYSGI_T_DIR, 0, 0, NULL),
    ROW("lang", DAEMON("lang"), NULL, GRP(lang), NULL,
     "LANG of the processes", SYSGI_T_STRING, 0, 0, NULL),
    ROW("locale", DAEMON("locale"), NULL, GRP(locale), NULL,
     "locale of the processes (LC_ALL)", SYSGI_T_STRING, 0, 0, NULL),
    ROW("display-name", DAEMON("display-name"), NULL, GRP(display_name), NULL,
     "name shown for the processes", SYSGI_T_STRING, 0, 0, NULL),
    ROW("memory-limit", DAEMON("memory-limit"), NULL, GRP(memory_limit), "0",
     "committed memory per process (Job Object; 0: no limit)", SYSGI_T_SIZE,
     0, 0, NULL),
    ROW("virtual-memory-limit", DAEMON("virtual-memory-limit"), NULL,
     GRP(virtual_memory_limit), "0",
     "memory of all the group's processes (Job Object; 0: no limit)",
     SYSGI_T_SIZE, 0, 0, NULL),
    ROW("cpu-time-limit", DAEMON("cpu-time-limit"), NULL, GRP(cpu_time_limit_ms),
     "0", "CPU seconds per process before it is restarted (0: no limit)",
     SYSGI_T_SECONDS, 0, 4294967, NULL),
    ROW("cpu-priority", DAEMON("cpu-priority"), NULL, GRP(cpu_priority), "0",
     "scheduling priority, -20 (highest) to 20 (lowest)", SYSGI_T_INT, -20,
     20, NULL),
    ROW("restricted-token", NULL, NULL, GRP(restricted_token), "off",
     "run the processes with a restricted copy of the service's token (no "
     "privileges, Administrators deny-only)", SYSGI_T_BOOL, 0, 0, NULL),
    ROW("maximum-requests", DAEMON("maximum-requests"), NULL,
     GRP(maximum_requests), "0",
     "requests a process serves before it is restarted (0: no limit)",
     SYSGI_T_UINT, 0, 4294967295u, NULL),
    ROW("shutdown-timeout", DAEMON("shutdown-timeout"), NULL,
     GRP(shutdown_timeout_ms), "5",
     "seconds a process gets to exit before it is killed", SYSGI_T_SECONDS, 0,
     3600, NULL),
    ROW("startup-timeout", DAEMON("startup-timeout"), NULL,
     GRP(startup_timeout_ms), "0",
     "seconds a process gets to load its scripts (0: no limit)",
     SYSGI_T_SECONDS, 0, 3600, NULL),
    ROW("restart-interval", DAEMON("restart-interval"), NULL,
     GRP(restart_interval_ms), "0",
     "seconds after which processes are restarted (0: never)",
     SYSGI_T_SECONDS, 0, 4294967, NULL),
    ROW("inactivity-timeout", DAEMON("inactivity-timeout"), NULL,
     GRP(inactivity_timeout_ms), "0",
     "seconds without requests before a restart (0: never)", SYSGI_T_SECONDS,
     0, 4294967, NULL),
    ROW("request-timeout", DAEMON("request-timeout"), NULL,
     GRP(request_timeout_ms), "0",
     "seconds a request may run before the process restarts (0: no limit)",
     SYSGI_T_SECONDS, 0, 4294967, NULL),
    ROW("queue-timeout", DAEMON("queue-timeout"), NULL, GRP(queue_timeout_ms),
     "0", "seconds a request may wait for the group before 503 (0: no limit)",
     SYSGI_T_SECONDS, 0, 3600, NULL),
    ROW("deadlock-timeout", DAEMON("deadlock-timeout"), NULL,
     GRP(deadlock_timeout_ms), "300",
     "seconds the GIL may stay held before the process restarts",
     SYSGI_T_SECONDS, 0, 4294967, NULL),
    ROW("graceful-timeout", DAEMON("graceful-timeout"), NULL,
     GRP(graceful_timeout_ms), "15",
     "seconds a graceful restart waits for requests in flight",
     SYSGI_T_SECONDS, 0, 3600, NULL),
    ROW("eviction-timeout", DAEMON("eviction-timeout"), NULL,
     GRP(eviction_timeout_ms), "0",
     "seconds an eviction waits for requests in flight (0: graceful-timeout)",
     SYSGI_T_SECONDS, 0, 3600, NULL),
    ROW("listen-backlog", DAEMON("listen-backlog"), NULL, GRP(listen_backlog),
     "100", "requests queued for the group", SYSGI_T_UINT, 1, 65535, NULL),
    ROW("stack-size", DAEMON("stack-size"), NULL, GRP(stack_size), "0",
     "stack size of the request threads (0: the system's)", SYSGI_T_SIZE, 0,
     0, NULL),
};

#define N_ROWS (sizeof table / sizeof table[0])

static const sysgi_setting *settings(void) { return table; }

const sysgi_setting *sysgi_config_settings(size_t *n) {
  if (n)
    *n = N_ROWS;
  return settings();
}

static int ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    int x = (unsigned char)*a, y = (unsigned char)*b;
    if (x >= 'A' && x <= 'Z')
      x += 'a' - 'A';
    if (y >= 'A' && y <= 'Z')
      y += 'a' - 'A';
    if (x != y)
      return 0;
  }
  return *a == *b;
}

const sysgi_setting *sysgi_config_find(const char *key) {
  const sysgi_setting *t = settings();
  if (!key)
    return NULL;
  for (size_t i = 0; i < N_ROWS; i++)
    if (!strcmp(t[i].name, key))
      return &t[i];
  for (size_t i = 0; i < N_ROWS; i++)
    if (t[i].directive && ieq(t[i].directive, key))
      return &t[i];
  for (size_t i = 0; i < N_ROWS; i++)
    if (t[i].registry && ieq(t[i].registry, key))
      return &t[i];
  return NULL;
}

const sysgi_setting *sysgi_config_find_scoped(const char *name,
                                              unsigned scope) {
  const sysgi_setting *t = settings();
  if (!name)
    return NULL;
  for (size_t i = 0; i < N_ROWS; i++)
    if ((t[i].scopes & scope) && !strcmp(t[i].name, name))
      return &t[i];
  return NULL;
}

/* mod_wsgi's WSGIDaemonProcess options that have no meaning here: said
 * so, rather than silently accepted or called unknown. */
static const struct {
  const char *name, *why;
} unsupported[] = {
    {"user", "not supported on Windows (a POSIX account; the service's "
             "account is chosen with 'sysgi install --account', and "
             "'restricted-token = on' limits a group's processes)"},
    {"group", "not supported on Windows (a POSIX group; the service's "
              "account is chosen with 'sysgi install --account', and "
              "'restricted-token = on' limits a group's processes)"},
    {"supplementary-groups", "not supported on Windows (POSIX groups; "
                             "'restricted-token = on' makes Administrators "
                             "deny-only for a group's processes)"},
    {"umask", "not supported on Windows (POSIX file mode mask)"},
    {"chroot", "not supported on Windows (POSIX chroot)"},
    {"script-user", "not supported on Windows (POSIX file owner check)"},
    {"script-group", "not supported on Windows (POSIX file group check)"},
    {"socket-user", "not supported on Windows (POSIX socket owner)"},
    {"python-eggs", "not supported (setuptools eggs cache; deprecated)"},
    {"newrelic-config-file", "not supported by sysgi"},
    {"newrelic-environment", "not supported by sysgi"},
    {"server-metrics", "not supported by sysgi"},
    {"socket-timeout", "not used by sysgi (no socket between front end and "
                       "process group)"},
    {"connect-timeout", "not used by sysgi (no socket between front end and "
                        "process group)"},
    {"response-socket-timeout", "not used by sysgi (no socket between front "
                                "end and process group)"},
    {"header-buffer-size", "not used by sysgi (no socket between front end "
                           "and process group)"},
    {"receive-buffer-size", "not used by sysgi (no socket between front end "
                            "and process group)"},
    {"send-buffer-size", "not used by sysgi (no socket between front end "
                         "and process group)"},
    {"response-buffer-size", "not used by sysgi (no socket between front "
                             "end and process group)"},
};

const char *sysgi_config_unsupported(const char *name) {
  if (!name)
    return NULL;
  for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
    if (!strcmp(unsupported[i].name, name))
      return unsupported[i].why;
  return NULL;
}
