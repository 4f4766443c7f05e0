/*
 * sysgi_config.h: the one configuration model of every front end.
 *
 * A table of settings in the manner of nginx's ngx_command_t (name,
 * mod_wsgi directive, registry value, scopes, parser, default, help) and a
 * model built from it: sections ("server", "app:/MOUNT",
 * "process-group:NAME") holding values with their origin. mod_sysgi's
 * directives, the INI file, the registry and sysgi.exe's flags all go
 * through sysgi_config_set() or sysgi_config_check_value(), so a value means
 * the same wherever it is written. The model also owns the mount matcher
 * and the %{...} application-group macros.
 *
 * Pure C11, no Python: the static library `sysgi_config` links into
 * mod_sysgi, httpsys/, service/ and the tests. Strings are UTF-8.
 * A sysgi_config is not thread-safe while it is being built; after
 * sysgi_config_finish() its read-only views may be read from any thread.
 */
#ifndef SYSGI_CONFIG_H
#define SYSGI_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "sysgi.h" /* SYSGI_E_* */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sysgi_config sysgi_config;

enum sysgi_origin_kind {
  SYSGI_ORIGIN_DEFAULT = 0,
  SYSGI_ORIGIN_FILE,
  SYSGI_ORIGIN_REGISTRY,
  SYSGI_ORIGIN_COMMAND_LINE,
  SYSGI_ORIGIN_DIRECTIVE
};

/* Where a value came from. `where`: the file path, the registry value's
 * full name (HKLM\SOFTWARE\sysgi\PythonHome), the flag (--port) or the
 * httpd.conf file; `line` 0 when not a file. Copied by the model.
 * A NULL origin passed to the model means SYSGI_ORIGIN_DEFAULT. */
typedef struct sysgi_origin {
  int kind;
  const char *where;
  unsigned line;
} sysgi_origin;

/* "default", "file", "registry", "command line", "directive". */
const char *sysgi_origin_kind_name(int kind);
/* Formats an origin for people: "C:\sysgi.ini:12", "registry
 * HKLM\SOFTWARE\sysgi\Listen", "command line --port", "httpd.conf:3",
 * "default". Always NUL-terminates (truncates). Returns `buf`. */
const char *sysgi_origin_format(const sysgi_origin *o, char *buf, size_t n);

/* Scopes where a setting is allowed. */
#define SYSGI_SCOPE_SERVER 1u
#define SYSGI_SCOPE_APP 2u
#define SYSGI_SCOPE_GROUP 4u

/* Parsers (sysgi_setting.type). */
enum sysgi_setting_type {
  SYSGI_T_STRING = 1, /* non-empty text                                  */
  SYSGI_T_BOOL,       /* on/off true/false 1/0 yes/no (any case)          */
  SYSGI_T_UINT,       /* decimal in [min, max]                            */
  SYSGI_T_INT,        /* signed decimal in [min, max] (cpu-priority)      */
  SYSGI_T_SIZE,       /* bytes, K/M/G suffix (1024-based)                 */
  SYSGI_T_SECONDS,    /* whole seconds (stored as milliseconds)           */
  SYSGI_T_FILE,       /* an existing file                                 */
  SYSGI_T_DIR,        /* an existing directory                            */
  SYSGI_T_NEW_FILE,   /* a file whose directory exists (log file)         */
  SYSGI_T_PATH_LIST,  /* existing paths, ';' on Windows, ':' on POSIX     */
  SYSGI_T_LISTEN,     /* http.sys URL prefixes, space or comma separated  */
  SYSGI_T_LOG_LEVEL,  /* error, warn, info, debug                         */
  SYSGI_T_IDENTIFIER, /* a Python identifier (callable-object)            */
  SYSGI_T_APP_GROUP,  /* %{GLOBAL} %{SERVER} %{RESOURCE} %{ENV:x} or name */
  SYSGI_T_PROC_GROUP, /* a [process-group:NAME] name, or %{GLOBAL}/empty  */
  SYSGI_T_HASH_SEED   /* "random" or 0..4294967295 (PYTHONHASHSEED)       */
};

