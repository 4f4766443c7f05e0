/*
 * spawn.c: a worker process with an explicit handle list, suspended until
 * it is in its job; its stdout/stderr pipe drained into the log; the
 * restricted token of restricted-token = on. See spawn.h.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "log.h"
#include "spawn.h"
#include "sysgi.h"

/* Everything svc_spawn may have opened, released in one place. */
typedef struct spawn_state {
  wchar_t *cmd;
  HANDLE nul_in, nul_out, out_rd, out_wr;
  LPPROC_THREAD_ATTRIBUTE_LIST attrs;
  int attrs_ready;
  PROCESS_INFORMATION pi;
} spawn_state;

static void release(spawn_state *st, int kill_child) {
  if (st->pi.hProcess && kill_child) {
    TerminateProcess(st->pi.hProcess, 1);
    WaitForSingleObject(st->pi.hProcess, 5000);
  }
  if (st->pi.hThread)
    CloseHandle(st->pi.hThread);
  if (st->pi.hProcess && kill_child)
    CloseHandle(st->pi.hProcess);
  if (st->attrs_ready)
    DeleteProcThreadAttributeList(st->attrs);
  free(st->attrs);
  HANDLE hs[] = {st->nul_in, st->nul_out, st->out_wr};
  for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
    if (hs[i])
      CloseHandle(hs[i]);
  if (st->out_rd && kill_child)
    CloseHandle(st->out_rd);
  free(st->cmd);
}

static int fail(spawn_state *st, const char *what, const char *step, int rc) {
  DWORD e = GetLastError();
  svc_logf(SYSGI_LOG_ERR, "cannot start %s: %s failed (error %lu)", what, step,
           (unsigned long)e);
  release(st, 1);
  return rc;
}

/* The NUL device as an inheritable handle. */
static HANDLE open_nul(DWORD access) {
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  HANDLE h = CreateFileW(L"NUL", access, FILE_SHARE_READ | FILE_SHARE_WRITE,
                         &sa, OPEN_EXISTING, 0, NULL);
  return h == INVALID_HANDLE_VALUE ? NULL : h;
}

static void add_unique(HANDLE *list, size_t *n, HANDLE h) {
  for (size_t i = 0; i < *n; i++)
    if (list[i] == h)
      return;
  list[(*n)++] = h;
}

