/*
 * supervisor.c: the process groups of one configuration. One thread runs
 * every decision (start, restart with back-off, replace, drain, kill) on a
 * short tick, so the worker table has one writer; the control pipe's
 * thread (sup_pipe.c) only posts requests under the lock and waits.
 *
 * A slot of a group holds its current worker and, while it is being
 * replaced (recycle, memory), the replacement: the old worker is told to
 * drain only once the new one is receiving, so the group never has fewer
 * receivers than `processes` and no request is refused. Requests wait in
 * the kernel queue meanwhile.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "log.h"
#include "spawn.h"
#include "worker_env.h"
#include "sup_internal.h"
#include "svc_run.h"
#include "sysgi_msg.h"

#define SUP_TICK_MS 100
#define SUP_SAMPLE_MS 2000
#define SUP_BACKOFF_MIN_MS 1000
#define SUP_BACKOFF_MAX_MS 60000
#define SUP_LIVED_MS 60000     /* a worker that lived this long resets back-off */
#define SUP_READY_MS 120000    /* a replacement that is not receiving by then */
#define SUP_MEMORY_PERCENT 90  /* recycle at this share of memory-limit */

int svc_supervisor_needed(const sysgi_config *cfg) {
  for (size_t i = 0; i < sysgi_config_n_apps(cfg); i++)
    if (svc_app_group(sysgi_config_app(cfg, i)))
      return 1;
  return 0;
}

static const char *exit_reason(DWORD code) {
  switch (code) {
  case SVC_WORKER_EXIT_STOP: return "stopped as asked";
  case SVC_WORKER_EXIT_CONFIG: return "configuration error";
  case SVC_WORKER_EXIT_LISTEN: return "could not receive from the queue";
  case SVC_WORKER_EXIT_MAX_REQUESTS: return "maximum-requests reached";
  case SVC_WORKER_EXIT_UNWIND: return "a request did not unwind after interrupt-timeout";
  case SVC_WORKER_EXIT_STUCK: return "requests still running after graceful-timeout";
  case SVC_WORKER_EXIT_PARENT: return "the supervisor went away";
  case SVC_WORKER_EXIT_KILLED: return "killed by the supervisor";
  case SVC_WORKER_EXIT_IO: return "its I/O did not end after stop";
  default: return "crashed or was killed";
  }
}

/* Builds the group's queue: for every app of the group and every listen
 * URL, LISTEN + mount + "/" with the listen URL's index as context. */
static int make_queue(sup_group *sg, const sysgi_config *cfg) {
  const sysgi_server_settings *s = sysgi_config_server(cfg);
  size_t n = 0, cap = sysgi_config_n_apps(cfg) * s->n_listen;
  char **urls = calloc(cap ? cap : 1, sizeof *urls);
  unsigned *ctx = calloc(cap ? cap : 1, sizeof *ctx);
  int rc = urls && ctx ? 0 : SYSGI_E_NOMEM;
  for (size_t i = 0; !rc && i < sysgi_config_n_apps(cfg); i++) {
    const sysgi_app_settings *a = sysgi_config_app(cfg, i);
    const char *g = svc_app_group(a);
    if (!g || strcmp(g, sg->g->name))
      continue;
    for (size_t l = 0; !rc && l < s->n_listen; l++) {
      size_t len = strlen(s->listen[l]) + strlen(a->mount) + 2;
      char *u = malloc(len);
      if (!u) {
        rc = SYSGI_E_NOMEM;
        break;
      }
      const char *m = a->mount[0] == '/' ? a->mount + 1 : a->mount;
      snprintf(u, len, "%s%s%s", s->listen[l], m, *m ? "/" : "");
      urls[n] = u;
      ctx[n++] = (unsigned)l;
      svc_logf(SYSGI_LOG_INFO, "process group %s: %s", sg->g->name, u);
    }
  }
  if (!rc && n) {
    char name[300];
    snprintf(name, sizeof name, "sysgi-%s", sg->g->name);
    sysgi_httpsys_queue_config qc;
    sysgi_httpsys_limits limits;
    memset(&qc, 0, sizeof qc);
    qc.urls = (const char *const *)urls;
    qc.url_contexts = ctx;
    qc.n_urls = n;
    qc.name = name;
    qc.inheritable = 1;
    svc_httpsys_limits_fill(&limits, sysgi_config_server(cfg));
    qc.limits = &limits;
    qc.log = svc_log;
    rc = sysgi_httpsys_queue_create(&qc, &sg->queue);
  }
  for (size_t i = 0; urls && i < n; i++)
    free(urls[i]);
  free(urls);
  free(ctx);
  return rc;
}

