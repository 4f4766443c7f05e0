/* sup_proc.h: one worker process of a process group: started suspended
 * inside the group's Job Object (job.c), its memory, stop and kill. */
#ifndef SYSGI_SUP_PROC_H
#define SYSGI_SUP_PROC_H

#include <winsock2.h>
#include <windows.h>

#include <stdint.h>

typedef struct sup_proc_opts {
  HANDLE token;          /* restricted-token = on (svc_restricted_token)  */
  unsigned long priority_class; /* cpu-priority (svc_priority_class), 0   */
} sup_proc_opts;

typedef struct sup_proc {
  HANDLE process, stop_ev, ready_ev;
  HANDLE drain; /* the thread logging its output */
  DWORD pid;
  ULONGLONG started_ms, stop_sent_ms;
  int ready;
  int killed; /* by the supervisor: not receiving in time */
} sup_proc;

/* Starts `exe worker --group NAME --queue Q --stop S --ready R
 * [--config INI]` with the queue and two fresh events inherited,
 * suspended until it is in `job` (the group's). Returns 0 or a Win32
 * error. */
DWORD sup_proc_start(sup_proc *p, const wchar_t *exe, const char *group,
                     const char *ini, HANDLE queue, HANDLE job,
                     const sup_proc_opts *opts);
/* The process's private (committed) bytes, 0 if unknown. */
uint64_t sup_proc_memory(const sup_proc *p);
/* Nonzero once it exited; *code its exit code. */
int sup_proc_exited(const sup_proc *p, DWORD *code);
void sup_proc_stop(sup_proc *p); /* sets its stop event: drain, exit */
void sup_proc_kill(sup_proc *p);
void sup_proc_free(sup_proc *p); /* closes its handles */

#endif
