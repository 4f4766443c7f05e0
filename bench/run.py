#!/usr/bin/python3
"""Benchmark mod_sysgi against Debian's mod_wsgi and Apache's static files.

One run on one machine: start one private Apache per server (identical
settings: mpm_worker, one child, 64 threads, keep-alive, EnableSendfile On),
check that every server answers every app with the same bytes, then measure
each (app, server) cell with wrk on loopback, alternating servers, and print
and save a table of requests/s, p50, p99, the ratios mod_sysgi / mod_wsgi and
mod_sysgi / static, whether each target is met, and the peak RSS (VmHWM) of
every Apache child. Absolute numbers mean little on a shared machine; the
ratios within one run are the result.

    /usr/bin/python3 bench/run.py                 # full run (~9 min)
    /usr/bin/python3 bench/run.py --quick         # CI smoke run (~15 s)
    /usr/bin/python3 bench/run.py --wine build-win/service/sysgi.exe

Exit status: 0 whatever the numbers; 1 when a server does not start or does
not answer correctly, 2 on bad options.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MODULES = "/usr/lib/apache2/modules"
MODWSGI_SO = os.path.join(MODULES, "mod_wsgi.so")
MIB = 1024 * 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Every app: its URL (the same on every server), the WSGI script, the static
# file Apache serves as the ceiling, and the request. `target` lists
# (denominator server, minimum ratio of sysgi's req/s to it).
APPS = {
    "hello": dict(url="/hello", script="hello.wsgi",
                  targets=[("modwsgi", 1.25), ("static", 0.8)]),
    "block1m": dict(url="/block1m", script="block1m.wsgi",
                    targets=[("static", 1.0)]),
    "yields256": dict(url="/yields256", script="yields256.wsgi",
                      targets=[("modwsgi", 3.0)]),
    "file-nosendfile": dict(url="/file-nosendfile", script="file10m.wsgi",
                            sendfile=False, targets=[]),
    "file-sendfile": dict(url="/file-sendfile", script="file10m.wsgi",
                          sendfile=True, targets=[("static", 0.95)]),
    "post1m": dict(url="/post1m", script="post1m.wsgi", post=MIB,
                   targets=[("modwsgi", 1.5)]),
    "flask": dict(url="/flask/json", script="flask_json.wsgi", mount="/flask",
                  targets=[("modwsgi", 1.0)]),
}
SERVERS = ("sysgi", "modwsgi", "static")
LABEL = {"sysgi": "mod_sysgi", "modwsgi": "mod_wsgi 4.9 (Debian)",
         "static": "Apache static", "wine": "sysgi.exe (Wine)"}


class BenchError(Exception):
    """A server failed to start or to answer: the run cannot be trusted."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the content every server serves ---------------------------------------

def prepare_content(work):
    """Copies the apps and writes the static twins of their responses."""
    apps = os.path.join(work, "apps")
    static = os.path.join(work, "static")
    shutil.copytree(os.path.join(HERE, "apps"), apps)
    os.makedirs(os.path.join(static, "flask"))

    def put(name, data):
        with open(os.path.join(static, name), "wb") as f:
            f.write(data)

    put("hello", b"Hello world!")
    block = bytes(range(256)) * 4096
    put("block1m", block)
    put("yields256", block)
    put("post1m", str(MIB).encode())
    put("file-sendfile", os.urandom(10 * MIB))
    os.link(os.path.join(static, "file-sendfile"),
            os.path.join(static, "file-nosendfile"))
    # The Flask view's exact bytes, from Flask itself.
    import runpy
    flask_app = runpy.run_path(os.path.join(apps, "flask_json.wsgi"))["app"]
    put(os.path.join("flask", "json"), flask_app.test_client().get("/json").data)
    for root, dirs, files in os.walk(work):
        for n in dirs:
            os.chmod(os.path.join(root, n), 0o755)
        for n in files:
            os.chmod(os.path.join(root, n), 0o644)
    os.chmod(work, 0o755)
    return {name: open(os.path.join(static, APPS[name]["url"].lstrip("/")),
                       "rb").read() for name in APPS}


# ---- Apache instances --------------------------------------------------------