static int spawn(svc_supervisor *sup, sup_group *sg, sup_proc *p,
                 const char *why) {
  DWORD err = sup_proc_start(p, sup->exe, sg->g->name, sup->ini,
                             sysgi_httpsys_queue_handle(sg->queue), sg->job,
                             &sg->opts);
  if (err) {
    svc_log_eventf(SYSGI_MSG_WORKER_EXITED, SYSGI_LOG_ERR,
                   "process group %s: cannot start a worker (%s): error %lu",
                   sg->g->name, why, (unsigned long)err);
    return -1;
  }
  svc_log_eventf(SYSGI_MSG_WORKER_STARTED, SYSGI_LOG_INFO,
                 "process group %s: worker pid %lu started (%s); job: %s",
                 sg->g->name, (unsigned long)p->pid, why, sg->limits);
  return 0;
}

static void log_exit(sup_group *sg, const sup_proc *p, DWORD code,
                     const char *role) {
  /* 0 from a worker nobody asked to stop: ended from outside (taskkill /f
   * exits 0 too). */
  int unasked = code == SVC_WORKER_EXIT_STOP && !p->stop_sent_ms;
  int expected = (code == SVC_WORKER_EXIT_STOP && !unasked) ||
                 code == SVC_WORKER_EXIT_MAX_REQUESTS;
  svc_log_eventf(SYSGI_MSG_WORKER_EXITED, expected ? SYSGI_LOG_INFO : SYSGI_LOG_WARN,
                 "process group %s: %sworker pid %lu exited with code %lu (%s)",
                 sg->g->name, role, (unsigned long)p->pid, (unsigned long)code,
                 unasked ? "ended without being asked: killed?"
                         : exit_reason(code));
}

/* A recycle's replacement did not reach "receiving": the recycle stops
 * there (the workers not yet replaced keep serving) and its reply is this
 * error. */
static void recycle_failed(sup_group *sg, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sg->recycle_error, sizeof sg->recycle_error, fmt, ap);
  va_end(ap);
  sg->recycle_left = 0;
  svc_logf(SYSGI_LOG_ERR, "process group %s: recycle failed: %s", sg->g->name,
           sg->recycle_error);
}

/* Starts a replacement for slot i; the current one drains once it is
 * receiving. */
static void replace(svc_supervisor *sup, sup_group *sg, unsigned i,
                    const char *why) {
  sup_slot *sl = &sg->slots[i];
  if (sl->next.process || !sl->cur.process)
    return;
  int recycle = !strcmp(why, "recycle");
  if (spawn(sup, sg, &sl->next, why) == 0) {
    sl->recycling = recycle;
    svc_logf(SYSGI_LOG_INFO, "process group %s: replacing worker pid %lu by "
             "pid %lu (%s)", sg->g->name, (unsigned long)sl->cur.pid,
             (unsigned long)sl->next.pid, why);
  } else if (recycle) {
    recycle_failed(sg, "cannot start a replacement for worker pid %lu",
                   (unsigned long)sl->cur.pid);
  }
}

static void drain_add(sup_group *sg, sup_proc *p) {
  sup_drain *d = calloc(1, sizeof *d);
  if (!d) {
    sup_proc_kill(p);
    sup_proc_free(p);
    return;
  }
  d->p = *p;
  ZeroMemory(p, sizeof *p);
  sup_proc_stop(&d->p);
  d->next = sg->draining;
  sg->draining = d;
}

