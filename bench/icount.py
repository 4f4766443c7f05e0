#!/usr/bin/python3
"""Instructions per request, counted by callgrind: load-independent figures.

For each server (mod_sysgi, Debian's mod_wsgi, Apache static on the same
bytes) it starts the private Apache of bench/run.py (mpm_worker) as one
process (`apache2 -X`) under valgrind --tool=callgrind, counting only inside
ap_process_request. Every app is warmed up first (the script import is not
counted); then each app gets N keep-alive requests from one client (ab -k
-c 1), each phase ended by a request for a missing file: its 404 reaches
ap_send_error_response, where callgrind dumps and zeroes its counters
(--dump-before), so every dump holds one app's phase. An empty phase (two
404s back to back) measures what the markers themselves cost; it is
subtracted. The machine's load does not change the counts.

Printed per (server, app): instructions per request (Ir/req), per yield for
yields256, and the share executed in the module's own object (mod_sysgi.so,
split into the portable core, core/src, and the Apache front end,
apache-win/; mod_wsgi.so for mod_wsgi).

    /usr/bin/python3 bench/icount.py                      # the full matrix
    /usr/bin/python3 bench/icount.py --servers sysgi --apps hello,yields256
    /usr/bin/python3 bench/icount.py --check bench/profile-baseline.json
    /usr/bin/python3 bench/icount.py --write-baseline bench/profile-baseline.json

--check (the CI step): mod_sysgi only, hello and yields256; fails (exit 1)
when the module's own instructions per hello request or per yield are more
than 10% above the committed baseline. It counts the module's own code only
(no Python, APR or httpd), so neither the load nor Python's hash seed moves
it; a lower count passes and says so (update the baseline then).
Exit status: 0 ok, 1 regression or a server that failed, 2 bad options.
"""
import argparse
import glob
import json
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

DEFAULT_APPS = ["hello", "block1m", "yields256", "file-nosendfile",
                "file-sendfile", "post1m"]
YIELDS = {"yields256": 256}
MARKER = "/sysgi-icount-marker-404"
TOLERANCE = 0.10


# ---- callgrind output ----------------------------------------------------

def parse_callgrind(path):
    """Self Ir per object, and per source file within `module_obj`.
    Returns (total, {object: Ir}, {file: Ir})."""
    by_ob, by_fl = {}, {}
    ob = fl = fi = ""
    after_call = False
    total = 0
    names = {"ob": {}, "fl": {}}

    def name(kind, v):
        # Compressed "(id) name" or "(id)" forms, in case they are used.
        m = re.match(r"\((\d+)\)(?: (.*))?", v)
        if not m:
            return v
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
            return m.group(2)
        return names[kind].get(m.group(1), v)

    with open(path) as f:
        for line in f:
            c = line[:1]
            if c.isdigit() or c in "+-*":
                if after_call:          # inclusive cost of a call: not self
                    after_call = False
                    continue
                parts = line.split()
                if len(parts) < 2:
                    continue
                ir = int(parts[1])
                total += ir
                by_ob[ob] = by_ob.get(ob, 0) + ir
                src = fi or fl
                by_fl[(ob, src)] = by_fl.get((ob, src), 0) + ir
            elif line.startswith("ob="):
                ob = name("ob", line[3:].strip())
            elif line.startswith("fl="):
                fl = name("fl", line[3:].strip())
                fi = ""
            elif line.startswith(("fi=", "fe=")):
                fi = name("fl", line[3:].strip())
            elif line.startswith("fn="):
                fi = ""
            elif line.startswith("calls="):
                after_call = True
            elif line.startswith(("cob=", "cfi=", "cfl=", "cfn=")):
                if line.startswith("cob="):
                    name("ob", line[4:].strip())
                elif line.startswith(("cfi=", "cfl=")):
                    name("fl", line[4:].strip())
    return total, by_ob, by_fl


def module_split(server, by_ob, by_fl):
    """(module Ir, core Ir, front-end Ir) from a parsed dump."""
    so = {"sysgi": "mod_sysgi.so", "modwsgi": "mod_wsgi.so"}.get(server)
    if not so:
        return 0, 0, 0
    def mine(ob):  # Debian's is mod_wsgi.so-3.11
        return os.path.basename(ob).startswith(so)

    mod = sum(v for k, v in by_ob.items() if mine(k))
    core = sum(v for (ob, src), v in by_fl.items()
               if mine(ob) and "/core/" in src)
    front = sum(v for (ob, src), v in by_fl.items()
                if mine(ob) and "/apache-win/" in src)
    return mod, core, front


# ---- one server under callgrind -------------------------------------------