COMMON_CONF = """\
ServerRoot "{dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{dir}/httpd.pid"
ErrorLog "{dir}/error.log"
LogLevel warn
Mutex file:{dir} default
{user}
LoadModule mpm_worker_module {modules}/mod_mpm_worker.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule mime_module {modules}/mod_mime.so
TypesConfig /etc/mime.types

# One child with 64 threads (like mpm_winnt), keep-alive on.
StartServers 1
ServerLimit 1
ThreadLimit 64
ThreadsPerChild 64
MaxRequestWorkers 64
MinSpareThreads 1
MaxSpareThreads 64
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 15
Timeout 60
EnableSendfile On
EnableMMAP On

DocumentRoot "{work}/static"
<Directory />
    Require all denied
    AllowOverride None
</Directory>
<Directory "{work}">
    Require all granted
</Directory>
"""


def wsgi_conf(work, app_group, sendfile_directive):
    """The WSGI directives, the same words for mod_sysgi and mod_wsgi."""
    lines = ["WSGIApplicationGroup %s" % app_group]
    for name, app in APPS.items():
        mount = app.get("mount", app["url"])
        lines.append('WSGIScriptAlias %s "%s/apps/%s"'
                     % (mount, work, app["script"]))
        if "sendfile" in app:
            lines += ["<Location %s>" % mount,
                      "    %s %s" % (sendfile_directive,
                                     "On" if app["sendfile"] else "Off"),
                      "</Location>"]
    return "\n".join(lines) + "\n"


def static_conf():
    # The ceiling for the sendfile-off cell is Apache without sendfile.
    return ("<Location /file-nosendfile>\n    EnableSendfile Off\n"
            "</Location>\n")


