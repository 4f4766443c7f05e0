"""Issue 14 through the real sysgi.exe: the request limits (413, 431, 414)
on both http.sys stand-ins, and http.sys's timeouts on ours, which keeps
and enforces HttpServerTimeoutsProperty (tests/wine/httpapi/timeouts.c).
Wine's http.sys refuses the property (error 120): sysgi.exe logs one
warning and serves on.

Short timeouts (2 s), and no timing assertion: each test asserts the
effect (the connection closed, the read failed naming a timeout) within a
generous bound for a loaded machine.
"""
import os
import shutil
import socket
import time

import pytest
import requests

from e2e_support import APPS, Serve, STAND_INS, TIMEOUT, wait_for

BOTH = pytest.mark.parametrize("srv", STAND_INS, indirect=True, scope="module")
OURS = pytest.mark.parametrize("srv", ["ours"], indirect=True, scope="module")
LIMIT = 5000
ARGS = ["--debug", "--limit-request-body", str(LIMIT),
        "--limit-request-fields", "30", "--limit-request-field-size", "2000",
        "--limit-request-line", "3000",
        "--header-wait-timeout", "2", "--entity-body-timeout", "2",
        "--idle-connection-timeout", "2", "--drain-entity-body-timeout", "2",
        "--min-send-rate", "1000000"]
BOUND = 60  # seconds: a generous upper bound for any 2 s timer under load


@pytest.fixture(scope="module")
def srv(request, wine, tmp_path_factory):
    kind = request.param
    tmp = tmp_path_factory.mktemp("limits-" + kind)
    site = tmp / "site"
    site.mkdir()
    shutil.copy(os.path.join(APPS, "limits_app.py"), site / "app.py")
    s = Serve(wine, kind, tmp, site / "app.py", args=ARGS)
    yield s
    s.stop()


