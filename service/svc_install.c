/*
 * svc_install.c: `sysgi install` and `sysgi uninstall`.
 *
 * Install is all or nothing: the configuration is validated first (nothing
 * is touched if it is invalid), and a failure after the service exists
 * (an option the SCM refuses, a URL reservation http.sys refuses) undoes
 * what was done, so a second install does not meet half an install.
 */
#include <winsock2.h>
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "eventlog.h"
#include "svc_commands.h"
#include "svc_config.h"
#include "svc_util.h"
#include "sysgi.h"
#include "sysgi_config.h"
#include "urlacl.h"

/* Restart after 5 s, 30 s, then every 2 minutes; the count of failures
 * goes back to zero after a day without one. */
static SC_ACTION restart_actions[3] = {
    {SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 30000},
    {SC_ACTION_RESTART, 120000}};
#define FAILURE_RESET_SECONDS 86400

static int fail(const char *what, DWORD err) {
  char text[512];
  svc_win32_text(err, text, sizeof text);
  fprintf(stderr, "sysgi install: %s: %s\n", what, text);
  return 1;
}

/* The binary path the SCM runs: quoted, so a path with spaces
 * (C:\Program Files\sysgi\sysgi.exe) cannot be read as C:\Program. */
static void binary_path(wchar_t *out, size_t n, const wchar_t *exe,
                        const wchar_t *config) {
  if (config)
    _snwprintf(out, n, L"\"%ls\" service --config \"%ls\"", exe, config);
  else
    _snwprintf(out, n, L"\"%ls\" service", exe);
  out[n - 1] = 0;
}

static DWORD set_reg_string(HKEY root, const wchar_t *key_path,
                            const wchar_t *name, DWORD type,
                            const wchar_t *data, size_t bytes) {
  HKEY key;
  LSTATUS st = RegCreateKeyExW(root, key_path, 0, NULL, 0, KEY_SET_VALUE,
                               NULL, &key, NULL);
  if (st != ERROR_SUCCESS)
    return (DWORD)st;
  st = RegSetValueExW(key, name, 0, type, (const BYTE *)data, (DWORD)bytes);
  RegCloseKey(key);
  return (DWORD)st;
}

/* The service options beyond CreateServiceW. Returns 0 or a Win32 error
 * with `*what` naming the option. */
static DWORD configure(SC_HANDLE svc, unsigned shutdown_timeout_ms,
                       const char **what, int *delayed_ok) {
  SERVICE_DESCRIPTIONW desc = {(LPWSTR)SVC_DESCRIPTION};
  SERVICE_DELAYED_AUTO_START_INFO delayed = {TRUE};
  SERVICE_FAILURE_ACTIONSW fa;
  SERVICE_FAILURE_ACTIONS_FLAG faflag = {TRUE};
  SERVICE_SID_INFO sid = {SERVICE_SID_TYPE_UNRESTRICTED};
  SERVICE_PRESHUTDOWN_INFO pre = {shutdown_timeout_ms + 15000};
  memset(&fa, 0, sizeof fa);
  fa.dwResetPeriod = FAILURE_RESET_SECONDS;
  fa.cActions = 3;
  fa.lpsaActions = restart_actions;
  struct {
    DWORD level;
    void *info;
    const char *name;
  } opts[] = {
      {SERVICE_CONFIG_DESCRIPTION, &desc, "the description"},
      {SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed,
       "the delayed automatic start"},
      {SERVICE_CONFIG_FAILURE_ACTIONS, &fa, "the failure actions"},
      /* A stop with an error code (not only a crash) restarts too: a
       * python-home on a disk that was not mounted yet heals itself. */
      {SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &faflag,
       "the failure actions flag"},
      /* Without an unrestricted service SID, NT SERVICE\sysgi does not
       * exist as an account. */
      {SERVICE_CONFIG_SERVICE_SID_INFO, &sid, "the service SID type"},
      {SERVICE_CONFIG_PRESHUTDOWN_INFO, &pre, "the pre-shutdown timeout"},
  };
  for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
    if (ChangeServiceConfig2W(svc, opts[i].level, opts[i].info))
      continue;
    DWORD e = GetLastError();
    if (e == ERROR_INVALID_LEVEL) {
      if (opts[i].level == SERVICE_CONFIG_DELAYED_AUTO_START_INFO)
        *delayed_ok = 0;
      /* An SCM that does not know this level at all (Wine's has no
       * delayed start): say so and go on; every Windows SCM since Vista
       * knows them all. */
      fprintf(stderr, "sysgi install: warning: this Service Control Manager "
                      "does not support %s (error 124); installed without "
                      "it\n", opts[i].name);
      continue;
    }
    *what = opts[i].name;
    return e;
  }
  return 0;
}

