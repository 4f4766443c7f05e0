/*
 * spawn.h: starting a worker process with exactly the handles it needs.
 *
 * CreateProcessW (or CreateProcessAsUserW with a restricted token) with
 * STARTUPINFOEX and PROC_THREAD_ATTRIBUTE_HANDLE_LIST: only the listed
 * handles (the request queue, a stop event, ...) and the child's std
 * handles are inherited, never whatever else the service happens to have
 * made inheritable, so a worker holds no other worker's handles and two
 * spawns from two threads do not leak into each other. The child starts
 * suspended, is put into its job, gets its priority class, and only then
 * runs: nothing it does escapes the job.
 *
 * Std handles: a worker's stdin is NUL and its stdout and stderr are the
 * write end of one anonymous pipe whose read end the caller gets
 * (svc_child.output). They must be pipes: a Windows CPython whose
 * stdout/stderr is a regular file dies at start-up under Wine, and a
 * service has no console. svc_spawn_drain() turns that pipe into log lines.
 * The caller must drain it (or ask for no_output_pipe): a child writing to
 * a full pipe blocks, and after the read end is closed its writes fail.
 *
 * The listed handles keep their values in the child: pass them on its
 * command line (svc_handle_arg / svc_handle_parse).
 */
#ifndef SYSGI_SERVICE_SPAWN_H
#define SYSGI_SERVICE_SPAWN_H

#include <winsock2.h>
#include <windows.h>

#include <stddef.h>
#include <wchar.h>

#define SVC_SPAWN_MAX_HANDLES 8

typedef struct svc_spawn_opts {
  const wchar_t *exe;          /* the program; NULL: this process's own exe */
  const wchar_t *command_line; /* whole command line, argv[0] included
                                  (copied: CreateProcessW may write to it) */
  const wchar_t *cwd;          /* working directory; NULL: the service's   */
  const wchar_t *env;          /* CREATE_UNICODE_ENVIRONMENT block; NULL:
                                  the service's environment                */
  const HANDLE *inherit;       /* the handles the child inherits (besides
                                  its std handles), at most
                                  SVC_SPAWN_MAX_HANDLES; spawn marks them
                                  inheritable (and leaves them so)         */
  size_t n_inherit;
  HANDLE job;                  /* assigned before the child runs; NULL: none */
  HANDLE token;                /* primary token (svc_restricted_token) for
                                  CreateProcessAsUserW; NULL: the service's */
  DWORD priority_class;        /* e.g. BELOW_NORMAL_PRIORITY_CLASS; 0:
                                  inherited (normal)                        */
  int no_output_pipe;          /* 1: the child's stdout/stderr are NUL too
                                  (and output is NULL); 0: one pipe         */
  const char *what;            /* names the child in log lines ("worker 2 of
                                  process group 'site'"); NULL: "process"  */
} svc_spawn_opts;

typedef struct svc_child {
  HANDLE process;              /* full access; the caller closes it          */
  DWORD pid;
  HANDLE output;               /* read end of the stdout+stderr pipe, or NULL */
} svc_child;

/* Starts the child as described above. Returns 0 and fills *child; or a
 * SYSGI_E_* after logging one line naming `what` and the failing step with
 * its Win32 error (SYSGI_E_INVAL: bad options; SYSGI_E_NOMEM; SYSGI_E_IO:
 * a Win32 call failed; a child already created is terminated), with every
 * handle it opened closed and *child zeroed. */
int svc_spawn(const svc_spawn_opts *o, svc_child *child);

/* Closes what *child holds (not the process itself: it keeps running,
 * unless its job is closed). Safe on a zeroed child. */
void svc_child_close(svc_child *child);

/* Starts a thread that reads `pipe` (a svc_child.output; the thread takes
 * it over and closes it) and logs each line at `level` as
 * "<prefix>: <line>", until the pipe's write ends are all closed (the
 * child and its children exited). Returns the thread (wait on it to know
 * the output is all logged, then CloseHandle it), or NULL after logging
 * (the pipe is closed then). */
HANDLE svc_spawn_drain(HANDLE pipe, const char *prefix, int level);

/* A handle as a command-line argument ("0x1a4") in buf (>= 24 wchar_t),
 * and back. svc_handle_parse returns 0, or SYSGI_E_INVAL. */
void svc_handle_arg(HANDLE h, wchar_t *buf, size_t n);
int svc_handle_parse(const wchar_t *arg, HANDLE *out);

/* A restricted version of this process's own primary token, for a
 * process group's restricted-token = on: every privilege but
 * SeChangeNotifyPrivilege removed (DISABLE_MAX_PRIVILEGE) and the
 * Administrators group deny-only, so the worker cannot use the service
 * account's administrative rights or privileges. Being a restriction of
 * the caller's own token, CreateProcessAsUserW accepts it without
 * SeAssignPrimaryTokenPrivilege. Returns 0 and the token in *token (the
 * caller closes it), or SYSGI_E_IO after logging. */
int svc_restricted_token(HANDLE *token);

#endif /* SYSGI_SERVICE_SPAWN_H */
