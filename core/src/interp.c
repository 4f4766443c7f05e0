/*
 * interp.c: application groups and thread states.
 *
 * "" is the main interpreter (%{GLOBAL}); any other group is a
 * sub-interpreter created with Py_NewInterpreter() on first use. A worker
 * thread keeps ONE PyThreadState per interpreter for its whole life, in a
 * small thread-local table, so thread-local data of applications survives
 * between requests:
 *  - main interpreter: the thread state PyGILState_Ensure() creates for
 *    this thread (kept, never released), so PyGILState_* in C extensions
 *    finds it; then entered/left with PyEval_RestoreThread/SaveThread;
 *  - sub-interpreters: PyThreadState_New(interp) (or the creating thread
 *    state), entered with PyEval_AcquireThread, never PyGILState_Ensure.
 */
#include "sysgi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every thread state the core created for a sub-interpreter, so shutdown
 * can delete them before Py_EndInterpreter (which insists on being the
 * last thread state of its interpreter). */
typedef struct extra_tstate {
  PyThreadState *ts;
  sysgi_interp *ip;
  struct extra_tstate *next;
} extra_tstate;

static sysgi_interp *main_ip;
static sysgi_interp *groups;      /* sub-interpreters, newest first */
static extra_tstate *extras;
static PyThread_type_lock groups_lock;

/* The entry gate: one request thread at a time waits for the GIL at the
 * start of a request; the others wait here, on a lock without a timeout.
 * A thread waiting in take_gil wakes every switch interval (5 ms) to ask
 * the holder to drop the GIL, so with 32 requests queued the holder was
 * interrupted by 31 such wake-ups every 5 ms (bench/PROFILE.md: 17 context
 * switches and ~2 us of CPU per streamed 4 KiB block). The gate is held
 * only while waiting for the GIL, never with it, so it cannot deadlock,
 * and it changes nothing for a thread that already runs: threads that
 * give the GIL up inside a request (I/O, time.sleep) take it back without
 * the gate, and the gate's thread still asks the holder to switch. */
static PyThread_type_lock entry_gate;

typedef struct tentry {
  sysgi_interp *ip;
  PyThreadState *ts;
} tentry;

/* This thread's table. `gen` ties it to one runtime lifetime. */
static _Thread_local struct {
  unsigned gen;
  int thread_id;
  long requests;
  PyThreadState *main_ts;
  size_t n, cap;
  tentry *e;
  tentry inl[8];
  PyThreadState *cur;   /* entered by sysgi_interp_enter(), or NULL */
  int cur_is_main;
} tl;

/* Main interpreter: PyEval_RestoreThread/SaveThread on the PyGILState
 * thread state; sub-interpreters: PyEval_AcquireThread/ReleaseThread. */
static void enter_ts(sysgi_interp *ip, PyThreadState *ts) {
  tl.cur = ts;
  tl.cur_is_main = ip->creator == NULL;
  if (entry_gate)
    PyThread_acquire_lock(entry_gate, WAIT_LOCK);
  if (tl.cur_is_main)
    PyEval_RestoreThread(ts);
  else
    PyEval_AcquireThread(ts);
  if (entry_gate)
    PyThread_release_lock(entry_gate);
}

static void tl_check(void) {
  if (tl.gen == sysgi_rt.generation)
    return;
  if (tl.e && tl.e != tl.inl)
    free(tl.e);
  tl.gen = sysgi_rt.generation;
  tl.main_ts = NULL;
  tl.n = 0;
  tl.cap = sizeof tl.inl / sizeof tl.inl[0];
  tl.e = tl.inl;
  tl.requests = 0;
  if (!tl.thread_id)
    tl.thread_id = atomic_fetch_add(&sysgi_rt.thread_ids, 1) + 1;
}

int sysgi_thread_id(void) {
  tl_check();
  return tl.thread_id;
}

long sysgi_thread_count_request(void) { return tl.requests++; }

static int tl_add(sysgi_interp *ip, PyThreadState *ts) {
  if (tl.n == tl.cap) {
    size_t cap = tl.cap * 2;
    tentry *e = malloc(cap * sizeof *e);
    if (!e)
      return -1;
    memcpy(e, tl.e, tl.n * sizeof *e);
    if (tl.e != tl.inl)
      free(tl.e);
    tl.e = e;
    tl.cap = cap;
  }
  tl.e[tl.n].ip = ip;
  tl.e[tl.n].ts = ts;
  tl.n++;
  return 0;
}

