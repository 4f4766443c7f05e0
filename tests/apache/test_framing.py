"""Framing of responses, checked on the wire (issue 13): a body shorter
than its Content-Length closes the connection, an application's own
Transfer-Encoding is dropped, a HEAD with an unread body is answered at
once, a status of any three digits is sent as mod_wsgi sends it, and an
auth script's check_password() may rename the user."""
import http.client
import os
import socket
import time

import pytest
import requests

from conftest import APPS

CASES = os.path.join(APPS, "cases.py")


@pytest.fixture(scope="module")
def srv(main_server):
    return main_server


def read_head(sock):
    """Reads up to the end of the head: (head bytes, what followed)."""
    data = b""
    while b"\r\n\r\n" not in data:
        b = sock.recv(65536)
        if not b:
            break
        data += b
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def read_to_eof(sock):
    """Everything until the server closes (or resets) the connection."""
    data = b""
    while True:
        try:
            b = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not b:
            break
        data += b
    return data


@pytest.mark.sysgi_only   # mod_wsgi 4.9 keeps the connection: it splits
@pytest.mark.parametrize("mode", ["gen", "list"])
def test_short_body_closes_the_connection(srv, mode):
    """Declared 10, sent 5. A second request on the same connection must
    not have its response read as the missing 5 bytes of the first."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
    try:
        s.sendall(b"GET /cl_short?mode=%s HTTP/1.1\r\nHost: x\r\n\r\n"
                  % mode.encode())
        head, body = read_head(s)
        assert head.startswith(b"HTTP/1.1 200")
        assert b"Content-Length: 10" in head
        while len(body) < 5:
            b = s.recv(65536)
            assert b, "closed before the 5 bytes that were sent"
            body += b
        try:
            s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        rest = read_to_eof(s)
    finally:
        s.close()
    assert body[:5] == b"01234"
    assert b"HTTP/1.1" not in body + rest, "response splitting: %r" % (body + rest)
    assert b"Hello World!" not in body + rest


@pytest.mark.sysgi_only   # mod_wsgi 4.9 passes it on: "hello world" unchunked
def test_own_transfer_encoding_is_dropped(srv):
    off = srv.log_offset()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    try:
        conn.request("GET", "/own_te")
        r = conn.getresponse()
        body = r.read()
        te = [v for k, v in r.getheaders() if k.lower() == "transfer-encoding"]
        # The same connection serves the next request: the framing was right.
        conn.request("GET", "/hello")
        r2 = conn.getresponse()
        assert r2.read() == b"Hello World!"
    finally:
        conn.close()
    assert r.status == 200 and body == b"hello world"
    assert te == ["chunked"]   # Apache's own chunking, once
    if srv.module == "sysgi":
        srv.wait_for_log("'Transfer-Encoding: chunked', a hop-by-hop header",
                         since=off)


@pytest.mark.sysgi_only   # mod_wsgi 4.9 (measured) waits for the body too
@pytest.mark.parametrize("close_write", [False, True])
def test_head_with_unread_body_is_answered_at_once(srv, close_write):
    """The body is announced but never sent (or the client half-closes):
    the answer must not wait for it, nor become a 400."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    try:
        s.sendall(b"HEAD /head HTTP/1.1\r\nHost: x\r\nContent-Length: 100000"
                  b"\r\n\r\n0123456789")
        if close_write:
            s.shutdown(socket.SHUT_WR)
        head, _ = read_head(s)
    finally:
        s.close()
    assert head.startswith(b"HTTP/1.1 200"), head


def status_line(srv, code):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
    try:
        s.sendall(b"GET /status?code=%s HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n" % code.encode())
        return read_to_eof(s).split(b"\r\n", 1)[0]
    finally:
        s.close()


def test_status_of_three_digits_is_sent_as_given(srv):
    """mod_wsgi accepts any three digits and Apache sends them."""
    assert status_line(srv, "099+Low") == b"HTTP/1.1 099 Low"
    assert status_line(srv, "299+Custom") == b"HTTP/1.1 299 Custom"


@pytest.mark.sysgi_only
def test_bad_status_message_is_precise(srv):
    off = srv.log_offset()
    assert status_line(srv, "20+OK") == b"HTTP/1.1 500 Internal Server Error"
    srv.wait_for_log("the status code must be a 3 digit integer", since=off)
    off = srv.log_offset()
    assert status_line(srv, "2000+OK") == b"HTTP/1.1 500 Internal Server Error"
    srv.wait_for_log("the status code must be a 3 digit integer", since=off)


