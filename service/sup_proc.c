/*
 * sup_proc.c: start a worker process in its own Job Object, sample its
 * memory, stop or kill it.
 *
 * The handles a worker needs (the group's request queue, its stop and ready
 * events) are inheritable and named on its command line by value; they are
 * inherited with bInheritHandles, which Wine supports (a handle list
 * attribute would limit inheritance to them: a later refinement). The
 * process starts suspended, joins its job, then runs: it never runs
 * outside the job, and the job's kill-on-close ends it with the service.
 */
#include "sup_proc.h"

#include <psapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

static HANDLE inheritable_event(void) {
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  return CreateEventW(&sa, TRUE, FALSE, NULL);
}

static HANDLE make_job(uint64_t memory_limit, uint64_t vm_limit, char *limits,
                       size_t limits_len) {
  HANDLE job = CreateJobObjectW(NULL, NULL);
  if (!job)
    return NULL;
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;
  ZeroMemory(&li, sizeof li);
  li.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  /* Windows limits commit, not address space: memory-limit is the
   * process's commit limit, virtual-memory-limit the job's (one worker per
   * job, so also per process, with its child processes included). */
  if (memory_limit) {
    li.BasicLimitInformation.LimitFlags |= JOB_OBJECT_LIMIT_PROCESS_MEMORY;
    li.ProcessMemoryLimit = (SIZE_T)memory_limit;
  }
  if (vm_limit) {
    li.BasicLimitInformation.LimitFlags |= JOB_OBJECT_LIMIT_JOB_MEMORY;
    li.JobMemoryLimit = (SIZE_T)vm_limit;
  }
  if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &li,
                               sizeof li)) {
    DWORD e = GetLastError();
    CloseHandle(job);
    SetLastError(e);
    return NULL;
  }
  /* What the job holds, read back (Wine accepts limits it never enforces:
   * this line is how a test sees them). */
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION rb;
  ZeroMemory(&rb, sizeof rb);
  if (QueryInformationJobObject(job, JobObjectExtendedLimitInformation, &rb,
                                sizeof rb, NULL)) {
    DWORD f = rb.BasicLimitInformation.LimitFlags;
    snprintf(limits, limits_len,
             "asked kill-on-close, process memory limit %llu, job memory "
             "limit %llu; read back: kill-on-close %s, process memory limit "
             "%llu, job memory limit %llu",
             (unsigned long long)memory_limit, (unsigned long long)vm_limit,
             (f & JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE) ? "on" : "off",
             (f & JOB_OBJECT_LIMIT_PROCESS_MEMORY)
                 ? (unsigned long long)rb.ProcessMemoryLimit : 0ULL,
             (f & JOB_OBJECT_LIMIT_JOB_MEMORY)
                 ? (unsigned long long)rb.JobMemoryLimit : 0ULL);
  } else {
    snprintf(limits, limits_len, "limits not readable (error %lu)",
             (unsigned long)GetLastError());
  }
  return job;
}

DWORD sup_proc_start(sup_proc *p, const wchar_t *exe, const char *group,
                     const char *ini, HANDLE queue, uint64_t memory_limit,
                     uint64_t vm_limit, char *limits, size_t limits_len) {
  ZeroMemory(p, sizeof *p);
  limits[0] = 0;
  p->stop_ev = inheritable_event();
  p->ready_ev = inheritable_event();
  p->job = make_job(memory_limit, vm_limit, limits, limits_len);
  DWORD err = 0;
  if (!p->stop_ev || !p->ready_ev || !p->job) {
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
  if (!AssignProcessToJobObject(p->job, pi.hProcess)) {
    /* Without the job, nothing ties it to the service: do not run it. */
    err = GetLastError();
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
  PROCESS_MEMORY_COUNTERS_EX pmc;
  ZeroMemory(&pmc, sizeof pmc);
  if (!p->process ||
      !K32GetProcessMemoryInfo(p->process, (PROCESS_MEMORY_COUNTERS *)&pmc,
                               sizeof pmc))
    return 0;
  /* Committed private bytes: what the job's memory limit counts. */
  uint64_t v = pmc.PrivateUsage;
  if (!v)
    v = pmc.PagefileUsage;
  return v;
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
  if (p->job)
    CloseHandle(p->job); /* kill-on-close: ends it if it is still alive */
  ZeroMemory(p, sizeof *p);
}
