"""What only our test httpapi.dll (tests/wine/httpapi/) can show, with the
real http.sys front end and the echo core: the parts of the HTTP Server API
Wine 8 lacks (WINE.md). Every test also ends with an empty violation log
(test_echo.httpapi_clean), and the server is stopped cleanly at the end."""
import json
import os
import socket
import time

import pytest
import requests

from conftest import check_httpapi_log, httpapi_log_lines
from test_echo import STARTED, httpapi_clean, start_echo, stop_echo  # noqa: F401

TIMEOUT = 60


def pattern(start, n):
    """echo_core.c echo_pattern() for bytes start .. start+n."""
    return bytes(((i * 131) + (i >> 9)) & 0xFF for i in range(start, start + n))


def fnv(data):
    h = 1469598103934665603
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


@pytest.fixture(scope="module")
def ours(wine, tmp_path_factory):
    p, _ = start_echo(wine, tmp_path_factory.mktemp("echo-ours"), kind="ours",
                      extra={"SYSGI_HTTPAPI_TRACE": "1"})
    yield p
    stop_echo(p)
    check_httpapi_log(p.httpapi_log)
    # The queue was closed with every request answered (checked above) and
    # the DLL saw the whole life of the server.
    text = "\n".join(httpapi_log_lines(p.httpapi_log))
    assert "HttpCloseRequestQueue" in text


@pytest.fixture(scope="module")
def base(ours):
    return ours.base


def connect(base):
    port = int(base.rsplit(":", 1)[1])
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)


def host_of(base):
    return base.split("//", 1)[1].encode()


def read_response(f, head_only=False):
    """One response from the buffered socket file `f`: (status, headers as
    a list of (lower name, value), body). Body by Content-Length, chunked,
    or up to EOF."""
    line = f.readline()
    assert line.startswith(b"HTTP/1.1 "), line
    status = int(line.split()[1])
    headers = []
    while True:
        h = f.readline()
        assert h, "connection closed inside a head"
        if h in (b"\r\n", b"\n"):
            break
        name, value = h.decode("latin-1").split(":", 1)
        headers.append((name.strip().lower(), value.strip()))
    d = dict(headers)
    if head_only or status in (204, 304) or status < 200:
        return status, headers, b""
    if "content-length" in d:
        body = f.read(int(d["content-length"]))
    elif d.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            body += f.read(size)
            assert f.read(2) == b"\r\n"
    else:
        body = f.read()
    return status, headers, body


def json_vars(body):
    return json.loads(body.decode("ascii"))["vars"]


def test_five_mib_post_body(base):
    data = os.urandom(5 * 1024 * 1024)
    r = requests.post(base + "/echo-body", data=data, timeout=TIMEOUT)
    assert r.status_code == 200
    assert len(r.content) == len(data) and r.content == data
    doc = requests.post(base + "/count", data=data, timeout=TIMEOUT).json()
    assert doc["body_len"] == len(data) and doc["body_fnv"] == fnv(data)


