"""request-timeout in sysgi.exe (embedded mode, http.sys): the real core
and the real Windows CPython 3.11 under Wine. A busy loop and a sleep loop
that swallows Exception get 504 Gateway Timeout and the server keeps
serving on every thread; after the head the connection is aborted (on our
httpapi.dll, which streams; Wine's http.sys only sends whole responses).
One server per stand-in for the module, with --request-timeout 2."""
import os
import shutil
import threading
import time

import pytest
import requests

from e2e_support import Serve, STAND_INS, TIMEOUT, winpath

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(HERE, "..", "..", "apache", "apps", "timeout_app.py")
BOTH = pytest.mark.parametrize("srv", STAND_INS, indirect=True, scope="module")
OURS = pytest.mark.parametrize("srv", ["ours"], indirect=True, scope="module")


@pytest.fixture(scope="module")
def srv(request, wine, tmp_path_factory):
    kind = request.param
    tmp = tmp_path_factory.mktemp("timeout-" + kind)
    shutil.copy(APP, tmp / "timeout_app.py")
    s = Serve(wine, kind, tmp, tmp / "timeout_app.py",
              ["--threads", "2", "--request-timeout", "2",
               "--interrupt-timeout", "3"])
    yield s
    s.stop()


def get(s, path, **kw):
    return s.get(path, **kw)  # on Wine's http.sys, resent if never accepted


def wait_log(s, *needles):
    """sysgi.exe's stderr once it holds every needle (a reader thread
    copies the pipe: a line may land just after the response)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        log = s.stderr()
        if all(n in log for n in needles):
            return log
        assert time.monotonic() < deadline, (needles, log)
        time.sleep(0.2)


@BOTH
@pytest.mark.parametrize("path", ["/busy", "/sleeploop"])
def test_overdue_request_gets_504_and_the_server_keeps_serving(srv, path):
    r = get(srv, path)
    assert r.status_code == 504, (r.status_code, r.text, srv.stderr())
    assert "Gateway Timeout" in r.text
    wait_log(srv, "request timeout: GET %s of '" % path,
             "RequestTimeout raised in its thread",
             "answered 504 Gateway Timeout")
    # Both worker threads are back in the pool, untouched.
    for _ in range(4):
        r = get(srv, "/")
        assert r.status_code == 200 and r.text == "hello True", r.text


@OURS
def test_after_the_head_the_connection_is_aborted(srv):
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        r = get(srv, "/stream", stream=True)
        assert r.status_code == 200
        for _ in r.iter_content(65536):
            pass
        raise AssertionError("the stream ended without an abort")
    wait_log(srv, "request timeout: GET /stream of '",
             "the connection is aborted")
    assert get(srv, "/").status_code == 200


@OURS
def test_a_thread_that_does_not_unwind_is_reported(srv, tmp_path):
    flag = tmp_path / "release"
    out = {}
    t = threading.Thread(target=lambda: out.setdefault(
        "r", get(srv, "/stuck?" + winpath(flag))))
    t.start()
    try:
        log = wait_log(srv, "request timeout: GET /stuck?",
                       "has not unwound",
                       "worker thread(s) did not unwind after "
                       "interrupt-timeout")
        assert "interrupt-timeout 3 s" in log
    finally:
        flag.write_text("go")
        t.join(TIMEOUT)
    r = out["r"]
    assert r.status_code == 200 and r.text == "caught 1 released True", r.text
    assert srv.stderr().count("has not unwound") == 1
    assert get(srv, "/").status_code == 200
