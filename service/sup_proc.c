/*
 * sup_proc.c: start a worker process in its group's Job Object, sample its
 * memory, stop or kill it.
 *
 * The job is the group's (job.c of the groupenv branch: one per group, so
 * that virtual-memory-limit counts all its workers). The handles a worker
 * needs (the group's request queue, its stop and ready
 * events) are inheritable and named on its command line by value; they are
 * inherited through svc_spawn's handle list (spawn.c), which also starts
 * it suspended until it is in its job: it never runs outside the job, and
 * the job's kill-on-close ends it with the service.
 */
#include "sup_proc.h"

#include "job.h"
#include "log.h"
#include "spawn.h"
#include "supervisor.h"
#include "sysgi.h"
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

static HANDLE inheritable_event(void) {
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  return CreateEventW(&sa, TRUE, FALSE, NULL);
}

DWORD sup_proc_start(sup_proc *p, const wchar_t *exe, const char *group,
                     const char *ini, HANDLE queue, HANDLE job,
                     const sup_proc_opts *po) {
  ZeroMemory(p, sizeof *p);
  p->stop_ev = inheritable_event();
  p->ready_ev = inheritable_event();
  if (!p->stop_ev || !p->ready_ev) {
    DWORD err = GetLastError();
    sup_proc_free(p);
    return err ? err : ERROR_OUTOFMEMORY;
  }
  wchar_t wgroup[512], wini[MAX_PATH * 2], hq[24], hs[24], hr[24];
  if (!MultiByteToWideChar(CP_UTF8, 0, group, -1, wgroup, 512) ||
      (ini && !MultiByteToWideChar(CP_UTF8, 0, ini, -1, wini, MAX_PATH * 2))) {
    sup_proc_free(p);
    return ERROR_INVALID_PARAMETER;
  }
  svc_handle_arg(queue, hq, 24);
  svc_handle_arg(p->stop_ev, hs, 24);
  svc_handle_arg(p->ready_ev, hr, 24);
  size_t cap = wcslen(exe) + wcslen(wgroup) + (ini ? wcslen(wini) : 0) + 256;
  wchar_t *cmd = malloc(cap * sizeof *cmd);
  if (!cmd) {
    sup_proc_free(p);
    return ERROR_OUTOFMEMORY;
  }
  swprintf(cmd, cap, L"\"%ls\" worker --group \"%ls\" --queue %ls --stop %ls "
           L"--ready %ls%ls%ls%ls", exe, wgroup, hq, hs, hr,
           ini ? L" --config \"" : L"", ini ? wini : L"", ini ? L"\"" : L"");
  /* Only these handles are inherited (a handle list), and the worker runs
   * only once it is in the group's job. */
  HANDLE inherit[3] = {queue, p->stop_ev, p->ready_ev};
  char what[400];
  snprintf(what, sizeof what, "a worker of process group '%s'", group);
  svc_spawn_opts o;
  memset(&o, 0, sizeof o);
  o.exe = exe;
  o.command_line = cmd;
  o.inherit = inherit;
  o.n_inherit = 3;
  o.job = job;
  o.token = po ? po->token : NULL;
  o.priority_class = po ? po->priority_class : 0;
  o.what = what;
  svc_child ch;
  int rc = svc_spawn(&o, &ch);
  free(cmd);
  if (rc != 0) {
    sup_proc_free(p);
    return ERROR_GEN_FAILURE; /* logged by svc_spawn */
  }
  p->process = ch.process;
  p->pid = ch.pid;
  p->started_ms = GetTickCount64();
  /* The worker's stdout and stderr become log lines of this process. */
  char prefix[400];
  snprintf(prefix, sizeof prefix, "[%s %lu]", group, (unsigned long)ch.pid);
  p->drain = ch.output ? svc_spawn_drain(ch.output, prefix, SYSGI_LOG_INFO)
                       : NULL;
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
    TerminateProcess(p->process, SVC_WORKER_EXIT_KILLED);
}

void sup_proc_free(sup_proc *p) {
  if (p->drain) {
    /* Its output ends with the process (and its children). */
    WaitForSingleObject(p->drain, 2000);
    CloseHandle(p->drain);
  }
  if (p->process)
    CloseHandle(p->process);
  if (p->stop_ev)
    CloseHandle(p->stop_ev);
  if (p->ready_ev)
    CloseHandle(p->ready_ev);
  ZeroMemory(p, sizeof *p);
}
