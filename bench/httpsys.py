#!/usr/bin/python3
"""The http.sys path: sysgi.exe serve vs the C echo server vs waitress.

All three run under Wine on the project's test httpapi.dll (the HTTP Server
API over Winsock, tests/wine/httpapi; the one the end-to-end suite loads
with WINEDLLOVERRIDES=httpapi=n), so the HTTP stack is the same and able to
show what sysgi adds:

- **echo**: tests/wine/echo_server.exe, the real http.sys front end of
  sysgi (httpsys/) with a C test core instead of Python (tests/wine/
  echo_core.c): the ceiling for sysgi.exe on this stack;
- **sysgi**: sysgi.exe serve with the real Windows CPython 3.11
  (../shared/winpy) running bench/apps through one router script;
- **waitress**: Debian's python3-waitress (pure Python) run by the same
  Windows CPython, its package copied for the run into a private
  site-packages dir (never committed); what a Windows user would otherwise
  get. Left out (with a note) when python3-waitress is not installed.

For each app, wrk (2 threads, --connections) loads every server in turn for
--duration seconds after a warm-up, the servers alternating --rounds times
(each cell is the median run: one run alone moves by 2x under Wine), and
the ratios of the medians sysgi / echo and sysgi /
waitress are printed and written to results/httpsys-<date>.md and .json.
The echo server's answers are its own (JSON of the CGI variables, a pattern
stream, a temporary file, a hashed body), of about the same sizes:

| app | sysgi / waitress | echo |
|---|---|---|
| hello | bench/apps/hello.wsgi | GET / (about 1 KB of JSON) |
| yields256 | 256 x 4 KiB yields | /stream?chunks=256&size=4096 |
| file | 10 MiB wsgi.file_wrapper, --enable-sendfile | /file?size=10485760&keep=1 (made once) |
| post1m | 1 MiB POST | POST / (the body read and hashed) |

    /usr/bin/python3 bench/httpsys.py --win-build build-win
    /usr/bin/python3 bench/httpsys.py --apps hello --duration 5

Target (issue 15): hello >= 0.9 x echo. Wine's own overhead is in every
figure; the machine's load too (say so when quoting them).
Exit status: 0 whatever the numbers, 1 when a server does not start, 2 on
bad options.
"""
import argparse
import datetime
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402

ECHO_URLS = {"hello": "/", "yields256": "/stream?chunks=256&size=4096",
             "file": "/file?size=10485760&keep=1", "post1m": "/"}
WSGI_URLS = {"hello": "/hello", "yields256": "/yields256",
             "file": "/file-sendfile", "post1m": "/post1m"}
POSTS = {"post1m": bench.MIB}
OVERRIDES = "mscoree,mshtml=;winedbg.exe=d;httpapi=n"

ROUTER = '''\
import os, runpy
APPS = %r
_apps = {}
for path, script in APPS.items():
    _apps[path] = runpy.run_path(script)["application"]

def application(environ, start_response):
    app = _apps.get(environ.get("PATH_INFO", ""))
    if app is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such app"]
    return app(environ, start_response)
'''

WAITRESS = '''\
import runpy, sys
app = runpy.run_path(sys.argv[1])["application"]
import waitress
print("waitress: serving", flush=True)
waitress.serve(app, host="127.0.0.1", port=int(sys.argv[2]), threads=16,
               _quiet=True)
'''


def winpath(p):
    return "Z:" + os.path.abspath(p).replace("/", "\\")


class WineProc:
    """A program under Wine, stdout and stderr on pipes (WINE.md: a
    program that starts Python must not write to regular files), drained
    by threads into a log kept in memory."""

    def __init__(self, name, argv, env, port):
        self.name, self.port, self.lines = name, port, []
        self.proc = subprocess.Popen(["wine"] + argv, env=env,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     start_new_session=True)
        for pipe in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._drain, args=(pipe,),
                             daemon=True).start()

    def _drain(self, pipe):
        for line in iter(pipe.readline, b""):
            self.lines.append(line.decode("utf-8", "replace").rstrip())

    def error_log(self):
        return "\n".join(self.lines[-40:])

    def wait(self):
        bench.wait_listening(self.port, self.proc, self.name, self.error_log,
                             timeout=180)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


def stand_in(exe, dll, work, name):
    """A directory with `exe`, its DLLs and our httpapi.dll beside it."""
    d = os.path.join(work, "ours-" + name)
    if os.path.isdir(d):  # a later round: as made by the first
        return os.path.join(d, os.path.basename(exe)), stand_in_env(d)
    os.makedirs(d)
    shutil.copy2(exe, d)
    src = os.path.dirname(os.path.abspath(exe))
    for n in os.listdir(src):
        if n.lower().endswith(".dll") and n.lower() != "httpapi.dll":
            shutil.copy2(os.path.join(src, n), d)
    shutil.copy2(dll, os.path.join(d, "httpapi.dll"))
    return os.path.join(d, os.path.basename(exe)), stand_in_env(d)


