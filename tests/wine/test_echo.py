"""The http.sys front end (httpsys/) with the echo test core (echo_core.c)
in place of the Python core, on one of the two http.sys stand-ins
(SYSGI_ECHO_STAND_IN): "wine" (Wine's own, the default) or "ours" (the
test httpapi.dll of tests/wine/httpapi/, whose violation log is checked
after every test). What only ours can do is in test_echo_ours.py."""
import hashlib
import json
import os
import signal
import socket
import threading
import time

import pytest
import requests

import wine_http
from conftest import (WineProcess, check_httpapi_log, free_port,
                      stand_in_env)

ECHO = os.environ.get("SYSGI_ECHO_SERVER", "")
KIND = os.environ.get("SYSGI_ECHO_STAND_IN", "wine")
TIMEOUT = 60
STARTED = []  # every echo server of this session, for the log checks


def start_echo(wine, tmp_path, mount="", threads=8, kind=None, extra=None):
    kind = kind or KIND
    port = free_port()
    url = "http://127.0.0.1:%d%s/" % (port, mount)
    # The echo core frees each body buffer when its send completes, so
    # our DLL may poison memory chunks too.
    exe, env = stand_in_env(kind, ECHO, tmp_path, poison="all")
    env["ECHO_MOUNT"] = mount
    if kind == "ours":
        env["ECHO_SENDFILE"] = "1"
    env.update(extra or {})
    p = WineProcess(wine, [exe, url, str(threads)],
                    str(tmp_path / ("echo-%d.log" % port)), env)
    p.httpapi_log = env.get("SYSGI_HTTPAPI_LOG")
    p.base = "http://127.0.0.1:%d" % port
    STARTED.append(p)
    try:
        p.wait_line("listening")
    except Exception:
        p.stop()
        raise
    if kind == "wine":
        wine_http.wake_while_running(p, [port])
    return p, p.base


def stop_echo(p):
    """Stops through /__shutdown, so the queue is closed (and checked by
    our DLL) as in a clean stop; kills it if that fails."""
    try:
        if p.proc.poll() is None:
            try:
                requests.get(p.base + "/__shutdown", timeout=TIMEOUT)
            except requests.ConnectionError:
                # On Wine's http.sys the Ctrl-C of test_ctrl_c_stops_cleanly
                # also ends the listening of the module's server (the
                # shared http.sys driver): killed below. Ours listens in
                # the process itself, so there it is a failure.
                if p.httpapi_log:
                    raise
                return
            p.wait_line("stopped", timeout=TIMEOUT)
            p.proc.wait(timeout=TIMEOUT)
    finally:
        p.stop()


@pytest.fixture(autouse=True)
def httpapi_clean():
    """After each test: no violation in the log of any of our DLLs."""
    yield
    for p in STARTED:
        if p.httpapi_log:
            check_httpapi_log(p.httpapi_log)


@pytest.fixture(scope="module")
def echo_proc(wine, tmp_path_factory):
    p, _ = start_echo(wine, tmp_path_factory.mktemp("echo"))
    yield p
    stop_echo(p)
    if p.httpapi_log:
        check_httpapi_log(p.httpapi_log)


@pytest.fixture(scope="module")
def echo(echo_proc):
    return echo_proc.base


def get_vars(resp):
    assert resp.status_code == 200, resp.text
    return resp.json()["vars"]


