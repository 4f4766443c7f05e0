"""Our test httpapi.dll (tests/wine/httpapi/) itself: its checks fire on
misuse, and its URL ACL store answers like the real HTTP Server API.
httpapi_probe.exe calls the API directly (see httpapi_probe.c)."""
import os
import signal
import subprocess
import threading
import time

import pytest
import requests

from conftest import (check_httpapi_log, free_port, httpapi_log_lines,
                      stand_in_env, wine_path)

PROBE = os.environ.get("SYSGI_HTTPAPI_PROBE", "")
SYSGI = os.environ.get("SYSGI_EXE", "")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TIMEOUT = 120


def run_probe(wine, tmp_path, args, extra=None, env_from=None):
    exe, env = env_from or stand_in_env("ours", PROBE, tmp_path, poison="all")
    e = dict(wine)
    e.update(env)
    e.update(extra or {})
    p = subprocess.Popen(["wine", exe] + args, env=e, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        try:  # Wine's helper processes may keep the pipes open
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            out, err = b"", b"(output not available)"
        pytest.fail("%s %s did not end within %ss:\n%s\n%s\nlog:\n%s" % (
            exe, args, TIMEOUT, out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace")[-3000:],
            "\n".join(httpapi_log_lines(env["SYSGI_HTTPAPI_LOG"])[-40:])))
    return (p.returncode, out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"), env)


def test_misuse_is_recorded_as_violations(wine, tmp_path):
    # A long completion delay: the probe changes a buffer right after its
    # send call, which must be seen before the send completes.
    rc, out, err, env = run_probe(
        wine, tmp_path, ["misuse", str(free_port())],
        {"SYSGI_HTTPAPI_MAX_DELAY_US": "300000"})
    assert rc == 0 and "probe done" in out, out + err
    log = "\n".join(httpapi_log_lines(env["SYSGI_HTTPAPI_LOG"]))
    assert "LOADED" in log
    for expected in [
            "HttpSendResponseEntityBody before HttpSendHttpResponse",
            "a buffer of a send changed before the send completed",
            "second HttpSendHttpResponse",
            "HttpSendResponseEntityBody after the final send",
            "response ended after 5 body bytes of Content-Length 10",
            "HttpSendHttpResponse: unknown flags 0x1000",
            "HttpSendResponseEntityBody while another send of request",
            "received but never answered when its queue closed",
            "ERROR_MORE_DATA never followed by a receive",
            "HttpReceiveHttpRequest on a closed request queue"]:
        assert expected in log, "missing violation %r in:\n%s" % (expected,
                                                                   log)
    # Each is on stderr too, for whoever reads the server's output.
    assert err.count("httpapi VIOLATION") == log.count("VIOLATION")


def test_routing_follows_the_urlprefix_classes(wine, tmp_path):
    rc, out, err, env = run_probe(wine, tmp_path, ["routing", str(free_port())],
                                  {"SYSGI_HTTPAPI_TRACE": "1"})
    assert rc == 0 and "probe done" in out, out + err
    bad = [l for l in httpapi_log_lines(env["SYSGI_HTTPAPI_LOG"])
           if l.startswith("VIOLATION")]
    assert not bad, bad


def test_urlacl_semantics(wine, tmp_path):
    rc, out, err, _ = run_probe(wine, tmp_path, ["urlacl"])
    assert rc == 0 and "probe done" in out, out + err


def test_urlacl_survives_between_processes(wine, tmp_path):
    store = tmp_path / "shared-urlacl.txt"
    shared = {"SYSGI_HTTPAPI_URLACL": wine_path(str(store))}
    url = "http://+:8125/kept/"
    rc, out, err, _ = run_probe(wine, tmp_path, ["urlacl-add", url], shared)
    assert rc == 0, out + err
    assert url in store.read_text()  # the documented file format
    assert "\t" + "D:(A;;GX;;;WD)" in store.read_text()
    rc, out, err, _ = run_probe(wine, tmp_path, ["urlacl-has", url], shared)
    assert rc == 0, out + err
    rc, out, _, _ = run_probe(wine, tmp_path, ["urlacl-add", url], shared)
    assert rc == 1 and "result 183" in out  # ERROR_ALREADY_EXISTS
    rc, out, _, _ = run_probe(wine, tmp_path,
                              ["urlacl-has", "http://+:8125/other/"], shared)
    assert rc == 3, out


def test_urlacl_failure_injection(wine, tmp_path):
    rc, out, _, _ = run_probe(wine, tmp_path,
                              ["urlacl-add", "http://+:8126/x/"],
                              {"SYSGI_HTTPAPI_FAIL_URLACL": "5"})
    assert rc == 1 and "result 5" in out, out  # ERROR_ACCESS_DENIED


@pytest.fixture(autouse=True)
def _built():
    for name, path in (("SYSGI_HTTPAPI_PROBE", PROBE), ("SYSGI_EXE", SYSGI)):
        if not path or not os.path.isfile(path):
            pytest.fail("%s is not set: run through ctest" % name)


class Piped:
    """A program under Wine with stdout and stderr both on one pipe (a
    Windows CPython dies at start-up on a regular file, WINE.md)."""

    def __init__(self, env, argv):
        self.proc = subprocess.Popen(["wine"] + argv, env=env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.out = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            with self.cond:
                self.out.append(raw.decode("utf-8", "replace").rstrip())
                self.cond.notify_all()

    def text(self):
        with self.cond:
            return "\n".join(self.out)

    def wait_line(self, prefix, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not any(l.startswith(prefix) for l in self.out):
                left = deadline - time.monotonic()
                assert left > 0 and self.proc.poll() is None, (
                    "no %r:\n%s" % (prefix, "\n".join(self.out)[-3000:]))
                self.cond.wait(min(left, 1))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=60)


def test_real_sysgi_and_cpython_run_on_it(wine, tmp_path):
    """The unmodified sysgi.exe with the Windows CPython fixture, on our
    DLL: what Wine's http.sys cannot do (a streamed response, a 3 MB and a
    chunked body), then a clean stop with nothing left unanswered."""
    home = os.environ.get("SYSGI_WINPY") or os.path.join(
        REPO, ".deps", "winpy", "cpython-3.11-win-amd64")
    if not os.path.isfile(os.path.join(home, "python311.dll")):
        pytest.fail("no Windows CPython in %s: unpack "
                    "../shared/winpy/cpython-3.11-win-amd64.tar.xz there "
                    "(HELPERS.md) or set SYSGI_WINPY" % home)
    app = tmp_path / "app.py"
    app.write_text(
        "def application(environ, start_response):\n"
        "    path = environ['PATH_INFO']\n"
        "    if path == '/stream':\n"
        "        start_response('200 OK', [('Set-Cookie', 'a=1'),\n"
        "                                  ('Set-Cookie', 'b=2')])\n"
        "        return (b'piece %d\\n' % i for i in range(200))\n"
        "    if path == '/post':\n"
        "        data = environ['wsgi.input'].read()\n"
        "        start_response('200 OK', [('Content-Length', str(len(data)))])\n"
        "        return [data]\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'hello ', path.encode('latin-1')]\n")
    exe, env = stand_in_env("ours", SYSGI, tmp_path)
    e = dict(wine)
    e.update(env)
    e["SYSGI_HTTPAPI_TRACE"] = "1"
    port = free_port()
    p = Piped(e, [exe, "serve", wine_path(str(app)), "--port", str(port),
                  "--python-home", wine_path(home)])
    base = "http://127.0.0.1:%d" % port
    try:
        p.wait_line("sysgi: serving", timeout=300)
        r = requests.get(base + "/hi", timeout=TIMEOUT)
        assert r.status_code == 200 and r.content == b"hello /hi"
        r = requests.get(base + "/stream", timeout=TIMEOUT)
        assert r.status_code == 200
        assert r.headers["Transfer-Encoding"] == "chunked"
        assert r.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
        assert r.content == b"".join(b"piece %d\n" % i for i in range(200))
        data = os.urandom(3 * 1024 * 1024)
        r = requests.post(base + "/post", data=data, timeout=TIMEOUT)
        assert r.status_code == 200 and r.content == data
        r = requests.post(base + "/post", data=iter([data[:5000], data[5000:9000]]),
                          timeout=TIMEOUT)
        assert r.status_code == 200 and r.content == data[:9000]
    finally:
        p.stop()
    assert "sysgi: stopped" in p.text(), p.text()[-3000:]
    check_httpapi_log(env["SYSGI_HTTPAPI_LOG"])
    # The queue was closed, so "never answered" was checked too.
    log = "\n".join(httpapi_log_lines(env["SYSGI_HTTPAPI_LOG"]))
    assert "HttpCloseRequestQueue" in log
