#!/usr/bin/python3
"""Profile one app on one server with callgrind: instructions per request.

Starts the same private Apache as bench/run.py, but as a single process
(apache2 -X) under valgrind --tool=callgrind, collecting only inside
ap_process_request (so Python start-up, child start-up and the idle loop are
not counted; request-line parsing is not either). It warms the app up (the
first request imports the script), then fetches a static file, whose
handler calls ap_update_mtime, where callgrind dumps and zeroes its
counters (--dump-before): the final dump holds only the steady state. Then it sends a bounded
number of keep-alive requests with ab, and prints the instruction count per
request and the top functions (inclusive and self) from callgrind_annotate.
(For --server static every request would dump, so there it counts
everything.)

    /usr/bin/python3 bench/profile.py --server sysgi --app hello -n 2000
    /usr/bin/python3 bench/profile.py --server modwsgi --app hello -n 2000

The raw callgrind file and the annotation are kept in --out.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (the harness: configs, content, checks)


def ctx_switches(pid):
    """Voluntary + involuntary context switches of all threads of pid."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.endswith("ctxt_switches:\t" + line.split("\t")[-1]) \
                            and "ctxt_switches" in line:
                        total += int(line.split()[-1])
        except OSError:
            pass
    return total


def perf_main(a, work, expected):
    """perf record -g on the Apache child while wrk loads it (kernel time
    included, which callgrind cannot see)."""
    app = bench.APPS[a.app]
    srv = bench.Apache(a.server, work, a.module, a.app_group)
    try:
        srv.start()
        bench.check_server(srv, {a.app: expected[a.app]})
        bench.wrk(srv.port, app, 2, work, 2, 32)                   # warm-up
        child = srv.child_pids()[0]
        load = subprocess.Popen(
            ["wrk", "-t2", "-c32", "-d%ds" % (a.perf + 4), "-s",
             os.path.join(work, "wrk-%d.lua" % app.get("post", 0)),
             "http://127.0.0.1:%d%s" % (srv.port, app["url"])],
            stdout=subprocess.PIPE, text=True)
        time.sleep(2)
        data = os.path.join(work, "perf.data")
        cs0, t0 = ctx_switches(child), time.monotonic()
        subprocess.run(["perf", "record", "-q", "-g", "-o", data, "-p",
                        str(child), "--", "sleep", str(a.perf)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cs = (ctx_switches(child) - cs0) / (time.monotonic() - t0)
        rps = re.search(r"Requests/sec:\s+([\d.]+)", load.communicate()[0])
    finally:
        srv.stop()
    rep = subprocess.run(["perf", "report", "-i", data, "--stdio",
                          "--no-children", "--sort", "dso,symbol",
                          "-g", "none", "--percent-limit", "0.7"],
                         capture_output=True, text=True).stdout
    rows = [ln for ln in rep.splitlines() if ln.strip() and
            not ln.startswith("#")]
    rate = float(rps.group(1)) if rps else 0.0
    return ("perf: %s, app %s, wrk -t2 -c32 (%.0f req/s under perf), %d s "
            "sampled on the Apache child; %.0f context switches/s = %.1f "
            "per request\n\n%s\n"
            % (a.server, a.app, rate, a.perf, cs, cs / rate if rate else 0,
               "\n".join(rows[:a.top])))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", default="sysgi",
                   choices=["sysgi", "modwsgi", "static"])
    p.add_argument("--app", default="hello", choices=list(bench.APPS))
    p.add_argument("-n", "--requests", type=int, default=2000)
    p.add_argument("-c", "--concurrency", type=int, default=4)
    p.add_argument("--module", default=None)
    p.add_argument("--app-group", default="%{GLOBAL}")
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--out", default=os.path.join(bench.HERE, "results"))
    p.add_argument("--perf", type=int, default=0, metavar="SECONDS",
                   help="instead of callgrind: perf record the child for "
                   "SECONDS under wrk load (includes kernel time)")
    a = p.parse_args()
    a.module = a.module or bench.default_module()
    a.module = a.module and os.path.abspath(a.module)
    if a.server == "sysgi" and not a.module:
        p.error("mod_sysgi.so not found; give --module")

    work = tempfile.mkdtemp(prefix="sysgi-prof-")
    os.makedirs(a.out, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d-%H%M%S")
    stem = os.path.join(a.out, "profile-%s-%s-%s" % (a.server, a.app, stamp))
    if a.perf:
        try:
            report = perf_main(a, work, bench.prepare_content(work))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        with open(stem + "-perf.txt", "w") as f:
            f.write(report)
        print(report)
        return
    app = bench.APPS[a.app]
    proc = None
    try:
        expected = bench.prepare_content(work)
        with open(os.path.join(work, "static", "zero-marker"), "wb") as f:
            f.write(b"zero\n")
        os.chmod(os.path.join(work, "static", "zero-marker"), 0o644)
        # Start as www-data rather than let Apache drop to it: valgrind
        # opens its output file at start and could not write it later.
        srv = bench.Apache(a.server, work, a.module, a.app_group,
                           drop_user=False)
        prefix = []
        if os.geteuid() == 0:
            shutil.chown(srv.dir, "www-data")
            prefix = ["setpriv", "--reuid=www-data", "--regid=www-data",
                      "--init-groups", "--"]
        proc = subprocess.Popen(
            prefix + ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                      "--toggle-collect=ap_process_request",
                      "--compress-strings=no", "--compress-pos=no"]
            + (["--dump-before=ap_update_mtime"] if a.server != "static"
               else [])
            + ["--callgrind-out-file=" + os.path.join(srv.dir, "cg.out"),
               "apache2", "-X", "-f", srv.conf],
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(work, "valgrind.log"), "w"),
            start_new_session=True)
        srv.proc = proc
        bench.wait_listening(srv.port, proc, a.server, srv.error_log,
                             timeout=300)
        bench.check_server(srv, {a.app: expected[a.app]})
        url = "http://127.0.0.1:%d%s" % (srv.port, app["url"])
        ab = ["ab", "-q", "-k", "-c", str(a.concurrency)]
        if "post" in app:
            body = os.path.join(work, "post.body")
            with open(body, "wb") as f:
                f.write(b"x" * app["post"])
            ab += ["-p", body, "-T", "application/octet-stream"]
        subprocess.run(ab + ["-n", "200", url], check=True,
                       stdout=subprocess.DEVNULL)                  # warm-up
        bench.fetch(srv.port, {"url": "/zero-marker"})           # zero costs
        res = subprocess.run(ab + ["-n", str(a.requests), url], check=True,
                             capture_output=True, text=True).stdout
        failed = re.search(r"Failed requests:\s+(\d+)", res)
        non2xx = re.search(r"Non-2xx responses:\s+(\d+)", res)
    finally:
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    dump = os.path.join(srv.dir, "cg.out")
    if not os.path.exists(dump):
        raise SystemExit("no callgrind output in %s" % srv.dir)
    # A call that was already running at the dump point is written as
    # "calls=0", which callgrind_annotate books as self cost of the caller
    # (clone would own 100%): count it as one call.
    with open(dump) as src, open(stem + ".callgrind", "w") as dst:
        for line in src:
            dst.write("calls=1 " + line[8:] if line.startswith("calls=0 ")
                      else line)
    dump = stem + ".callgrind"
    ann = subprocess.run(["callgrind_annotate", "--threshold=99",
                          "--inclusive=no", dump],
                         capture_output=True, text=True).stdout
    inc = subprocess.run(["callgrind_annotate", "--threshold=99",
                          "--inclusive=yes", dump],
                         capture_output=True, text=True).stdout
    m = re.search(r"^\s*([\d,]+)(?: \([\d.]+%\))?\s+PROGRAM TOTALS", ann,
                  re.M)
    total = int(m.group(1).replace(",", "")) if m else 0

    def top(text):
        rows = [ln for ln in text.splitlines()
                if re.match(r"^\s*[\d,]+ \(", ln) and "PROGRAM TOTALS" not in ln]
        return "\n".join(rows[:a.top])

    report = ("callgrind: %s, app %s, %d requests (ab -k -c %d), %s failed, "
              "%s non-2xx\nInstructions (Ir) total %d, per request %.0f\n\n"
              "== self ==\n%s\n\n== inclusive ==\n%s\n"
              % (a.server, a.app, a.requests, a.concurrency,
                 failed.group(1) if failed else "?",
                 non2xx.group(1) if non2xx else "0",
                 total, total / float(a.requests), top(ann), top(inc)))
    with open(stem + ".txt", "w") as f:
        f.write(report)
    print(report)
    bench.log("profile: %s.txt, %s.callgrind" % (stem, stem))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
