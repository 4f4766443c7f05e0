"""sysgi.exe serve with a real Windows CPython 3.11 under Wine: one server
per stand-in for the whole module (apps/app.py), every feature of the WSGI
path through the real core and the real http.sys front end.

Wine's http.sys ("wine") gets what it supports: responses in one piece
(known length), request bodies below ~110 KB, no chunked request bodies.
Ours ("ours") gets everything. The stand-in's violation log is checked
when the module's server stops.
"""
import hashlib
import json
import os
import shutil
import socket
import time

import pytest
import requests

from conftest import httpapi_log_lines
from e2e_support import APPS, Serve, STAND_INS, TIMEOUT, wait_for

BOTH = pytest.mark.parametrize("srv", STAND_INS, indirect=True, scope="module")
OURS = pytest.mark.parametrize("srv", ["ours"], indirect=True, scope="module")
BIG_SIZE = 10 * 1024 * 1024

REF = os.path.join(os.path.dirname(__file__), "..", "..", "apache", "data",
                   "environ-modwsgi.txt")
# Keys of the mod_wsgi reference that do not apply to http.sys (sysgi.exe
# has no Apache around it): Apache's own CGI variables, which http.sys has
# no equivalent for, and Apache's version.
NOT_HTTPSYS = {
    "CONTEXT_DOCUMENT_ROOT", "CONTEXT_PREFIX", "DOCUMENT_ROOT",
    "SERVER_ADMIN", "SERVER_SIGNATURE", "PATH_TRANSLATED", "apache.version",
}


