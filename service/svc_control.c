/*
 * svc_control.c: `sysgi start`, `sysgi stop`, `sysgi status`: the SCM
 * client side, so that they and `sc` / `net start` act on one service.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "svc_commands.h"
#include "svc_util.h"

static const char *state_name(DWORD s) {
  switch (s) {
  case SERVICE_STOPPED: return "STOPPED";
  case SERVICE_START_PENDING: return "START_PENDING";
  case SERVICE_STOP_PENDING: return "STOP_PENDING";
  case SERVICE_RUNNING: return "RUNNING";
  case SERVICE_CONTINUE_PENDING: return "CONTINUE_PENDING";
  case SERVICE_PAUSE_PENDING: return "PAUSE_PENDING";
  case SERVICE_PAUSED: return "PAUSED";
  default: return "UNKNOWN";
  }
}

static int query(SC_HANDLE svc, SERVICE_STATUS_PROCESS *ssp) {
  DWORD need;
  return QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)ssp,
                              sizeof *ssp, &need) ? 0 : -1;
}

unsigned long svc_wait_state(void *service, unsigned long pending,
                             unsigned long limit_ms) {
  SC_HANDLE svc = service;
  SERVICE_STATUS_PROCESS ssp;
  ULONGLONG start = GetTickCount64(), progress = start;
  DWORD checkpoint = 0;
  for (;;) {
    if (query(svc, &ssp))
      return 0;
    if (ssp.dwCurrentState != pending)
      return ssp.dwCurrentState;
    ULONGLONG now = GetTickCount64();
    if (ssp.dwCheckPoint != checkpoint) {
      checkpoint = ssp.dwCheckPoint;
      progress = now;
    }
    /* The documented rule: a pending service that advances no checkpoint
     * within its wait hint has hung. The hint has a floor: some report 0. */
    DWORD hint = ssp.dwWaitHint < 10000 ? 10000 : ssp.dwWaitHint;
    if (now - progress > hint || now - start > limit_ms)
      return 0;
    Sleep(250);
  }
}

/* Opens the service; prints why not. */
static SC_HANDLE open_service(const char *cmd, DWORD access, SC_HANDLE *scm) {
  char t[512];
  *scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
  if (!*scm) {
    svc_win32_text(GetLastError(), t, sizeof t);
    fprintf(stderr, "sysgi %s: cannot open the Service Control Manager: %s\n",
            cmd, t);
    return NULL;
  }
  SC_HANDLE svc = OpenServiceW(*scm, SVC_NAME, access);
  if (!svc) {
    DWORD e = GetLastError();
    if (e == ERROR_SERVICE_DOES_NOT_EXIST) {
      fprintf(stderr, "sysgi %s: the service 'sysgi' is not installed "
                      "(sysgi install)\n", cmd);
    } else {
      svc_win32_text(e, t, sizeof t);
      fprintf(stderr, "sysgi %s: cannot open the service: %s\n", cmd, t);
    }
    CloseServiceHandle(*scm);
  }
  return svc;
}

static void print_exit(FILE *f, const SERVICE_STATUS_PROCESS *ssp) {
  if (ssp->dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR) {
    static const char *const why[] = {
        "", "the configuration is invalid", "it could not listen",
        "the log file cannot be opened", "an internal error"};
    DWORD c = ssp->dwServiceSpecificExitCode;
    fprintf(f, "service-specific exit code %lu (%s)\n", (unsigned long)c,
            c < sizeof why / sizeof *why ? why[c] : "?");
  } else {
    char t[512];
    svc_win32_text(ssp->dwWin32ExitCode, t, sizeof t);
    fprintf(f, "%s\n", t);
  }
}

