"""WSGIRequestTimeout / WSGIInterruptTimeout in embedded mode (mod_wsgi 6.0
has request-timeout in daemon mode only): 504 before the head, an aborted
connection after it, the thread serves the next request, a per-directory
0 turns it off, a thread that does not unwind is reported."""
import os

import pytest
import requests

import apache_fixture
from conftest import APPS

pytestmark = pytest.mark.sysgi_only
APP = os.path.join(APPS, "timeout_app.py")


@pytest.fixture(scope="module")
def srv(module_path):
    s = apache_fixture.start_apache([
        'WSGIScriptAlias /t "%s"' % APP,
        'WSGIScriptAlias /off "%s"' % APP,
        'WSGIScriptAlias /sub "%s" application-group=tmo-sub' % APP,
        "WSGIRequestTimeout 2",
        "WSGIInterruptTimeout 2",
        "<Location /off>",
        "  WSGIRequestTimeout 0",
        "</Location>",
    ], None, module_path=module_path, threads=4, wait_path="/t/")
    yield s
    s.stop()
    s.assert_no_crash()


def get(srv, path, **kw):
    kw.setdefault("timeout", 60)
    return requests.get(srv.url + path, **kw)


@pytest.mark.parametrize("prefix", ["/t", "/sub"])
def test_busy_loop_gets_504_and_the_server_keeps_serving(srv, prefix):
    since = srv.log_offset()
    r = get(srv, prefix + "/busy")
    assert r.status_code == 504
    log = srv.wait_for_log("answered 504", since)
    assert "request timeout: GET %s/busy of '%s'" % (prefix, APP) in log
    assert "RequestTimeout raised in its thread" in log
    assert "mod_wsgi.RequestTimeout" in log   # the traceback
    for _ in range(8):   # every thread of the child is still usable
        r = get(srv, prefix + "/")
        assert r.status_code == 200 and r.text == "hello True"


def test_except_exception_does_not_swallow_it(srv):
    assert get(srv, "/t/sleeploop").status_code == 504


def test_after_the_head_the_connection_is_aborted(srv):
    since = srv.log_offset()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        r = get(srv, "/t/stream", stream=True)
        assert r.status_code == 200
        for _ in r.iter_content(65536):
            pass
        # A complete body would mean the abort did not happen.
        raise AssertionError("the stream ended without an abort")
    srv.wait_for_log("the response had started: the connection is aborted",
                     since)
    assert get(srv, "/t/").status_code == 200


def test_zero_in_a_directory_turns_it_off(srv):
    r = get(srv, "/off/slow?3")
    assert r.status_code == 200 and r.text == "slow done"


def test_a_thread_that_does_not_unwind_is_reported(srv):
    # In the server's own directory: the children may run as www-data.
    import pathlib
    flag = pathlib.Path(srv.dir) / "release-stuck"
    since = srv.log_offset()
    import threading
    out = {}
    t = threading.Thread(target=lambda: out.setdefault(
        "r", get(srv, "/t/stuck?%s" % flag, timeout=120)))
    t.start()
    try:
        log = srv.wait_for_log("has not unwound", since, timeout=60)
        assert "GET /t/stuck" in log and "interrupt-timeout 2 s" in log
        srv.wait_for_log("did not unwind after WSGIInterruptTimeout", since)
    finally:
        flag.write_text("go")
        t.join(90)
    r = out["r"]
    assert r.status_code == 200 and r.text == "caught 1 released True"
    assert srv.error_log()[since:].count("has not unwound") == 1


@pytest.mark.parametrize("line,needle", [
    ("WSGIRequestTimeout soon", "WSGIRequestTimeout: 'soon' is not"),
    ("WSGIInterruptTimeout -1", "WSGIInterruptTimeout: '-1' is not"),
])
def test_bad_value_is_a_config_error(tmp_path, module_path, line, needle):
    work = apache_fixture.make_public(str(tmp_path / "httpd"))
    conf = apache_fixture.write_config(work, apache_fixture.free_port(), [line],
                                       module_path=module_path)
    ok, out = apache_fixture.check_config(conf)
    assert not ok, out
    assert needle in out
