/*
 * msica.c: sysgi_msica.dll, the MSI's custom actions (a Binary table
 * entry, never installed).
 *
 * Why a DLL and not an EXE custom action running sysgi.exe directly:
 * Windows Installer drops an EXE custom action's output, and the install
 * log is where an administrator running `msiexec /qn /l*v` looks for the
 * reason (a wrong PYTHONHOME, a URL http.sys refused). These entries run
 * the command line in CustomActionData (a deferred action's only input)
 * with stdout and stderr on a pipe and copy every line into the log with
 * MsiProcessMessage(INSTALLMESSAGE_INFO), as WiX's QuietExec does.
 *
 *   SysgiRun        fails the install (rolls it back) when the command
 *                   exits non-zero or cannot be started;
 *   SysgiRunLogOnly never fails it: the output is the point (sysgi check).
 */
#include <winsock2.h>
#include <windows.h>
#include <msi.h>
#include <msiquery.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* One line into the install log. Field 0 is the template "[1]" so that
 * brackets in the text are not read as MSI formatting. */
static void log_line(MSIHANDLE h, const wchar_t *text) {
  MSIHANDLE rec = MsiCreateRecord(1);
  if (!rec)
    return;
  MsiRecordSetStringW(rec, 0, L"[1]");
  MsiRecordSetStringW(rec, 1, text);
  MsiProcessMessage(h, INSTALLMESSAGE_INFO, rec);
  MsiCloseHandle(rec);
}

static void log_utf8(MSIHANDLE h, const char *prefix, const char *s) {
  wchar_t w[4096 + 64];
  int n = _snwprintf(w, 64, L"%hs", prefix);
  if (n < 0)
    n = 0;
  int m = MultiByteToWideChar(CP_UTF8, 0, s, -1, w + n,
                              (int)(sizeof w / sizeof *w) - n);
  if (m <= 0) /* not UTF-8: show the bytes as the ANSI code page would */
    MultiByteToWideChar(CP_ACP, 0, s, -1, w + n,
                        (int)(sizeof w / sizeof *w) - n);
  w[sizeof w / sizeof *w - 1] = 0;
  log_line(h, w);
}

/* CustomActionData (malloc'ed), or NULL when empty or unreadable. */
static wchar_t *action_data(MSIHANDLE h) {
  DWORD n = 0;
  wchar_t empty[1] = L"";
  UINT r = MsiGetPropertyW(h, L"CustomActionData", empty, &n);
  if (r != ERROR_MORE_DATA && r != ERROR_SUCCESS)
    return NULL;
  if (n == 0)
    return NULL;
  n++;
  wchar_t *buf = malloc(n * sizeof *buf);
  if (!buf)
    return NULL;
  if (MsiGetPropertyW(h, L"CustomActionData", buf, &n) != ERROR_SUCCESS ||
      !*buf) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* Runs the command line, logging its output; returns its exit code, or
 * -1 (logged) when it could not run. */
static long run_logged(MSIHANDLE h, wchar_t *cmd) {
  wchar_t msg[600];
  _snwprintf(msg, 600, L"sysgi: running %.500ls", cmd);
  msg[599] = 0;
  log_line(h, msg);

  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  HANDLE r = NULL, w = NULL, nul = INVALID_HANDLE_VALUE;
  if (!CreatePipe(&r, &w, &sa, 0)) {
    _snwprintf(msg, 600, L"sysgi: CreatePipe failed (error %lu)",
               GetLastError());
    log_line(h, msg);
    return -1;
  }
  SetHandleInformation(r, HANDLE_FLAG_INHERIT, 0);
  nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                    &sa, OPEN_EXISTING, 0, NULL);
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = nul;
  si.hStdOutput = w;
  si.hStdError = w;
  BOOL ok = CreateProcessW(NULL, cmd, NULL, NULL, TRUE, CREATE_NO_WINDOW,
                           NULL, NULL, &si, &pi);
  DWORD err = GetLastError();
  CloseHandle(w); /* ours: the pipe ends when the child's copies close */
  if (nul != INVALID_HANDLE_VALUE)
    CloseHandle(nul);
  if (!ok) {
    CloseHandle(r);
    _snwprintf(msg, 600, L"sysgi: cannot start the command (error %lu)",
               err);
    log_line(h, msg);
    return -1;
  }
  char buf[4096], line[4096];
  size_t n = 0;
  DWORD got;
  while (ReadFile(r, buf, sizeof buf, &got, NULL) && got) {
    for (DWORD i = 0; i < got; i++) {
      char c = buf[i];
      if (c == '\n' || n == sizeof line - 1) {
        if (n && line[n - 1] == '\r')
          n--;
        line[n] = 0;
        log_utf8(h, "sysgi: | ", line);
        n = 0;
        if (c == '\n')
          continue;
      }
      line[n++] = c;
    }
  }
  if (n) {
    line[n] = 0;
    log_utf8(h, "sysgi: | ", line);
  }
  CloseHandle(r);
  WaitForSingleObject(pi.hProcess, INFINITE);
  DWORD code = 1;
  GetExitCodeProcess(pi.hProcess, &code);
  CloseHandle(pi.hProcess);
  CloseHandle(pi.hThread);
  _snwprintf(msg, 600, L"sysgi: the command exited with code %lu", code);
  log_line(h, msg);
  return (long)code;
}

static UINT run_action(MSIHANDLE h, int may_fail) {
  wchar_t *cmd = action_data(h);
  if (!cmd) {
    log_line(h, L"sysgi: no CustomActionData (the command to run); "
                L"nothing done");
    return may_fail ? ERROR_INSTALL_FAILURE : ERROR_SUCCESS;
  }
  long code = run_logged(h, cmd);
  free(cmd);
  if (code != 0 && !may_fail)
    log_line(h, L"sysgi: (reported only: this does not fail the install)");
  return code == 0 || !may_fail ? ERROR_SUCCESS : ERROR_INSTALL_FAILURE;
}

__declspec(dllexport) UINT __stdcall SysgiRun(MSIHANDLE h) {
  return run_action(h, 1);
}

__declspec(dllexport) UINT __stdcall SysgiRunLogOnly(MSIHANDLE h) {
  return run_action(h, 0);
}
