"""Shared fixtures of the Wine tests.

A private, headless Wine prefix lives in the build directory
(<build>/wineprefix), is created once per build by `wineboot -i` and reused;
the wineserver of that prefix is killed when the test session ends.
CTest passes the paths through the environment (see CMakeLists.txt).
"""
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

BUILD = os.environ.get("SYSGI_WIN_BUILD", "")
START_TIMEOUT = 120  # seconds; Wine starts slowly on a loaded machine


def wine_env():
    env = dict(os.environ)
    env["WINEPREFIX"] = os.path.join(BUILD, "wineprefix")
    env["WINEDLLOVERRIDES"] = "mscoree,mshtml="
    env["WINEDEBUG"] = os.environ.get("SYSGI_WINEDEBUG", "-all")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


@pytest.fixture(scope="session")
def wine():
    if not BUILD:
        pytest.fail("SYSGI_WIN_BUILD is not set: run these tests through ctest")
    env = wine_env()
    marker = os.path.join(env["WINEPREFIX"], ".sysgi-booted")
    if not os.path.exists(marker):
        subprocess.run(["wineboot", "-i"], env=env, check=True, timeout=300,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Let the boot's wineserver finish (it saves the registry): right
        # after `wineboot -i` the service database is still locked and
        # HttpInitialize fails with ERROR_SERVICE_DATABASE_LOCKED.
        try:
            subprocess.run(["wineserver", "-w"], env=env, timeout=120)
        except subprocess.TimeoutExpired:
            subprocess.run(["wineserver", "-k"], env=env, timeout=60)
        open(marker, "w").close()
    yield env
    subprocess.run(["wineserver", "-k"], env=env, timeout=60)


def service_prefix(name, trace, overrides="mscoree,mshtml="):
    """A fresh Wine prefix BUILD/wineprefix-NAME whose services (the SCM,
    the Event Log) stay up for the module: wineserver -p keeps them alive
    between commands (WINE.md). services.exe is started with WINEDEBUG
    `trace`, and its output is kept in BUILD/wineprefix-NAME-services.log,
    which is how tests read the Event Log (ReportEventW only traces).
    Returns (env, root, log); end it with end_prefix(env)."""
    env = wine_env()
    env["WINEDLLOVERRIDES"] = overrides
    root = os.path.join(BUILD, "wineprefix-" + name)
    env["WINEPREFIX"] = root
    if os.path.exists(root):
        subprocess.run(["wineserver", "-k"], env=env, timeout=60)
        shutil.rmtree(root)
    subprocess.run(["wineboot", "-i"], env=env, check=True, timeout=300,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["wineserver", "-w"], env=env, timeout=120)
    subprocess.run(["wineserver", "-p"], env=env, check=True, timeout=60)
    log = os.path.join(BUILD, "wineprefix-%s-services.log" % name)
    boot_env = dict(env)
    boot_env["WINEDEBUG"] = trace
    with open(log, "wb") as f:
        subprocess.run(["wine", "cmd", "/c", "echo", "services started"],
                       env=boot_env, stdin=subprocess.DEVNULL, stdout=f,
                       stderr=f, timeout=300, check=True)
    return env, root, log


def end_prefix(env):
    subprocess.run(["wineserver", "-k"], env=env, timeout=60)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WineProcess:
    """A Windows program under Wine whose stdout is watched for a line.

    stderr goes to the file log_path; with stderr_pipe=True it goes through
    a pipe instead, read by a thread that copies it to log_path as it comes:
    a program that starts a real Windows CPython must have stdout AND stderr
    on pipes (a regular file kills Python at start, WINE.md)."""

    def __init__(self, env, argv, log_path, extra_env=None, stderr_pipe=False):
        e = dict(env)
        e.update(extra_env or {})
        self.log_path = log_path
        self.err = open(log_path, "wb")
        self.err_pipe = stderr_pipe
        self.err_done = threading.Event()
        self.proc = subprocess.Popen(
            ["wine"] + argv, env=e, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if stderr_pipe else self.err)
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        if stderr_pipe:
            threading.Thread(target=self._read_err, daemon=True).start()

    def _read_err(self):
        try:
            for raw in iter(lambda: self.proc.stderr.read1(65536), b""):
                self.err.write(raw)
                self.err.flush()
        finally:
            self.err_done.set()

    def _read(self):
        for raw in self.proc.stdout:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # EOF
            self.cond.notify_all()

    def wait_line(self, prefix, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    if line is not None and line.startswith(prefix):
                        return line
                if None in self.lines:
                    raise AssertionError(
                        "process ended without printing %r; stderr:\n%s"
                        % (prefix, self.stderr()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no %r within %ss; stderr:\n%s"
                                         % (prefix, timeout, self.stderr()))
                self.cond.wait(left)

    def stderr(self):
        if self.err_pipe and self.proc.poll() is not None:
            self.err_done.wait(30)  # the rest of the pipe after the exit
        if not self.err.closed:
            self.err.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=60)
        if self.err_pipe:
            self.err_done.wait(30)
        self.err.close()


# ---- the two http.sys stand-ins ---------------------------------------------
#
# "wine": Wine's own httpapi.dll/http.sys (see WINE.md for what it lacks).
# "ours": tests/wine/httpapi/, a test-only httpapi.dll over plain Winsock that
# implements what Wine lacks and records every misuse of the HTTP Server API
# as a violation line in its log (SYSGI_HTTPAPI_LOG). CMake passes its path
# as SYSGI_TEST_HTTPAPI. Wine loads a DLL from the program's directory before
# its built-in one only with "httpapi=n", so the program is copied next to it.

STAND_INS = ("wine", "ours")
OURS_OVERRIDES = "mscoree,mshtml=;winedbg.exe=d;httpapi=n"


def stand_in_env(kind, exe_path, tmp_dir, poison=None, seed=None):
    """Prepares `exe_path` to run on the http.sys stand-in `kind`.

    Returns (argv0, extra_env): the program to run under Wine and the
    variables to add to wine_env(). For "ours" the program (and any DLL
    beside it) is copied into a fresh directory under `tmp_dir` together
    with our httpapi.dll; extra_env then holds WINEDLLOVERRIDES,
    SYSGI_HTTPAPI_LOG (a file in that directory, see check_httpapi_log)
    and SYSGI_HTTPAPI_URLACL. `poison="all"` also poisons memory body chunks
    once their send completes (only for programs that free them then: a
    Python app may keep a bytes constant); the default poisons the
    response head. `seed` fixes the random completion delays.
    """
    if kind == "wine":
        return exe_path, {}
    if kind != "ours":
        pytest.fail("unknown http.sys stand-in %r (want one of %s)"
                    % (kind, STAND_INS))
    dll = os.environ.get("SYSGI_TEST_HTTPAPI", "")
    if not dll or not os.path.isfile(dll):
        pytest.fail("SYSGI_TEST_HTTPAPI does not name our httpapi.dll (%r): "
                    "run these tests through ctest" % dll)
    exe_dir = os.path.dirname(os.path.abspath(exe_path))
    stem = os.path.splitext(os.path.basename(exe_path))[0]
    n = 0
    while True:
        d = os.path.join(str(tmp_dir), "ours-%s-%d" % (stem, n))
        if not os.path.exists(d):
            break
        n += 1
    os.makedirs(d)
    shutil.copy2(exe_path, d)
    for name in os.listdir(exe_dir):  # the program's own DLLs, if any
        if name.lower().endswith(".dll") and name.lower() != "httpapi.dll":
            shutil.copy2(os.path.join(exe_dir, name), d)
    shutil.copy2(dll, os.path.join(d, "httpapi.dll"))
    extra = {
        "WINEDLLOVERRIDES": OURS_OVERRIDES,
        "SYSGI_HTTPAPI_LOG": wine_path(os.path.join(d, "httpapi.log")),
        "SYSGI_HTTPAPI_URLACL": wine_path(os.path.join(d, "urlacl.txt")),
    }
    if poison:
        extra["SYSGI_HTTPAPI_POISON"] = poison
    if seed is not None:
        extra["SYSGI_HTTPAPI_SEED"] = str(seed)
    return os.path.join(d, os.path.basename(exe_path)), extra


def wine_path(path):
    """The Windows name of a host path (Wine maps / to drive Z:)."""
    return "Z:" + os.path.abspath(path).replace("/", "\\")


def unix_path(path):
    if path and len(path) > 2 and path[1] == ":" and path[0] in "zZ":
        return path[2:].replace("\\", "/")
    return path


def httpapi_log_lines(path):
    """The lines of our DLL's log `path` (a host or a Z: path)."""
    path = unix_path(path)
    if not path or not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace").splitlines()


def check_httpapi_log(path, require_loaded=True):
    """Fails the test if our httpapi.dll recorded a violation in the log
    `path` (SYSGI_HTTPAPI_LOG). With `require_loaded`, also fails if the log
    shows the DLL was never loaded: a test meant for our stand-in must not
    pass on Wine's http.sys by mistake."""
    lines = httpapi_log_lines(path)
    path = unix_path(path)
    bad = [l for l in lines if l.startswith("VIOLATION")]
    assert not bad, "httpapi.dll violations (%s):\n%s" % (path,
                                                          "\n".join(bad))
    if require_loaded:
        assert any(l.startswith("LOADED") for l in lines), (
            "our httpapi.dll was not loaded (no LOADED line in %s)" % path)
