"""Issue 14 on mod_sysgi, on the wire with raw sockets: limit-request-body
maps onto Apache's LimitRequestBody (a declared length over it is a 413
before the app runs; a chunked body growing past it fails the app's read
naming the limit, and httpd answers 413); a failed body read names its
cause (timeout from Timeout, a client that closed, a bad chunk); a client
that leaves mid-response is logged at debug level."""
import os
import socket
import time

import pytest
import requests

import apache_fixture
from conftest import APPS, Servers, WinServers, _failed

LIMIT = 5000
pytestmark = pytest.mark.sysgi_only


@pytest.fixture(scope="module")
def srv(request, module_kind, module_path, tmp_path_factory, apache_win):
    tmp = str(tmp_path_factory.mktemp("limits"))
    s = (WinServers(apache_win, tmp) if apache_win
         else Servers(module_kind, module_path, tmp))
    app = s.copy_app("limits.py")
    srv = s.start(["LimitRequestBody %d" % LIMIT, "Timeout 2"],
                  {"/": app}, wait_path="/")
    yield srv
    s.close(any(_failed(i) for i in request.session.items
                if i.module is request.module))


def connect(srv):
    return socket.create_connection(("127.0.0.1", srv.port), timeout=60)


def status_of(sock):
    data = b""
    while b"\r\n" not in data:
        b = sock.recv(65536)
        if not b:
            break
        data += b
    return int(data.split(b" ", 2)[1]) if data else None


def test_declared_body_over_limit_request_body_is_413_before_the_app(srv):
    since = srv.log_offset()
    r = requests.post(srv.url + "/read", data=b"x" * (LIMIT + 1), timeout=60)
    assert r.status_code == 413
    assert "read " not in r.text and "app-saw" not in r.text
    srv.wait_for_log("limit-request-body %d: 413" % LIMIT, since)
    r = requests.post(srv.url + "/read", data=b"x" * LIMIT, timeout=60)
    assert (r.status_code, r.text) == (200, "read %d" % LIMIT)


def test_chunked_body_past_the_limit_names_it_and_is_413(srv):
    since = srv.log_offset()
    r = requests.post(srv.url + "/read",
                      data=iter([b"y" * 1000] * 8), timeout=60)
    assert r.status_code == 413
    srv.wait_for_log("app-saw: error reading the request body (wsgi.input): "
                     "request body larger than limit-request-body %d" % LIMIT,
                     since)
    r = requests.post(srv.url + "/read", data=iter([b"y" * 1000] * 5),
                      timeout=60)
    assert (r.status_code, r.text) == (200, "read 5000")


def test_stalled_body_is_a_timeout(srv):
    since = srv.log_offset()
    s = connect(srv)
    s.sendall(b"POST /read HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Length: 100\r\n\r\n" + b"z" * 10)
    srv.wait_for_log("app-saw: error reading the request body (wsgi.input): "
                     "timeout", since)
    s.close()


def test_client_closing_mid_body_is_named(srv):
    since = srv.log_offset()
    s = connect(srv)
    s.sendall(b"POST /read HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Length: 100\r\n\r\n" + b"z" * 10)
    time.sleep(0.5)
    s.close()
    srv.wait_for_log("(wsgi.input): client closed the connection", since)


def test_bad_chunk_is_named(srv):
    since = srv.log_offset()
    s = connect(srv)
    s.sendall(b"POST /read HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\nzz\r\n")
    assert status_of(s) == 400  # httpd's chunk filter answered
    s.close()
    srv.wait_for_log("(wsgi.input): bad chunk in the chunked request body",
                     since)


def test_client_leaving_mid_response_is_logged_at_debug(srv):
    since = srv.log_offset()
    s = connect(srv)
    s.sendall(b"GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    got = 0
    while got < 1 << 20:
        b = s.recv(65536)
        assert b
        got += len(b)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    s.close()  # a reset: the server's next send fails
    log = srv.wait_for_log("client closed the connection during the response",
                           since)
    line = [l for l in log.splitlines()
            if "client closed the connection during the response" in l][0]
    assert ":debug]" in line, line