int svc_spawn(const svc_spawn_opts *o, svc_child *child) {
  spawn_state st;
  memset(&st, 0, sizeof st);
  memset(child, 0, sizeof *child);
  const char *what = o && o->what ? o->what : "process";
  if (!o || !o->command_line || o->n_inherit > SVC_SPAWN_MAX_HANDLES) {
    svc_logf(SYSGI_LOG_ERR, "cannot start %s: %s", what,
             !o || !o->command_line ? "no command line"
                                    : "too many handles to inherit");
    return SYSGI_E_INVAL;
  }
  wchar_t self[MAX_PATH * 2];
  const wchar_t *exe = o->exe;
  if (!exe) {
    DWORD n = GetModuleFileNameW(NULL, self, MAX_PATH * 2);
    if (!n || n >= MAX_PATH * 2)
      return fail(&st, what, "GetModuleFileNameW", SYSGI_E_IO);
    exe = self;
  }
  if (!(st.cmd = _wcsdup(o->command_line))) {
    svc_logf(SYSGI_LOG_ERR, "cannot start %s: out of memory", what);
    return SYSGI_E_NOMEM;
  }

  /* The handle list: the caller's, then stdin (NUL) and stdout/stderr. */
  HANDLE list[SVC_SPAWN_MAX_HANDLES + 3];
  size_t n_list = 0;
  for (size_t i = 0; i < o->n_inherit; i++) {
    if (!o->inherit[i] || o->inherit[i] == INVALID_HANDLE_VALUE) {
      svc_logf(SYSGI_LOG_ERR, "cannot start %s: handle %u to inherit is "
               "invalid", what, (unsigned)i);
      release(&st, 1);
      return SYSGI_E_INVAL;
    }
    /* HANDLE_LIST only passes inheritable handles on. Left inheritable:
     * every spawn of ours names its handles, so no other child gets it. */
    if (!SetHandleInformation(o->inherit[i], HANDLE_FLAG_INHERIT,
                              HANDLE_FLAG_INHERIT))
      return fail(&st, what, "SetHandleInformation (a handle to inherit)",
                  SYSGI_E_INVAL);
    add_unique(list, &n_list, o->inherit[i]);
  }
  if (!(st.nul_in = open_nul(GENERIC_READ)))
    return fail(&st, what, "opening NUL for stdin", SYSGI_E_IO);
  add_unique(list, &n_list, st.nul_in);
  HANDLE out;
  if (o->no_output_pipe) {
    if (!(st.nul_out = open_nul(GENERIC_WRITE)))
      return fail(&st, what, "opening NUL for stdout", SYSGI_E_IO);
    out = st.nul_out;
  } else {
    if (!CreatePipe(&st.out_rd, &st.out_wr, NULL, 0))
      return fail(&st, what, "CreatePipe (stdout and stderr)", SYSGI_E_IO);
    if (!SetHandleInformation(st.out_wr, HANDLE_FLAG_INHERIT,
                              HANDLE_FLAG_INHERIT))
      return fail(&st, what, "SetHandleInformation (the output pipe)",
                  SYSGI_E_IO);
    out = st.out_wr;
  }
  add_unique(list, &n_list, out);

  SIZE_T size = 0;
  InitializeProcThreadAttributeList(NULL, 1, 0, &size);
  if (!(st.attrs = malloc(size))) {
    svc_logf(SYSGI_LOG_ERR, "cannot start %s: out of memory", what);
    release(&st, 1);
    return SYSGI_E_NOMEM;
  }
  if (!InitializeProcThreadAttributeList(st.attrs, 1, 0, &size))
    return fail(&st, what, "InitializeProcThreadAttributeList", SYSGI_E_IO);
  st.attrs_ready = 1;
  if (!UpdateProcThreadAttribute(st.attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                 list, n_list * sizeof list[0], NULL, NULL))
    return fail(&st, what, "UpdateProcThreadAttribute (HANDLE_LIST)",
                SYSGI_E_IO);

  STARTUPINFOEXW si;
  memset(&si, 0, sizeof si);
  si.StartupInfo.cb = sizeof si;
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = st.nul_in;
  si.StartupInfo.hStdOutput = out;
  si.StartupInfo.hStdError = out;
  si.lpAttributeList = st.attrs;
  /* A console of its own, hidden: a Ctrl-C in the console of `sysgi
   * serve` reaches the supervisor only, which stops its workers itself. */
  DWORD flags = CREATE_SUSPENDED | EXTENDED_STARTUPINFO_PRESENT |
                CREATE_NO_WINDOW | o->priority_class;
  if (o->env)
    flags |= CREATE_UNICODE_ENVIRONMENT;
  BOOL ok;
  if (o->token)
    ok = CreateProcessAsUserW(o->token, exe, st.cmd, NULL, NULL, TRUE, flags,
                              (LPVOID)o->env, o->cwd, &si.StartupInfo, &st.pi);
  else
    ok = CreateProcessW(exe, st.cmd, NULL, NULL, TRUE, flags, (LPVOID)o->env,
                        o->cwd, &si.StartupInfo, &st.pi);
  if (!ok)
    return fail(&st, what, o->token ? "CreateProcessAsUserW" : "CreateProcessW",
                SYSGI_E_IO);
  /* Again by handle: Wine 8 ignores the class in the creation flags. */
  if (o->priority_class &&
      !SetPriorityClass(st.pi.hProcess, o->priority_class))
    svc_logf(SYSGI_LOG_WARN, "%s: cannot set priority class 0x%lx (error "
             "%lu); it runs at the normal priority", what,
             (unsigned long)o->priority_class, (unsigned long)GetLastError());
  if (o->job && !AssignProcessToJobObject(o->job, st.pi.hProcess))
    return fail(&st, what, "AssignProcessToJobObject", SYSGI_E_IO);
  if (ResumeThread(st.pi.hThread) == (DWORD)-1)
    return fail(&st, what, "ResumeThread", SYSGI_E_IO);

  child->process = st.pi.hProcess;
  child->pid = st.pi.dwProcessId;
  child->output = st.out_rd;
  svc_logf(SYSGI_LOG_DEBUG, "started %s: pid %lu", what,
           (unsigned long)child->pid);
  release(&st, 0); /* the child's copies of its std handles are its own */
  return 0;
}

void svc_child_close(svc_child *child) {
  if (child->process)
    CloseHandle(child->process);
  if (child->output)
    CloseHandle(child->output);
  memset(child, 0, sizeof *child);
}

/* ---- the output pipe into the log ---- */

typedef struct drain {
  HANDLE pipe;
  int level;
  char prefix[160];
} drain;

static void emit(const drain *d, char *line, size_t n) {
  while (n && (line[n - 1] == '\r' || line[n - 1] == '\n'))
    n--;
  line[n] = '\0';
  svc_logf(d->level, "%s: %s", d->prefix, line);
}

static DWORD WINAPI drain_main(void *arg) {
  drain *d = arg;
  char buf[4096 + 1];
  size_t used = 0;
  for (;;) {
    DWORD got = 0;
    if (!ReadFile(d->pipe, buf + used, (DWORD)(sizeof buf - 1 - used), &got,
                  NULL) || got == 0)
      break; /* ERROR_BROKEN_PIPE: every writer has gone */
    used += got;
    size_t start = 0;
    for (size_t i = 0; i < used; i++)
      if (buf[i] == '\n') {
        emit(d, buf + start, i - start);
        start = i + 1;
      }
    memmove(buf, buf + start, used - start);
    used -= start;
    if (used == sizeof buf - 1) { /* a line longer than the buffer */
      emit(d, buf, used);
      used = 0;
    }
  }
  if (used)
    emit(d, buf, used);
  CloseHandle(d->pipe);
  free(d);
  return 0;
}