/* One row of the settings table (ngx_command_t style). Each row has one
 * scope; a name allowed in two scopes has two rows, since its default may
 * differ ("threads": 8 for the server, 15 for a process group as in
 * mod_wsgi) or be inherited (an app's enable-sendfile is the server's). */
typedef struct sysgi_setting {
  const char *name;          /* INI key: "python-home"                        */
  const char *directive;     /* mod_wsgi directive or option, or NULL:
                                "WSGIPythonHome", "WSGIDaemonProcess threads="*/
  const char *registry;      /* registry value name ("PythonHome") or NULL    */
  unsigned scopes;           /* SYSGI_SCOPE_*                                  */
  const char *default_value; /* as text, as the README shows it; NULL: none   */
  const char *help;          /* one line                                       */
  /* private to the model: parser/validator and where the value goes */
  int type;                  /* enum sysgi_setting_type                        */
  int64_t min, max;          /* SYSGI_T_UINT / SYSGI_T_INT range               */
  size_t offset;             /* into the scope's sysgi_*_settings struct       */
  const char *inherit;       /* server setting an unset value takes, or NULL  */
} sysgi_setting;

/* The table, in its stable order (the README's order). */
const sysgi_setting *sysgi_config_settings(size_t *n);
/* By INI name, else by directive (case-insensitive, "WSGIPythonHome" or
 * the option "processes"), else by registry name (case-insensitive). The
 * first row wins when a name has two rows. NULL: none. */
const sysgi_setting *sysgi_config_find(const char *name_or_directive_or_registry);
/* The row of `name` allowed in `scope` (one SYSGI_SCOPE_* bit), or NULL. */
const sysgi_setting *sysgi_config_find_scoped(const char *name, unsigned scope);
/* Options of mod_wsgi's WSGIDaemonProcess that sysgi rejects, with why
 * ("user": "not supported on Windows (...)"). NULL: not such an option. */
const char *sysgi_config_unsupported(const char *name);

/* Parses `value` with the setting's parser, without a model: what
 * mod_sysgi's directives and the command line use. Relative paths are
 * taken as they are (relative to the working directory). On error writes
 * the reason (without origin or key: "'maybe' is not a boolean (use on or
 * off)") into err and returns SYSGI_E_CONFIG. SYSGI_T_PROC_GROUP accepts
 * any name here (there is no model to know the groups). */
int sysgi_config_check_value(const sysgi_setting *s, const char *value,
                             char *err, size_t err_len);
/* The parsers themselves, for front ends that need the typed value.
 * Return 0 or SYSGI_E_CONFIG. */
int sysgi_parse_bool(const char *value, int *out);
int sysgi_parse_size(const char *value, uint64_t *out);
int sysgi_parse_uint(const char *value, uint64_t min, uint64_t max,
                     uint64_t *out);
/* 0 when `spec` is a valid application group (a name, %{GLOBAL},
 * %{SERVER}, %{RESOURCE} or %{ENV:name}), else SYSGI_E_CONFIG. */
int sysgi_check_group_spec(const char *spec);

/* 1 on Windows (WSGICaseSensitivity Off), 0 on POSIX: what front ends
 * pass to sysgi_config_new() and sysgi_mount_match(). */
int sysgi_config_default_case_insensitive(void);

/* case_insensitive_paths: 1 on Windows (WSGICaseSensitivity Off), 0 on
 * POSIX: the default, which a case-sensitivity setting overrides at
 * finish(). NULL when out of memory. */
sysgi_config *sysgi_config_new(int case_insensitive_paths);
void sysgi_config_free(sysgi_config *cfg);

