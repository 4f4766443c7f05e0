"""Helpers of the Windows end-to-end suite: the real sysgi.exe, the real
core and a real Windows CPython 3.11 under Wine, on one of two http.sys
stand-ins ("wine": Wine's own http.sys; "ours": the test-only httpapi.dll
over Winsock, target test_httpapi, env SYSGI_TEST_HTTPAPI).

The CPython comes from SYSGI_WINPY (a directory with python.exe), else from
the fixture tarball cpython-3.11-win-amd64.tar.xz, unpacked once into
<checkout>/.deps/winpy/ (file times kept: its .pyc are timestamp-based).
"""
import fcntl
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time

import pytest
import requests

from conftest import WineProcess, free_port  # tests/wine/conftest.py

from conftest import check_httpapi_log, stand_in_env  # the stand-ins
import wine_http  # tests/wine/wine_http.py
from wine_http import unaccepted_connections  # noqa: F401 (test_support)

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
APPS = os.path.join(HERE, "apps")
SYSGI = os.environ.get("SYSGI_EXE", "")
WINPY_NAME = "cpython-3.11-win-amd64"
TARBALL = WINPY_NAME + ".tar.xz"
TIMEOUT = 120          # seconds per HTTP request: Wine under load is slow
START_TIMEOUT = 300    # first request imports Flask/Django under Wine
STAND_INS = ["wine", "ours"]
# How long a request on Wine's own http.sys waits before the test looks
# whether Wine ever accepted its connection (Serve.request, wine_http).
ACCEPT_WAIT = wine_http.ACCEPT_WAIT

NOT_RUN = ("the Windows end-to-end suite (tests/wine/e2e) did not run: ")


def winpath(p):
    return "Z:" + str(p).replace("/", "\\")


def _tarball():
    cands = []
    if os.environ.get("SYSGI_SHARED"):
        cands.append(os.path.join(os.environ["SYSGI_SHARED"], "winpy", TARBALL))
    cands.append(os.path.join(CHECKOUT, "..", "shared", "winpy", TARBALL))
    cands.append(os.path.join("/work/shared/winpy", TARBALL))
    for c in cands:
        if os.path.isfile(c):
            return os.path.abspath(c)
    return None


