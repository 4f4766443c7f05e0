"""Bugs fixed in mod_wsgi 3.4, items 1-7."""
import http.client
import os
import re
import signal
import time

import pytest
import requests

from conformance_support import assert_no_crash, module_lines
import content_type_repro


# ---- 1 ------------------------------------------------------------------
WRITE_NON_BYTES_APP = """
import sys

def application(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    report = []
    for value in (42, None, 3.5, [b"list"], {"d": 1}, object()):
        before = sys.getrefcount(value)
        errors = 0
        for _ in range(1000):
            try:
                write(value)
            except TypeError:
                errors += 1
        report.append("%s errors=%d refdelta=%d" % (
            type(value).__name__, errors, sys.getrefcount(value) - before))
    write(b"after\\n")
    return [("\\n".join(report) + "\\n").encode()]
"""


def test_bug1_write_non_string_raises_type_error(site):
    """write() with a value that is not a byte string raises TypeError; the
    process does not crash and the value's reference count is untouched."""
    app = site.write("app.py", WRITE_NON_BYTES_APP)
    a = site.apache(f"WSGIScriptAlias /w {app}\n")
    for _ in range(3):
        r = requests.get(a.url("/w"), timeout=60)
        assert r.status_code == 200
        lines = r.text.splitlines()
        assert lines[0] == "after", r.text
        for ln in lines[1:]:
            assert re.fullmatch(r"\w+ errors=1000 refdelta=0", ln), ln
        assert len(lines) == 7
    assert_no_crash(a)


# ---- 2 ------------------------------------------------------------------
WRITE_STR_APP = """
import gc
import sys
import tracemalloc

N = 10000
_leaked = []


def leaky_write(value):
    # The measurement's control: what mod_wsgi 3.3 did, in Python -- the
    # encoded copy (and a reference to the str) are never released.
    _leaked.append((value, value.encode("utf-8")))
    raise TypeError("leaky control")


def measure(write):
    shared = "".join(["shared unicode value ", str(id(write))])
    for i in range(100):   # warm up caches before measuring
        try:
            write("warm-up %d" % i)
        except TypeError:
            pass
    gc.collect()
    objects_before = len(gc.get_objects())
    refs_before = sys.getrefcount(shared)
    tracemalloc.start()
    mem_before = tracemalloc.get_traced_memory()[0]
    errors = 0
    for i in range(N):
        try:
            write(shared)
        except TypeError:
            errors += 1
        try:
            write("a fresh 1 KiB str %d " % i + "x" * 1024)
        except TypeError:
            errors += 1
    gc.collect()
    mem_growth = tracemalloc.get_traced_memory()[0] - mem_before
    tracemalloc.stop()
    return {
        "errors": errors,
        "refdelta": sys.getrefcount(shared) - refs_before,
        "object_growth": len(gc.get_objects()) - objects_before,
        "mem_growth": mem_growth,
    }


def application(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    facts = {"write": measure(write), "control": measure(leaky_write)}
    _leaked.clear()
    write(repr(facts).encode())
    return []
"""


def test_bug2_write_unicode_string_raises_type_error_no_leak(site):
    """write() with a str raises TypeError and leaks nothing: over 10,000
    calls the str's reference count, the number of live objects and the
    traced memory do not grow. The same measurement of a deliberately leaky
    write() (keeps the str and its encoded copy) shows the leak."""
    app = site.write("app.py", WRITE_STR_APP)
    a = site.apache(f"WSGIScriptAlias /w {app}\n")
    r = requests.get(a.url("/w"), timeout=300)
    assert r.status_code == 200, r.text
    facts = eval(r.text, {})
    control = facts["control"]
    assert control["refdelta"] >= 10000 and control["mem_growth"] >= 10 * 1024 * 1024, control
    real = facts["write"]
    assert real["errors"] == 20000, real
    assert real["refdelta"] == 0, real
    assert real["object_growth"] < 100, real
    assert real["mem_growth"] < 256 * 1024, real
    assert_no_crash(a)


