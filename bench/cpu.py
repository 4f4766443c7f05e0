#!/usr/bin/python3
"""Where a request's CPU goes: user vs system time and syscalls per request.

Starts the same private Apaches as bench/run.py (mod_sysgi, mod_wsgi,
static), then for each app and server, alternating servers, sends a fixed
number of keep-alive requests with `ab -k` and reads the Apache child's
user and system CPU time and context switches (all its threads) before and
after. CPU seconds per request move far less with the machine's load than
requests/s do; they are what decides whether a change helps.

    /usr/bin/python3 bench/cpu.py --module build/apache-win/mod_sysgi.so
    /usr/bin/python3 bench/cpu.py --apps yields256 -n 400 -c 4 --repeat 3
    /usr/bin/python3 bench/cpu.py --apps yields256 --strace   # syscalls/req

--strace attaches `strace -c -f` to the child for one batch of requests
(after the timed ones) and prints the syscalls per request: the counts are
exact, the times under strace are not.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (bench/run.py: the servers and content)
from icount import ab_cmd  # noqa: E402  (bench/icount.py: the ab command line)

CLK_TCK = os.sysconf("SC_CLK_TCK")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Proc:
    """A server that is one process (uwsgi, the C floor): the same face as
    bench.Apache for what this script uses."""

    def __init__(self, name, work, cmd):
        self.name, self.port = name, bench.free_port()
        self.cmd = [x.format(port=self.port, work=work) for x in cmd]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE,
                                     start_new_session=True)
        bench.wait_listening(self.port, self.proc, self.name, lambda: "")

    def error_log(self):
        return ""

    def child_pids(self):
        return [self.proc.pid]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def make_server(name, work, a):
    if name in ("floor", "floor-nagle"):
        exe = os.path.join(work, "floor")
        if not os.path.exists(exe):
            subprocess.run(["cc", "-O2", "-pthread", "-o", exe,
                            os.path.join(REPO, "bench", "floor.c")],
                           check=True)
        return Proc(name, work, [exe, "{port}"] + (
            ["nagle"] if name == "floor-nagle" else []))
    if name == "uwsgi":
        return Proc(name, work, [
            "uwsgi_python3", "--http11-socket", "127.0.0.1:{port}",
            "--wsgi-file", "{work}/apps/yields256.wsgi", "--processes", "1",
            "--threads", str(a.c), "--disable-logging"])
    return bench.Apache(name, work, a.module, "%{GLOBAL}",
                        a.sysgi_directive if name == "sysgi" else ())


def task_stats(pid):
    """utime, stime (ticks, all threads, dead ones included) and context
    switches (voluntary, involuntary; live threads) of one process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ut, st = int(fields[11]), int(fields[12])
    vol = invol = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        invol += int(line.split()[1])
        except OSError:
            pass
    return ut, st, vol, invol


def ab(port, app, n, c, work):
    cmd = ab_cmd(app, work, n, c)
    cmd.append("http://127.0.0.1:%d%s" % (port, app["url"]))
    t0 = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wall = time.monotonic() - t0
    failed = re.search(r"^Failed requests:\s+(\d+)", out.stdout, re.M)
    non2xx = re.search(r"^Non-2xx responses:\s+(\d+)", out.stdout, re.M)
    if out.returncode != 0 or not failed or int(failed.group(1)) or non2xx:
        raise bench.BenchError("ab failed on port %d: %s %s" % (port, out.stdout[-2000:],
                                                       out.stderr[-2000:]))
    return wall


def measure(s, app, n, c, work):
    kid = s.child_pids()[0]
    a = task_stats(kid)
    wall = ab(s.port, app, n, c, work)
    b = task_stats(kid)
    d = [y - x for x, y in zip(a, b)]
    return {"user_us": d[0] * 1e6 / CLK_TCK / n,
            "sys_us": d[1] * 1e6 / CLK_TCK / n,
            "vcsw": d[2] / n, "icsw": d[3] / n, "rps": n / wall}