static void tick_slot(svc_supervisor *sup, sup_group *sg, unsigned i,
                      ULONGLONG now, int sample) {
  sup_slot *sl = &sg->slots[i];
  DWORD code;
  if (sl->cur.process && sup_proc_exited(&sl->cur, &code)) {
    log_exit(sg, &sl->cur, code, "");
    ULONGLONG lived = now > sl->cur.started_ms ? now - sl->cur.started_ms : 0;
    sup_proc_free(&sl->cur);
    if (code == SVC_WORKER_EXIT_MAX_REQUESTS || lived >= SUP_LIVED_MS)
      sl->backoff_ms = 0;
    if (code == SVC_WORKER_EXIT_MAX_REQUESTS) {
      sl->restart_at = now;
    } else {
      sl->backoff_ms = sl->backoff_ms ? sl->backoff_ms * 2 : SUP_BACKOFF_MIN_MS;
      if (sl->backoff_ms > SUP_BACKOFF_MAX_MS)
        sl->backoff_ms = SUP_BACKOFF_MAX_MS;
      sl->restart_at = now + sl->backoff_ms;
      svc_logf(SYSGI_LOG_WARN, "process group %s: restarting worker %u in "
               "%u ms", sg->g->name, i, sl->backoff_ms);
    }
  }
  if (sl->next.process) {
    if (sup_proc_exited(&sl->next, &code)) {
      log_exit(sg, &sl->next, code, "replacement ");
      if (sl->recycling)
        recycle_failed(sg, "replacement pid %lu exited with code %lu (%s) "
                       "before receiving; worker pid %lu keeps serving",
                       (unsigned long)sl->next.pid, (unsigned long)code,
                       sl->next.killed ? "not receiving after 120 s: "
                                         "killed" : exit_reason(code),
                       (unsigned long)sl->cur.pid);
      sl->recycling = 0;
      sup_proc_free(&sl->next);
    } else if (WaitForSingleObject(sl->next.ready_ev, 0) == WAIT_OBJECT_0) {
      if (sl->recycling)
        sl->recycled_pid = sl->next.pid;
      sl->recycling = 0;
      if (sl->cur.process) {
        svc_logf(SYSGI_LOG_INFO, "process group %s: worker pid %lu is "
                 "receiving; draining pid %lu", sg->g->name,
                 (unsigned long)sl->next.pid, (unsigned long)sl->cur.pid);
        drain_add(sg, &sl->cur);
      }
      sl->cur = sl->next;
      sl->cur.ready = 1;
      ZeroMemory(&sl->next, sizeof sl->next);
    } else if (!sl->next.killed && now > sl->next.started_ms &&
               now - sl->next.started_ms > SUP_READY_MS) {
      svc_logf(SYSGI_LOG_ERR, "process group %s: replacement pid %lu not "
               "receiving after %u ms: killed", sg->g->name,
               (unsigned long)sl->next.pid, SUP_READY_MS);
      sup_proc_kill(&sl->next);
      sl->next.killed = 1;
    }
  }
  if (!sl->cur.process && !sl->next.process && now >= sl->restart_at)
    spawn(sup, sg, &sl->cur, sl->started_once ? "restart" : "start");
  sl->started_once = 1;
  if (sl->cur.process && !sl->cur.ready &&
      WaitForSingleObject(sl->cur.ready_ev, 0) == WAIT_OBJECT_0) {
    sl->cur.ready = 1;
    svc_logf(SYSGI_LOG_INFO, "process group %s: worker pid %lu is receiving",
             sg->g->name, (unsigned long)sl->cur.pid);
  }
  if (sample && sg->g->memory_limit && sl->cur.ready && !sl->next.process) {
    uint64_t m = sup_proc_memory(&sl->cur);
    uint64_t at = sg->g->memory_limit / 100 * SUP_MEMORY_PERCENT;
    svc_logf(SYSGI_LOG_DEBUG, "process group %s: worker pid %lu uses %llu "
             "bytes", sg->g->name, (unsigned long)sl->cur.pid,
             (unsigned long long)m);
    if (m >= at) {
      svc_logf(SYSGI_LOG_WARN, "process group %s: worker pid %lu uses %llu "
               "bytes, over %d%% of memory-limit %llu: recycling it",
               sg->g->name, (unsigned long)sl->cur.pid, (unsigned long long)m,
               SUP_MEMORY_PERCENT, (unsigned long long)sg->g->memory_limit);
      replace(sup, sg, i, "memory");
    }
  }
}