# ---- 3 ------------------------------------------------------------------
LENGTH_APP = """
def application(environ, start_response):
    case = environ["QUERY_STRING"]
    if case == "more":      # declares 5, returns 10
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return [b"01234", b"56789"]
    if case == "less":      # declares 10, returns 3 without an error
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return [b"abc"]
    if case == "raises":    # declares 10, returns 3, then the iterator raises
        def body():
            yield b"abc"
            raise RuntimeError("iterator-failed-on-purpose")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return body()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""

# Any module line about the content length: "Content length mismatch,
# expected 5, response generated 10" (mod_wsgi), "content length mismatch:
# ..." (sysgi). (Script paths never match: pytest names use underscores.)
MISMATCH = re.compile(r"(?i)\bcontent[- ]length\b")


def _raw_get(apache, target, expect_len):
    """The status and the first expect_len body bytes. The connection is
    closed then: a server may legitimately keep it open after a response
    shorter than its Content-Length (mod_wsgi does, until its Timeout)."""
    c = http.client.HTTPConnection("127.0.0.1", apache.port, timeout=60)
    c.request("GET", target)
    resp = c.getresponse()
    try:
        body = resp.read(expect_len)
    except http.client.IncompleteRead as e:
        body = e.partial
    c.close()
    return resp.status, body


def test_bug3_content_length_mismatch_logged_only_for_excess_output(site):
    """More output than Content-Length declares is truncated and logged;
    less output because the iterator raised is not logged as a mismatch
    (only the application's exception is)."""
    app = site.write("app.py", LENGTH_APP)
    a = site.apache(f"WSGIScriptAlias /len {app}\n")
    requests.get(a.url("/len?warm"), timeout=60)
    logged = {}
    for case in ("more", "less", "raises"):
        offset = a.log_size()
        if case == "more":
            # Truncated to the declared 5 bytes: the next response on the
            # same connection parses (surplus bytes would corrupt it).
            c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=60)
            c.request("GET", "/len?more")
            r = c.getresponse()
            assert (r.status, r.read()) == (200, b"01234")
            c.request("GET", "/len?after")
            r = c.getresponse()
            assert (r.status, r.read()) == (200, b"ok")
            c.close()
        else:
            status, body = _raw_get(a, "/len?" + case, 3)
            assert (status, body) == (200, b"abc"), (case, status, body)
        a.wait_logged("GET /len?" + case)
        text = a.log_since(offset)
        logged[case] = [ln for ln in module_lines(a, text) if MISMATCH.search(ln)]
        if case == "raises":
            assert "iterator-failed-on-purpose" in text, text

    assert logged["more"], "excess output was not logged"
    # Control: a short response without an error is a mismatch worth a log
    # line (this also proves the log check above can see one).
    assert logged["less"], "a short response without an error was not logged"
    assert not logged["raises"], (
        "a mismatch was logged for a failed iterator:\n" + "\n".join(logged["raises"]))
    assert_no_crash(a)


# ---- 4 ------------------------------------------------------------------
ERRORS_APP = """
def application(environ, start_response):
    errors = environ["wsgi.errors"]
    errors.writelines(["writelines-list-one\\n", "writelines-list-two\\n"])
    errors.writelines(("writelines-gen-%d\\n" % i) for i in range(3))
    errors.writelines([])
    errors.flush()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def test_bug4_wsgi_errors_writelines(site):
    """wsgi.errors.writelines() works (list, generator, empty) and its lines
    reach the error log."""
    app = site.write("app.py", ERRORS_APP)
    a = site.apache(f"WSGIScriptAlias /e {app}\n")
    r = requests.get(a.url("/e"), timeout=60)
    assert r.status_code == 200 and r.text == "ok"
    a.wait_logged("GET /e")
    text = a.log_text()
    for marker in ("writelines-list-one", "writelines-list-two", "writelines-gen-0",
                   "writelines-gen-1", "writelines-gen-2"):
        assert marker in text, marker
    assert_no_crash(a)


# ---- 5 ------------------------------------------------------------------
SLOW_IMPORT = """
import os, time
MARK = os.path.join(os.path.dirname(__file__), "marks")
with open(os.path.join(MARK, "importing-%d" % os.getpid()), "w") as f:
    f.write("x")