def find_winpy():
    """The directory of the Windows CPython (with python.exe and
    python311.dll), unpacking the fixture tarball if needed. Fails the test
    (never skips) when there is none."""
    env = os.environ.get("SYSGI_WINPY")
    if env:
        if not os.path.isfile(os.path.join(env, "python.exe")):
            pytest.fail(NOT_RUN + "SYSGI_WINPY=%s has no python.exe" % env)
        return env
    dest = os.path.join(CHECKOUT, ".deps", "winpy")
    top = os.path.join(dest, WINPY_NAME)
    if os.path.isfile(os.path.join(top, "python311.dll")):
        return top
    tb = _tarball()
    if not tb:
        pytest.fail(NOT_RUN + "no Windows CPython: set SYSGI_WINPY to a "
                    "directory with python.exe, or provide %s in "
                    "$SYSGI_SHARED/winpy, ../shared/winpy or /work/shared/winpy "
                    "(tools/test.sh --skip-winpy leaves the suite out on "
                    "purpose)" % TARBALL)
    os.makedirs(dest, exist_ok=True)
    # Two processes may race (ctest -j, two checkouts sharing .deps): one
    # unpacks under the lock into a temporary directory and renames it.
    with open(os.path.join(dest, ".unpack.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.isfile(os.path.join(top, "python311.dll")):
            tmp = tempfile.mkdtemp(prefix=".unpack-", dir=dest)
            try:
                with tarfile.open(tb) as t:  # keeps the file times
                    t.extractall(tmp)
                if os.path.exists(top):  # a half-unpacked leftover
                    shutil.rmtree(top)
                os.rename(os.path.join(tmp, WINPY_NAME), top)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return top


def e2e_env(wine):
    env = dict(wine)
    env["WINEDLLOVERRIDES"] = "mscoree,mshtml=;winedbg.exe=d"
    for k in ("PYTHONHOME", "PYTHONPATH", "PYTHONMALLOC", "PYTHONSTARTUP"):
        env.pop(k, None)
    return env


def check_log(extra_env):
    """Asserts the stand-in's violation log (ours only) is clean."""
    if extra_env.get("SYSGI_HTTPAPI_LOG"):
        check_httpapi_log(extra_env["SYSGI_HTTPAPI_LOG"])


class Serve:
    """One `sysgi.exe serve` with the real CPython, on stand-in `kind`."""

    def __init__(self, wine, kind, tmp_dir, script, args=(), home=None,
                 extra_env=None, wait=True):
        self.kind = kind
        self.tmp_dir = str(tmp_dir)
        os.makedirs(self.tmp_dir, exist_ok=True)
        exe, self.stand_env = stand_in_env(kind, SYSGI, self.tmp_dir)
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        argv = [exe, "serve", winpath(script), "--port", str(self.port)]
        if home is not False:
            argv += ["--python-home", winpath(home or find_winpy())]
        argv += list(args)
        env = e2e_env(wine)
        env.update(self.stand_env)
        env.update(extra_env or {})
        self.log_path = os.path.join(self.tmp_dir, "sysgi-%s.log" % kind)
        self.p = WineProcess(env, argv, self.log_path, None, stderr_pipe=True)
        # Connects once the server listens (see wine_http).
        self.waker = wine_http.Waker(self.port) if kind == "wine" else None
        if not wait:  # the caller watches the start-up itself
            return
        try:
            self.p.wait_line("sysgi: serving", timeout=START_TIMEOUT)
        except BaseException:
            self._stop_waker()
            self.p.stop()
            raise

    def _stop_waker(self):
        if self.waker:
            self.waker.stop()
            self.waker = None

    def url(self, path):
        return self.base + path

    def stderr(self):
        return self.p.stderr()

    def request(self, method, path, session=None, **kw):
        """One request, through `session`, else (our stand-in) on a fresh
        connection or (Wine's) over this server's keep-alive connection.

        On Wine's, a request is sent once more only when Wine left its
        connection unaccepted (wine_http.request); any other timeout fails
        the test, as on our stand-in."""
        if self.kind != "wine":
            send = getattr(session or requests, method)
            return send(self.url(path), timeout=TIMEOUT, **kw)
        return wine_http.request(method, self.url(path),
                                 session or self._kept_alive(),
                                 accept_wait=ACCEPT_WAIT, timeout=TIMEOUT,
                                 **kw)

    def _kept_alive(self):
        if getattr(self, "_session", None) is None:
            self._session = wine_http.kept_alive_session()
        return self._session

    def get(self, path, session=None, **kw):
        return self.request("get", path, session, **kw)

    def post(self, path, session=None, **kw):
        return self.request("post", path, session, **kw)

    def running(self):
        return self.p.proc.poll() is None

    def interrupt(self, timeout=TIMEOUT):
        """Ctrl-C (SIGINT: Wine makes it a CTRL_C_EVENT); returns the exit
        code, or raises if the server did not stop."""
        self.p.proc.send_signal(signal.SIGINT)
        try:
            return self.p.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("sysgi.exe did not stop within %ss of "
                                 "Ctrl-C; stderr:\n%s"
                                 % (timeout, self.stderr()))

    def stop(self):
        """Stops the server with Ctrl-C, asserts a clean exit (code 0, no
        crash) and a clean stand-in log."""
        if getattr(self, "_session", None) is not None:
            self._session.close()
        self._stop_waker()
        try:
            if self.running():
                rc = self.interrupt()
                assert rc == 0, "exit code %r after Ctrl-C; stderr:\n%s" % (
                    rc, self.stderr())
        finally:
            self.p.stop()
        check_log(self.stand_env)


def run_python(wine, args, cwd=None, extra_env=None, timeout=600, home=None):
    """The Windows python.exe under Wine, stdout and stderr on pipes."""
    exe = os.path.join(home or find_winpy(), "python.exe")
    env = e2e_env(wine)
    env.update(extra_env or {})
    r = subprocess.run(["wine", exe] + list(args), env=env, cwd=cwd,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    out = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, "python.exe %s: exit %d\n%s\n%s" % (
        args, r.returncode, out, err)
    return out


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError("no %s within %ss" % (what, timeout))