/* The service's log directory (log-file's, else %ProgramData%\sysgi\logs),
 * created and made writable for the account: a virtual account can write
 * nowhere by default. A failure is a warning, not a failed install (the
 * service then logs to the Event Log only, and says so). */
static void prepare_log_dir(const sysgi_server_settings *ss,
                            const wchar_t *sid_text) {
  char *fallback = svc_default_log_file();
  const char *log = ss->log_file ? ss->log_file : fallback;
  wchar_t *dir = log ? svc_wide(log) : NULL;
  wchar_t *slash = dir ? wcsrchr(dir, L'\\') : NULL;
  PSID sid = NULL;
  PACL old_acl = NULL, acl = NULL;
  PSECURITY_DESCRIPTOR sd = NULL;
  DWORD e = ERROR_INVALID_PARAMETER;
  if (!slash || svc_make_parent_dirs(log))
    goto out;
  *slash = 0;
  if (!ConvertStringSidToSidW(sid_text, &sid)) {
    e = GetLastError();
    goto out;
  }
  e = GetNamedSecurityInfoW(dir, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION,
                            NULL, NULL, &old_acl, NULL, &sd);
  if (e)
    goto out;
  EXPLICIT_ACCESSW ea;
  memset(&ea, 0, sizeof ea);
  ea.grfAccessPermissions = FILE_GENERIC_READ | FILE_GENERIC_WRITE | DELETE;
  ea.grfAccessMode = GRANT_ACCESS;
  ea.grfInheritance = SUB_CONTAINERS_AND_OBJECTS_INHERIT;
  ea.Trustee.TrusteeForm = TRUSTEE_IS_SID;
  ea.Trustee.TrusteeType = TRUSTEE_IS_USER;
  ea.Trustee.ptstrName = (LPWSTR)sid;
  e = SetEntriesInAclW(1, &ea, old_acl, &acl);
  if (!e)
    e = SetNamedSecurityInfoW(dir, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION,
                              NULL, NULL, acl, NULL);
out:
  if (e) {
    char t[512];
    svc_win32_text(e, t, sizeof t);
    fprintf(stderr, "sysgi install: warning: cannot make the log directory "
                    "of %s writable for the service account: %s\n",
            log ? log : "(none)", t);
  } else {
    printf("sysgi install: log directory %ls (writable for %ls)\n", dir,
           sid_text);
  }
  if (acl)
    LocalFree(acl);
  if (sd)
    LocalFree(sd);
  if (sid)
    LocalFree(sid);
  free(dir);
  free(fallback);
}

/* Reserves every URL; on failure removes those reserved and names the URL.
 * `reserved` receives the MULTI_SZ list to store (caller frees). */
static DWORD reserve(const sysgi_server_settings *ss, const wchar_t *sid,
                     const wchar_t *account, wchar_t **reserved,
                     size_t *reserved_bytes) {
  size_t cap = 1;
  for (size_t i = 0; i < ss->n_listen; i++)
    cap += strlen(ss->listen[i]) + 1;
  wchar_t *list = calloc(cap, sizeof *list), *p = list;
  if (!list)
    return ERROR_NOT_ENOUGH_MEMORY;
  DWORD e = svc_urlacl_begin();
  if (e) {
    free(list);
    fail("cannot open the HTTP Server API configuration (HttpInitialize)", e);
    return e;
  }
  for (size_t i = 0; i < ss->n_listen && !e; i++) {
    wchar_t *url = svc_wide(ss->listen[i]);
    if (!url) {
      e = ERROR_NOT_ENOUGH_MEMORY;
      break;
    }
    e = svc_urlacl_add(url, sid);
    if (e) {
      char what[1024];
      snprintf(what, sizeof what,
               "cannot reserve %s for %ls (HttpSetServiceConfiguration, "
               "HttpServiceConfigUrlAclInfo)", ss->listen[i], account);
      fail(what, e);
      for (wchar_t *q = list; *q; q += wcslen(q) + 1)
        svc_urlacl_delete(q);
    } else {
      printf("sysgi install: reserved %s for %ls (%ls)\n", ss->listen[i],
             account, sid);
      wcscpy(p, url);
      p += wcslen(url) + 1;
    }
    free(url);
  }
  svc_urlacl_end();
  if (e) {
    free(list);
    return e;
  }
  *reserved = list;
  *reserved_bytes = (size_t)(p - list + 1) * sizeof *list;
  return 0;
}