def stand_in_env(d):
    return {
        "WINEDLLOVERRIDES": OVERRIDES,
        "SYSGI_HTTPAPI_LOG": winpath(os.path.join(d, "httpapi.log")),
        "SYSGI_HTTPAPI_URLACL": winpath(os.path.join(d, "urlacl.txt")),
        # The DLL delays every completion by up to 3 ms to shake out races
        # in the tests; a benchmark wants it as fast as it goes.
        "SYSGI_HTTPAPI_MAX_DELAY_US": "0"}


def wine_env(prefix):
    env = dict(os.environ, WINEPREFIX=prefix, WINEDEBUG="-all",
               WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d")
    for k in ("DISPLAY", "WAYLAND_DISPLAY", "PYTHONHOME", "PYTHONPATH",
              "PYTHONMALLOC", "PYTHONSTARTUP"):
        env.pop(k, None)
    return env


def boot_prefix(env):
    marker = os.path.join(env["WINEPREFIX"], ".sysgi-bench-booted")
    if os.path.exists(marker):
        return
    bench.log("wine: creating prefix %s" % env["WINEPREFIX"])
    subprocess.run(["wineboot", "-i"], env=env, timeout=300,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        subprocess.run(["wineserver", "-w"], env=env, timeout=120)
    except subprocess.TimeoutExpired:
        pass
    open(marker, "w").close()


def load(port, url, post, a, work):
    app = {"url": url}
    if post:
        app["post"] = post
    if a.warmup:
        bench.wrk(port, app, a.warmup, work, 2, a.connections)
    return bench.wrk(port, app, a.duration, work, 2, a.connections)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--win-build", default=os.path.join(bench.REPO,
                                                       "build-win"))
    p.add_argument("--winpy", default=os.environ.get("SYSGI_WINPY") or
                   os.path.join(bench.REPO, ".deps", "winpy",
                                "cpython-3.11-win-amd64"))
    p.add_argument("--apps", default="hello,yields256,file,post1m")
    p.add_argument("--servers", default="echo,sysgi,waitress")
    p.add_argument("--duration", type=int, default=8)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--rounds", type=int, default=3,
                   help="servers alternate this many times; the table "
                   "gives each cell's median (Wine's figures move by 2x "
                   "from one run to the next)")
    p.add_argument("--out", default=os.path.join(bench.HERE, "results"))
    a = p.parse_args(argv)
    cli = " ".join(argv if argv is not None else sys.argv[1:])
    apps, servers = a.apps.split(","), a.servers.split(",")
    wb = os.path.abspath(a.win_build)
    exes = {"echo": os.path.join(wb, "tests", "wine", "echo_server.exe"),
            "sysgi": os.path.join(wb, "service", "sysgi.exe")}
    dll = os.environ.get("SYSGI_TEST_HTTPAPI") or os.path.join(
        wb, "tests", "wine", "httpapi", "httpapi.dll")
    for f in [dll] + [exes[s] for s in servers if s in exes]:
        if not os.path.isfile(f):
            p.error("%s not found (build the Windows tree: --win-build)" % f)
    pyexe = os.path.join(a.winpy, "python.exe")
    if ("sysgi" in servers or "waitress" in servers) and \
            not os.path.isfile(pyexe):
        p.error("no Windows CPython at %s (--winpy)" % a.winpy)
    waitress_src = "/usr/lib/python3/dist-packages/waitress"
    notes = []
    if "waitress" in servers and not os.path.isdir(waitress_src):
        servers.remove("waitress")
        notes.append("waitress: left out, python3-waitress is not installed")

    work = tempfile.mkdtemp(prefix="sysgi-httpsys-")
    env = wine_env(os.path.join(tempfile.gettempdir(),
                                "sysgi-bench-httpsys-prefix"))
    runs = {s: {n: [] for n in apps} for s in servers}
    started = datetime.datetime.now()
    try:
        bench.prepare_content(work)
        boot_prefix(env)
        router = os.path.join(work, "router.wsgi")
        with open(router, "w") as f:
            f.write(ROUTER % {WSGI_URLS[n]: winpath(os.path.join(
                work, "apps", bench.APPS[{"file": "file-sendfile"}.get(n, n)]
                ["script"])) for n in apps})
        for s in [s for _ in range(max(a.rounds, 1)) for s in servers]:
            port = bench.free_port()
            e = dict(env)
            if s == "echo":
                exe, extra = stand_in(exes["echo"], dll, work, s)
                argv = [exe, "http://127.0.0.1:%d/" % port, "16"]
                extra["ECHO_SENDFILE"] = "1"  # /file: a file-handle chunk
            elif s == "sysgi":
                exe, extra = stand_in(exes["sysgi"], dll, work, s)
                argv = [exe, "serve", winpath(router), "--port", str(port),
                        "--python-home", winpath(a.winpy),
                        # As the echo server: its file chunk, its 16
                        # threads (a 10 MiB send holds its thread).
                        "--enable-sendfile", "--threads", "16"]
            else:
                site = os.path.join(work, "site")
                shutil.copytree(waitress_src, os.path.join(site, "waitress"),
                                ignore=shutil.ignore_patterns("__pycache__",
                                                              "tests"),
                                dirs_exist_ok=True)
                script = os.path.join(work, "waitress_main.py")
                with open(script, "w") as f:
                    f.write(WAITRESS)
                extra = {"PYTHONPATH": winpath(site)}
                argv = [pyexe, winpath(script), winpath(router), str(port)]
            e.update(extra)
            bench.log("httpsys: starting %s on port %d" % (s, port))
            w = WineProc(s, argv, e, port)
            try:
                w.wait()
                for n in apps:
                    url = ECHO_URLS[n] if s == "echo" else WSGI_URLS[n]
                    try:  # one failing cell does not end the run
                        status, body = bench.fetch(port, dict(
                            url=url, **({"post": POSTS[n]} if n in POSTS
                                        else {})))
                        if status != 200:
                            raise bench.BenchError("status %d: %r" % (
                                status, body[:200]))
                        r = load(port, url, POSTS.get(n), a, work)
                    except (OSError, http.client.HTTPException,
                            bench.BenchError) as err:
                        notes.append("%s %s: failed: %s" % (s, url, str(err)
                                                            .split("\n")[0]))
                        bench.log("httpsys: " + notes[-1])
                        continue
                    runs[s][n].append(r)
                    bench.log("httpsys: %-8s %-9s %8.0f req/s  p50 %.2f ms  "
                              "%d errors" % (s, n, r["rps"], r["p50_ms"],
                                             r["socket_errors"] +
                                             r["non_2xx"] + r["timeouts"]))
            finally:
                w.stop()
                subprocess.run(["wineserver", "-k"], env=e,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    except bench.BenchError as err:
        print("httpsys: %s" % err, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # Each cell: the run of median req/s (the lower middle one of an even
    # count), with every run's figure kept beside it.
    results = {s: {} for s in servers}
    for s in servers:
        for n in apps:
            rs = sorted(runs[s][n], key=lambda r: r["rps"])
            if rs:
                results[s][n] = dict(rs[(len(rs) - 1) // 2],
                                     rps_runs=[r["rps"] for r in runs[s][n]])

    def cell(s, n):
        if n not in results[s]:
            return "-"
        all_ = results[s][n]["rps_runs"]
        if len(all_) == 1:
            return "%.0f" % all_[0]
        return "%.0f (%.0f-%.0f)" % (results[s][n]["rps"], min(all_),
                                      max(all_))

    def rt(n, b):
        try:
            return "%.2f" % (results["sysgi"][n]["rps"] /
                             results[b][n]["rps"])
        except (KeyError, ZeroDivisionError):
            return "-"

    try:
        load_avg = "%.1f %.1f %.1f" % os.getloadavg()
    except OSError:
        load_avg = "?"
    lines = ["# http.sys path under Wine, test httpapi.dll (%s)" %
             started.strftime("%Y-%m-%d %H:%M"), "",
             "Load average at the end: %s (%d cores). wrk -t2 -c%d, %d s "
             "after %d s of warm-up; %d round(s), servers alternating: "
             "median req/s (lowest-highest)." % (
                 load_avg, os.cpu_count() or 0, a.connections, a.duration,
                 a.warmup, a.rounds), "",
             ("    /usr/bin/python3 bench/httpsys.py " + cli).rstrip(), "",
             "| app | " + " | ".join("%s req/s" % s for s in servers) +
             " | sysgi / echo | sysgi / waitress |",
             "|---|" + "---:|" * (len(servers) + 2)]
    for n in apps:
        lines.append("| %s | %s | %s | %s |" % (
            n, " | ".join(cell(s, n) for s in servers),
            rt(n, "echo"), rt(n, "waitress")))
    lines += [""] + notes + ["Target: hello sysgi / echo >= 0.9."]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(a.out, exist_ok=True)
    stem = os.path.join(a.out, "httpsys-" + started.strftime("%Y-%m-%d-%H%M%S"))
    with open(stem + ".md", "w") as f:
        f.write(text)
    with open(stem + ".json", "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