static void tick_group(svc_supervisor *sup, sup_group *sg, ULONGLONG now,
                       int sample) {
  for (unsigned i = 0; i < sg->n_slots; i++)
    tick_slot(sup, sg, i, now, sample);
  /* A recycle: one slot at a time, the next once the previous is done. */
  int busy = 0;
  for (unsigned i = 0; i < sg->n_slots; i++)
    busy |= sg->slots[i].next.process != NULL;
  while (!busy && sg->recycle_left) {
    unsigned i = sg->n_slots - sg->recycle_left;
    sg->recycle_left--;
    if (sg->slots[i].cur.process) {
      replace(sup, sg, i, "recycle");
      busy = sg->slots[i].next.process != NULL;
    }
  }
  unsigned graceful = sg->g->graceful_timeout_ms ? sg->g->graceful_timeout_ms
                                                 : 15000;
  for (sup_drain **dp = &sg->draining; *dp;) {
    sup_drain *d = *dp;
    DWORD code;
    if (sup_proc_exited(&d->p, &code)) {
      log_exit(sg, &d->p, code, "drained ");
      sup_proc_free(&d->p);
      *dp = d->next;
      free(d);
      continue;
    }
    /* `now` was read before this tick may have set stop_sent_ms. */
    if (!d->killed && now > d->p.stop_sent_ms &&
        now - d->p.stop_sent_ms > graceful + 5000) {
      svc_logf(SYSGI_LOG_WARN, "process group %s: worker pid %lu still "
               "running %u ms after graceful-timeout: killed", sg->g->name,
               (unsigned long)d->p.pid, 5000);
      sup_proc_kill(&d->p);
      d->killed = 1;
    }
    dp = &d->next;
  }
}

static DWORD WINAPI sup_thread(void *arg) {
  svc_supervisor *sup = arg;
  ULONGLONG last_sample = 0;
  while (WaitForSingleObject(sup->quit, SUP_TICK_MS) == WAIT_TIMEOUT) {
    ULONGLONG now = GetTickCount64();
    int sample = now - last_sample >= SUP_SAMPLE_MS;
    if (sample)
      last_sample = now;
    AcquireSRWLockExclusive(&sup->lock);
    for (size_t g = 0; g < sup->n_groups; g++)
      tick_group(sup, &sup->groups[g], now, sample);
    ReleaseSRWLockExclusive(&sup->lock);
  }
  return 0;
}