/* The account the existing service runs as (QueryServiceConfigW), into
 * out. Returns 0 or a Win32 error. */
static DWORD service_account(SC_HANDLE svc, wchar_t *out, size_t n) {
  DWORD need = 0;
  QueryServiceConfigW(svc, NULL, 0, &need);
  QUERY_SERVICE_CONFIGW *qc = need ? malloc(need) : NULL;
  if (!qc)
    return GetLastError() ? GetLastError() : ERROR_NOT_ENOUGH_MEMORY;
  DWORD e = 0;
  if (!QueryServiceConfigW(svc, qc, need, &need))
    e = GetLastError();
  else
    _snwprintf(out, n, L"%ls",
               qc->lpServiceStartName && *qc->lpServiceStartName
                   ? qc->lpServiceStartName : L"LocalSystem");
  out[n - 1] = 0;
  free(qc);
  return e;
}

/* `sysgi install --configure-only`: what the MSI cannot say in its own
 * tables (Windows Installer's ServiceInstall created the service, wixl has
 * no MsiServiceConfig): the service options of configure() and the URL
 * reservations for the account the service runs as. The configuration
 * only needs to name its listen URLs here: any other error is printed as
 * a warning (the service reports it at start, and answers 503 where it
 * can), so an install with a wrong PYTHONHOME still completes. */
/* 1 when a configuration error is about the listen setting: the model
 * writes "ORIGIN: [SECTION] KEY: MESSAGE" (the section may be empty). */
static int is_listen_error(const char *e) {
  for (const char *p = strstr(e, "listen: "); p; p = strstr(p + 1, "listen: "))
    if (p - e >= 2 && p[-1] == ' ' && (p[-2] == ']' || p[-2] == ' '))
      return 1;
  return 0;
}

static int configure_only(const wchar_t *config_arg) {
  sysgi_config *cfg = NULL;
  int rc = svc_config_load(config_arg, &cfg);
  size_t n_err = cfg ? sysgi_config_n_errors(cfg) : 0;
  /* A bad listen URL would reserve the default URL instead and leave a
   * service that can never serve what was asked: that one fails. */
  int bad_listen = 0;
  for (size_t i = 0; i < n_err; i++)
    if (is_listen_error(sysgi_config_error(cfg, i))) {
      fprintf(stderr, "sysgi install: %s\n", sysgi_config_error(cfg, i));
      bad_listen = 1;
    }
  if (bad_listen) {
    fprintf(stderr, "sysgi install: the listen URLs are invalid; the "
                    "service was not configured\n");
    sysgi_config_free(cfg);
    return 1;
  }
  for (size_t i = 0; i < n_err; i++)
    printf("sysgi install: warning: %s\n", sysgi_config_error(cfg, i));
  if (rc != 0)
    printf("sysgi install: warning: the configuration is invalid (%zu "
           "error%s); the service will report %s when it starts\n", n_err,
           n_err == 1 ? "" : "s", n_err == 1 ? "it" : "them");
  const sysgi_server_settings *ss = sysgi_config_server(cfg);
  SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
  if (!scm) {
    sysgi_config_free(cfg);
    return fail("cannot open the Service Control Manager (run as "
                "administrator)", GetLastError());
  }
  SC_HANDLE svc = OpenServiceW(scm, SVC_NAME, SERVICE_CHANGE_CONFIG |
                                                  SERVICE_QUERY_CONFIG);
  if (!svc) {
    DWORD e = GetLastError();
    CloseServiceHandle(scm);
    sysgi_config_free(cfg);
    return fail("--configure-only: cannot open the service 'sysgi' (it is "
                "created by the MSI or by sysgi install)", e);
  }
  wchar_t account[512], *sid = NULL, *reserved = NULL;
  size_t reserved_bytes = 0;
  const char *what = NULL;
  char err[512];
  int delayed = 1, result = 1;
  DWORD e = service_account(svc, account, sizeof account / sizeof *account);
  if (e) {
    fail("cannot read the service's account (QueryServiceConfig)", e);
    goto done;
  }
  e = configure(svc, ss ? ss->shutdown_timeout_ms : 5000, &what, &delayed);
  if (e) {
    char msg[256];
    snprintf(msg, sizeof msg, "cannot set %s of the service", what);
    fail(msg, e);
    goto done;
  }
  if (!ss || ss->n_listen == 0) {
    fprintf(stderr, "sysgi install: the configuration has no valid listen "
                    "URL; no URL reserved\n");
    goto done;
  }
  e = svc_account_sid(account, &sid, err, sizeof err);
  if (e) {
    fprintf(stderr, "sysgi install: %s\n", err);
    goto done;
  }
  e = reserve(ss, sid, account, &reserved, &reserved_bytes);
  if (e)
    goto done;
  e = set_reg_string(HKEY_LOCAL_MACHINE, SVC_PARAMS_KEY, L"ReservedUrls",
                     REG_MULTI_SZ, reserved, reserved_bytes);
  if (e) {
    fail("cannot record the URL reservations", e);
    goto done;
  }
  printf("sysgi install: configured the service 'sysgi' (account %ls, %s "
         "start, restart on failure)\n", account,
         delayed ? "delayed automatic" : "automatic");
  result = 0;
done:
  LocalFree(sid);
  free(reserved);
  CloseServiceHandle(svc);
  CloseServiceHandle(scm);
  sysgi_config_free(cfg);
  return result;
}