def strace_counts(s, app, n, c, work):
    kid = s.child_pids()[0]
    out = os.path.join(work, "strace-%s.txt" % s.name)
    tr = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(kid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached to every thread
    ab(s.port, app, n, c, work)
    time.sleep(0.3)
    tr.send_signal(2)
    tr.wait(30)
    rows = []
    with open(out) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(\d+)?\s*(\w+)$",
                         line)
            if m and m.group(3) != "total":
                rows.append((int(m.group(1)) / n, m.group(3)))
    return sorted(rows, reverse=True)


def perf_profile(s, app, n, c, work):
    """perf record (cpu-clock, call graphs) of the child for one batch;
    returns the report's top lines (children and self, kernel included)."""
    kid = s.child_pids()[0]
    data = os.path.join(work, "perf-%s.data" % s.name)
    pr = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "2000",
                           "-g", "-o", data, "-p", str(kid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    ab(s.port, app, n, c, work)
    pr.send_signal(2)
    pr.wait(60)
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children",
                          "--sort", "dso,sym", "--stdio", "-g", "none",
                          "--percent-limit", "0.7"],
                         capture_output=True, text=True)
    return [l for l in rep.stdout.splitlines() if l and not l.startswith("#")]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--module", default=None)
    p.add_argument("--apps", default="yields256")
    p.add_argument("--servers", default="sysgi,modwsgi",
                   help="of sysgi, modwsgi, static, uwsgi, floor, floor-nagle "
                   "(the last three serve yields256 only; see floor.c)")
    p.add_argument("-n", type=int, default=400, help="requests per batch")
    p.add_argument("-c", type=int, default=4, help="ab concurrency")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--strace", action="store_true")
    p.add_argument("--perf", action="store_true",
                   help="perf record one batch per server, print the top")
    p.add_argument("--sysgi-directive", action="append", default=[])
    a = p.parse_args(argv)
    a.module = os.path.abspath(a.module or bench.default_module())
    apps = a.apps.split(",")
    work = tempfile.mkdtemp(prefix="sysgi-cpu-")
    servers = []
    try:
        expected = bench.prepare_content(work)
        for name in a.servers.split(","):
            s = make_server(name, work, a)
            servers.append(s)
            s.start()
            bench.check_server(s, {k: v for k, v in expected.items()
                                   if k in apps})
        print("load average at start: %.2f" % os.getloadavg()[0])
        for app_name in apps:
            app = bench.APPS[app_name]
            res = {s.name: [] for s in servers}
            for s in servers:
                ab(s.port, app, max(20, a.n // 10), a.c, work)  # warm-up
            for rep in range(a.repeat):
                for s in (servers if rep % 2 == 0 else servers[::-1]):
                    res[s.name].append(measure(s, app, a.n, a.c, work))
            print("\n%s (%d x %d requests, ab -k -c %d)"
                  % (app_name, a.repeat, a.n, a.c))
            print("%-8s %10s %10s %10s %8s %8s %8s"
                  % ("server", "user us", "sys us", "total us", "vcsw",
                     "icsw", "req/s"))
            for s in servers:
                rs = res[s.name]
                avg = {k: sum(r[k] for r in rs) / len(rs) for k in rs[0]}
                print("%-8s %10.1f %10.1f %10.1f %8.2f %8.2f %8.0f"
                      % (s.name, avg["user_us"], avg["sys_us"],
                         avg["user_us"] + avg["sys_us"], avg["vcsw"],
                         avg["icsw"], avg["rps"]))
            if a.strace:
                for s in servers:
                    rows = strace_counts(s, app, max(20, a.n // 4), a.c, work)
                    print("syscalls per request, %s: %s" % (s.name, ", ".join(
                        "%s %.1f" % (name, k) for k, name in rows[:10])))
            if a.perf:
                for s in servers:
                    print("perf, %s:" % s.name)
                    print("\n".join(perf_profile(s, app, a.n, a.c, work)))
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
