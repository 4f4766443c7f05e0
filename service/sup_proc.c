/*
 * sup_proc.c: start a worker process in its group's Job Object, sample its
 * memory, stop or kill it.
 *
 * The job is the group's (job.c of the groupenv branch: one per group, so
 * that virtual-memory-limit counts all its workers). The handles a worker
 * needs (the group's request queue, its stop and ready
 * events) are inheritable and named on its command line by value; they are
 * inherited with bInheritHandles, which Wine supports (a handle list
 * attribute would limit inheritance to them: a later refinement). The
 * process starts suspended, joins its job, then runs: it never runs
 * outside the job, and the job's kill-on-close ends it with the service.
 */
#include "sup_proc.h"

#include "job.h"
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

static HANDLE inheritable_event(void) {
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  return CreateEventW(&sa, TRUE, FALSE, NULL);
}

DWORD sup_proc_start(sup_proc *p, const wchar_t *exe, const char *group,
                     const char *ini, HANDLE queue, HANDLE job) {
  ZeroMemory(p, sizeof *p);
  p->stop_ev = inheritable_event();
  p->ready_ev = inheritable_event();
  DWORD err = 0;
  if (!p->stop_ev || !p->ready_ev) {
    err = GetLastError();
    sup_proc_free(p);
    return err ? err : ERROR_OUTOFMEMORY;
  }
  wchar_t wgroup[512], wini[MAX_PATH * 2];
  if (!MultiByteToWideChar(CP_UTF8, 0, group, -1, wgroup, 512) ||
      (ini && !MultiByteToWideChar(CP_UTF8, 0, ini, -1, wini, MAX_PATH * 2))) {
    sup_proc_free(p);
    return ERROR_INVALID_PARAMETER;
  }
  size_t cap = wcslen(exe) + wcslen(wgroup) + (ini ? wcslen(wini) : 0) + 256;
  wchar_t *cmd = malloc(cap * sizeof *cmd);
  if (!cmd) {
    sup_proc_free(p);
    return ERROR_OUTOFMEMORY;
  }
  swprintf(cmd, cap, L"\"%ls\" worker --group \"%ls\" --queue %llu --stop %llu "
           L"--ready %llu%ls%ls%ls",
           exe, wgroup, (unsigned long long)(uintptr_t)queue,
           (unsigned long long)(uintptr_t)p->stop_ev,
           (unsigned long long)(uintptr_t)p->ready_ev,
           ini ? L" --config \"" : L"", ini ? wini : L"", ini ? L"\"" : L"");
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  ZeroMemory(&si, sizeof si);
  si.cb = sizeof si;
  /* Python needs its standard handles on pipes (WINE.md): the service's
   * (a pipe read back into its log) or serve's console/pipes. */
  HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE), errh = GetStdHandle(STD_ERROR_HANDLE);
  HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
  if (out && out != INVALID_HANDLE_VALUE && errh && errh != INVALID_HANDLE_VALUE) {
    SetHandleInformation(out, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    SetHandleInformation(errh, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    if (in && in != INVALID_HANDLE_VALUE)
      SetHandleInformation(in, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = in;
    si.hStdOutput = out;
    si.hStdError = errh;
  }
  BOOL ok = CreateProcessW(NULL, cmd, NULL, NULL, TRUE,
                           CREATE_SUSPENDED | CREATE_NO_WINDOW, NULL, NULL,
                           &si, &pi);
  err = ok ? 0 : GetLastError();
  free(cmd);
  if (!ok) {
    sup_proc_free(p);
    return err;
  }
  if (svc_job_assign(job, pi.hProcess) != 0) {
    /* Without the job, nothing ties it to the service: do not run it. */
    err = ERROR_ACCESS_DENIED;
    TerminateProcess(pi.hProcess, 1);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    sup_proc_free(p);
    return err ? err : ERROR_ACCESS_DENIED;
  }
  ResumeThread(pi.hThread);
  CloseHandle(pi.hThread);
  p->process = pi.hProcess;
  p->pid = pi.dwProcessId;
  p->started_ms = GetTickCount64();
  return 0;
}

uint64_t sup_proc_memory(const sup_proc *p) {
  svc_process_mem m;
  /* Committed private bytes: what memory-limit (the job's per-process
   * limit) counts. */
  if (!p->process || svc_process_memory(p->process, &m) != 0)
    return 0;
  return m.private_bytes;
}

int sup_proc_exited(const sup_proc *p, DWORD *code) {
  if (!p->process || WaitForSingleObject(p->process, 0) != WAIT_OBJECT_0)
    return 0;
  if (!GetExitCodeProcess(p->process, code))
    *code = (DWORD)-1;
  return 1;
}

void sup_proc_stop(sup_proc *p) {
  if (p->stop_ev)
    SetEvent(p->stop_ev);
  p->stop_sent_ms = GetTickCount64();
}

void sup_proc_kill(sup_proc *p) {
  if (p->process)
    TerminateProcess(p->process, 1);
}

void sup_proc_free(sup_proc *p) {
  if (p->process)
    CloseHandle(p->process);
  if (p->stop_ev)
    CloseHandle(p->stop_ev);
  if (p->ready_ev)
    CloseHandle(p->ready_ev);
  ZeroMemory(p, sizeof *p);
}