int svc_cmd_install(int argc, wchar_t **argv) {
  const wchar_t *config_arg = NULL, *account = SVC_DEFAULT_ACCOUNT;
  const wchar_t *password = NULL;
  int configure_flag = 0;
  for (int i = 0; i < argc; i++) {
    if (!wcscmp(argv[i], L"--configure-only"))
      configure_flag = 1;
    else if (!wcscmp(argv[i], L"--config") && i + 1 < argc)
      config_arg = argv[++i];
    else if (!wcscmp(argv[i], L"--account") && i + 1 < argc)
      account = argv[++i];
    else if (!wcscmp(argv[i], L"--password") && i + 1 < argc)
      password = argv[++i];
    else {
      fprintf(stderr, "sysgi install: unexpected argument '%ls'\nusage:\n%s",
              argv[i], SVC_USAGE);
      return 2;
    }
  }
  wchar_t config[MAX_PATH], exe[MAX_PATH], bin[3 * MAX_PATH];
  if (config_arg) {
    DWORD n = GetFullPathNameW(config_arg, MAX_PATH, config, NULL);
    if (!n || n >= MAX_PATH) {
      fprintf(stderr, "sysgi install: bad --config path '%ls'\n", config_arg);
      return 2;
    }
  }
  if (configure_flag)
    return configure_only(config_arg ? config : NULL);
  if (svc_exe_path(exe, MAX_PATH))
    return fail("cannot find the path of sysgi.exe", GetLastError());

  /* 1. The configuration the service would run with. */
  sysgi_config *cfg = NULL;
  int rc = svc_config_load(config_arg ? config : NULL, &cfg);
  if (rc != 0) {
    size_t n = cfg ? sysgi_config_n_errors(cfg) : 0;
    for (size_t i = 0; i < n; i++)
      fprintf(stderr, "%s\n", sysgi_config_error(cfg, i));
    fprintf(stderr,
            "sysgi install: the configuration is invalid (%zu error%s); "
            "nothing was installed\n", n, n == 1 ? "" : "s");
    sysgi_config_free(cfg);
    return 1;
  }
  const sysgi_server_settings *ss = sysgi_config_server(cfg);
  if (!ss || ss->n_listen == 0) {
    fprintf(stderr, "sysgi install: the configuration has no listen URL; "
                    "nothing was installed\n");
    sysgi_config_free(cfg);
    return 1;
  }

  /* 2. The service. */
  SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT |
                                                 SC_MANAGER_CREATE_SERVICE);
  if (!scm) {
    sysgi_config_free(cfg);
    return fail("cannot open the Service Control Manager (run as "
                "administrator)", GetLastError());
  }
  binary_path(bin, sizeof bin / sizeof *bin, exe, config_arg ? config : NULL);
  const wchar_t *start_name = _wcsicmp(account, L"LocalSystem") ? account
                                                                : NULL;
  SC_HANDLE svc = CreateServiceW(
      scm, SVC_NAME, SVC_DISPLAY_NAME, SERVICE_ALL_ACCESS,
      SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START, SERVICE_ERROR_NORMAL,
      bin, NULL, NULL, NULL, start_name, password);
  if (!svc) {
    DWORD e = GetLastError();
    CloseServiceHandle(scm);
    sysgi_config_free(cfg);
    if (e == ERROR_SERVICE_EXISTS || e == ERROR_DUPLICATE_SERVICE_NAME) {
      fprintf(stderr, "sysgi install: the service 'sysgi' is already "
                      "installed (run sysgi uninstall first)\n");
      return 1;
    }
    return fail("CreateService failed", e);
  }
  const char *what = NULL;
  wchar_t *sid = NULL, *reserved = NULL;
  size_t reserved_bytes = 0;
  char err[512];
  int delayed = 1;
  DWORD e = configure(svc, ss->shutdown_timeout_ms, &what, &delayed);
  if (e) {
    char msg[256];
    snprintf(msg, sizeof msg, "cannot set %s of the service", what);
    fail(msg, e);
    goto undo_service;
  }
  /* 3. The account's SID, then its URL reservations. */
  e = svc_account_sid(account, &sid, err, sizeof err);
  if (e) {
    fprintf(stderr, "sysgi install: %s\n", err);
    goto undo_service;
  }
  e = reserve(ss, sid, account, &reserved, &reserved_bytes);
  if (e)
    goto undo_service;
  prepare_log_dir(ss, sid);
  e = set_reg_string(HKEY_LOCAL_MACHINE, SVC_PARAMS_KEY, L"ReservedUrls",
                     REG_MULTI_SZ, reserved, reserved_bytes);
  if (e) {
    fail("cannot record the URL reservations", e);
    goto undo_urls;
  }
  /* 4. Event Log source, ConfigFile. */
  e = svc_eventlog_register(exe);
  if (e) {
    fail("cannot register the Event Log source 'sysgi'", e);
    goto undo_urls;
  }
  if (config_arg) {
    e = set_reg_string(HKEY_LOCAL_MACHINE, SVC_CONFIG_KEY, L"ConfigFile",
                       REG_SZ, config,
                       (wcslen(config) + 1) * sizeof(wchar_t));
    if (e) {
      fail("cannot write HKLM\\SOFTWARE\\sysgi\\ConfigFile", e);
      svc_eventlog_unregister();
      goto undo_urls;
    }
  }
  printf("sysgi install: installed the service 'sysgi' (account %ls, "
         "%s start)\n  binary: %ls\n", account,
         delayed ? "delayed automatic" : "automatic", bin);
  LocalFree(sid);
  free(reserved);
  CloseServiceHandle(svc);
  CloseServiceHandle(scm);
  sysgi_config_free(cfg);
  return 0;

