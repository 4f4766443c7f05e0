"""Requests through one shared httpd (apps/cases.py): responses, bodies,
wsgi.input, wsgi.errors, wsgi.file_wrapper, bad applications."""
import hashlib
import http.client
import json
import os
import socket
import time

import pytest
import requests

TIMEOUT = 60


def get(srv, path, **kw):
    kw.setdefault("timeout", TIMEOUT)
    return requests.get(srv.url + path, **kw)


def test_hello(main_server, module_kind):
    r = get(main_server, "/hello")
    assert r.status_code == 200
    assert r.content == b"Hello World!"
    assert r.headers["Content-Length"] == "12"
    assert r.headers["Content-Type"] == "text/plain"
    # The banner names the module and its Python, like mod_wsgi's.
    name = "mod_sysgi/" if module_kind == "sysgi" else "mod_wsgi/"
    assert name in r.headers["Server"]
    assert "Python/3." in r.headers["Server"]


def test_keepalive_many_requests(main_server):
    with requests.Session() as s:
        for _ in range(50):
            r = s.get(main_server.url + "/hello", timeout=TIMEOUT)
            assert r.content == b"Hello World!"


def test_multiple_set_cookie_and_repeated_headers(main_server):
    conn = http.client.HTTPConnection("127.0.0.1", main_server.port, timeout=TIMEOUT)
    conn.request("GET", "/cookies")
    resp = conn.getresponse()
    assert resp.read() == b"cookies"
    hdrs = resp.getheaders()
    assert [v for k, v in hdrs if k.lower() == "set-cookie"] == ["a=1; Path=/", "b=2; Path=/"]
    multi = [v for k, v in hdrs if k.lower() == "x-multi"]
    assert multi == ["one", "two"] or multi == ["one, two"]
    conn.close()


def test_status_passed_through(main_server):
    r = get(main_server, "/status", params={"code": "404 Not Found"})
    assert r.status_code == 404 and r.content == b"status 404 Not Found"
    r = get(main_server, "/status", params={"code": "299 Custom Reason"})
    assert r.status_code == 299
    assert r.reason == "Custom Reason"


def test_unknown_mount_path_is_app_404(main_server):
    r = get(main_server, "/nothing-here")
    assert r.status_code == 404 and r.content.startswith(b"no case")


def test_head_sends_no_body(main_server):
    conn = http.client.HTTPConnection("127.0.0.1", main_server.port, timeout=TIMEOUT)
    conn.request("HEAD", "/head")
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("X-Method") == "HEAD"
    assert resp.getheader("Content-Length") == str(len(b"a body that HEAD must not send"))
    assert resp.read() == b""
    # The connection is still in sync: no stray body bytes precede this.
    conn.request("GET", "/hello")
    resp = conn.getresponse()
    assert resp.read() == b"Hello World!"
    conn.close()


def test_content_length_truncates_extra_bytes(main_server):
    conn = http.client.HTTPConnection("127.0.0.1", main_server.port, timeout=TIMEOUT)
    conn.request("GET", "/cl_truncate")
    resp = conn.getresponse()
    assert resp.getheader("Content-Length") == "5"
    assert resp.read() == b"01234"
    # Nothing beyond the declared length was written on the connection.
    conn.request("GET", "/hello")
    assert conn.getresponse().read() == b"Hello World!"
    conn.close()


def test_stream_many_chunks(main_server):
    r = get(main_server, "/stream", params={"n": 256, "size": 4096})
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    expect = b"".join(bytes([i % 256]) * 4096 for i in range(256))
    assert r.content == expect


def test_streamed_response_really_streams(main_server, tmp_path):
    """The first chunk reaches the client while the app still waits."""
    flag = os.path.join(main_server.files_dir, "flag-%d" % time.monotonic_ns())
    r = requests.get(main_server.url + "/slow_stream", params={"flag": flag},
                     stream=True, timeout=TIMEOUT)
    lines = r.iter_lines()
    assert next(lines) == b"first"
    with open(flag, "w") as f:
        f.write("go")
    os.chmod(flag, 0o666)
    assert next(lines) == b"second"
    r.close()