int sup_request_recycle(svc_supervisor *sup, const char *name, char *reply,
                        size_t len) {
  sup_group *sg = NULL;
  AcquireSRWLockExclusive(&sup->lock);
  for (size_t g = 0; g < sup->n_groups; g++)
    if (!_stricmp(sup->groups[g].g->name, name))
      sg = &sup->groups[g];
  if (sg) {
    sg->recycle_left = sg->n_slots;
    sg->recycle_error[0] = 0;
    for (unsigned i = 0; i < sg->n_slots; i++)
      sg->slots[i].recycled_pid = 0;
  }
  ReleaseSRWLockExclusive(&sup->lock);
  if (!sg) {
    snprintf(reply, len, "error: no process group '%s' in this "
             "configuration", name);
    return -1;
  }
  svc_logf(SYSGI_LOG_INFO, "process group %s: recycle requested", sg->g->name);
  /* Done when no slot is left to replace and no replacement is starting. */
  for (int waited = 0;; waited += 100) {
    AcquireSRWLockShared(&sup->lock);
    int busy = sg->recycle_left != 0;
    for (unsigned i = 0; i < sg->n_slots; i++)
      busy |= sg->slots[i].next.process != NULL;
    ReleaseSRWLockShared(&sup->lock);
    if (!busy)
      break;
    if (waited > 600000) {
      snprintf(reply, len, "error: process group %s: recycle did not finish "
               "in 600 s", sg->g->name);
      return -1;
    }
    Sleep(100);
  }
  int rc = 0;
  AcquireSRWLockShared(&sup->lock);
  if (sg->recycle_error[0]) {
    snprintf(reply, len, "error: process group %s: recycle failed: %s",
             sg->g->name, sg->recycle_error);
    rc = -1;
  }
  for (unsigned i = 0; !rc && i < sg->n_slots; i++)
    if (!sg->slots[i].recycled_pid) {
      /* No worker to replace (it is in its restart back-off): the group is
       * not running as configured, which the caller must hear. */
      snprintf(reply, len, "error: process group %s: recycle failed: worker "
               "%u was not running (restarting after an exit; see the log)",
               sg->g->name, i);
      rc = -1;
    }
  if (!rc) {
    int n = snprintf(reply, len, "ok: process group %s recycled; workers",
                     sg->g->name);
    for (unsigned i = 0; i < sg->n_slots && n > 0 && (size_t)n < len; i++)
      n += snprintf(reply + n, len - (size_t)n, " %lu",
                    (unsigned long)sg->slots[i].recycled_pid);
  }
  ReleaseSRWLockShared(&sup->lock);
  return rc;
}

int svc_supervisor_start(const sysgi_config *cfg, svc_supervisor **out) {
  *out = NULL;
  svc_supervisor *sup = calloc(1, sizeof *sup);
  if (!sup)
    return SYSGI_E_NOMEM;
  InitializeSRWLock(&sup->lock);
  sup->cfg = cfg;
  const sysgi_server_settings *s = sysgi_config_server(cfg);
  sup->ini = s->config_file;
  GetModuleFileNameW(NULL, sup->exe, MAX_PATH);
  sup->groups = calloc(sysgi_config_n_groups(cfg) + 1, sizeof *sup->groups);
  sup->quit = CreateEventW(NULL, TRUE, FALSE, NULL);
  int rc = sup->groups && sup->quit ? 0 : SYSGI_E_NOMEM;
  for (size_t i = 0; !rc && i < sysgi_config_n_groups(cfg); i++) {
    sup_group *sg = &sup->groups[sup->n_groups];
    sg->g = sysgi_config_group(cfg, i);
    rc = make_queue(sg, cfg);
    if (rc) {
      svc_logf(SYSGI_LOG_ERR, "process group %s: cannot create its request "
               "queue (%s)", sg->g->name, sysgi_strerror(rc));
      break;
    }
    if (!sg->queue) {
      svc_logf(SYSGI_LOG_INFO, "process group %s: no application: no "
               "worker started", sg->g->name);
      continue;
    }
    char what[400];
    snprintf(what, sizeof what, "process group '%s'", sg->g->name);
    svc_job_limits want, back;
    memset(&want, 0, sizeof want);
    want.process_memory = sg->g->memory_limit;
    want.job_memory = sg->g->virtual_memory_limit;
    if ((rc = svc_job_create(&want, what, &sg->job)) != 0) {
      sysgi_httpsys_queue_close(sg->queue);
      break;
    }
    memset(&back, 0, sizeof back);
    svc_job_query(sg->job, &back);
    /* Wine reads every limit back as 0 (job.h): the log shows both. */
    snprintf(sg->limits, sizeof sg->limits,
             "asked kill-on-close, process memory limit %llu, job memory "
             "limit %llu; read back: kill-on-close %s, process memory limit "
             "%llu, job memory limit %llu",
             (unsigned long long)want.process_memory,
             (unsigned long long)want.job_memory,
             back.kill_on_close ? "on" : "off",
             (unsigned long long)back.process_memory,
             (unsigned long long)back.job_memory);
    sg->opts.priority_class = svc_priority_class(sg->g->cpu_priority);
    if (sg->g->restricted_token &&
        (rc = svc_restricted_token(&sg->opts.token)) != 0) {
      svc_job_close(sg->job);
      sysgi_httpsys_queue_close(sg->queue);
      break;
    }
    sg->n_slots = sg->g->processes ? sg->g->processes : 1;
    sg->slots = calloc(sg->n_slots, sizeof *sg->slots);
    if (!sg->slots)
      rc = SYSGI_E_NOMEM;
    sup->n_groups++;
  }
  if (!rc)
    rc = sup_pipe_start(sup);
  if (!rc) {
    /* The first workers start here, before the service reports running. */
    ULONGLONG now = GetTickCount64();
    for (size_t g = 0; g < sup->n_groups; g++)
      tick_group(sup, &sup->groups[g], now, 0);
    sup->thread = CreateThread(NULL, 0, sup_thread, sup, 0, NULL);
    if (!sup->thread)
      rc = SYSGI_E_NOMEM;
  }
  if (rc) {
    svc_supervisor_stop(sup);
    return rc;
  }
  *out = sup;
  return 0;
}