def test_check_password_returning_str_renames_the_user(servers):
    auth = os.path.join(APPS, "authscripts.py")
    srv = servers.start([
        "WSGIScriptAlias / %s" % CASES,
        "<Location /env>",
        "  AuthType Basic",
        "  AuthName sysgi",
        "  AuthBasicProvider wsgi",
        "  WSGIAuthUserScript %s" % auth,
        "  Require valid-user",
        "</Location>"], None, wait_path=None)
    r = requests.get(srv.url + "/env", auth=("carol", "alias"), timeout=60)
    assert r.status_code == 200, srv.error_log()
    assert r.json()["REMOTE_USER"] == "carol.renamed"
    r = requests.get(srv.url + "/env", auth=("carol", "wrong"), timeout=60)
    assert r.status_code == 401


# ---- errors go to Apache ------------------------------------------------------

def test_failure_before_the_head_is_apaches_error_document(servers):
    srv = servers.start(['ErrorDocument 500 "sysgi-test custom 500 page"'],
                        CASES, wait_path="/hello")
    for path in ("/bad/raise_in_app", "/bad/raise_in_iter",
                 "/bad/no_start_response"):
        r = requests.get(srv.url + path, timeout=60)
        assert r.status_code == 500, path
        assert r.text == "sysgi-test custom 500 page", (path, r.text)
    # after the head, the connection is cut as before
    assert requests.get(srv.url + "/hello", timeout=60).status_code == 200


def test_failure_before_the_head_gets_apaches_own_page(servers):
    srv = servers.start([], CASES, wait_path="/hello")
    r = requests.get(srv.url + "/bad/raise_in_app", timeout=60)
    assert r.status_code == 500
    assert "<title>500 Internal Server Error</title>" in r.text


# mod_wsgi 4.9 applies WSGIErrorOverride in daemon mode only (measured:
# embedded, its On passes the application's page); mod_sysgi applies it.
@pytest.mark.parametrize("override", [
    pytest.param("On", marks=pytest.mark.sysgi_only), "Off"])
def test_error_override(servers, override):
    srv = servers.start(["WSGIErrorOverride %s" % override,
                         'ErrorDocument 404 "sysgi-test custom 404 page"'],
                        CASES, wait_path="/hello")
    r = requests.get(srv.url + "/status?code=404+Not+Found", timeout=60)
    assert r.status_code == 404
    if override == "On":
        assert r.text == "sysgi-test custom 404 page"
    else:
        assert r.text == "status 404 Not Found"
    # a success status is the application's either way
    r = requests.get(srv.url + "/status?code=201+Created", timeout=60)
    assert r.status_code == 201 and r.text == "status 201 Created"


# ---- streamed blocks are never held back (PEP 3333) ---------------------------

@pytest.mark.parametrize("size", [4096, 16384])
def test_a_block_set_aside_is_sent_before_the_next_is_asked_for(servers,
                                                                 size):
    """Blocks of 4 KiB or more go down Apache's filters without a FLUSH
    bucket. Here the socket buffers are small (SendBufferSize, the
    client's SO_RCVBUF) and the client reads nothing until the application
    waits: about 72 KiB are due, more than the sockets hold, less than
    httpd's 64 KiB set-aside limit above them, so httpd must set part of
    the last blocks aside. They must still reach the client before the
    application is asked for the next block, or this test waits until its
    socket timeout and fails."""
    srv = servers.start(["SendBufferSize 16384"], CASES, wait_path="/hello")
    flag = os.path.join(servers.site("flags"), "go")
    count = (72 << 10) // size
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(30)
    s.connect(("127.0.0.1", srv.port))
    try:
        s.sendall(b"GET /slow_stream?flag=%s&size=%d&count=%d HTTP/1.1\r\n"
                  b"Host: x\r\n\r\n" % (flag.encode(), size, count))
        time.sleep(1)  # let the application reach its wait (holds either way)
        head, data = read_head(s)
        assert head.startswith(b"HTTP/1.1 200"), head
        xs = data.count(b"x")
        while b"x\n" not in data[-64:]:
            b = s.recv(65536)
            assert b, data[-200:]
            xs += b.count(b"x")
            data = data[-64:] + b
        assert xs == size * count - 1
        with open(flag, "w") as f:
            f.write("go")
        while b"second" not in data:
            b = s.recv(65536)
            assert b, data[-200:]
            data += b
    finally:
        s.close()
