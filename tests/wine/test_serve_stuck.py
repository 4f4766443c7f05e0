"""`sysgi.exe serve` with the real Windows CPython fixture: Ctrl-C while a
request is stuck in the application. sysgi_httpsys_stop reports the stuck
request after the shutdown timeout, and serve exits (code 3) with a log
line naming the count, without finalizing Python under the worker (which
could crash or hang). Also checks --pass-authorization end to end."""
import os
import signal
import subprocess
import threading
import time

import pytest
import requests

from conftest import free_port

SYSGI = os.environ.get("SYSGI_EXE", "")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
WINPY = os.environ.get("SYSGI_WINPY") or os.path.join(
    REPO, ".deps", "winpy", "cpython-3.11-win-amd64")
TIMEOUT = 120

APP = """\
import time
def application(environ, start_response):
    if environ['PATH_INFO'] == '/stuck':
        open(__file__ + '.entered', 'w').close()
        time.sleep(3600)
    body = environ.get('HTTP_AUTHORIZATION', '<unset>').encode()
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]
"""


def winpath(p):
    return "Z:" + str(p).replace("/", "\\")


class Serve:
    """sysgi.exe serve with stdout AND stderr on pipes (WINE.md: a program
    that starts Python must not write to regular files under Wine)."""

    def __init__(self, env, argv):
        self.proc = subprocess.Popen(["wine"] + argv, env=env,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.lines = []
        self.cond = threading.Condition()
        for f in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._read, args=(f,), daemon=True).start()

    def _read(self, f):
        for raw in f:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip())
                self.cond.notify_all()

    def wait_for(self, text, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not any(text in l for l in self.lines):
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError("no %r; output:\n%s"
                                         % (text, "\n".join(self.lines)))
                self.cond.wait(min(left, 1))

    def output(self):
        with self.cond:
            return "\n".join(self.lines)


@pytest.fixture(scope="module")
def winpy():
    if not os.path.exists(os.path.join(WINPY, "python311.dll")):
        pytest.fail("the Windows CPython fixture is missing: unpack "
                    "/work/shared/winpy/cpython-3.11-win-amd64.tar.xz into "
                    ".deps/winpy (or set SYSGI_WINPY)")
    return WINPY


def test_stuck_request_at_stop_exits_without_finalizing(wine, winpy,
                                                         tmp_path):
    app = tmp_path / "app.py"
    app.write_text(APP)
    port = free_port()
    s = Serve(wine, [SYSGI, "serve", winpath(app), "--port", str(port),
                     "--python-home", winpath(winpy),
                     "--pass-authorization"])
    try:
        s.wait_for("sysgi: serving")
        base = "http://127.0.0.1:%d" % port
        r = requests.get(base + "/", headers={"Authorization": "Basic eDp5"},
                         timeout=TIMEOUT)
        assert r.status_code == 200 and r.text == "Basic eDp5"
        stuck = threading.Thread(target=lambda: requests.get(
            base + "/stuck", timeout=TIMEOUT), daemon=True)
        stuck.start()
        entered = tmp_path / "app.py.entered"
        deadline = time.monotonic() + TIMEOUT
        while not entered.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert entered.exists(), s.output()
        s.proc.send_signal(signal.SIGINT)
        rc = s.proc.wait(timeout=TIMEOUT)
        s.wait_for("exiting without finalizing Python")
        out = s.output()
        assert rc == 3, out
        assert ("1 request(s) still running in the application after the "
                "shutdown timeout: exiting without finalizing Python") in out
        assert "sysgi: stopped" not in out
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait(timeout=60)