void svc_supervisor_stop(svc_supervisor *sup) {
  if (!sup)
    return;
  sup_pipe_stop(sup);
  if (sup->thread) {
    SetEvent(sup->quit);
    WaitForSingleObject(sup->thread, INFINITE);
    CloseHandle(sup->thread);
  }
  /* Every worker drains at once; each group gets its shutdown-timeout. */
  unsigned longest = 0;
  for (size_t g = 0; g < sup->n_groups; g++) {
    sup_group *sg = &sup->groups[g];
    for (unsigned i = 0; i < sg->n_slots; i++) {
      sup_proc_stop(&sg->slots[i].cur);
      sup_proc_stop(&sg->slots[i].next);
    }
    for (sup_drain *d = sg->draining; d; d = d->next)
      sup_proc_stop(&d->p);
    unsigned t = sg->g->shutdown_timeout_ms ? sg->g->shutdown_timeout_ms : 5000;
    if (t > longest)
      longest = t;
  }
  ULONGLONG deadline = GetTickCount64() + longest;
  for (size_t g = 0; g < sup->n_groups; g++) {
    sup_group *sg = &sup->groups[g];
    for (unsigned i = 0; i < sg->n_slots * 2u; i++) {
      sup_proc *p = i % 2 ? &sg->slots[i / 2].next : &sg->slots[i / 2].cur;
      ULONGLONG now = GetTickCount64();
      DWORD code;
      if (p->process &&
          WaitForSingleObject(p->process, now < deadline
                                               ? (DWORD)(deadline - now) : 0) !=
              WAIT_OBJECT_0) {
        svc_logf(SYSGI_LOG_WARN, "process group %s: worker pid %lu did not "
                 "stop within shutdown-timeout: killed", sg->g->name,
                 (unsigned long)p->pid);
        sup_proc_kill(p);
        WaitForSingleObject(p->process, 5000);
      }
      if (p->process && sup_proc_exited(p, &code))
        log_exit(sg, p, code, "");
      sup_proc_free(p);
    }
    while (sg->draining) {
      sup_drain *d = sg->draining;
      sg->draining = d->next;
      sup_proc_kill(&d->p);
      sup_proc_free(&d->p);
      free(d);
    }
    free(sg->slots);
    svc_job_close(sg->job);
    if (sg->opts.token)
      CloseHandle(sg->opts.token);
    sysgi_httpsys_queue_close(sg->queue);
  }
  free(sup->groups);
  if (sup->quit)
    CloseHandle(sup->quit);
  free(sup);
}
