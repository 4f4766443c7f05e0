/* sup_internal.h: the supervisor's state, shared by supervisor.c and
 * sup_pipe.c. */
#ifndef SYSGI_SUP_INTERNAL_H
#define SYSGI_SUP_INTERNAL_H

#include <winsock2.h>
#include <windows.h>

#include "sup_proc.h"
#include "supervisor.h"
#include "sysgi_httpsys.h"

typedef struct sup_slot {
  sup_proc cur;  /* the worker of this slot, or none (process NULL) */
  sup_proc next; /* its replacement while one starts */
  ULONGLONG restart_at;
  unsigned backoff_ms;
  int started_once;
  int recycling;        /* `next` replaces `cur` for a recycle */
  DWORD recycled_pid;   /* the recycle's replacement, once receiving */
} sup_slot;

typedef struct sup_drain {
  sup_proc p;
  int killed;
  struct sup_drain *next;
} sup_drain;

typedef struct sup_group {
  const sysgi_group_settings *g;
  sysgi_httpsys_queue *queue;
  HANDLE job;     /* every worker of the group (job.c) */
  sup_proc_opts opts; /* restricted token, priority class */
  char limits[300]; /* the job's limits, asked and read back, for the log */
  sup_slot *slots;
  unsigned n_slots;
  unsigned recycle_left; /* slots a recycle still has to replace */
  char recycle_error[300]; /* why the recycle failed, or "" */
  sup_drain *draining;   /* replaced workers finishing their requests */
} sup_group;

struct svc_supervisor {
  const sysgi_config *cfg;
  const char *ini;
  wchar_t exe[MAX_PATH];
  sup_group *groups;
  size_t n_groups;
  SRWLOCK lock;
  HANDLE thread, quit;
  HANDLE pipe_thread;
  volatile LONG pipe_quit;
};

/* Asks for the recycle of group `name` and waits until it is done; writes
 * the reply line. Returns 0 once every worker was replaced by one that is
 * receiving, or -1 (unknown group, or a replacement that did not start,
 * exited or never received: the reply names the group and the cause). */
int sup_request_recycle(svc_supervisor *sup, const char *name, char *reply,
                        size_t len);
int sup_pipe_start(svc_supervisor *sup);
void sup_pipe_stop(svc_supervisor *sup);

#endif
