"""CVE-2014-0242 (mod_wsgi 3.4 security item 1) on sysgi.exe with the real
Windows CPython under PYTHONMALLOC=debug: the Content-Type value is built in
a frame that has ended before the first non-empty chunk, a background
thread allocates same-sized objects, 16 concurrent keep-alive clients, a
bounded number of requests: not one corrupted response.

The reproducer is tests/conformance/content_type_repro.py. On Wine's
http.sys the response must go out in one piece, so the app there also sends
Content-Length (the Content-Type value is still the freed one a borrowed
pointer would read); on ours it streams, as in the original."""
import os
import sys

import pytest
import requests

from e2e_support import Serve, STAND_INS, TIMEOUT

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "conformance"))
import content_type_repro  # noqa: E402

REQUESTS = 1600
CONNECTIONS = 16

# Proof that the debug allocator is in effect: freed memory reads 0xDD.
POISON = '''

import ctypes as _ctypes
import sys as _sys

_real_application = application


def application(environ, start_response):
    if environ.get("QUERY_STRING") == "poison":
        s = "".join(["p"] * 200)
        at = id(s) + _sys.getsizeof("") + 32
        del s
        body = _ctypes.string_at(at, 32).hex().encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return _real_application(environ, start_response)
'''


def app_source(kind):
    src = content_type_repro.APP_WITH_BACKGROUND
    if kind == "wine":
        old = 'start_response("200 OK", [("Content-Type", _value(seed))])'
        assert old in src
        src = src.replace(old, 'start_response("200 OK", [("Content-Type", '
                          '_value(seed)), ("Content-Length", str(LENGTH))])')
    return src + POISON


@pytest.mark.parametrize("kind", STAND_INS)
def test_cve_2014_0242_no_corrupted_content_type(wine, tmp_path, kind):
    script = tmp_path / "ct.py"
    script.write_text(app_source(kind))
    s = Serve(wine, kind, tmp_path, script, ["--threads", str(CONNECTIONS + 4)],
              extra_env={"PYTHONMALLOC": "debug"})
    try:
        poison = requests.get(s.url("/ct?poison"), timeout=TIMEOUT).text
        assert poison == "dd" * 32, "PYTHONMALLOC=debug is not in effect: " + poison
        before = int(requests.get(s.url("/ct?churned"), timeout=TIMEOUT).text)
        result = content_type_repro.hammer(s.url("/ct"), REQUESTS, CONNECTIONS)
        after = int(requests.get(s.url("/ct?churned"), timeout=TIMEOUT).text)
        assert result.errors == [], "%d transport errors, e.g. %s" % (
            len(result.errors), result.errors[:3])
        assert result.corrupt == [], "%d corrupted responses, e.g. %s" % (
            len(result.corrupt), result.corrupt[:3])
        assert result.ok == REQUESTS
        assert after > before, (before, after)  # the allocator really ran
        assert s.running()
        assert "Fatal Python error" not in s.stderr()
    finally:
        s.stop()