/* This thread's main-interpreter thread state (GIL not held). */
static PyThreadState *main_tstate(void) {
  if (!tl.main_ts) {
    PyGILState_Ensure(); /* creates and keeps this thread's state */
    tl.main_ts = PyEval_SaveThread();
  }
  return tl.main_ts;
}

int sysgi_interp_init_main(void) {
  main_ip = calloc(1, sizeof *main_ip);
  if (!main_ip || !(main_ip->name = calloc(1, 1))) {
    PyErr_NoMemory();
    return -1;
  }
  if (!groups_lock)
    groups_lock = PyThread_allocate_lock();
  if (!entry_gate)
    entry_gate = PyThread_allocate_lock(); /* NULL: no gate, still correct */
  main_ip->load_lock = PyThread_allocate_lock();
  if (!groups_lock || !main_ip->load_lock) {
    PyErr_NoMemory();
    return -1;
  }
  /* main_ip->interp stays NULL: the main interpreter is entered through
   * PyGILState thread states, and only sub-interpreters need the
   * PyInterpreterState (PyInterpreterState_Get: Python >= 3.9). */
  return sysgi_interp_setup(main_ip);
}

static void teardown(sysgi_interp *ip) {
  for (size_t i = 0; i < SYSGI_KEYCACHE_SIZE; i++) {
    free(ip->keycache[i].name);
    ip->keycache[i].name = NULL;
    Py_CLEAR(ip->keycache[i].key);
    Py_CLEAR(ip->keycache[i].val);
    ip->keyptr[i].ptr = NULL;
    ip->keyptr[i].e = NULL;
  }
  ip->keycache_used = 0;
  for (int k = 0; k < K_COUNT; k++)
    Py_CLEAR(ip->keys[k]);
  Py_CLEAR(ip->base_environ);
  Py_CLEAR(ip->scripts);
  Py_CLEAR(ip->format_exception);
  Py_CLEAR(ip->builtins);
  Py_CLEAR(ip->input_type);
  Py_CLEAR(ip->errors_type);
  Py_CLEAR(ip->file_wrapper_type);
  Py_CLEAR(ip->responder_type);
  Py_CLEAR(ip->ssl_fn_type);
  Py_CLEAR(ip->mw_started);
  Py_CLEAR(ip->mw_finished);
  Py_CLEAR(ip->mw_subscribers);
  Py_CLEAR(ip->mw_response);
  Py_CLEAR(ip->timeout_exc);
}

/* Creates sub-interpreter `name`. Called with groups_lock held, GIL not
 * held; on success this thread's table holds its creating thread state. */
static sysgi_interp *create_sub(const char *name, const sysgi_request *r) {
  PyThreadState *mts = main_tstate();
  sysgi_interp *ip = calloc(1, sizeof *ip);
  char *n = malloc(strlen(name) + 1);
  PyThread_type_lock ll = PyThread_allocate_lock();
  if (!ip || !n || !ll) {
    free(ip);
    free(n);
    if (ll)
      PyThread_free_lock(ll);
    sysgi_log_nogil(r, SYSGI_LOG_ERR, "sysgi: out of memory creating "
                    "application group '%s'", name);
    return NULL;
  }
  strcpy(n, name);
  ip->name = n;
  ip->load_lock = ll;

  PyEval_RestoreThread(mts);
  PyThreadState *ts = Py_NewInterpreter();
  if (!ts) {
    /* Py_NewInterpreter restored our thread state on failure. */
    PyThreadState_Swap(mts);
    PyEval_SaveThread();
    sysgi_log_nogil(r, SYSGI_LOG_ERR, "sysgi: cannot create the Python "
                    "sub-interpreter for application group '%s'", name);
    free(n);
    free(ip);
    PyThread_free_lock(ll);
    return NULL;
  }
  ip->creator = ts;
  ip->interp = PyInterpreterState_Get();
  /* Seed bug 6: make sure the codec machinery of the new interpreter is
   * initialised ('x'.encode('idna') and friends). */
  PyObject *enc = sysgi_runtime_setup_sys() == 0
                      ? PyImport_ImportModule("encodings") : NULL;
  PyObject *codec = enc ? PyImport_ImportModule("codecs") : NULL;
  PyObject *look = codec ? PyObject_CallMethod(codec, "lookup", "s", "ascii")
                         : NULL;
  int ok = look && sysgi_interp_setup(ip) == 0;
  Py_XDECREF(look);
  Py_XDECREF(codec);
  Py_XDECREF(enc);
  if (!ok) {
    char what[512];
    snprintf(what, sizeof what, "sysgi: cannot initialise application group "
             "'%s'", name);
    sysgi_req tmp = {.r = r};
    sysgi_log_exception(&tmp, what);
    teardown(ip);
    Py_EndInterpreter(ts);
    PyThreadState_Swap(mts);
    PyEval_SaveThread();
    free(n);
    free(ip);
    PyThread_free_lock(ll);
    return NULL;
  }
  PyThreadState_Swap(mts);
  PyEval_SaveThread();
  ip->next = groups;
  groups = ip;
  return ip;
}