/* section: "server", "app:/MOUNT" (mount "/" is the root) or
 * "process-group:NAME". key: a setting name. A later set of the same key in
 * the same section replaces the earlier one (so the registry, read after the
 * INI, wins) and its origin. Unknown key, key not allowed in that section,
 * bad value: records an error naming origin + section + key + why, and
 * returns SYSGI_E_CONFIG; the caller goes on to collect every error.
 * A relative path given from a file is taken relative to that file's
 * directory. Must not be called after finish(). */
int sysgi_config_set(sysgi_config *cfg, const char *section, const char *key,
                     const char *value, const sysgi_origin *origin);
/* Declares a section (an INI [header]) so that an empty one is still
 * checked by finish() and errors can name where it starts. Adding an
 * existing section is not an error. A bad section name is recorded as an
 * error; returns 0 or SYSGI_E_CONFIG. */
int sysgi_config_add_section(sysgi_config *cfg, const char *section,
                             const sysgi_origin *origin);
/* Records an error found by a reader (an INI line that is not key = value,
 * a registry value of the wrong type): "ORIGIN: [SECTION] KEY: MESSAGE",
 * section and key left out when NULL. */
void sysgi_config_add_error(sysgi_config *cfg, const sysgi_origin *origin,
                            const char *section, const char *key,
                            const char *message);
/* Applies defaults and cross-checks (mounts collide, an app names an unknown
 * process group, script/paths must exist, an app without script, ...).
 * Returns 0, or SYSGI_E_CONFIG when any error was recorded (by set or here).
 * Call it once. */
int sysgi_config_finish(sysgi_config *cfg);
size_t sysgi_config_n_errors(const sysgi_config *cfg);
const char *sysgi_config_error(const sysgi_config *cfg, size_t i); /* "FILE:LINE: [app:/x] script: no such file: C:\x.py" */

/* The value of `key` in `section` as text (after set: what was set; after
 * finish: defaults included), and its origin if `origin` is not NULL.
 * NULL when neither set nor defaulted. */
const char *sysgi_config_get(const sysgi_config *cfg, const char *section,
                             const char *key, const sysgi_origin **origin);

/* The effective configuration, every setting of every section, defaults
 * included, in a stable order, with its origin (for `sysgi check`):
 * [server] first, then the apps by mount, then the process groups by
 * name; within a section, the table's order. A setting without a value or
 * default is reported with value NULL. Valid after finish(). */
typedef void (*sysgi_config_dump_fn)(void *ctx, const char *section,
                                     const char *key, const char *value,
                                     const sysgi_origin *origin);
void sysgi_config_dump(const sysgi_config *cfg, sysgi_config_dump_fn fn,
                       void *ctx);

/* Typed, read-only views, valid after finish() until free(). */
typedef struct sysgi_server_settings {
  const char *const *listen; size_t n_listen;   /* http.sys URL prefixes   */
  unsigned threads; unsigned max_queued;
  const char *python_home;                      /* NULL: none              */
  const char *const *python_path; size_t n_python_path;
  int enable_sendfile, dont_write_bytecode, case_insensitive_paths;
  unsigned shutdown_timeout_ms;
  const char *log_file; int log_level; uint64_t log_max_size; unsigned log_keep;
  /* added after the contract */
  const char *config_file;                      /* NULL: none              */
  int case_sensitivity; /* case-sensitivity as set: 1 on, 0 off, -1 unset
                           (then case_insensitive_paths is the value given
                           to sysgi_config_new)                           */
  /* added for mod_wsgi's directives (issue 13) */
  unsigned python_optimize;             /* 0, 1 (-O) or 2 (-OO)            */
  const char *python_hash_seed;         /* "random" or a number, NULL: unset */
  const char *python_warnings;          /* -W filters, ',' separated, or NULL */
} sysgi_server_settings;

typedef struct sysgi_app_settings {
  const char *mount;               /* "" for the root, else "/app"           */
  const char *script, *callable_object, *application_group, *process_group;
  int pass_authorization, enable_sendfile, script_reloading;
  /* added after the contract */
  const char *section;             /* "app:/app" as it was written           */
  int chunked_request;             /* accept chunked request bodies (on)     */
} sysgi_app_settings;