def connect(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
    return s


def closed_by_server(s, bound=BOUND):
    """True once the server has closed `s` (EOF or reset) within `bound`
    seconds; False if the connection is still open after it. Bytes that
    arrive (a response) are skipped."""
    s.settimeout(bound)
    deadline = time.monotonic() + bound
    try:
        while time.monotonic() < deadline:
            if not s.recv(65536):
                return True
    except (ConnectionResetError, ConnectionAbortedError):
        return True
    except socket.timeout:
        return False
    return False


def read_response(s):
    """Status and body of one response with a Content-Length."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, "connection closed before a response: %r" % buf
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    n = 0
    for l in lines[1:]:
        k, v = l.split(":", 1)
        if k.lower() == "content-length":
            n = int(v)
    while len(body) < n:
        chunk = s.recv(65536)
        assert chunk
        body += chunk
    return int(lines[0].split()[1]), body


# ---- limits: both stand-ins ----------------------------------------------

@BOTH
def test_declared_body_over_the_limit_is_413_before_the_app(srv):
    r = requests.post(srv.url("/read"), data=b"x" * (LIMIT + 1),
                      timeout=TIMEOUT)
    assert r.status_code == 413
    assert "read " not in r.text
    wait_for(lambda: "limit-request-body %d: 413" % LIMIT in srv.stderr(), 60,
             "the 413's log line")
    r = requests.post(srv.url("/read"), data=b"x" * LIMIT, timeout=TIMEOUT)
    assert (r.status_code, r.text) == (200, "read %d" % LIMIT)


@BOTH
def test_too_many_or_too_large_headers_are_431(srv):
    many = {"X-H%d" % i: "v" for i in range(40)}
    r = requests.get(srv.url("/"), headers=many, timeout=TIMEOUT)
    assert r.status_code == 431
    wait_for(lambda: "are more than limit-request-fields 30" in srv.stderr(),
             60, "the header count's log line")
    r = requests.get(srv.url("/"), headers={"X-Big": "v" * 2100},
                     timeout=TIMEOUT)
    assert r.status_code == 431
    wait_for(lambda: "request header X_BIG of 2107 bytes is larger than "
             "limit-request-field-size 2000" in srv.stderr(), 60,
             "the header size's log line")
    r = requests.get(srv.url("/"), headers={"X-Ok": "v" * 1900},
                     timeout=TIMEOUT)
    assert (r.status_code, r.text) == (200, "hello")


@BOTH
def test_long_request_line_is_414(srv):
    r = requests.get(srv.url("/?" + "q" * 3100), timeout=TIMEOUT)
    assert r.status_code == 414
    wait_for(lambda: "longer than limit-request-line 3000" in srv.stderr(),
             60, "the request line's log line")


@pytest.mark.parametrize("srv", ["wine"], indirect=True, scope="module")
def test_wine_refuses_the_timeouts_with_one_warning(srv):
    r = requests.get(srv.url("/"), timeout=TIMEOUT)
    assert (r.status_code, r.text) == (200, "hello")
    err = srv.stderr()
    assert err.count("http.sys refused HttpServerTimeoutsProperty") == 1, err
    assert "(error 120, not implemented)" in err


# ---- chunked bodies and timeouts: ours -----------------------------------

def chunked(parts):
    for p in parts:
        yield p


@OURS
def test_chunked_body_past_the_limit_fails_the_read_naming_it(srv):
    part = b"y" * 1000
    r = requests.post(srv.url("/read"), data=chunked([part] * 8),
                      timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.text == ("app-saw: error reading the request body (wsgi.input): "
                      "request body larger than limit-request-body %d" % LIMIT)
    # Let out of the app: 413.
    r = requests.post(srv.url("/leak"), data=chunked([part] * 8),
                      timeout=TIMEOUT)
    assert r.status_code == 413
    r = requests.post(srv.url("/read"), data=chunked([part] * 5),
                      timeout=TIMEOUT)
    assert (r.status_code, r.text) == (200, "read 5000")


@OURS
def test_header_wait_timeout_closes_a_slow_head(srv):
    s = connect(srv)
    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")
    assert closed_by_server(s), "the half-sent head was kept open"
    s.close()
    wait_for(lambda: "TIMEOUT" in open_log(srv) and
             "header-wait" in open_log(srv), 60, "the DLL's TIMEOUT line")


@OURS
def test_idle_connection_timeout_drops_a_kept_alive_connection(srv):
    s = connect(srv)
    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert read_response(s) == (200, b"hello")
    assert closed_by_server(s), "the idle connection was kept open"
    s.close()
    wait_for(lambda: "idle-connection" in open_log(srv), 60,
             "the DLL's TIMEOUT line")


@OURS
def test_entity_body_timeout_fails_the_read_with_a_timeout(srv):
    s = connect(srv)
    s.sendall(b"POST /read HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Length: 100\r\n\r\n" + b"z" * 10)
    assert closed_by_server(s), "the stalled body was kept open"
    s.close()
    wait_for(lambda: "app-saw: error reading the request body (wsgi.input): "
             "timeout" in srv.stderr(), 60, "the app's timeout error")
    assert "failed after 10 bytes: timeout" in srv.stderr()


@OURS
def test_client_gone_mid_body_is_named(srv):
    s = connect(srv)
    s.sendall(b"POST /read HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Length: 100\r\n\r\n" + b"z" * 7)
    time.sleep(0.5)
    s.close()
    wait_for(lambda: "(wsgi.input): client closed the connection"
             in srv.stderr(), 60, "the app's client-closed error")


@OURS
def test_drain_entity_body_timeout_closes_after_an_unread_stalled_body(srv):
    # "/" never reads its body: after the answer, the connection drains the
    # rest of it, which never comes.
    s = connect(srv)
    s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Length: 1000\r\n\r\n" + b"z" * 10)
    assert read_response(s) == (200, b"hello")
    assert closed_by_server(s), "the undrained connection was kept open"
    s.close()
    wait_for(lambda: "drain-entity-body" in open_log(srv), 60,
             "the DLL's TIMEOUT line")


@OURS
def test_min_send_rate_drops_a_client_that_does_not_read(srv):
    s = connect(srv)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b"GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    wait_for(lambda: "min-send-rate" in open_log(srv), BOUND,
             "the DLL's min-send-rate TIMEOUT line")
    s.close()
    wait_for(lambda: "sending the response failed" in srv.stderr(), 60,
             "sysgi.exe's debug line for the dropped client")
    r = requests.get(srv.url("/"), timeout=TIMEOUT)
    assert (r.status_code, r.text) == (200, "hello")


def open_log(srv):
    from conftest import httpapi_log_lines
    return "\n".join(httpapi_log_lines(srv.stand_env["SYSGI_HTTPAPI_LOG"]))
