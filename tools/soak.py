#!/usr/bin/python3
"""Soak test (issue 14; a documented command, not part of CI).

    tools/soak.py --front apache [--requests 100000]
    tools/soak.py --front wine   [--requests 100000] [--max-seconds S]

Sends mixed requests (plain, streamed generator, write(), wsgi.file_wrapper,
POST with a body, application errors, clients that disconnect in the middle
of a 4 MiB response) to tools/soak_app.py through one server process:

  apache  mod_sysgi in a private Linux Apache (worker MPM, one child);
          module: $SYSGI_MODULE or build/apache-win/mod_sysgi.so
  wine    sysgi.exe under Wine on the test httpapi.dll (tests/wine/httpapi)
          with the Windows CPython 3.11 fixture; build: $SYSGI_WIN_BUILD or
          build-win (targets sysgi and test_httpapi)

The resident set (VmRSS) of the process that runs Python is sampled after
the warm-up and at the end; the command exits 1 when it grew by 1 MiB or
more, or when any response was wrong. Every body is checked. With
--max-seconds the run stops early and says how many requests it made.
Run it under `nice` on a shared machine.
"""
import argparse
import datetime
import hashlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHUNK = bytes(range(256)) * 16
DATA_SIZE = 256 * 1024
# One cycle of kinds; "disconnect" is a GET /big closed after 16 KiB.
STAND_IN = ["ours"]
KINDS = ["hello", "stream", "file", "post", "write", "hello", "error",
         "file", "post", "disconnect"]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
                if int(st.rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


class Client:
    """One worker thread's keep-alive connection and its checks."""

    def __init__(self, port, data):
        self.port, self.data = port, data
        self.conn = None
        self.post_body = os.urandom(20000)
        self.post_sha = hashlib.sha1(self.post_body).hexdigest().encode()

    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                   timeout=300)
        return self.conn

    def disconnect(self, n):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=300)
        s.sendall(b"GET /big HTTP/1.1\r\nHost: soak\r\n\r\n")
        got = 0
        while got < 16384:
            b = s.recv(65536)
            if not b:
                break
            got += len(b)
        if n % 2:   # half of them reset the connection
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
        return None if got >= 16384 else "disconnect: %d bytes only" % got

    def one(self, n):
        kind = KINDS[n % len(KINDS)]
        if kind == "disconnect":
            return self.disconnect(n)
        c = self._conn()
        try:
            if kind == "post":
                c.request("POST", "/post", body=self.post_body,
                          headers={"Content-Type": "application/octet-stream"})
            else:
                c.request("GET", "/" + kind)
            r = c.getresponse()
            body = r.read()
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()
            self.conn = None
            return "%s: %r" % (kind, e)
        want = {"hello": (200, b"hello soak"),
                "stream": (200, CHUNK * 16),
                "write": (200, b"0,1,2,3,4,5,6,7,end"),
                "file": (200, self.data),
                "post": (200, self.post_sha),
                "error": (500, None)}[kind]
        if r.status != want[0] or (want[1] is not None and body != want[1]):
            return "%s: status %d, %d bytes" % (kind, r.status, len(body))
        if r.getheader("Connection", "").lower() == "close":
            c.close()
            self.conn = None
        return None