def ab_cmd(app, work, n, c=1):
    """ab with keep-alive, n requests, c at a time, the app's POST body
    (written once into `work`) when it has one; the URL is the caller's."""
    cmd = ["ab", "-q", "-k", "-c", str(c), "-n", str(n)]
    if "post" in app:
        body = os.path.join(work, "post.body")
        if not os.path.exists(body):
            with open(body, "wb") as f:
                f.write(b"x" * app["post"])
        cmd += ["-p", body, "-T", "application/octet-stream"]
    return cmd


def run_ab(port, app, work, n):
    url = "http://127.0.0.1:%d%s" % (port, app["url"])
    res = subprocess.run(ab_cmd(app, work, n) + [url], capture_output=True,
                         text=True)
    if res.returncode != 0:
        raise bench.BenchError("ab %s: %s" % (url, res.stderr.strip()))
    failed = re.search(r"Failed requests:\s+(\d+)", res.stdout)
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", res.stdout)
    if (failed and int(failed.group(1))) or non2xx:
        raise bench.BenchError("ab %s: %s failed, %s non-2xx"
                               % (url, failed and failed.group(1),
                                  non2xx and non2xx.group(1)))


def marker(port):
    status, _ = bench.fetch(port, {"url": MARKER})
    if status != 404:
        raise bench.BenchError("marker %s answered %d" % (MARKER, status))


def count_server(server, apps, counts, work, module, keep):
    """Runs `server` under callgrind; returns {app: result dict}."""
    srv = bench.Apache(server, work, module, "%{GLOBAL}", drop_user=False)
    prefix = []
    if os.geteuid() == 0:
        # valgrind opens its output at start: run as www-data from the start.
        shutil.chown(srv.dir, "www-data")
        prefix = ["setpriv", "--reuid=www-data", "--regid=www-data",
                  "--init-groups", "--"]
    out = os.path.join(srv.dir, "cg.out")
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.Popen(
        prefix + ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                  "--toggle-collect=ap_process_request",
                  "--compress-strings=no", "--compress-pos=no",
                  "--dump-before=ap_send_error_response",
                  "--callgrind-out-file=" + out,
                  "apache2", "-X", "-f", srv.conf],
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(srv.dir, "valgrind.log"), "w"),
        start_new_session=True, env=env)
    srv.proc = proc
    phases = []
    try:
        bench.wait_listening(srv.port, proc, server, srv.error_log,
                             timeout=300)
        for name in apps:                                  # warm-up
            run_ab(srv.port, bench.APPS[name], work, 3)
        marker(srv.port)                  # dump 1: start-up and warm-up
        marker(srv.port)                  # dump 2: the empty phase
        phases.append(None)
        for name in apps:
            run_ab(srv.port, bench.APPS[name], work, counts[name])
            marker(srv.port)
            phases.append(name)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    dumps = {}
    for p in glob.glob(out + ".*"):
        m = re.search(r"\.(\d+)$", p)
        if m:
            dumps[int(m.group(1))] = p
    # dump k+2 holds phase k (k=0: the empty phase).
    parsed = []
    for k in range(len(phases)):
        p = dumps.get(k + 2)
        if not p:
            raise bench.BenchError("%s: callgrind dump %d missing (%s)"
                                   % (server, k + 2, sorted(dumps)))
        parsed.append(parse_callgrind(p))
        if keep:
            shutil.copy(p, os.path.join(keep, "%s-%s.callgrind"
                                        % (server, phases[k] or "empty")))
    e_total, e_ob, e_fl = parsed[0]
    e_mod, e_core, e_front = module_split(server, e_ob, e_fl)
    res = {}
    for k, name in enumerate(phases):
        if name is None:
            continue
        total, by_ob, by_fl = parsed[k]
        mod, core, front = module_split(server, by_ob, by_fl)
        n = counts[name]
        res[name] = dict(
            requests=n, ir_total=total - e_total,
            ir_req=(total - e_total) / n, module_req=(mod - e_mod) / n,
            core_req=(core - e_core) / n, front_req=(front - e_front) / n)
        if name in YIELDS:
            y = YIELDS[name]
            res[name]["ir_yield"] = res[name]["ir_req"] / y
            res[name]["module_yield"] = res[name]["module_req"] / y
    return res


# ---- report ----------------------------------------------------------------

def fmt(v):
    return "{:,.0f}".format(v) if v else "-"


