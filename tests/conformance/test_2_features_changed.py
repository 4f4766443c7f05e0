"""Features changed in mod_wsgi 3.4, items 1-3."""
import os
import re
import subprocess
import time

import requests

from conformance_support import assert_no_crash

ENV_APP = """
import json

def application(environ, start_response):
    facts = {
        "has_https": "HTTPS" in environ,
        "url_scheme": environ["wsgi.url_scheme"],
        "version": list(environ["wsgi.version"]),
        "version_type": type(environ["wsgi.version"]).__name__,
        "ssl_protocol": environ.get("SSL_PROTOCOL"),
    }
    body = json.dumps(facts).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
"""


def test_feature_changed_1_https_not_in_environ(site):
    """HTTPS is never in environ; wsgi.url_scheme comes from the connection
    (http, or https over mod_ssl); SetEnv HTTPS on/1 makes it https and the
    HTTPS key is removed."""
    app = site.write("env.py", ENV_APP)
    a = site.apache(f"""
        WSGIScriptAlias /env {app}
        WSGIScriptAlias /on {app}
        WSGIScriptAlias /one {app}
        <Location /on>
          SetEnv HTTPS on
        </Location>
        <Location /one>
          SetEnv HTTPS 1
        </Location>
        """, tls=True, ssl_std_env_vars=True)
    crt = os.path.join(a.dir, "server.crt")

    plain = requests.get(a.url("/env"), timeout=30).json()
    assert plain["url_scheme"] == "http"
    assert not plain["has_https"]

    # mod_ssl with +StdEnvVars puts HTTPS=on into the request's variables
    # (SSL_PROTOCOL shows that they did reach the app): it must not reach it.
    tls = requests.get(a.url("/env", tls=True), verify=crt, timeout=30).json()
    assert tls["ssl_protocol"] and tls["ssl_protocol"].startswith("TLS"), tls
    assert tls["url_scheme"] == "https"
    assert not tls["has_https"], tls

    for path in ("/on", "/one"):
        forced = requests.get(a.url(path), timeout=30).json()
        assert forced["url_scheme"] == "https", (path, forced)
        assert not forced["has_https"], (path, forced)
    assert_no_crash(a)


def test_feature_changed_2_wsgi_version_1_0(site):
    """wsgi.version is the tuple (1, 0) of PEP 3333."""
    app = site.write("env.py", ENV_APP)
    a = site.apache(f"WSGIScriptAlias /env {app}\n")
    facts = requests.get(a.url("/env"), timeout=30).json()
    assert facts["version"] == [1, 0]
    assert facts["version_type"] == "tuple"


FILE_APP = """
import os

DATA = os.path.join(os.path.dirname(__file__), "data.bin")


class NoFileno:
    # A file-like object without fileno(): the server must read() it.
    def __init__(self, f):
        self._f = f

    def read(self, n=-1):
        return self._f.read(n)

    def close(self):
        self._f.close()


def application(environ, start_response):
    f = open(DATA, "rb")
    how = environ["QUERY_STRING"]
    if how == "offset":
        f.seek(OFFSET)
    elif how == "filelike":
        f = NoFileno(f)
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return environ["wsgi.file_wrapper"](f, 65536)
"""

DATA_SIZE = 1 << 20
OFFSET = 123457


class SyscallTrace:
    """strace attached to every thread of one process, counting sendfile."""

    def __init__(self, pid, out):
        self.pid, self.out = pid, out
        self.proc = subprocess.Popen(
            ["strace", "-f", "-qq", "-e", "trace=sendfile,sendfile64", "-o", out, "-p", str(pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not self._all_traced():
            assert self.proc.poll() is None, self.proc.stderr.read()
            assert time.monotonic() < deadline, "strace did not attach to %d" % pid
            time.sleep(0.05)

    def _all_traced(self):
        tasks = os.listdir("/proc/%d/task" % self.pid)
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/status" % (self.pid, t)) as f:
                    tracer = re.search(r"TracerPid:\s*(\d+)", f.read()).group(1)
            except FileNotFoundError:
                continue
            if tracer == "0":
                return False
        return True

    def stop(self):
        """Detaches; returns the number of sendfile calls seen."""
        self.proc.terminate()
        self.proc.wait(60)
        with open(self.out) as f:
            return sum(1 for ln in f if re.search(r"\bsendfile(64)?\(", ln))


def fetch_traced(apache, query, tag):
    pid = apache.child_pids()[0]
    tr = SyscallTrace(pid, os.path.join(apache.dir, "strace-%s.txt" % tag))
    try:
        body = requests.get(apache.url("/file?" + query), timeout=60).content
    finally:
        n = tr.stop()
    return body, n


def test_feature_changed_3_sendfile_off_by_default(site):
    """wsgi.file_wrapper uses the kernel's sendfile() only with
    WSGIEnableSendfile On (Apache's EnableSendfile On in both cases); both
    paths send identical bytes, for a whole file, a file positioned at an
    offset, and a file-like object without fileno()."""
    data = os.urandom(DATA_SIZE)
    with open(os.path.join(site.root, "data.bin"), "wb") as f:
        f.write(data)
    os.chmod(os.path.join(site.root, "data.bin"), 0o644)
    app = site.write("file.py", FILE_APP.replace("OFFSET", str(OFFSET)))
    expect = {"whole": data, "offset": data[OFFSET:], "filelike": data}

    seen = {}
    for mode, directive in (("default", ""), ("on", "WSGIEnableSendfile On")):
        a = site.apache(f"""
            EnableSendfile On
            {directive}
            WSGIScriptAlias /file {app}
            """, name="httpd-" + mode)
        requests.get(a.url("/file?whole"), timeout=60)  # load the app untraced
        for query in ("whole", "offset", "filelike"):
            body, calls = fetch_traced(a, query, "%s-%s" % (mode, query))
            assert body == expect[query], "%s/%s: wrong bytes (%d bytes, want %d)" % (
                mode, query, len(body), len(expect[query]))
            seen[mode, query] = calls
        assert_no_crash(a)
        a.stop()

    # Off by default: not one sendfile() call.
    assert seen["default", "whole"] == 0, seen
    assert seen["default", "offset"] == 0, seen
    assert seen["default", "filelike"] == 0, seen
    # On: the kernel path for real files, read() for a file-like object.
    assert seen["on", "whole"] > 0, seen
    assert seen["on", "offset"] > 0, seen
    assert seen["on", "filelike"] == 0, seen