def test_chunked_post_body(base):
    pieces = [os.urandom(n) for n in (1, 7, 65536, 1000, 300000, 13)]

    def gen():
        yield from pieces
    r = requests.post(base + "/echo-body", data=gen(), timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.content == b"".join(pieces)


def test_chunked_body_with_extensions_and_trailer(base):
    s = connect(base)
    s.sendall(b"POST /count HTTP/1.1\r\nHost: " + host_of(base) +
              b"\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n"
              b"0\r\nX-Trailer: t\r\n\r\n")
    status, _, body = read_response(s.makefile("rb"))
    s.close()
    assert status == 200
    doc = json.loads(body)
    assert doc["body_len"] == 11 and doc["body_fnv"] == fnv(b"hello world")


def test_expect_100_continue(base):
    data = os.urandom(200000)
    s = connect(base)
    s.sendall(b"POST /count HTTP/1.1\r\nHost: " + host_of(base) +
              b"\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
              % len(data))
    f = s.makefile("rb")
    # The server says "100 Continue" before we send a byte of the body.
    assert f.readline() == b"HTTP/1.1 100 Continue\r\n"
    assert f.readline() == b"\r\n"
    s.sendall(data)
    status, _, body = read_response(f)
    s.close()
    assert status == 200
    doc = json.loads(body)
    assert doc["body_len"] == len(data) and doc["body_fnv"] == fnv(data)


def test_raw_non_ascii_bytes_in_path_and_headers(base):
    s = connect(base)
    s.sendall(b"GET /caf\xc3\xa9/\xff?q=\xe9 HTTP/1.1\r\nHost: " +
              host_of(base) + b"\r\nX-Name: \xe9t\xe9 \xe2\x82\xac\r\n\r\n")
    status, _, body = read_response(s.makefile("rb"))
    s.close()
    assert status == 200
    v = json_vars(body)
    assert v["PATH_INFO"].encode("latin-1") == b"/caf\xc3\xa9/\xff"
    assert v["QUERY_STRING"].encode("latin-1") == b"q=\xe9"
    assert v["HTTP_X_NAME"].encode("latin-1") == b"\xe9t\xe9 \xe2\x82\xac"


def test_pipelined_requests_answer_in_order(base):
    s = connect(base)
    h = b"Host: " + host_of(base) + b"\r\n"
    s.sendall(b"GET /p/1 HTTP/1.1\r\n" + h + b"\r\n"
              b"POST /echo-body HTTP/1.1\r\n" + h +
              b"Content-Length: 6\r\n\r\nabcdef"
              b"GET /p/3?x HTTP/1.1\r\n" + h + b"\r\n"
              b"POST /echo-body HTTP/1.1\r\n" + h +
              b"Transfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n"
              b"GET /p/5 HTTP/1.1\r\n" + h + b"Connection: close\r\n\r\n")
    f = s.makefile("rb")
    answers = [read_response(f) for _ in range(5)]
    assert f.read() == b""  # closed after the request that asked for it
    s.close()
    assert [a[0] for a in answers] == [200] * 5
    assert json_vars(answers[0][2])["PATH_INFO"] == "/p/1"
    assert answers[1][2] == b"abcdef"
    assert json_vars(answers[2][2])["REQUEST_URI"] == "/p/3?x"
    assert answers[3][2] == b"xyz"
    assert json_vars(answers[4][2])["PATH_INFO"] == "/p/5"
    assert ("connection", "close") in answers[4][1]


def test_keep_alive_http11_and_http10(base):
    with requests.Session() as sess:
        ports = {get_port(sess, base, i) for i in range(10)}
    assert len(ports) == 1
    s = connect(base)
    f = s.makefile("rb")
    for i in range(3):
        s.sendall(b"GET /ten/%d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" % i)
        status, headers, body = read_response(f)
        assert status == 200 and ("connection", "keep-alive") in headers
        assert json_vars(body)["SERVER_PROTOCOL"] == "HTTP/1.0"
    # Without keep-alive an HTTP/1.0 connection ends after the answer.
    s.sendall(b"GET /ten/last HTTP/1.0\r\n\r\n")
    status, _, _ = read_response(f)
    assert status == 200 and f.read() == b""
    s.close()


def get_port(sess, base, i):
    r = sess.get(base + "/k/%d" % i, timeout=TIMEOUT)
    assert r.status_code == 200
    return r.json()["vars"]["REMOTE_PORT"]


def test_head_has_no_body_and_keeps_the_connection(base):
    s = connect(base)
    h = b"Host: " + host_of(base) + b"\r\n"
    s.sendall(b"HEAD /h HTTP/1.1\r\n" + h + b"\r\nGET /after-head HTTP/1.1\r\n"
              + h + b"\r\n")
    f = s.makefile("rb")
    status, headers, _ = read_response(f, head_only=True)
    assert status == 200 and int(dict(headers)["content-length"]) > 0
    status, _, body = read_response(f)  # would fail on stray body bytes
    s.close()
    assert status == 200 and json_vars(body)["PATH_INFO"] == "/after-head"


@pytest.mark.parametrize("code", [204, 304])
def test_no_body_statuses_keep_the_connection_in_step(base, code):
    s = connect(base)
    h = b"Host: " + host_of(base) + b"\r\n"
    s.sendall(b"GET /status?code=%d HTTP/1.1\r\n" % code + h +
              b"\r\nGET /after-%d HTTP/1.1\r\n" % code + h + b"\r\n")
    f = s.makefile("rb")
    status, headers, _ = read_response(f)
    assert status == code
    if code == 204:
        assert "content-length" not in dict(headers)
    status, _, body = read_response(f)  # would fail on stray body bytes
    s.close()
    assert status == 200
    assert json_vars(body)["PATH_INFO"] == "/after-%d" % code


def test_streamed_response_is_chunked(base):
    r = requests.get(base + "/stream?chunks=40&size=10007", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in r.headers
    assert r.content == pattern(0, 40 * 10007)


def test_streamed_response_with_content_length(base):
    r = requests.get(base + "/stream?chunks=25&size=65536&cl=1",
                     timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(25 * 65536)
    assert "Transfer-Encoding" not in r.headers
    assert r.content == pattern(0, 25 * 65536)


def test_streamed_response_to_http10_ends_with_the_connection(base):
    s = connect(base)
    s.sendall(b"GET /stream?chunks=3&size=5000 HTTP/1.0\r\n\r\n")
    status, headers, body = read_response(s.makefile("rb"))
    s.close()
    assert status == 200
    assert "transfer-encoding" not in dict(headers)
    assert body == pattern(0, 15000)


def test_file_handle_chunk(base):
    r = requests.get(base + "/file?size=300000&off=12345&len=200000",
                     timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == "200000"
    assert r.content == pattern(12345, 200000)


def test_kept_file_is_sent_whole_to_concurrent_requests(base):
    # The bench's echo file (keep=1): made once, each request its own
    # handle, so concurrent sends do not share a file position.
    import concurrent.futures
    url = base + "/file?size=700001&keep=1"
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        rs = list(ex.map(lambda _: requests.get(url, timeout=TIMEOUT),
                         range(8)))
    for r in rs:
        assert r.status_code == 200
        assert r.content == pattern(0, 700001)


def test_head_bigger_than_the_receive_buffer(base):
    # 40 KB of headers: more than the front end's first 16 KB buffer, so
    # the DLL answers ERROR_MORE_DATA and the front end reads it again.
    big = "v" * 20000
    r = requests.get(base + "/big", headers={"X-Big-1": big, "X-Big-2": big},
                     timeout=TIMEOUT)
    assert r.status_code == 200
    v = r.json()["vars"]
    assert v["HTTP_X_BIG_1"] == big and v["HTTP_X_BIG_2"] == big


@pytest.mark.parametrize("raw,status", [
    (b"GET /bad-marker-1 HTTP/1.1\r\nHost: h\r\nNo colon here\r\n\r\n", 400),
    (b"GET /bad-marker-2 HTTP/1.1\r\n\r\n", 400),  # no Host
    (b"GET /bad-marker-3 HTTP/2.0\r\nHost: h\r\n\r\n", 505),
    (b"GET /bad marker-4 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    (b"POST /bad-marker-5 HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n", 400),
    (b"POST /bad-marker-6 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n"
     b"\r\n", 501),
])
def test_malformed_requests_never_reach_the_app(ours, raw, status):
    raw = raw.replace(b"Host: h", b"Host: " + host_of(ours.base))
    s = connect(ours.base)
    s.sendall(raw)
    got, headers, _ = read_response(s.makefile("rb"))
    s.close()
    assert got == status
    assert ("connection", "close") in headers
    marker = raw.split(b" ")[1].decode()
    seen = [l for l in httpapi_log_lines(ours.httpapi_log)
            if "request " in l and marker in l]
    assert not seen, seen


def test_ip_bound_url_takes_any_host_name(base):
    # http://127.0.0.1:PORT/ is an "IP-bound weak wildcard": every host
    # name on a connection to that address (Wine's http.sys wants the Host
    # to match instead).
    r = requests.get(base + "/x", headers={"Host": "other.example"},
                     timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json()["vars"]["SERVER_NAME"] == "other.example"


def test_client_gone_mid_response(ours):
    s = connect(ours.base)
    s.sendall(b"GET /stream?chunks=4000&size=65536 HTTP/1.1\r\nHost: " +
              host_of(ours.base) + b"\r\n\r\n")
    got = 0
    while got < 300000:
        got += len(s.recv(65536))
    # Reset rather than a polite close: the server's next sends fail.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
    s.close()
    # The front end learns it from a failed send (ERROR_CONNECTION_INVALID).
    deadline = time.monotonic() + TIMEOUT
    while "error 1229" not in ours.stderr():
        assert time.monotonic() < deadline, ours.stderr()[-2000:]
        time.sleep(0.2)
    r = requests.get(ours.base + "/still-alive", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json()["vars"]["PATH_INFO"] == "/still-alive"


@pytest.mark.parametrize("tail", [
    b"Content-Length: 1000000\r\n\r\n" + b"x" * 1000,      # short body
    b"Transfer-Encoding: chunked\r\n\r\n5\r\nabc",          # short chunk
    b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",     # bad chunk size
])
def test_client_gone_or_broken_mid_body(ours, tail):
    before = ours.stderr().count("reading the request body failed")
    s = connect(ours.base)
    s.sendall(b"POST /count HTTP/1.1\r\nHost: " + host_of(ours.base) +
              b"\r\n" + tail)
    time.sleep(0.5)  # not a timing assertion: only lets the server read
    s.shutdown(socket.SHUT_WR)
    f = s.makefile("rb")
    f.read()  # whatever comes, the server closes the connection
    s.close()
    # The front end saw the body fail (ERROR_CONNECTION_INVALID) ...
    deadline = time.monotonic() + TIMEOUT
    while ours.stderr().count("reading the request body failed") <= before:
        assert time.monotonic() < deadline, ours.stderr()[-2000:]
        time.sleep(0.2)
    # ... and goes on serving.
    r = requests.get(ours.base + "/after-broken-body", timeout=TIMEOUT)
    assert r.status_code == 200