def test_abandoned_generator_gets_closed(main_server):
    marker = os.path.join(main_server.files_dir, "closed-%d" % time.monotonic_ns())
    s = socket.create_connection(("127.0.0.1", main_server.port), timeout=TIMEOUT)
    s.sendall(b"GET /abandon?marker=%s HTTP/1.1\r\nHost: x\r\n\r\n" % marker.encode())
    got = 0
    while got < 300000:
        data = s.recv(65536)
        assert data
        got += len(data)
    s.close()   # halfway through a 2 GB response
    deadline = time.monotonic() + 90
    while not os.path.exists(marker):
        assert time.monotonic() < deadline, "close() was never called"
        time.sleep(0.2)
    with open(marker) as f:
        text = f.read()
    assert text.startswith("closed after")
    assert int(text.split()[2]) < 2000
    assert get(main_server, "/hello").content == b"Hello World!"


# ---- wsgi.input -----------------------------------------------------------

BODY = os.urandom(1 << 20)
LINES = b"".join(b"line %d %s\n" % (i, b"y" * (i % 300)) for i in range(3000))


@pytest.mark.parametrize("mode", ["read", "readn", "readline", "readline_n",
                                  "readlines", "iter", "content_length"])
def test_post_1mib_read_variants(main_server, mode):
    body = LINES if mode.startswith("readline") or mode in ("readlines", "iter") else BODY
    r = requests.post(main_server.url + "/echo", params={"mode": mode},
                      data=body, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["len"] == len(body)
    assert out["sha256"] == hashlib.sha256(body).hexdigest()
    assert out["content_length"] == str(len(body))


@pytest.mark.parametrize("mode", ["read", "readn", "readline"])
def test_chunked_request_body(main_server, mode):
    pieces = [LINES[i:i + 10000] for i in range(0, len(LINES), 10000)]

    def gen():
        yield from pieces

    r = requests.post(main_server.url + "/echo", params={"mode": mode},
                      data=gen(), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["transfer_encoding"] == "chunked"
    assert out["len"] == len(LINES)
    assert out["sha256"] == hashlib.sha256(LINES).hexdigest()


def test_empty_body_reads_empty(main_server):
    r = requests.post(main_server.url + "/echo", data=b"", timeout=TIMEOUT)
    assert r.json()["len"] == 0
    r = get(main_server, "/echo", params={"mode": "readline"})
    assert r.json()["len"] == 0


def test_expect_100_continue(main_server):
    conn = http.client.HTTPConnection("127.0.0.1", main_server.port, timeout=TIMEOUT)
    body = b"z" * 5000
    conn.putrequest("POST", "/echo?mode=read")
    conn.putheader("Content-Length", str(len(body)))
    conn.putheader("Expect", "100-continue")
    conn.endheaders()
    conn.send(body)
    resp = conn.getresponse()
    assert json.loads(resp.read())["len"] == 5000
    conn.close()


# ---- wsgi.errors ------------------------------------------------------------

def test_wsgi_errors_reach_error_log(main_server):
    marker = "marker-%d" % time.monotonic_ns()
    r = get(main_server, "/errors", params={"marker": marker})
    assert r.content == b"logged"
    log = main_server.wait_for_log("print to wsgi.errors " + marker)
    assert "wsgi.errors write " + marker in log
    assert "wsgi.errors writelines " + marker in log


# ---- wsgi.file_wrapper -------------------------------------------------------

@pytest.fixture(scope="module")
def big_file(main_server):
    path = os.path.join(main_server.files_dir, "big.bin")
    data = os.urandom(3 * 1024 * 1024 + 12345)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o644)
    return path, data


@pytest.mark.parametrize("prefix", ["", "/sf"], ids=["sendfile_off", "sendfile_on"])
@pytest.mark.parametrize("offset", [0, 1000003])
@pytest.mark.parametrize("cl", ["0", "1"])
def test_file_wrapper(main_server, big_file, prefix, offset, cl):
    path, data = big_file
    r = get(main_server, prefix + "/file",
            params={"path": path, "offset": offset, "cl": cl})
    assert r.status_code == 200
    assert len(r.content) == len(data) - offset
    assert r.content == data[offset:]


@pytest.mark.parametrize("prefix", ["", "/sf"], ids=["sendfile_off", "sendfile_on"])
def test_file_wrapper_without_fileno(main_server, big_file, prefix):
    path, data = big_file
    r = get(main_server, prefix + "/file",
            params={"path": path, "offset": 777, "mode": "bytesio", "blksize": 65536})
    assert r.content == data[777:]


def test_file_wrapper_sendfile_on_uses_sendfile(main_server, big_file, sysgi_only):
    """With WSGIEnableSendfile On (and EnableSendfile On) the body goes out
    through the kernel's sendfile(); with it Off it does not."""
    import shutil
    import subprocess
    strace = shutil.which("strace")
    if not strace:
        pytest.skip("strace not installed")
    path, data = big_file
    pids = main_server.child_pids()
    assert len(pids) == 1
    out = os.path.join(main_server.files_dir, "strace-%d.txt" % time.monotonic_ns())
    tracer = subprocess.Popen([strace, "-f", "-qq", "-e", "trace=sendfile",
                               "-o", out, "-p", str(pids[0])],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(2)   # strace attaches to every thread first
        r = get(main_server, "/sf/file", params={"path": path, "cl": "1"})
        assert r.content == data
        r = get(main_server, "/file", params={"path": path, "offset": 5, "cl": "1"})
        assert r.content == data[5:]
        time.sleep(1)
    finally:
        tracer.terminate()
        tracer.wait(30)
    with open(out) as f:
        trace = f.read()
    calls = [ln for ln in trace.splitlines() if "sendfile(" in ln]
    assert calls, "no sendfile() call under WSGIEnableSendfile On:\n" + trace
    sent = 0
    for ln in calls:
        try:
            sent += int(ln.rsplit("=", 1)[1].split()[0])
        except ValueError:
            pass
    # The /sf response went through sendfile; the /file one did not add any.
    assert sent == len(data), trace


# ---- bad applications -------------------------------------------------------

BAD_BEFORE_HEAD = ["nonstr_header", "nonstr_name", "crlf_header", "no_reason",
                   "str_body", "raise_in_iter", "no_start_response",
                   "raise_in_app", "returns_none"]


@pytest.mark.parametrize("kind", BAD_BEFORE_HEAD)
def test_bad_app_gives_500_and_log_line(main_server, kind):
    off = main_server.log_offset()
    r = get(main_server, "/bad/" + kind)
    assert r.status_code == 500
    assert "Injected" not in r.headers
    # A log line for it (the traceback or the core's explanation).
    deadline = time.monotonic() + 30
    while True:
        log = main_server.error_log()[off:]
        if ":error]" in log:   # [sysgi:error] / [wsgi:error]
            break
        assert time.monotonic() < deadline, "nothing logged for " + kind
        time.sleep(0.2)
    assert get(main_server, "/hello").content == b"Hello World!"


def test_raise_after_head_aborts_connection(main_server):
    off = main_server.log_offset()
    with pytest.raises((requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ConnectionError)):
        get(main_server, "/bad/raise_after_head")
    main_server.wait_for_log("raised in __iter__ (after)", since=off)
    assert get(main_server, "/hello").content == b"Hello World!"


def test_raise_in_close_is_logged(main_server):
    off = main_server.log_offset()
    try:
        r = get(main_server, "/bad/raise_in_close")
        # The body was complete before close(): 200 with it, or 500 if the
        # server checks close() first; never a different body.
        assert r.status_code in (200, 500)
        if r.status_code == 200:
            assert r.content == b"body before a failing close"
    except (requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ConnectionError):
        pass  # aborted after the head: also acceptable
    main_server.wait_for_log("raised in close()", since=off)
    assert get(main_server, "/hello").content == b"Hello World!"


def test_many_clients_disconnecting_mid_response(main_server):
    """32 clients drop their connection in the middle of large streamed and
    file responses at once; the server keeps serving and nothing crashes."""
    import concurrent.futures
    big = os.path.join(main_server.files_dir, "drop.bin")
    with open(big, "wb") as f:
        f.write(os.urandom(8 << 20))
    os.chmod(big, 0o644)
    targets = ["/stream?n=4000&size=65536", "/sf/file?path=%s" % big,
               "/file?path=%s" % big, "/abandon?marker=%s" % os.path.join(
                   main_server.files_dir, "drop-marker")]

    def client(i):
        s = socket.create_connection(("127.0.0.1", main_server.port), timeout=TIMEOUT)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % targets[i % len(targets)].encode())
        got = 0
        while got < 100000:
            data = s.recv(65536)
            if not data:
                break
            got += len(data)
        s.close()
        return got
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        sizes = list(pool.map(client, range(64)))
    assert all(n >= 100000 for n in sizes)
    for _ in range(10):
        assert get(main_server, "/hello").content == b"Hello World!"
    main_server.assert_no_crash()