undo_urls:
  if (svc_urlacl_begin() == 0) {
    for (wchar_t *q = reserved; q && *q; q += wcslen(q) + 1)
      svc_urlacl_delete(q);
    svc_urlacl_end();
  }
undo_service:
  DeleteService(svc);
  fprintf(stderr, "sysgi install: nothing was installed\n");
  LocalFree(sid);
  free(reserved);
  CloseServiceHandle(svc);
  CloseServiceHandle(scm);
  sysgi_config_free(cfg);
  return 1;
}

/* The MULTI_SZ of ReservedUrls (malloc'ed), or NULL. */
static wchar_t *read_reserved(void) {
  HKEY key;
  DWORD type, bytes = 0;
  wchar_t *list = NULL;
  if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, SVC_PARAMS_KEY, 0, KEY_QUERY_VALUE,
                    &key) != ERROR_SUCCESS)
    return NULL;
  if (RegQueryValueExW(key, L"ReservedUrls", NULL, &type, NULL, &bytes) ==
          ERROR_SUCCESS && type == REG_MULTI_SZ) {
    list = calloc(bytes / sizeof *list + 2, sizeof *list);
    if (list && RegQueryValueExW(key, L"ReservedUrls", NULL, &type,
                                 (BYTE *)list, &bytes) != ERROR_SUCCESS) {
      free(list);
      list = NULL;
    }
  }
  RegCloseKey(key);
  return list;
}

/* Removes the URL reservations install recorded (ReservedUrls), then the
 * record. Returns 0, or 1 when one could not be removed (said on
 * stderr). */