int sysgi_interp_enter(const char *group, sysgi_interp **out,
                       const sysgi_request *r) {
  tl_check();
  if (!group)
    group = "";
  for (size_t i = 0; i < tl.n; i++) {
    if (strcmp(tl.e[i].ip->name, group) == 0) {
      *out = tl.e[i].ip;
      enter_ts(tl.e[i].ip, tl.e[i].ts);
      return 0;
    }
  }
  sysgi_interp *ip = NULL;
  PyThreadState *ts = NULL;
  if (!*group) {
    ip = main_ip;
    ts = main_tstate();
  } else {
    PyThread_acquire_lock(groups_lock, WAIT_LOCK);
    for (ip = groups; ip; ip = ip->next)
      if (strcmp(ip->name, group) == 0)
        break;
    if (!ip) {
      ip = create_sub(group, r);
      ts = ip ? ip->creator : NULL;
    } else {
      extra_tstate *x = malloc(sizeof *x);
      ts = x ? PyThreadState_New(ip->interp) : NULL;
      if (ts) {
        x->ts = ts;
        x->ip = ip;
        x->next = extras;
        extras = x;
      } else {
        free(x);
        sysgi_log_nogil(r, SYSGI_LOG_ERR, "sysgi: cannot create a thread "
                        "state for application group '%s'", group);
      }
    }
    PyThread_release_lock(groups_lock);
    if (!ip || !ts)
      return ip ? SYSGI_E_NOMEM : SYSGI_E_NOPYTHON;
  }
  if (tl_add(ip, ts) < 0) {
    sysgi_log_nogil(r, SYSGI_LOG_ERR, "sysgi: out of memory");
    return SYSGI_E_NOMEM;
  }
  *out = ip;
  enter_ts(ip, ts);
  return 0;
}

void sysgi_interp_leave(void) {
  if (tl.cur_is_main)
    PyEval_SaveThread();
  else
    PyEval_ReleaseThread(tl.cur);
  tl.cur = NULL;
}

/* Called without the GIL; returns with the main interpreter's GIL held by
 * this thread, ready for Py_FinalizeEx(). */
/* Joins the current interpreter's non-daemon threads (as Py_EndInterpreter
 * would) and counts the threads still running Python code in it: daemon
 * threads an application started. Py_EndInterpreter() aborts the process
 * when such a thread still owns a thread state ("not the last thread"), so
 * an interpreter with any left is not ended. Returns -1 on error. */
static Py_ssize_t live_foreign_threads(void) {
  PyObject *th = PyImport_ImportModule("threading");
  PyObject *r = th ? PyObject_CallMethod(th, "_shutdown", NULL) : NULL;
  /* _shutdown() asserts about the thread that first imported threading
   * there, whose state may be gone: Py_EndInterpreter ignores its errors
   * too (PyErr_WriteUnraisable). */
  if (!r)
    PyErr_Clear();
  Py_XDECREF(r);
  PyObject *all = th ? PyObject_CallMethod(th, "enumerate", NULL) : NULL;
  PyObject *me = all ? PyObject_CallMethod(th, "current_thread", NULL) : NULL;
  PyObject *dummy = me ? PyObject_GetAttrString(th, "_DummyThread") : NULL;
  PyObject *seq = dummy ? PySequence_Fast(all, "threads") : NULL;
  Py_ssize_t live = seq ? 0 : -1;
  for (Py_ssize_t i = 0; seq && i < PySequence_Size(seq); i++) {
    PyObject *t = PySequence_GetItem(seq, i);
    /* Dummy threads stand for threads Python did not start (the server's
     * workers, whose thread states were deleted above). */
    int foreign = t && t != me && PyObject_IsInstance(t, dummy) == 0;
    PyObject *alive = foreign ? PyObject_CallMethod(t, "is_alive", NULL) : NULL;
    if (alive && PyObject_IsTrue(alive) == 1)
      live++;
    Py_XDECREF(alive);
    Py_XDECREF(t);
  }
  /* A failed look-up leaves the count unknown: not ending the interpreter
   * is the safe answer (ending it with a live thread aborts). */
  if (PyErr_Occurred()) {
    PyErr_Clear();
    live = -1;
  }
  Py_XDECREF(seq);
  Py_XDECREF(dummy);
  Py_XDECREF(me);
  Py_XDECREF(all);
  Py_XDECREF(th);
  return live;
}