typedef struct sysgi_group_settings {
  const char *name; unsigned processes, threads;
  const char *python_home; const char *const *python_path; size_t n_python_path;
  const char *lang, *locale; uint64_t memory_limit, virtual_memory_limit;
  unsigned maximum_requests, shutdown_timeout_ms, startup_timeout_ms;
  /* added after the contract; 0 = off / none, as in mod_wsgi */
  const char *home;                /* working directory, NULL: none        */
  const char *display_name;        /* NULL: none                           */
  unsigned cpu_time_limit_ms;
  int cpu_priority;                /* -20..20, 0 normal                    */
  unsigned restart_interval_ms, inactivity_timeout_ms, request_timeout_ms,
      queue_timeout_ms, deadlock_timeout_ms, graceful_timeout_ms,
      eviction_timeout_ms;
  unsigned listen_backlog;
  uint64_t stack_size;
  /* added for the worker processes (issue 10) */
  int dont_write_bytecode;         /* the server's unless set              */
  int restricted_token;            /* workers run with a restricted token  */
} sysgi_group_settings;

const sysgi_server_settings *sysgi_config_server(const sysgi_config *cfg);
/* Applications in mount order (sorted ascending, as the dump). */
size_t sysgi_config_n_apps(const sysgi_config *cfg);
const sysgi_app_settings *sysgi_config_app(const sysgi_config *cfg, size_t i);
/* Process groups by name. */
size_t sysgi_config_n_groups(const sysgi_config *cfg);
const sysgi_group_settings *sysgi_config_group(const sysgi_config *cfg, size_t i);
/* The group named `name`, or NULL. */
const sysgi_group_settings *sysgi_config_find_group(const sysgi_config *cfg,
                                                    const char *name);

/* The one mount matcher: longest mount that `path` starts with at a '/'
 * boundary ("" matches everything); case-insensitive when asked. Returns the
 * index into `mounts`, or -1; *matched_len the length of the mount. Used by
 * mod_sysgi (its WSGIScriptAlias table), http.sys and sysgi_config_match.
 * matched_len may be NULL. Mounts are normalised ("/" -> "", no trailing
 * '/'); an equal-length tie goes to the first. */
int sysgi_mount_match(const char *const *mounts, size_t n, const char *path,
                      int case_insensitive, size_t *matched_len);
const sysgi_app_settings *sysgi_config_match(const sysgi_config *cfg,
                                             const char *path,
                                             size_t *script_name_len);
/* Normalises a mount in place: "/" -> "", trailing '/' removed. Returns 0,
 * or SYSGI_E_CONFIG when it does not start with '/'. */
int sysgi_mount_normalize(char *mount);

/* %{GLOBAL} -> "", %{SERVER} -> "host:port" as mod_wsgi, %{RESOURCE} ->
 * "host:port|script_name", %{ENV:var} through getenv_fn; other text kept.
 * NULL spec: %{RESOURCE}, mod_wsgi's default. server_port NULL or "" (or
 * the default port the caller leaves out): "host" alone. getenv_fn may be
 * NULL (then %{ENV:x} -> ""); an unset variable expands to "" (the main
 * interpreter, as mod_wsgi). Returns 0 or SYSGI_E_TOO_LARGE (out_len too
 * small; out is then "") / SYSGI_E_INVAL (unknown %{...} macro). */
typedef const char *(*sysgi_getenv_fn)(void *ctx, const char *name);
int sysgi_expand_group(const char *spec, const char *server_name,
                       const char *server_port, const char *script_name,
                       sysgi_getenv_fn getenv_fn, void *ctx, char *out,
                       size_t out_len);

#ifdef __cplusplus
}
#endif

#endif /* SYSGI_CONFIG_H */