class Apache:
    def __init__(self, name, work, module=None, app_group="%{GLOBAL}",
                 extra=(), drop_user=True):
        self.name = name
        self.dir = os.path.join(work, "httpd-" + name)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        user = ""
        if os.geteuid() == 0 and drop_user:
            pw = pwd.getpwnam("www-data")
            user = "User www-data\nGroup #%d" % pw.pw_gid
        conf = COMMON_CONF.format(dir=self.dir, port=self.port, user=user,
                                  modules=MODULES, work=work)
        if name == "sysgi":
            conf += "LoadModule sysgi_module %s\n" % module
            conf += wsgi_conf(work, app_group, "WSGIEnableSendfile")
        elif name == "modwsgi":
            conf += "LoadModule wsgi_module %s\n" % MODWSGI_SO
            conf += wsgi_conf(work, app_group, "WSGIEnableSendfile")
        else:
            conf += static_conf()
        conf += "".join(line + "\n" for line in extra)
        self.conf = os.path.join(self.dir, "httpd.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = None

    def start(self):
        check = subprocess.run(["apache2", "-t", "-f", self.conf],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise BenchError("%s: bad configuration:\n%s"
                             % (self.name, check.stderr.strip()))
        self.proc = subprocess.Popen(
            ["apache2", "-f", self.conf, "-DFOREGROUND"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        wait_listening(self.port, self.proc, self.name, self.error_log)

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def child_pids(self):
        return children_of(self.proc.pid)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class WineServer:
    """sysgi.exe serve under Wine: the http.sys front end, no Python."""

    def __init__(self, exe, work, wine_args):
        self.name = "wine"
        self.exe = os.path.abspath(exe)
        self.port = free_port()
        self.dir = os.path.join(work, "wine")
        os.makedirs(self.dir)
        # A private prefix, booted once and reused between runs.
        self.prefix = os.environ.get("WINEPREFIX") or os.path.join(
            tempfile.gettempdir(), "sysgi-bench-wineprefix")
        # Wine sees the Unix root as drive Z:.
        app = "Z:" + os.path.join(work, "apps", "hello.wsgi").replace("/", "\\")
        self.args = [x.format(app=app, port=self.port)
                     for x in wine_args.split()]
        self.proc = None

    def start(self):
        env = dict(os.environ, WINEPREFIX=self.prefix, WINEDEBUG="-all",
                   WINEDLLOVERRIDES="mscoree,mshtml=")
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        self.env = env
        marker = os.path.join(self.prefix, ".sysgi-bench-booted")
        if not os.path.exists(marker):
            log("wine: creating prefix %s (~10-60 s)" % self.prefix)
            subprocess.run(["wineboot", "-i"], env=env, timeout=300,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # Until the boot's wineserver has saved the registry, the
            # service database is locked and HttpInitialize fails (1055).
            try:
                subprocess.run(["wineserver", "-w"], env=env, timeout=120)
            except subprocess.TimeoutExpired:
                subprocess.run(["wineserver", "-k"], env=env, timeout=60)
            open(marker, "w").close()
        self.logf = open(os.path.join(self.dir, "serve.log"), "w")
        self.proc = subprocess.Popen(["wine", self.exe] + self.args, env=env,
                                     stdout=self.logf, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_listening(self.port, self.proc, "wine", self.error_log,
                       timeout=120)

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "serve.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def child_pids(self):
        return []

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc:
            subprocess.run(["wineserver", "-k"], env=self.env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_listening(port, proc, name, error_log, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError("%s exited with %s before listening:\n%s"
                             % (name, proc.returncode, error_log()))
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise BenchError("%s is not listening on %d after %d s:\n%s"
                     % (name, port, timeout, error_log()))


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # The command may contain spaces and parentheses: parse after ')'.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(entry))
    return kids


def memory_kib(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


# ---- checking and measuring ------------------------------------------------

def fetch(port, app):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        if "post" in app:
            conn.request("POST", app["url"], body=b"x" * app["post"],
                         headers={"Content-Type": "application/octet-stream"})
        else:
            conn.request("GET", app["url"])
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def check_server(server, expected):
    """Every app must answer 200 with exactly the static file's bytes."""
    for name, app in APPS.items():
        if name not in expected:
            continue
        try:
            status, body = fetch(server.port, app)
        except (OSError, http.client.HTTPException) as e:
            raise BenchError("%s %s: no answer: %s\n%s"
                             % (server.name, app["url"], e, server.error_log()))
        if status != 200 or body != expected[name]:
            raise BenchError("%s %s: status %d, %d bytes (expected 200, %d "
                             "bytes): %r\n%s"
                             % (server.name, app["url"], status, len(body),
                                len(expected[name]), body[:200],
                                server.error_log()))


LUA = """\
-- Generated by bench/run.py: request set-up and a machine-readable summary.
local post = %d
if post > 0 then
  wrk.method = "POST"
  wrk.body = string.rep("x", post)
  wrk.headers["Content-Type"] = "application/octet-stream"
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("SYSGI-BENCH %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d\\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99),
    latency.min, latency.max))
end
"""


def wrk(port, app, seconds, work, threads, connections):
    script = os.path.join(work, "wrk-%d.lua" % app.get("post", 0))
    if not os.path.exists(script):
        with open(script, "w") as f:
            f.write(LUA % app.get("post", 0))
    cmd = ["wrk", "-t%d" % threads, "-c%d" % connections,
           "-d%ds" % seconds, "--timeout", "30s", "--latency", "-s", script,
           "http://127.0.0.1:%d%s" % (port, app["url"])]
    out = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=seconds + 120)
    m = re.search(r"^SYSGI-BENCH (.*)$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise BenchError("wrk failed (%d): %s %s"
                         % (out.returncode, out.stdout, out.stderr))
    (requests, duration_us, nbytes, sock_errors, status_errors, timeouts,
     p50, p99, lmin, lmax) = map(int, m.group(1).split())
    return {
        "requests": requests,
        "rps": requests / (duration_us / 1e6) if duration_us else 0.0,
        "mib_s": nbytes / MIB / (duration_us / 1e6) if duration_us else 0.0,
        "p50_ms": p50 / 1000.0,
        "p99_ms": p99 / 1000.0,
        "socket_errors": sock_errors,
        "non_2xx": status_errors,
        "timeouts": timeouts,
    }


def cpu_ticks(pids):
    """utime + stime of processes (all their threads), in clock ticks."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def summarize(runs):
    rps = [r["rps"] for r in runs]
    return {
        "rps": sum(rps) / len(rps),
        "rps_runs": rps,
        "p50_ms": sorted(r["p50_ms"] for r in runs)[len(runs) // 2],
        "p99_ms": max(r["p99_ms"] for r in runs),
        "errors": sum(r["socket_errors"] + r["non_2xx"] + r["timeouts"]
                      for r in runs),
        "non_2xx": sum(r["non_2xx"] for r in runs),
        "cpu_us_per_req": (sum(r.get("cpu_us_per_req", 0) for r in runs)
                           / len(runs)),
        "runs": runs,
    }


# ---- the report ------------------------------------------------------------

def ratio(cells, app, a, b):
    try:
        return cells[app][a]["rps"] / cells[app][b]["rps"]
    except (KeyError, ZeroDivisionError):
        return None


def fmt_ratio(r):
    return "n/a" if r is None else "%.2f" % r


def build_report(result):
    cells, servers = result["cells"], result["servers"]
    lines = ["# sysgi benchmark, %s" % result["started"], "",
             "Command: `%s`  " % result["command"],
             "Machine: %s, %d CPUs, load average at start %s (shared with "
             "other jobs: compare ratios, not absolute numbers).  "
             % (result["machine"], result["cpus"], result["loadavg"]),
             "wrk: %d threads, %d connections, %d s per run after %d s "
             "warm-up, %d run(s) per cell, servers alternating.  "
             % (result["wrk_threads"], result["connections"],
                result["duration"], result["warmup"], result["repeat"]),
             "Apache %s, mpm_worker, 1 child x 64 threads, KeepAlive On, "
             "EnableSendfile On; WSGIApplicationGroup %s.  "
             % (result["apache"], result["app_group"]),
             "req/s is the mean of the runs (± half their range); the "
             "ratios compare those means.", ""]
    # req/s: mean of the runs, ± half their range.
    head = ["app"] + ["%s req/s" % LABEL[s] for s in servers]
    if "sysgi" in servers and "modwsgi" in servers:
        head.append("sysgi/mod_wsgi")
    if "sysgi" in servers and "static" in servers:
        head.append("sysgi/static")
    head += ["target", "met"]
    lines += ["| " + " | ".join(head) + " |",
              "|" + "---|" * len(head)]
    verdicts = []
    for app in result["apps"]:
        row = [app]
        for s in servers:
            c = cells[app].get(s)
            if not c:
                row.append("-")
                continue
            flag = " (%d errors)" % c["errors"] if c["errors"] else ""
            runs = c["rps_runs"]
            spread = ""
            if len(runs) > 1 and c["rps"]:
                spread = " ±%.0f%%" % ((max(runs) - min(runs)) / 2.0
                                       / c["rps"] * 100)
            row.append("%.0f%s%s" % (c["rps"], spread, flag))
        if "sysgi/mod_wsgi" in head:
            row.append(fmt_ratio(ratio(cells, app, "sysgi", "modwsgi")))
        if "sysgi/static" in head:
            row.append(fmt_ratio(ratio(cells, app, "sysgi", "static")))
        targets, mets = [], []
        for other, minimum in APPS[app]["targets"]:
            r = ratio(cells, app, "sysgi", other)
            targets.append(">= %g x %s" % (minimum,
                                              "mod_wsgi" if other == "modwsgi"
                                              else other))
            met = None if r is None else r >= minimum
            mets.append("n/a" if met is None else ("met" if met else
                                                   "NOT met"))
            verdicts.append({"app": app, "vs": other, "minimum": minimum,
                             "ratio": r, "met": met})
        row += ["; ".join(targets) or "-", "; ".join(mets) or "-"]
        lines.append("| " + " | ".join(row) + " |")

    lines += ["", "Latency p50 / p99 in ms (p50: median of runs, p99: worst "
              "run):", ""]
    head = ["app"] + [LABEL[s] for s in servers]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for app in result["apps"]:
        row = [app]
        for s in servers:
            c = cells[app].get(s)
            row.append("%.2f / %.2f" % (c["p50_ms"], c["p99_ms"]) if c
                       else "-")
        lines.append("| " + " | ".join(row) + " |")

    if any("cpu_us_per_req" in c for app in result["apps"]
           for c in cells[app].values()):
        lines += ["", "Server CPU time per request (user + system of the "
                  "Apache processes, in µs; less sensitive to the machine's "
                  "other load than req/s):", ""]
        head = ["app"] + [LABEL[s] for s in servers]
        if "sysgi" in servers and "modwsgi" in servers:
            head.append("sysgi/mod_wsgi")
        if "sysgi" in servers and "static" in servers:
            head.append("sysgi/static")
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for app in result["apps"]:
            row = [app]
            cpu = {s: (cells[app].get(s) or {}).get("cpu_us_per_req")
                   for s in servers}
            row += ["%.0f" % cpu[s] if cpu[s] else "-" for s in servers]
            for other in ("modwsgi", "static"):
                if "sysgi" in servers and other in servers:
                    row.append("%.2f" % (cpu["sysgi"] / cpu[other])
                               if cpu["sysgi"] and cpu[other] else "n/a")
            lines.append("| " + " | ".join(row) + " |")
        if "yields256" in result["apps"]:
            per = ["%s %.2f µs" % (LABEL[s], c["cpu_us_per_req"] / 256.0)
                   for s in servers
                   for c in [cells["yields256"].get(s) or {}]
                   if c.get("cpu_us_per_req")]
            if per:
                lines += ["", "CPU time per yield (yields256 / 256): " +
                          ", ".join(per) + "."]

    lines += ["", "Peak RSS of the Apache child after the run (VmHWM):", "",
              "| server | VmHWM | VmRSS at end |", "|---|---|---|"]
    rss = result["rss"]
    for s in servers:
        m = rss.get(s) or {}
        if "VmHWM" in m:
            lines.append("| %s | %.1f MiB | %.1f MiB |"
                         % (LABEL[s], m["VmHWM"] / 1024.0,
                            m.get("VmRSS", 0) / 1024.0))
    if "sysgi" in rss and "modwsgi" in rss and "VmHWM" in rss["sysgi"] \
            and "VmHWM" in rss["modwsgi"]:
        met = rss["sysgi"]["VmHWM"] <= rss["modwsgi"]["VmHWM"]
        verdicts.append({"app": "rss", "vs": "modwsgi", "minimum": None,
                         "ratio": rss["sysgi"]["VmHWM"]
                         / float(rss["modwsgi"]["VmHWM"]), "met": met})
        lines.append("")
        lines.append("Target RSS(mod_sysgi) <= RSS(mod_wsgi): %s (%.2f x)."
                     % ("met" if met else "NOT met", verdicts[-1]["ratio"]))

    if result.get("wine"):
        w = result["wine"]
        lines += ["", "## sysgi.exe under Wine (http.sys front end), "
                  "reported apart", "",
                  "Regression check only: Wine has no CPython, so every "
                  "request takes the 'Python unavailable' path and answers "
                  "**503**. This measures the http.sys receive/send loop, "
                  "not a WSGI app.", "",
                  "| app | req/s | p50 ms | p99 ms | responses |",
                  "|---|---|---|---|---|",
                  "| hello (503 path) | %.0f | %.2f | %.2f | %d non-2xx, "
                  "%d socket errors |"
                  % (w["rps"], w["p50_ms"], w["p99_ms"], w["non_2xx"],
                     w["errors"] - w["non_2xx"])]
    met = [v for v in verdicts if v["met"] is not None]
    if met:
        lines += ["", "Targets met: %d of %d." % (sum(v["met"] for v in met),
                                                   len(met))]
    if result.get("notes"):
        lines += [""] + ["Note: " + n for n in result["notes"]]
    result["verdicts"] = verdicts
    return "\n".join(lines) + "\n"


# ---- main ------------------------------------------------------------------

def default_module():
    found = glob.glob(os.path.join(REPO, "build*", "apache-win",
                                   "mod_sysgi.so"))
    return max(found, key=os.path.getmtime) if found else None


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=int, default=10,
                   help="seconds of each measured run (default 10)")
    p.add_argument("--warmup", type=int, default=2,
                   help="seconds of warm-up before each run (default 2)")
    p.add_argument("--repeat", type=int, default=2,
                   help="runs per cell (default 2)")
    p.add_argument("--apps", default=",".join(APPS),
                   help="comma-separated, of: " + ",".join(APPS))
    p.add_argument("--servers", default=None,
                   help="comma-separated, of: sysgi,modwsgi,static "
                   "(default: all; sysgi only if its module is found)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: hello only, 2 s, one run, no targets "
                   "enforced (exit 0 whatever the numbers)")
    p.add_argument("--module", default=None,
                   help="path of mod_sysgi.so (default: newest "
                   "build*/apache-win/mod_sysgi.so)")
    p.add_argument("--out", default=os.path.join(HERE, "results"),
                   help="directory for the dated .md and .json results")
    p.add_argument("--app-group", default="%{GLOBAL}",
                   help="WSGIApplicationGroup for both WSGI servers")
    p.add_argument("--sysgi-directive", action="append", default=[],
                   help="extra config line for the mod_sysgi server only")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--connections", type=int, default=32,
                   help="wrk connections")
    p.add_argument("--wine", metavar="EXE", default=None,
                   help="also benchmark `EXE serve` under Wine (503 path)")
    p.add_argument("--wine-args",
                   default="serve {app} --port {port} --threads 64",
                   help="arguments of EXE; {app} and {port} are replaced")
    p.add_argument("--keep", action="store_true",
                   help="keep the work directory (configs, logs)")
    p.add_argument("--note", action="append", default=[],
                   help="a line added to the results")
    a = p.parse_args(argv)
    if a.quick:
        a.duration, a.warmup, a.repeat = 2, 1, 1
        if a.apps == ",".join(APPS):
            a.apps = "hello"
    a.apps = [x for x in a.apps.split(",") if x]
    bad = [x for x in a.apps if x not in APPS]
    if bad:
        p.error("unknown app(s): %s" % ", ".join(bad))
    a.module = a.module or default_module()
    if a.module:
        a.module = os.path.abspath(a.module)
    if a.servers is None:
        a.servers = [s for s in SERVERS if s != "sysgi" or a.module]
        if not a.module:
            log("note: no mod_sysgi.so found, benchmarking without it "
                "(give --module PATH)")
    else:
        a.servers = [x for x in a.servers.split(",") if x]
        bad = [x for x in a.servers if x not in SERVERS]
        if bad:
            p.error("unknown server(s): %s" % ", ".join(bad))
    if "sysgi" in a.servers and not (a.module and os.path.exists(a.module)):
        p.error("mod_sysgi.so not found: %s" % a.module)
    if a.wine and not os.path.exists(a.wine):
        p.error("--wine: %s does not exist" % a.wine)
    if min(a.duration, a.repeat) < 1 or a.warmup < 0:
        p.error("--duration and --repeat must be >= 1, --warmup >= 0")
    return a


def run_wine(a, work, servers):
    w = WineServer(a.wine, work, a.wine_args)
    servers.append(w)
    log("starting sysgi.exe under Wine on port %d" % w.port)
    w.start()
    try:
        status, body = fetch(w.port, APPS["hello"])
    except (OSError, http.client.HTTPException) as e:
        raise BenchError("sysgi.exe does not answer: %s\n%s"
                         % (e, w.error_log()))
    log("wine: hello answers %d (%d bytes)" % (status, len(body)))
    runs = []
    for rep in range(a.repeat):
        if a.warmup:
            wrk(w.port, APPS["hello"], a.warmup, work, a.threads,
                a.connections)
        r = wrk(w.port, APPS["hello"], a.duration, work, a.threads,
                a.connections)
        log("wine hello (status %d) run %d: %8.0f req/s  p50 %.2f ms  "
            "p99 %.2f ms" % (status, rep + 1, r["rps"], r["p50_ms"],
                             r["p99_ms"]))
        runs.append(r)
    w.stop()
    return dict(summarize(runs), status=status)


def run(a):
    started = datetime.datetime.now()
    result = {
        "started": started.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join(["bench/run.py"] + sys.argv[1:]),
        "machine": "%s %s" % (platform.node(), platform.machine()),
        "cpus": os.cpu_count(),
        "loadavg": " ".join("%.2f" % x for x in os.getloadavg()),
        "apache": subprocess.run(["apache2", "-v"], capture_output=True,
                                 text=True).stdout.split("\n")[0]
                  .split("/")[-1].split()[0],
        "duration": a.duration, "warmup": a.warmup, "repeat": a.repeat,
        "wrk_threads": a.threads, "connections": a.connections,
        "app_group": a.app_group, "apps": a.apps, "servers": a.servers,
        "module": a.module if "sysgi" in a.servers else None,
        "quick": a.quick, "notes": list(a.note), "cells": {}, "rss": {},
    }
    work = tempfile.mkdtemp(prefix="sysgi-bench-")
    servers = []
    try:
        expected = prepare_content(work)
        expected = {k: v for k, v in expected.items() if k in a.apps}
        for name in a.servers:
            s = Apache(name, work, a.module, a.app_group,
                       a.sysgi_directive if name == "sysgi" else ())
            servers.append(s)
            log("starting %s on port %d" % (LABEL[name], s.port))
            s.start()
            check_server(s, expected)
            s.first_children = s.child_pids()
        for app_name in a.apps:
            app = APPS[app_name]
            runs = {s.name: [] for s in servers}
            for rep in range(a.repeat):
                order = servers if rep % 2 == 0 else servers[::-1]
                for s in order:
                    if a.warmup:
                        wrk(s.port, app, a.warmup, work, a.threads,
                            a.connections)
                    # CPU time of the whole server (parent + child):
                    # unlike req/s, barely moved by other load.
                    pids = [s.proc.pid] + s.child_pids()
                    t0 = cpu_ticks(pids)
                    r = wrk(s.port, app, a.duration, work, a.threads,
                            a.connections)
                    ticks = cpu_ticks(pids) - t0
                    r["cpu_us_per_req"] = (ticks * 1e6 / CLK_TCK
                                           / r["requests"]
                                           if r["requests"] else 0.0)
                    runs[s.name].append(r)
                    log("%-16s %-22s run %d: %8.0f req/s  p50 %.2f ms  "
                        "p99 %.2f ms%s"
                        % (app_name, LABEL[s.name], rep + 1, r["rps"],
                           r["p50_ms"], r["p99_ms"],
                           "  (%d non-2xx, %d socket errors, %d timeouts)"
                           % (r["non_2xx"], r["socket_errors"], r["timeouts"])
                           if r["non_2xx"] + r["socket_errors"] + r["timeouts"]
                           else ""))
            result["cells"][app_name] = {n: summarize(r)
                                         for n, r in runs.items()}
        for s in servers:
            # Still answering correctly after the load?
            check_server(s, expected)
            kids = s.child_pids()
            if kids:
                result["rss"][s.name] = dict(memory_kib(kids[0]),
                                             pid=kids[0])
            if kids != s.first_children:
                result["notes"].append(
                    "%s: Apache child changed during the run (%s -> %s): a "
                    "crash or a restart; see its error log."
                    % (LABEL[s.name], s.first_children, kids))
        if a.wine:
            try:
                result["wine"] = run_wine(a, work, servers)
            except (BenchError, OSError, subprocess.SubprocessError) as e:
                # Reported apart: a broken Wine run must not lose the
                # Apache results.
                result["notes"].append("sysgi.exe under Wine failed: %s"
                                       % str(e).strip()[:2000])
                log("wine: FAILED: %s" % e)
    finally:
        for s in servers:
            s.stop()
        if a.keep:
            log("work directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)

    report = build_report(result)
    print(report)
    os.makedirs(a.out, exist_ok=True)
    stem = os.path.join(a.out, started.strftime("%Y-%m-%d-%H%M%S")
                        + ("-quick" if a.quick else ""))
    with open(stem + ".md", "w") as f:
        f.write(report)
    with open(stem + ".json", "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    log("results: %s.md, %s.json" % (stem, stem))


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run(a)
    except BenchError as e:
        log("bench: FAILED: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