int sysgi_interp_shutdown_all(void) {
  int ended_all = 1;
  tl_check();
  PyThreadState *mts = main_tstate();
  PyThread_acquire_lock(groups_lock, WAIT_LOCK);
  PyEval_RestoreThread(mts);
  while (groups) {
    sysgi_interp *ip = groups;
    groups = ip->next;
    /* End it through a fresh thread state of this thread, after deleting
     * every other one: deleting a thread state releases the "sentinel"
     * lock threading._shutdown() joins, so an interpreter whose threading
     * module was first imported on another (maybe long gone) worker thread
     * does not wait for that thread forever. */
    PyThreadState *t = PyThreadState_New(ip->interp);
    if (!t) {
      t = ip->creator;
      ip->creator = NULL;
    }
    PyThreadState_Swap(t);
    teardown(ip);
    for (extra_tstate **pp = &extras; *pp;) {
      extra_tstate *x = *pp;
      if (x->ip == ip) {
        PyThreadState_Clear(x->ts);
        PyThreadState_Delete(x->ts);
        *pp = x->next;
        free(x);
      } else {
        pp = &x->next;
      }
    }
    if (ip->creator) {
      PyThreadState_Clear(ip->creator);
      PyThreadState_Delete(ip->creator);
    }
    Py_ssize_t live = live_foreign_threads();
    if (live == 0) {
      Py_EndInterpreter(t);
    } else {
      char msg[300], count[32];
      if (live > 0)
        snprintf(count, sizeof count, "%zd", live);
      else
        snprintf(count, sizeof count, "an unknown number of");
      snprintf(msg, sizeof msg, "sysgi: application group '%s' still runs "
               "%s thread(s) of its own at shutdown: its interpreter is left "
               "to the process exit, and Python is not finalized", ip->name,
               count);
      PyThreadState_Swap(mts);
      sysgi_log(NULL, SYSGI_LOG_WARN, "%s", msg);
      ended_all = 0;
    }
    PyThreadState_Swap(mts);
    PyThread_free_lock(ip->load_lock);
    free(ip->name);
    free(ip);
  }
  /* The same for the main interpreter when shutdown runs on another thread
   * than init did: Py_FinalizeEx() would wait for the init thread. */
  if (sysgi_rt.init_tstate && sysgi_rt.init_tstate != mts) {
    PyThreadState_Clear(sysgi_rt.init_tstate);
    PyThreadState_Delete(sysgi_rt.init_tstate);
  }
  sysgi_rt.init_tstate = NULL;
  if (main_ip) {
    teardown(main_ip);
    PyThread_free_lock(main_ip->load_lock);
    free(main_ip->name);
    free(main_ip);
    main_ip = NULL;
  }
  PyThread_release_lock(groups_lock);
  return ended_all ? 0 : -1;
}

/* Everything one interpreter needs, created inside it (types are never
 * shared between interpreters). Called with that interpreter current. */
int sysgi_interp_setup(sysgi_interp *ip) {
  PyObject *tb;
  if (!(ip->input_type = sysgi_input_type_new()) ||
      !(ip->errors_type = sysgi_errors_type_new()) ||
      !(ip->file_wrapper_type = sysgi_file_wrapper_type_new()) ||
      !(ip->responder_type = sysgi_responder_type_new()) ||
      !(ip->ssl_fn_type = sysgi_ssl_fn_type_new()) ||
      !(ip->scripts = PyDict_New()) ||
      !(ip->builtins = PyImport_ImportModule("builtins")) ||
      !(tb = PyImport_ImportModule("traceback")))
    return -1;
  ip->format_exception = PyObject_GetAttrString(tb, "format_exception");
  Py_DECREF(tb);
  if (!ip->format_exception || sysgi__stdio_install() < 0 ||
      sysgi__modwsgi_install(ip) < 0)
    return -1;
  return sysgi_environ_setup(ip);
}
