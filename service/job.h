/*
 * job.h: the Job Object of a process group, and the memory figures of a
 * worker process.
 *
 * One job per process GROUP, not per worker: virtual-memory-limit is the
 * memory of all the group's processes (JOB_OBJECT_LIMIT_JOB_MEMORY), which
 * only a job holding all of them can enforce, while memory-limit is per
 * process (JOB_OBJECT_LIMIT_PROCESS_MEMORY), which the same job enforces
 * on each of its processes. During a recycle the old and the new worker
 * are both in the job, so a group near its virtual-memory-limit is
 * recycled with the old worker's memory still counted (as mod_wsgi's
 * limit counts every daemon process). Every job has
 * JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: when the service closes the job's
 * last handle (or dies), Windows ends every worker, so no worker outlives
 * the service. A single worker is stopped with TerminateProcess, not by the
 * job.
 *
 * Wine 8 accepts the limits but neither enforces them (../shared/WINE.md)
 * nor reads them back: its QueryInformationJobObject returns every limit
 * and flag as 0, kill-on-close included, although it does kill the job's
 * processes on close (measured by tests/wine/worker_plumbing.c). The
 * service's own sampling (svc_process_memory) is what recycles a worker
 * before its limit, on both.
 */
#ifndef SYSGI_SERVICE_JOB_H
#define SYSGI_SERVICE_JOB_H

#include <winsock2.h>
#include <windows.h>

#include <stdint.h>

/* The limits of a job, as set and as read back. 0: no limit. */
typedef struct svc_job_limits {
  uint64_t process_memory; /* memory-limit: committed bytes per process    */
  uint64_t job_memory;     /* virtual-memory-limit: all processes together */
  /* read back only (svc_job_query); ignored by svc_job_create: */
  int kill_on_close;       /* JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE is set    */
  unsigned active_processes;  /* processes in the job now                  */
  uint64_t peak_process_memory; /* highest commit of any process so far   */
  uint64_t peak_job_memory;     /* highest commit of the job so far       */
} svc_job_limits;

/* Creates an unnamed job with `want`'s memory limits (process_memory,
 * job_memory; 0 leaves a limit off) and always kill-on-close. `what`
 * names the job in log lines ("process group 'site'"). Returns 0 and the
 * job in *job, or SYSGI_E_IO after logging the Win32 error (nothing is
 * left open). */
int svc_job_create(const svc_job_limits *want, const char *what, HANDLE *job);

/* Puts `process` (needs PROCESS_SET_QUOTA | PROCESS_TERMINATE: a handle
 * from CreateProcess has them) into `job`. Do it while the process is
 * still suspended, so that nothing it starts escapes the job. Returns 0
 * or SYSGI_E_IO (logged). */
int svc_job_assign(HANDLE job, HANDLE process);

/* Reads the job's limits back (QueryInformationJobObject), with the
 * number of its processes and the peaks: what Windows holds, not what was
 * asked (under Wine 8: limits, flags and peaks 0, the process count
 * right). Returns 0 or SYSGI_E_IO (logged). */
int svc_job_query(HANDLE job, svc_job_limits *out);

/* Ends every process of the job with `exit_code` now (TerminateJobObject).
 * Returns 0 or SYSGI_E_IO (logged). */
int svc_job_terminate(HANDLE job, unsigned exit_code);

/* Closes the job handle: with kill-on-close this ends every process still
 * in the job once no other handle to it remains. NULL is ignored. */
void svc_job_close(HANDLE job);

/* The memory of a process, what the supervisor samples. */
typedef struct svc_process_mem {
  uint64_t private_bytes;  /* PrivateUsage: the commit charge, what
                              memory-limit (JOB_OBJECT_LIMIT_PROCESS_MEMORY)
                              limits (Wine 8 leaves PrivateUsage 0: then
                              PagefileUsage, the same figure)             */
  uint64_t working_set;    /* WorkingSetSize: resident now                */
  uint64_t peak_working_set;
  uint64_t pagefile_usage; /* PagefileUsage (equal to private_bytes on
                              current Windows)                            */
} svc_process_mem;

/* Fills *out for `process` (needs PROCESS_QUERY_LIMITED_INFORMATION, or
 * PROCESS_QUERY_INFORMATION | PROCESS_VM_READ before Windows 8) with
 * GetProcessMemoryInfo(PROCESS_MEMORY_COUNTERS_EX). Wine 8 reports real
 * figures (checked by tests/wine/worker_plumbing.c: they grow when the
 * child commits memory). Returns 0, or SYSGI_E_IO without logging (a
 * sampler calls it every second; the process may have just exited). */
int svc_process_memory(HANDLE process, svc_process_mem *out);

#endif /* SYSGI_SERVICE_JOB_H */