def test_get_maps_cgi_variables(echo):
    port = echo.rsplit(":", 1)[1]
    r = requests.get(echo + "/a/b?x=1&y=%20", headers={"X-Foo": "bar"},
                     timeout=TIMEOUT)
    doc = r.json()
    v = doc["vars"]
    assert v["REQUEST_METHOD"] == "GET"
    assert v["SCRIPT_NAME"] == ""
    assert v["PATH_INFO"] == "/a/b"
    assert v["QUERY_STRING"] == "x=1&y=%20"
    assert v["REQUEST_URI"] == "/a/b?x=1&y=%20"
    assert v["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert v["SERVER_PORT"] == port
    assert v["SERVER_NAME"] == "127.0.0.1"
    assert v["REMOTE_ADDR"] == "127.0.0.1"
    assert int(v["REMOTE_PORT"]) > 0
    assert v["HTTP_X_FOO"] == "bar"
    assert v["HTTP_HOST"] == "127.0.0.1:" + port
    assert v["SERVER_SOFTWARE"].startswith("sysgi/")
    assert doc["url_scheme"] == "http"
    assert "CONTENT_LENGTH" not in v and "HTTP_CONTENT_LENGTH" not in v
    # Microseconds since the epoch: somewhere between 2020 and 2100.
    assert 1.5e15 < doc["queue_start_us"] < 4.1e15
    assert r.headers["X-Echo"] == "1"


def test_head_of_body_vars_are_cgi_names(echo):
    r = requests.post(echo + "/p", data=b"abc",
                      headers={"Content-Type": "text/x-test"}, timeout=TIMEOUT)
    v = get_vars(r)
    assert v["CONTENT_TYPE"] == "text/x-test"
    assert v["CONTENT_LENGTH"] == "3"
    assert "HTTP_CONTENT_TYPE" not in v
    assert r.json()["body_len"] == 3


@pytest.mark.parametrize("size", [0, 1, 4095, 65536, 100 * 1024])
def test_post_body_round_trip(echo, size):
    data = hashlib.sha256(b"seed").digest() * (size // 32 + 1)
    data = data[:size]
    r = requests.post(echo + "/echo-body", data=data, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.content == data


def test_keep_alive_reuses_one_connection(echo):
    with requests.Session() as s:
        ports = set()
        for i in range(20):
            v = get_vars(s.get(echo + "/k/%d" % i, timeout=TIMEOUT))
            assert v["PATH_INFO"] == "/k/%d" % i
            ports.add(v["REMOTE_PORT"])
        assert len(ports) == 1, ports


def test_fifty_headers(echo):
    hdrs = {"X-H%02d" % i: "value-%d" % i for i in range(50)}
    v = get_vars(requests.get(echo + "/h", headers=hdrs, timeout=TIMEOUT))
    for i in range(50):
        assert v["HTTP_X_H%02d" % i] == "value-%d" % i


def test_header_with_underscore_is_not_passed(echo):
    v = get_vars(requests.get(echo + "/u", headers={"X_User": "evil"},
                              timeout=TIMEOUT))
    assert "HTTP_X_USER" not in v


def test_non_ascii_percent_encoded_path(echo):
    path = "/caf\u00e9/\u20ac/\u65e5\u672c"
    quoted = requests.utils.quote(path.encode("utf-8"))
    v = get_vars(requests.get(echo + quoted + "?q=%C3%A9", timeout=TIMEOUT))
    # Percent-decoded bytes, handed over as latin-1 (like every WSGI server).
    assert v["PATH_INFO"].encode("latin-1").decode("utf-8") == path
    assert v["REQUEST_URI"] == quoted + "?q=%C3%A9"
    assert v["QUERY_STRING"] == "q=%C3%A9"


def raw_head(base, request):
    """Sends `request` on a raw socket; returns the response head lines
    (read up to the blank line: Wine keeps the connection open)."""
    s = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])),
                                 timeout=TIMEOUT)
    s.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data


def test_several_www_authenticate_headers_stay_separate(echo):
    # Host must match the registered URL: http.sys routes by it.
    host = echo.split("//", 1)[1].encode()
    data = raw_head(echo, b"GET /auth HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    assert head[0].startswith("HTTP/1.1 401")
    auth = [h.split(":", 1)[1].strip() for h in head
            if h.lower().startswith("www-authenticate:")]
    assert auth == ['Basic realm="a"', "Negotiate"]


def test_sixteen_concurrent_clients_for_ten_seconds(echo):
    errors, counts = [], []
    deadline = time.monotonic() + 10

    def client(n):
        done = 0
        try:
            with requests.Session() as s:
                # Bounded: at most 2000 requests per client.
                while time.monotonic() < deadline and done < 2000:
                    body = ("%d-%d" % (n, done)).encode() * 50
                    r = s.post(echo + "/echo-body", data=body, timeout=TIMEOUT)
                    if r.status_code != 200 or r.content != body:
                        errors.append((n, done, r.status_code))
                        return
                    done += 1
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((n, done, repr(e)))
        counts.append(done)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10 + 2 * TIMEOUT)
    assert not errors, errors[:5]
    assert len(counts) == 16 and all(c > 0 for c in counts), counts


def test_mount_point_splits_script_name(wine, tmp_path):
    p, base = start_echo(wine, tmp_path, mount="/app")
    try:
        v = get_vars(requests.get(base + "/app/x/y", timeout=TIMEOUT))
        assert v["SCRIPT_NAME"] == "/app"
        assert v["PATH_INFO"] == "/x/y"
        v = get_vars(requests.get(base + "/app/", timeout=TIMEOUT))
        assert v["SCRIPT_NAME"] == "/app"
        assert v["PATH_INFO"] == "/"
    finally:
        p.stop()


def test_clean_shutdown(wine, tmp_path):
    p, base = start_echo(wine, tmp_path)
    try:
        assert requests.get(base + "/x", timeout=TIMEOUT).status_code == 200
        requests.get(base + "/__shutdown", timeout=TIMEOUT)
        p.wait_line("stopped", timeout=TIMEOUT)
        assert p.proc.wait(timeout=TIMEOUT) == 0
    finally:
        p.stop()


def test_ctrl_c_stops_cleanly(wine, tmp_path):
    # Wine turns SIGINT into CTRL_C_EVENT for console programs.
    p, base = start_echo(wine, tmp_path)
    try:
        with requests.Session() as s:
            assert s.get(base + "/x", timeout=TIMEOUT).status_code == 200
            p.proc.send_signal(signal.SIGINT)
            p.wait_line("stopped", timeout=TIMEOUT)
        assert p.proc.wait(timeout=TIMEOUT) == 0
        assert "stopped (" in p.stderr()
    finally:
        p.stop()