def report(results, apps, servers, command):
    lines = ["Instructions per request (callgrind Ir inside ap_process_request,"
             " steady state, ab -k -c 1)", "", "    " + command, "",
             "| app | " + " | ".join("%s Ir/req" % s for s in servers)
             + " | sysgi / mod_wsgi | mod_sysgi.so own (core + front end) |",
             "|---|" + "---:|" * len(servers) + "---:|---:|"]
    for name in apps:
        row = [name]
        for s in servers:
            r = results.get(s, {}).get(name)
            row.append(fmt(r["ir_req"]) if r else "-")
        sy = results.get("sysgi", {}).get(name)
        mw = results.get("modwsgi", {}).get(name)
        row.append("%.2f" % (sy["ir_req"] / mw["ir_req"])
                   if sy and mw and mw["ir_req"] else "-")
        row.append("%s (%s + %s)" % (fmt(sy["module_req"]),
                                     fmt(sy["core_req"]), fmt(sy["front_req"]))
                   if sy else "-")
        lines.append("| " + " | ".join(row) + " |")
    for name, y in YIELDS.items():
        if name in apps:
            per = []
            for s in servers:
                r = results.get(s, {}).get(name)
                if r:
                    per.append("%s %s" % (s, fmt(r["ir_yield"])))
            lines += ["", "Per yield (%s / %d): %s Ir" % (name, y,
                                                            ", ".join(per))]
    mw = [s for s in servers if s == "modwsgi"]
    if mw:
        lines += ["", "mod_wsgi.so own Ir/req: " + ", ".join(
            "%s %s" % (n, fmt(results["modwsgi"][n]["module_req"]))
            for n in apps if n in results.get("modwsgi", {}))]
    return "\n".join(lines) + "\n"


def check(results, baseline_path):
    with open(baseline_path) as f:
        base = json.load(f)
    r = results["sysgi"]
    now = {"hello_module_per_request": r["hello"]["module_req"],
           "yields256_module_per_yield": r["yields256"]["module_yield"]}
    ok = True
    for key, value in now.items():
        ref = base[key]
        limit = ref * (1 + TOLERANCE)
        verdict = "ok"
        if value > limit:
            verdict, ok = "REGRESSION (> +%d%%)" % (TOLERANCE * 100), False
        elif value < ref * (1 - TOLERANCE):
            verdict = "ok, %.0f%% below the baseline: update it" % (
                100 * (1 - value / ref))
        print("icount check: %s = %.0f Ir (baseline %.0f, limit %.0f): %s"
              % (key, value, ref, limit, verdict))
    print("icount check (reported, not checked): hello %.0f Ir/req in all, "
          "yields256 %.0f Ir/yield in all"
          % (r["hello"]["ir_req"], r["yields256"]["ir_yield"]))
    return ok


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--servers", default="sysgi,modwsgi,static")
    p.add_argument("--apps", default=",".join(DEFAULT_APPS))
    p.add_argument("-n", "--requests", type=int, default=0,
                   help="requests per app (default: 300, 30 for the big "
                   "bodies)")
    p.add_argument("--module", default=None)
    p.add_argument("--check", metavar="BASELINE")
    p.add_argument("--write-baseline", metavar="BASELINE")
    p.add_argument("--json", metavar="FILE", help="write the raw results")
    p.add_argument("--keep", metavar="DIR", help="keep the callgrind dumps")
    a = p.parse_args(argv)
    servers = a.servers.split(",")
    apps = a.apps.split(",")
    if a.check or a.write_baseline:
        servers, apps = ["sysgi"], ["hello", "yields256"]
    for s in servers:
        if s not in ("sysgi", "modwsgi", "static"):
            p.error("unknown server %s" % s)
    for n in apps:
        if n not in bench.APPS or n == "flask":
            p.error("unknown app %s" % n)
    a.module = a.module or bench.default_module()
    a.module = a.module and os.path.abspath(a.module)
    if "sysgi" in servers and not a.module:
        p.error("mod_sysgi.so not found; give --module")
    big = {"block1m", "file-nosendfile", "file-sendfile", "post1m",
           "yields256"}
    counts = {n: a.requests or (30 if n in big else 300) for n in apps}
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
    work = tempfile.mkdtemp(prefix="sysgi-icount-")
    results = {}
    t0 = time.monotonic()
    try:
        bench.prepare_content(work)
        for s in servers:
            bench.log("icount: %s under callgrind (%s)" % (s, ", ".join(
                "%s x%d" % (n, counts[n]) for n in apps)))
            results[s] = count_server(s, apps, counts, work, a.module, a.keep)
    except bench.BenchError as e:
        print("icount: %s" % e, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    command = "/usr/bin/python3 bench/icount.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    print(report(results, apps, servers, command.strip()))
    bench.log("icount: %.0f s" % (time.monotonic() - t0))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
    if a.write_baseline:
        r = results["sysgi"]
        with open(a.write_baseline, "w") as f:
            json.dump({"hello_module_per_request":
                       round(r["hello"]["module_req"]),
                       "yields256_module_per_yield":
                       round(r["yields256"]["module_yield"], 1),
                       "hello_all_per_request": round(r["hello"]["ir_req"]),
                       "yields256_all_per_yield":
                       round(r["yields256"]["ir_yield"], 1),
                       "made_by": "bench/icount.py --write-baseline, "
                       "mod_sysgi built RelWithDebInfo by tools/test.sh",
                       "tolerance": TOLERANCE}, f, indent=1)
            f.write("\n")
    if a.check:
        return 0 if check(results, a.check) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