time.sleep(5)
with open(os.path.join(MARK, "imported-%d" % os.getpid()), "w") as f:
    f.write("x")

def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def test_bug5_stop_signal_during_initialisation_shuts_down_cleanly(site):
    """Apache told to stop while a WSGIImportScript is still importing (a
    5 s sleep in the import) ends cleanly: no crash in the error log, every
    process gone within the timeout, no SIGKILL needed."""
    marks = site.subdir("marks")
    script = site.write("slow.py", SLOW_IMPORT)
    a = site.apache(f"""
        WSGIImportScript {script} process-group=%{{GLOBAL}} application-group=%{{GLOBAL}}
        WSGIScriptAlias /slow {script}
        """, start=False)
    a.start(wait_url=False)
    deadline = time.monotonic() + 60
    while not any(n.startswith("importing-") for n in os.listdir(marks)):
        assert a.proc.poll() is None, a.log_text()
        assert time.monotonic() < deadline, "the import script never started\n" + a.log_text()
        time.sleep(0.05)
    assert not any(n.startswith("imported-") for n in os.listdir(marks))

    a.proc.send_signal(signal.SIGTERM)
    try:
        a.proc.wait(90)
    except Exception:
        pytest.fail("httpd did not stop within 90 s\n" + a.log_text())
    deadline = time.monotonic() + 30
    while a.all_pids():
        assert time.monotonic() < deadline, "processes left: %s" % a.all_pids()
        time.sleep(0.1)
    text = a.log_text()
    assert_no_crash(a)
    assert "SIGKILL" not in text, text
    assert "caught SIGTERM, shutting down" in text, text


# ---- 6 ------------------------------------------------------------------
CODECS_APP = """
# The first code that runs in a brand-new sub-interpreter.
import codecs
AT_IMPORT = ["x".encode("idna").decode(), "\\u00e9".encode("cp1252").hex(),
             codecs.lookup("ascii").name]

import json

def application(environ, start_response):
    now = ["\\u00fcber.example".encode("idna").decode(), "\\u20ac".encode("cp1252").hex(),
           codecs.lookup("latin-1").name]
    body = json.dumps({"import": AT_IMPORT, "request": now}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
"""


def test_bug6_codecs_in_fresh_sub_interpreter(site):
    """Codecs and encodings work in a fresh sub-interpreter, at import time
    and at request time."""
    app = site.write("app.py", CODECS_APP)
    a = site.apache(f"""
        WSGIScriptAlias /c {app}
        <Location /c>
          WSGIApplicationGroup codecs-fresh-group
        </Location>
        """)
    r = requests.get(a.url("/c"), timeout=60)
    assert r.status_code == 200, r.text
    assert r.json() == {"import": ["x", "e9", "ascii"],
                        "request": ["xn--ber-goa.example", "80", "iso8859-1"]}
    assert_no_crash(a)


# ---- 7 ------------------------------------------------------------------
def test_bug7_content_type_not_corrupted_in_multithreaded_embedded_mode(site):
    """The Content-Type computed in a frame that has ended before the first
    non-empty chunk survives while parallel request threads (no background
    thread here) allocate same-sized objects; main interpreter this time,
    Python's debug allocator again."""
    app = site.write("ct.py", content_type_repro.APP)
    a = site.apache(f"""
        WSGIScriptAlias /ct {app}
        <Location /ct>
          WSGIApplicationGroup %{{GLOBAL}}
        </Location>
        KeepAliveTimeout 300
        MaxKeepAliveRequests 0
        """, threads=32, env={"PYTHONMALLOC": "debug"}, loglevel="warn")
    allocator = requests.get(a.url("/ct?allocator"), timeout=60).text
    assert allocator.endswith("_debug"), "PYTHONMALLOC=debug is not in effect: " + allocator
    result = content_type_repro.hammer(a.url("/ct?churn=1"), requests_total=3000,
                                       connections=16)
    assert result.errors == [], result.errors[:5]
    assert result.corrupt == [], result.corrupt[:5]
    assert result.ok == 3000
    assert_no_crash(a)