def run_phase(port, data, start, count, conc, deadline, errors):
    """Requests start..start+count-1 over `conc` threads; returns how many
    were made (fewer when the deadline passed)."""
    done = [0] * conc
    lock = threading.Lock()
    nxt = [start]

    def worker(k):
        cl = Client(port, data)
        while True:
            with lock:
                if nxt[0] >= start + count or (deadline and
                                               time.monotonic() > deadline):
                    return
                n = nxt[0]
                nxt[0] += 1
            err = cl.one(n)
            done[k] += 1
            if err:
                with lock:
                    errors.append("request %d: %s" % (n, err))

    ts = [threading.Thread(target=worker, args=(k,), daemon=True)
          for k in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(done)


# ---- the front ends ------------------------------------------------------------

def start_apache(site, threads):
    sys.path.insert(0, os.path.join(REPO, "tests", "apache"))
    import apache_fixture
    mod = os.environ.get("SYSGI_MODULE") or os.path.join(
        REPO, "build", "apache-win", "mod_sysgi.so")
    if not os.path.isfile(mod):
        sys.exit("soak: no mod_sysgi.so at %s (build it, or set SYSGI_MODULE)"
                 % mod)
    apache_fixture.make_public(site)
    srv = apache_fixture.start_apache(
        ["LogLevel warn sysgi:warn"], {"/": os.path.join(site, "soak_app.py")},
        module_path=mod, mpm="worker", threads=threads, servers=1,
        wait_path="/hello", workdir=os.path.join(site, "httpd"))
    kids = children(srv.proc.pid)
    if len(kids) != 1:
        srv.stop()
        sys.exit("soak: expected one Apache child, found %r" % kids)
    return srv.port, kids[0], srv.stop, "mod_sysgi in Apache (%s)" % mod


def start_wine(site, threads):
    build = os.path.abspath(os.environ.get("SYSGI_WIN_BUILD")
                            or os.path.join(REPO, "build-win"))
    exe = os.environ.get("SYSGI_EXE") or os.path.join(build, "service",
                                                      "sysgi.exe")
    dll = os.environ.get("SYSGI_TEST_HTTPAPI") or os.path.join(
        build, "tests", "wine", "httpapi", "httpapi.dll")
    for p, what in ((exe, "sysgi.exe"), (dll, "the test httpapi.dll")):
        if not os.path.isfile(p):
            sys.exit("soak: no %s at %s (build %s, or set SYSGI_EXE / "
                     "SYSGI_TEST_HTTPAPI)" % (what, p, build))
    os.environ["SYSGI_WIN_BUILD"] = build
    os.environ["SYSGI_EXE"] = exe
    os.environ["SYSGI_TEST_HTTPAPI"] = dll
    sys.path.insert(0, os.path.join(REPO, "tests", "wine"))
    sys.path.insert(0, os.path.join(REPO, "tests", "wine", "e2e"))
    import conftest
    import e2e_support
    env = conftest.wine_env()
    marker = os.path.join(env["WINEPREFIX"], ".sysgi-booted")
    if not os.path.exists(marker):
        subprocess.run(["wineboot", "-i"], env=env, check=True, timeout=300,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["wineserver", "-w"], env=env, timeout=120)
        open(marker, "w").close()
    srv = e2e_support.Serve(env, STAND_IN[0], os.path.join(site, "wine"),
                            os.path.join(site, "soak_app.py"),
                            args=["--threads", str(threads)])
    pid = find_exe(srv.p.proc.pid, "sysgi.exe")
    return srv.port, pid, srv.stop, "sysgi.exe under Wine on %s" % (
        dll if STAND_IN[0] == "ours" else "Wine's own http.sys")


def find_exe(pid, name):
    """The Linux process of the Windows program `name` started as `pid`
    (wine execs its loader in place; search the descendants otherwise)."""
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                if name.encode() in f.read():
                    return p
        except OSError:
            pass
        todo += children(p)
    sys.exit("soak: no process of %s under pid %d" % (name, pid))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--front", choices=["apache", "wine"], required=True)
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--warmup", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--threads", type=int, default=4,
                    help="server worker threads")
    ap.add_argument("--max-seconds", type=float, default=0,
                    help="stop the measured phase after this long")
    ap.add_argument("--limit-kib", type=int, default=1024)
    ap.add_argument("--kinds", default="",
                    help="comma-separated subset of %s (to find which kind "
                         "of request grows the process)" % ",".join(
                             sorted(set(KINDS))))
    ap.add_argument("--stand-in", choices=["ours", "wine"], default="ours",
                    help="--front wine: the test httpapi.dll (default) or "
                         "Wine's own http.sys (which runs in another "
                         "process, so its memory is not counted)")
    a = ap.parse_args()
    STAND_IN[0] = a.stand_in
    if a.kinds:
        want = a.kinds.split(",")
        bad = [k for k in want if k not in KINDS]
        if bad:
            ap.error("unknown kinds %s" % bad)
        KINDS[:] = want
    site = tempfile.mkdtemp(prefix="sysgi-soak-")
    os.chmod(site, 0o755)
    shutil.copy(os.path.join(REPO, "tools", "soak_app.py"), site)
    data = os.urandom(DATA_SIZE)
    with open(os.path.join(site, "data.bin"), "wb") as f:
        f.write(data)
    for n in ("soak_app.py", "data.bin"):
        os.chmod(os.path.join(site, n), 0o644)
    start = start_apache if a.front == "apache" else start_wine
    port, pid, stop, what = start(site, a.threads)
    errors = []
    ok = False
    try:
        t0 = time.monotonic()
        w = run_phase(port, data, 0, a.warmup, a.concurrency, 0, errors)
        before = rss_kib(pid)
        t1 = time.monotonic()
        deadline = t1 + a.max_seconds if a.max_seconds else 0
        n = run_phase(port, data, a.warmup, a.requests, a.concurrency,
                      deadline, errors)
        t2 = time.monotonic()
        after = rss_kib(pid)
        growth = after - before
        try:
            commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short",
                                     "HEAD"], capture_output=True,
                                    text=True).stdout.strip()
        except OSError:
            commit = "?"
        counts = {}
        for i in range(a.warmup, a.warmup + n):
            k = KINDS[i % len(KINDS)]
            counts[k] = counts.get(k, 0) + 1
        print("soak: %s" % what)
        print("soak: %s UTC, commit %s" % (
            datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), commit))
        print("soak: warm-up %d requests (%.0f s); measured %d of %d requests "
              "in %.0f s (%.0f/s), %d concurrent, %d server threads" % (
                  w, t1 - t0, n, a.requests, t2 - t1, n / max(t2 - t1, 1e-9),
                  a.concurrency, a.threads))
        print("soak: kinds %s" % ", ".join("%s %d" % kv
                                          for kv in sorted(counts.items())))
        print("soak: RSS of pid %d: %d KiB after warm-up, %d KiB at the end, "
              "growth %+d KiB (limit %d KiB)" % (pid, before, after, growth,
                                                  a.limit_kib))
        print("soak: %d wrong responses%s" % (
            len(errors), "".join("\n  " + e for e in errors[:20])))
        ok = growth < a.limit_kib and not errors
        print("soak: %s" % ("PASS" if ok else "FAIL"))
    finally:
        stop()
        shutil.rmtree(site, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
