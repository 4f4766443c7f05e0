"""Shared fixtures of the Wine tests.

A private, headless Wine prefix lives in the build directory
(<build>/wineprefix), is created once per build by `wineboot -i` and reused;
the wineserver of that prefix is killed when the test session ends.
CTest passes the paths through the environment (see CMakeLists.txt).
"""
import os
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