int svc_cmd_start(int argc, wchar_t **argv) {
  (void)argv;
  if (argc) {
    fprintf(stderr, "sysgi start: takes no arguments\n");
    return 2;
  }
  SC_HANDLE scm, svc = open_service("start", SERVICE_START |
                                    SERVICE_QUERY_STATUS, &scm);
  if (!svc)
    return 1;
  int rc = 1;
  SERVICE_STATUS_PROCESS ssp;
  if (!StartServiceW(svc, 0, NULL)) {
    DWORD e = GetLastError();
    if (e == ERROR_SERVICE_ALREADY_RUNNING) {
      printf("sysgi start: the service is already running\n");
      rc = 0;
    } else {
      char t[512];
      svc_win32_text(e, t, sizeof t);
      fprintf(stderr, "sysgi start: StartService: %s\n", t);
    }
    goto out;
  }
  DWORD st = svc_wait_state(svc, SERVICE_START_PENDING, 600000);
  if (query(svc, &ssp))
    memset(&ssp, 0, sizeof ssp);
  if (st == SERVICE_RUNNING) {
    printf("sysgi start: the service is running (pid %lu)\n",
           (unsigned long)ssp.dwProcessId);
    rc = 0;
  } else if (st == SERVICE_STOPPED) {
    fprintf(stderr, "sysgi start: the service stopped while starting: ");
    print_exit(stderr, &ssp);
    fprintf(stderr, "  (the Event Log and the service's log file say why)\n");
  } else {
    fprintf(stderr, "sysgi start: the service did not report RUNNING in "
                    "time (state %s)\n", state_name(ssp.dwCurrentState));
  }
out:
  CloseServiceHandle(svc);
  CloseServiceHandle(scm);
  return rc;
}

int svc_cmd_stop(int argc, wchar_t **argv) {
  (void)argv;
  if (argc) {
    fprintf(stderr, "sysgi stop: takes no arguments\n");
    return 2;
  }
  SC_HANDLE scm, svc = open_service("stop", SERVICE_STOP |
                                    SERVICE_QUERY_STATUS, &scm);
  if (!svc)
    return 1;
  int rc = 1;
  SERVICE_STATUS st;
  SERVICE_STATUS_PROCESS ssp;
  /* The process, opened before the stop so that its id cannot be reused:
   * STOPPED is reported a little before the process has ended, and until
   * it has, sysgi.exe is in use and cannot be replaced or deleted (the
   * MSI stops the service this way before it removes the files). */
  HANDLE proc = NULL;
  if (query(svc, &ssp) == 0 && ssp.dwProcessId)
    proc = OpenProcess(SYNCHRONIZE, FALSE, ssp.dwProcessId);
  ULONGLONG start = GetTickCount64();
  for (;;) {
    if (ControlService(svc, SERVICE_CONTROL_STOP, &st))
      break;
    DWORD e = GetLastError();
    if (e == ERROR_SERVICE_NOT_ACTIVE) {
      printf("sysgi stop: the service is not running\n");
      rc = 0;
      goto out;
    }
    /* A service still in START_PENDING may not take controls yet (the SCM
     * refuses them before the service has said it accepts STOP): try
     * again until it does, rather than fail a stop during start-up. */
    if (e == ERROR_SERVICE_CANNOT_ACCEPT_CTRL &&
        GetTickCount64() - start < 120000) {
      Sleep(250);
      continue;
    }
    char t[512];
    svc_win32_text(e, t, sizeof t);
    fprintf(stderr, "sysgi stop: ControlService(STOP): %s\n", t);
    goto out;
  }
  DWORD s = svc_wait_state(svc, SERVICE_STOP_PENDING, 600000);
  if (query(svc, &ssp))
    memset(&ssp, 0, sizeof ssp);
  if (s == SERVICE_STOPPED) {
    if (proc && WaitForSingleObject(proc, 60000) == WAIT_TIMEOUT)
      fprintf(stderr, "sysgi stop: the service is stopped but its process "
                      "(pid %lu) has not ended after 60 s\n",
              (unsigned long)GetProcessId(proc));
    printf("sysgi stop: the service is stopped\n");
    rc = 0;
  } else {
    fprintf(stderr, "sysgi stop: the service did not stop in time (state "
                    "%s)\n", state_name(ssp.dwCurrentState));
  }
out:
  if (proc)
    CloseHandle(proc);
  CloseServiceHandle(svc);
  CloseServiceHandle(scm);
  return rc;
}

/* The value of `--config "X"` in the binary path, else NULL. */
static wchar_t *config_of(const wchar_t *bin) {
  const wchar_t *p = wcsstr(bin, L" --config ");
  if (!p)
    return NULL;
  p += 10;
  const wchar_t *end;
  if (*p == L'"') {
    end = wcschr(++p, L'"');
  } else {
    end = wcschr(p, L' ');
  }
  size_t n = end ? (size_t)(end - p) : wcslen(p);
  wchar_t *out = calloc(n + 1, sizeof *out);
  if (out)
    wmemcpy(out, p, n);
  return out;
}