def make_site(tmp_path, sendfile=False):
    d = tmp_path / ("site-sendfile" if sendfile else "site")
    d.mkdir()
    shutil.copy(os.path.join(APPS, "app.py"), d / "app.py")
    with open(d / "big.bin", "wb") as f:
        for i in range(BIG_SIZE // 65536):
            f.write(hashlib.sha256(b"%d" % i).digest() * 2048)
    return d


@pytest.fixture(scope="module")
def srv(request, wine, tmp_path_factory):
    kind = request.param
    tmp = tmp_path_factory.mktemp("app-" + kind)
    site = make_site(tmp)
    s = Serve(wine, kind, tmp, site / "app.py")
    s.site = site
    yield s
    s.stop()


@pytest.fixture(scope="module")
def srv_sendfile(wine, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app-sendfile")
    site = make_site(tmp, sendfile=True)
    s = Serve(wine, "ours", tmp, site / "app.py", ["--enable-sendfile"])
    s.site = site
    yield s
    s.stop()


def get(s, path, **kw):
    return s.get(path, **kw)  # on Wine's http.sys, resent if never accepted


@BOTH
def test_hello(srv):
    r = get(srv, "/hello")
    assert r.status_code == 200, r.text
    assert r.text == "hello from 3.11.2"
    assert r.headers["Content-Length"] == str(len(r.content))
    assert srv.running()


@BOTH
def test_environ_against_mod_wsgi_reference(srv):
    r = get(srv, "/environ/sub?x=1&y=a%20b&flag&empty=",
            headers={"User-Agent": "e2e/1", "X-Bench-Header": "one"})
    assert r.status_code == 200, r.text
    env = r.json()
    ref = {}
    for line in open(REF, encoding="utf-8"):
        if line.startswith("# extra"):
            break  # what follows is not environ keys
        if line.strip() and not line.startswith("#"):
            key, typ = line.split("\t")[:2]
            ref[key] = typ
    assert len(ref) > 40 and "wsgi.input" in ref
    missing = sorted(k for k in set(ref) - NOT_HTTPSYS if k not in env)
    assert not missing, "keys of the mod_wsgi environ missing: %s" % missing
    # The plain types are mod_wsgi's (str, int, bool, tuple).
    types = env["__types__"]
    wrong = {k: (types[k], t) for k, t in ref.items()
             if k not in NOT_HTTPSYS and t in ("str", "int", "bool", "tuple")
             and types[k] != t}
    assert not wrong, "types differing from mod_wsgi's (ours, theirs): %s" % wrong
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SCRIPT_NAME"] == ""
    assert env["PATH_INFO"] == "/environ/sub"
    assert env["QUERY_STRING"] == "x=1&y=a%20b&flag&empty="
    assert env["REQUEST_URI"] == "/environ/sub?x=1&y=a%20b&flag&empty="
    assert env["SERVER_PORT"] == str(srv.port)
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["HTTP_USER_AGENT"] == "e2e/1"
    assert env["HTTP_X_BENCH_HEADER"] == "one"
    assert env["SCRIPT_FILENAME"].lower().endswith("\\app.py")
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.multithread"] is True and env["wsgi.multiprocess"] is False
    assert env["mod_wsgi.application_group"] == ""
    assert env["mod_wsgi.callable_object"] == "application"
    assert env["sys.platform"] == "win32"


@BOTH
@pytest.mark.parametrize("size", [0, 1, 1000, 65536, 100 * 1024])
def test_post_body(srv, size):
    body = os.urandom(size)
    r = requests.post(srv.url("/echo"), data=body, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["length"] == size
    assert info["sha256"] == hashlib.sha256(body).hexdigest()
    assert info["content_length"] in (str(size), "" if size == 0 else str(size))


@BOTH
def test_500_with_traceback_in_log(srv):
    r = get(srv, "/error?marker42")
    assert r.status_code == 500
    assert "e2e-boom" not in r.text  # the traceback goes to the log only
    wait_for(lambda: "RuntimeError: e2e-boom-marker42" in srv.stderr(), 60,
             "traceback in the log")
    err = srv.stderr()
    assert "Traceback (most recent call last)" in err, err
    assert 'app.py", line' in err, err
    assert get(srv, "/hello").status_code == 200  # still serving


def assert_no_short_body_warning(s, since):
    """A HEAD response (or a 204/304) is not a short body: no warning, no
    closed connection (the races helper's HEAD/304 with Content-Length)."""
    time.sleep(1)  # the worker logs after the client has the response
    new = s.stderr()[since:]
    assert "shorter than its Content-Length" not in new, new


@BOTH
def test_204_304_and_head(srv):
    since = len(srv.stderr())
    r = get(srv, "/204")
    assert r.status_code == 204 and r.content == b""
    r = get(srv, "/304")
    assert r.status_code == 304 and r.content == b""
    assert r.headers.get("ETag") == '"e2e"'
    r = requests.head(srv.url("/hello"), timeout=TIMEOUT)
    assert r.status_code == 200 and r.content == b""
    assert r.headers["Content-Length"] == str(len("hello from 3.11.2"))
    assert get(srv, "/hello").status_code == 200
    assert_no_short_body_warning(srv, since)


# --- on ours only: what Wine's http.sys cannot do ------------------------

@OURS
@pytest.mark.parametrize("size", [1024 * 1024])
def test_post_1mib(srv, size):
    test_post_body(srv, size)


@OURS
def test_chunked_post(srv):
    pieces = [os.urandom(n) for n in (1, 4096, 70000, 300000, 17)]

    def gen():
        yield from pieces
    r = requests.post(srv.url("/echo"), data=gen(), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    info = r.json()
    body = b"".join(pieces)
    assert info["transfer_encoding"].lower() == "chunked"
    assert info["length"] == len(body)
    assert info["sha256"] == hashlib.sha256(body).hexdigest()


@OURS
def test_streaming_256_yields(srv):
    r = get(srv, "/stream?256,4096")
    assert r.status_code == 200
    want = b"".join(bytes([65 + i % 26]) * 4096 for i in range(256))
    assert len(r.content) == len(want) and r.content == want


@OURS
def test_write_callable(srv):
    r = get(srv, "/write")
    assert r.status_code == 200
    assert r.content == b"written-1;written-2;returned"


def check_big_file(s):
    r = get(s, "/file")
    assert r.status_code == 200
    assert int(r.headers["Content-Length"]) == BIG_SIZE
    want = hashlib.sha256(open(s.site / "big.bin", "rb").read()).hexdigest()
    assert hashlib.sha256(r.content).hexdigest() == want


def file_chunks(s):
    """The file-handle chunks our httpapi.dll was given so far."""
    return [l for l in httpapi_log_lines(s.stand_env["SYSGI_HTTPAPI_LOG"])
            if l.startswith("FILE ")]


@OURS
def test_file_wrapper_10mib_without_sendfile(srv):
    check_big_file(srv)
    assert file_chunks(srv) == []  # read in blocks, sent from memory


def test_file_wrapper_10mib_with_sendfile(srv_sendfile):
    before = len(file_chunks(srv_sendfile))
    check_big_file(srv_sendfile)
    # The file went to http.sys as a file-handle chunk, whole (sysgi serve
    # used to ignore enable-sendfile and send it from memory).
    chunks = file_chunks(srv_sendfile)[before:]
    assert len(chunks) == 1 and chunks[0].endswith(
        "file-handle chunk of %d bytes" % BIG_SIZE), chunks
    r = requests.get(srv_sendfile.url("/environ"), timeout=TIMEOUT)
    assert r.json()["mod_wsgi.enable_sendfile"] == "1"


@OURS
def test_head_of_a_stream_and_a_file(srv):
    since = len(srv.stderr())
    r = requests.head(srv.url("/file"), timeout=TIMEOUT)
    assert r.status_code == 200 and r.content == b""
    assert r.headers["Content-Length"] == str(BIG_SIZE)
    r = requests.head(srv.url("/stream?4,10"), timeout=TIMEOUT)
    assert r.status_code == 200 and r.content == b""
    assert get(srv, "/hello").status_code == 200
    assert_no_short_body_warning(srv, since)


@OURS
def test_client_disconnects_mid_stream(srv):
    tag = "gone-%d" % time.monotonic_ns()
    mark = srv.site / "marks" / tag
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
    sock.sendall(b"GET /disconnect?%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
                 % (tag.encode(), srv.port))
    got = b""
    while len(got) < 64 * 1024:
        chunk = sock.recv(65536)
        assert chunk, "server closed early: %r" % got[:300]
        got += chunk
    assert got.startswith(b"HTTP/1.1 200")
    sock.close()
    # The app's close() is called once the server sees the client gone ...
    wait_for(mark.exists, 120, "close() of the abandoned response")
    assert int(mark.read_text()) < 100000
    # ... and the server keeps serving.
    assert srv.running()
    for _ in range(3):
        assert get(srv, "/hello").status_code == 200


@OURS
def test_non_ascii_path_and_header(srv):
    # PEP 3333: the percent-decoded UTF-8 bytes of the path as latin-1
    # characters; raw header bytes >= 0x80 likewise (Wine answers 400).
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
    sock.sendall(b"GET /environ/caf%C3%A9?q=%C3%A9 HTTP/1.1\r\nHost: 127.0.0.1:"
                 + str(srv.port).encode() + b"\r\nX-Latin: caf\xe9\r\n"
                 b"Connection: close\r\n\r\n")
    raw = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        raw += chunk
    sock.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    env = json.loads(body)
    assert env["PATH_INFO"] == "/environ/caf\u00c3\u00a9"
    assert env["QUERY_STRING"] == "q=%C3%A9"
    assert env["REQUEST_URI"] == "/environ/caf%C3%A9?q=%C3%A9"
    assert env["HTTP_X_LATIN"] == "caf\u00e9"
