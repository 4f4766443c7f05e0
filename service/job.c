/*
 * job.c: a process group's Job Object (limits, kill-on-close, read-back)
 * and the memory figures of one process. See job.h for why one job per
 * group.
 */
#include <winsock2.h>
#include <windows.h>

#include <psapi.h>
#include <string.h>

#include "job.h"
#include "log.h"
#include "sysgi.h"

int svc_job_create(const svc_job_limits *want, const char *what, HANDLE *job) {
  *job = NULL;
  if (!what)
    what = "process group";
  HANDLE j = CreateJobObjectW(NULL, NULL);
  if (!j) {
    svc_logf(SYSGI_LOG_ERR, "%s: cannot create its Job Object (error %lu)",
             what, (unsigned long)GetLastError());
    return SYSGI_E_IO;
  }
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION x;
  memset(&x, 0, sizeof x);
  x.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  if (want && want->process_memory) {
    x.BasicLimitInformation.LimitFlags |= JOB_OBJECT_LIMIT_PROCESS_MEMORY;
    x.ProcessMemoryLimit = (SIZE_T)want->process_memory;
  }
  if (want && want->job_memory) {
    x.BasicLimitInformation.LimitFlags |= JOB_OBJECT_LIMIT_JOB_MEMORY;
    x.JobMemoryLimit = (SIZE_T)want->job_memory;
  }
  if (!SetInformationJobObject(j, JobObjectExtendedLimitInformation, &x,
                               sizeof x)) {
    svc_logf(SYSGI_LOG_ERR, "%s: cannot set the limits of its Job Object "
             "(memory-limit %llu, virtual-memory-limit %llu bytes; error %lu)",
             what, (unsigned long long)(want ? want->process_memory : 0),
             (unsigned long long)(want ? want->job_memory : 0),
             (unsigned long)GetLastError());
    CloseHandle(j);
    return SYSGI_E_IO;
  }
  *job = j;
  return 0;
}

int svc_job_assign(HANDLE job, HANDLE process) {
  if (!AssignProcessToJobObject(job, process)) {
    svc_logf(SYSGI_LOG_ERR, "cannot put process %lu into its Job Object "
             "(error %lu)", (unsigned long)GetProcessId(process),
             (unsigned long)GetLastError());
    return SYSGI_E_IO;
  }
  return 0;
}

int svc_job_query(HANDLE job, svc_job_limits *out) {
  memset(out, 0, sizeof *out);
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION x;
  JOBOBJECT_BASIC_ACCOUNTING_INFORMATION acct;
  memset(&x, 0, sizeof x);
  memset(&acct, 0, sizeof acct);
  if (!QueryInformationJobObject(job, JobObjectExtendedLimitInformation, &x,
                                 sizeof x, NULL) ||
      !QueryInformationJobObject(job, JobObjectBasicAccountingInformation,
                                 &acct, sizeof acct, NULL)) {
    svc_logf(SYSGI_LOG_ERR, "cannot read the limits of a Job Object "
             "(error %lu)", (unsigned long)GetLastError());
    return SYSGI_E_IO;
  }
  DWORD f = x.BasicLimitInformation.LimitFlags;
  out->process_memory =
      (f & JOB_OBJECT_LIMIT_PROCESS_MEMORY) ? x.ProcessMemoryLimit : 0;
  out->job_memory = (f & JOB_OBJECT_LIMIT_JOB_MEMORY) ? x.JobMemoryLimit : 0;
  out->kill_on_close = (f & JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE) != 0;
  out->active_processes = acct.ActiveProcesses;
  out->peak_process_memory = x.PeakProcessMemoryUsed;
  out->peak_job_memory = x.PeakJobMemoryUsed;
  return 0;
}

int svc_job_terminate(HANDLE job, unsigned exit_code) {
  if (!TerminateJobObject(job, exit_code)) {
    svc_logf(SYSGI_LOG_ERR, "cannot end the processes of a Job Object "
             "(error %lu)", (unsigned long)GetLastError());
    return SYSGI_E_IO;
  }
  return 0;
}

void svc_job_close(HANDLE job) {
  if (job)
    CloseHandle(job);
}

int svc_process_memory(HANDLE process, svc_process_mem *out) {
  PROCESS_MEMORY_COUNTERS_EX pmc;
  memset(out, 0, sizeof *out);
  memset(&pmc, 0, sizeof pmc);
  pmc.cb = sizeof pmc;
  if (!GetProcessMemoryInfo(process, (PROCESS_MEMORY_COUNTERS *)&pmc,
                            sizeof pmc))
    return SYSGI_E_IO;
  /* Wine 8 leaves PrivateUsage 0 and counts the commit in PagefileUsage,
   * which current Windows reports equal to PrivateUsage. */
  out->private_bytes = pmc.PrivateUsage ? pmc.PrivateUsage : pmc.PagefileUsage;
  out->working_set = pmc.WorkingSetSize;
  out->peak_working_set = pmc.PeakWorkingSetSize;
  out->pagefile_usage = pmc.PagefileUsage;
  return 0;
}