static void print_config_file(const wchar_t *bin) {
  wchar_t *c = config_of(bin);
  if (c) {
    printf("config file: %ls (--config)\n", c);
    free(c);
    return;
  }
  wchar_t v[MAX_PATH];
  DWORD bytes = sizeof v;
  if (RegGetValueW(HKEY_LOCAL_MACHINE, SVC_CONFIG_KEY, L"ConfigFile",
                   RRF_RT_REG_SZ, NULL, v, &bytes) == ERROR_SUCCESS)
    printf("config file: %ls (HKLM\\SOFTWARE\\sysgi\\ConfigFile)\n", v);
  else
    printf("config file: sysgi.ini next to sysgi.exe (default)\n");
}

static void print_failure_actions(SC_HANDLE svc) {
  BYTE buf[8192];
  DWORD need;
  if (!QueryServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, buf,
                            sizeof buf, &need)) {
    printf("failure actions: unknown (QueryServiceConfig2: error %lu)\n",
           (unsigned long)GetLastError());
    return;
  }
  SERVICE_FAILURE_ACTIONSW *fa = (SERVICE_FAILURE_ACTIONSW *)buf;
  if (!fa->cActions) {
    printf("failure actions: none\n");
    return;
  }
  printf("failure actions:");
  for (DWORD i = 0; i < fa->cActions; i++) {
    const SC_ACTION *a = &fa->lpsaActions[i];
    const char *t = a->Type == SC_ACTION_RESTART ? "restart"
                    : a->Type == SC_ACTION_NONE  ? "none"
                    : a->Type == SC_ACTION_REBOOT ? "reboot" : "run";
    printf(" %s/%lums", t, (unsigned long)a->Delay);
  }
  printf(" (reset after %lus)\n", (unsigned long)fa->dwResetPeriod);
}

int svc_cmd_status(int argc, wchar_t **argv) {
  (void)argv;
  if (argc) {
    fprintf(stderr, "sysgi status: takes no arguments\n");
    return 2;
  }
  SC_HANDLE scm, svc = open_service("status", SERVICE_QUERY_STATUS |
                                    SERVICE_QUERY_CONFIG, &scm);
  if (!svc)
    return 1;
  SERVICE_STATUS_PROCESS ssp;
  union {
    QUERY_SERVICE_CONFIGW qc;
    BYTE raw[8192];
  } cfg;
  DWORD need;
  int rc = 0;
  if (query(svc, &ssp) ||
      !QueryServiceConfigW(svc, &cfg.qc, sizeof cfg, &need)) {
    char t[512];
    svc_win32_text(GetLastError(), t, sizeof t);
    fprintf(stderr, "sysgi status: cannot query the service: %s\n", t);
    rc = 1;
    goto out;
  }
  printf("service: sysgi (%ls)\n", cfg.qc.lpDisplayName
                                     ? cfg.qc.lpDisplayName : L"");
  printf("state: %s\n", state_name(ssp.dwCurrentState));
  if (ssp.dwProcessId)
    printf("pid: %lu\n", (unsigned long)ssp.dwProcessId);
  if (ssp.dwCurrentState == SERVICE_START_PENDING ||
      ssp.dwCurrentState == SERVICE_STOP_PENDING)
    printf("checkpoint: %lu\nwait hint: %lu ms\n",
           (unsigned long)ssp.dwCheckPoint, (unsigned long)ssp.dwWaitHint);
  if (ssp.dwCurrentState == SERVICE_STOPPED) {
    printf("last exit: ");
    print_exit(stdout, &ssp);
  }
  printf("account: %ls\n", cfg.qc.lpServiceStartName
                               ? cfg.qc.lpServiceStartName : L"LocalSystem");
  printf("binary: %ls\n", cfg.qc.lpBinaryPathName);
  print_config_file(cfg.qc.lpBinaryPathName);
  SERVICE_DELAYED_AUTO_START_INFO d = {0};
  int delayed = QueryServiceConfig2W(svc, SERVICE_CONFIG_DELAYED_AUTO_START_INFO,
                                     (BYTE *)&d, sizeof d, &need) &&
                d.fDelayedAutostart;
  printf("start type: %s%s\n",
         cfg.qc.dwStartType == SERVICE_AUTO_START     ? "automatic"
         : cfg.qc.dwStartType == SERVICE_DEMAND_START ? "manual"
         : cfg.qc.dwStartType == SERVICE_DISABLED     ? "disabled" : "other",
         delayed ? " (delayed)" : "");
  print_failure_actions(svc);
out:
  CloseServiceHandle(svc);
  CloseServiceHandle(scm);
  return rc;
}