static int remove_reservations(void) {
  int rc = 0;
  wchar_t *urls = read_reserved();
  if (urls && *urls) {
    DWORD e = svc_urlacl_begin();
    for (wchar_t *q = urls; !e && *q; q += wcslen(q) + 1) {
      DWORD d = svc_urlacl_delete(q);
      if (d) {
        char t[512];
        svc_win32_text(d, t, sizeof t);
        fprintf(stderr, "sysgi uninstall: cannot remove the reservation of "
                        "%ls (HttpDeleteServiceConfiguration): %s\n", q, t);
        rc = 1;
      } else {
        printf("sysgi uninstall: removed the reservation of %ls\n", q);
      }
    }
    if (e) {
      char t[512];
      svc_win32_text(e, t, sizeof t);
      fprintf(stderr, "sysgi uninstall: HttpInitialize: %s\n", t);
      rc = 1;
    } else {
      svc_urlacl_end();
    }
  }
  free(urls);
  if (rc == 0) {
    HKEY key;
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, SVC_PARAMS_KEY, 0, KEY_SET_VALUE,
                      &key) == ERROR_SUCCESS) {
      RegDeleteValueW(key, L"ReservedUrls");
      RegCloseKey(key);
    }
  }
  return rc;
}

int svc_cmd_uninstall(int argc, wchar_t **argv) {
  /* --urls-only: the MSI's uninstall, whose ServiceControl stops and
   * deletes the service and whose tables remove the rest. */
  if (argc == 1 && !wcscmp(argv[0], L"--urls-only"))
    return remove_reservations();
  if (argc) {
    fprintf(stderr, "sysgi uninstall: unexpected argument '%ls' (only "
                    "--urls-only)\n", argv[0]);
    return 2;
  }
  SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
  if (!scm) {
    char t[512];
    svc_win32_text(GetLastError(), t, sizeof t);
    fprintf(stderr, "sysgi uninstall: cannot open the Service Control "
                    "Manager: %s\n", t);
    return 1;
  }
  SC_HANDLE svc = OpenServiceW(scm, SVC_NAME, DELETE | SERVICE_STOP |
                                                  SERVICE_QUERY_STATUS);
  if (!svc) {
    DWORD e = GetLastError();
    CloseServiceHandle(scm);
    if (e == ERROR_SERVICE_DOES_NOT_EXIST) {
      fprintf(stderr, "sysgi uninstall: the service 'sysgi' is not "
                      "installed\n");
      return 1;
    }
    char t[512];
    svc_win32_text(e, t, sizeof t);
    fprintf(stderr, "sysgi uninstall: cannot open the service: %s\n", t);
    return 1;
  }
  int rc = 0;
  SERVICE_STATUS st;
  if (ControlService(svc, SERVICE_CONTROL_STOP, &st)) {
    printf("sysgi uninstall: stopping the service\n");
    fflush(stdout);
    if (svc_wait_state(svc, SERVICE_STOP_PENDING, 120000) != SERVICE_STOPPED)
      fprintf(stderr, "sysgi uninstall: the service did not stop; it is "
                      "removed once it does\n");
  }
  /* The reservations install recorded, before the key goes with the
   * service. */
  if (remove_reservations())
    rc = 1;
  if (!DeleteService(svc) && GetLastError() != ERROR_SERVICE_MARKED_FOR_DELETE) {
    char t[512];
    svc_win32_text(GetLastError(), t, sizeof t);
    fprintf(stderr, "sysgi uninstall: DeleteService: %s\n", t);
    rc = 1;
  }
  CloseServiceHandle(svc);
  CloseServiceHandle(scm);
  DWORD e = svc_eventlog_unregister();
  if (e) {
    char t[512];
    svc_win32_text(e, t, sizeof t);
    fprintf(stderr, "sysgi uninstall: cannot remove the Event Log source: "
                    "%s\n", t);
    rc = 1;
  }
  /* ConfigFile is install's; the rest of HKLM\SOFTWARE\sysgi is the
   * administrator's configuration and stays. */
  HKEY key;
  if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, SVC_CONFIG_KEY, 0, KEY_SET_VALUE,
                    &key) == ERROR_SUCCESS) {
    RegDeleteValueW(key, L"ConfigFile");
    RegCloseKey(key);
  }
  if (rc == 0)
    printf("sysgi uninstall: removed the service 'sysgi'\n");
  return rc;
}