HANDLE svc_spawn_drain(HANDLE pipe, const char *prefix, int level) {
  drain *d = calloc(1, sizeof *d);
  if (!d) {
    svc_logf(SYSGI_LOG_ERR, "%s: out of memory for its output reader",
             prefix ? prefix : "process");
    CloseHandle(pipe);
    return NULL;
  }
  d->pipe = pipe;
  d->level = level;
  snprintf(d->prefix, sizeof d->prefix, "%s", prefix ? prefix : "process");
  HANDLE t = CreateThread(NULL, 0, drain_main, d, 0, NULL);
  if (!t) {
    svc_logf(SYSGI_LOG_ERR, "%s: cannot start its output reader (error %lu)",
             d->prefix, (unsigned long)GetLastError());
    CloseHandle(pipe);
    free(d);
  }
  return t;
}

void svc_handle_arg(HANDLE h, wchar_t *buf, size_t n) {
  swprintf(buf, n, L"0x%llx", (unsigned long long)(uintptr_t)h);
}

int svc_handle_parse(const wchar_t *arg, HANDLE *out) {
  wchar_t *end = NULL;
  *out = NULL;
  if (!arg || !*arg)
    return SYSGI_E_INVAL;
  unsigned long long v = wcstoull(arg, &end, 0);
  if (!end || *end || v == 0)
    return SYSGI_E_INVAL;
  *out = (HANDLE)(uintptr_t)v;
  return 0;
}

/* ---- restricted-token = on ---- */

/* Every privilege of `tok` but SeChangeNotifyPrivilege (which
 * DISABLE_MAX_PRIVILEGE keeps too), for CreateRestrictedToken's
 * PrivilegesToDelete: Windows removes them for DISABLE_MAX_PRIVILEGE
 * alone, Wine 8 ignores that flag (its NtFilterToken: "flags 0x1
 * unsupported") and honours the explicit list. NULL when it has none or
 * on failure; *n the count. */
static LUID_AND_ATTRIBUTES *privileges_to_delete(HANDLE tok, DWORD *n) {
  DWORD len = 0;
  *n = 0;
  GetTokenInformation(tok, TokenPrivileges, NULL, 0, &len);
  TOKEN_PRIVILEGES *tp = len ? malloc(len) : NULL;
  LUID keep;
  if (!tp || !GetTokenInformation(tok, TokenPrivileges, tp, len, &len) ||
      !LookupPrivilegeValueW(NULL, SE_CHANGE_NOTIFY_NAME, &keep)) {
    free(tp);
    return NULL;
  }
  LUID_AND_ATTRIBUTES *del = malloc((tp->PrivilegeCount + 1) * sizeof *del);
  for (DWORD i = 0; del && i < tp->PrivilegeCount; i++) {
    LUID l = tp->Privileges[i].Luid;
    if (l.LowPart != keep.LowPart || l.HighPart != keep.HighPart) {
      del[*n].Luid = l;
      del[*n].Attributes = 0;
      ++*n;
    }
  }
  free(tp);
  return del;
}

int svc_restricted_token(HANDLE *token) {
  HANDLE own = NULL;
  PSID admins = NULL;
  SID_IDENTIFIER_AUTHORITY nt = {SECURITY_NT_AUTHORITY};
  *token = NULL;
  if (!OpenProcessToken(GetCurrentProcess(),
                        TOKEN_DUPLICATE | TOKEN_ASSIGN_PRIMARY | TOKEN_QUERY,
                        &own)) {
    svc_logf(SYSGI_LOG_ERR, "restricted-token: cannot open the service's "
             "token (error %lu)", (unsigned long)GetLastError());
    return SYSGI_E_IO;
  }
  if (!AllocateAndInitializeSid(&nt, 2, SECURITY_BUILTIN_DOMAIN_RID,
                                DOMAIN_ALIAS_RID_ADMINS, 0, 0, 0, 0, 0, 0,
                                &admins)) {
    svc_logf(SYSGI_LOG_ERR, "restricted-token: cannot build the "
             "Administrators SID (error %lu)", (unsigned long)GetLastError());
    CloseHandle(own);
    return SYSGI_E_IO;
  }
  DWORD n_del = 0;
  LUID_AND_ATTRIBUTES *del = privileges_to_delete(own, &n_del);
  /* A group the token lacks is ignored by CreateRestrictedToken, so this
   * is the same call for an administrator and for a virtual account. */
  SID_AND_ATTRIBUTES deny = {admins, 0};
  BOOL ok = CreateRestrictedToken(own, DISABLE_MAX_PRIVILEGE, 1, &deny, n_del,
                                  n_del ? del : NULL, 0, NULL, token);
  DWORD e = GetLastError();
  free(del);
  FreeSid(admins);
  CloseHandle(own);
  if (!ok) {
    *token = NULL;
    svc_logf(SYSGI_LOG_ERR, "restricted-token: CreateRestrictedToken failed "
             "(error %lu)", (unsigned long)e);
    return SYSGI_E_IO;
  }
  return 0;
}
