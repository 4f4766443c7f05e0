"""The suite's own retry rule (Serve.request), against a plain socket
listener, so that the rule itself is tested: a request is sent again only
when its connection was never accepted, never when the server took it and
did not answer."""
import socket
import threading
import time

import pytest
import requests

import e2e_support
import wine_http
from e2e_support import Serve

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


@pytest.fixture
def listener(monkeypatch):
    monkeypatch.setattr(e2e_support, "ACCEPT_WAIT", 1)
    monkeypatch.setattr(e2e_support, "TIMEOUT", 10)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock
    sock.close()


def stand_in(kind, port):
    s = object.__new__(Serve)
    s.kind, s.port, s.base = kind, port, "http://127.0.0.1:%d" % port
    return s


def test_unaccepted_connection_is_counted(listener):
    port = listener.getsockname()[1]
    assert e2e_support.unaccepted_connections(port) == 0
    c = socket.create_connection(("127.0.0.1", port))
    try:
        assert e2e_support.unaccepted_connections(port) == 1
    finally:
        c.close()


def test_request_left_unaccepted_is_sent_again(listener):
    # Like Wine's fault: the first connection is never taken while its
    # client waits; the resent request's connection is answered.
    port = listener.getsockname()[1]

    def serve():
        deadline = time.monotonic() + 30
        while (e2e_support.unaccepted_connections(port) < 2
               and time.monotonic() < deadline):
            time.sleep(0.05)
        first, _ = listener.accept()   # the abandoned one, closed by now
        first.close()
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(ANSWER)
        conn.close()
    t = threading.Thread(target=serve)
    t.start()
    r = stand_in("wine", port).get("/")
    t.join()
    assert r.status_code == 200 and r.text == "ok"


@pytest.mark.parametrize("kind", ["wine", "ours"])
def test_request_accepted_but_unanswered_fails(listener, kind):
    # The server took the connection and never answered: a real hang,
    # which must fail the test on either stand-in.
    taken = []

    def serve():
        conn, _ = listener.accept()
        taken.append(conn)
    t = threading.Thread(target=serve)
    t.start()
    s = stand_in(kind, listener.getsockname()[1])
    with pytest.raises(requests.exceptions.ReadTimeout):
        s.get("/")
    t.join()
    for c in taken:
        c.close()


def test_waker_gets_a_stuck_connection_accepted(listener):
    # Like Wine's http.sys: connections are accepted only when traffic on
    # an accepted one wakes the server. The Waker's connection is the
    # first accepted; the client's waits until the Waker pokes.
    port = listener.getsockname()[1]
    got = []

    def serve():
        listener.settimeout(30)
        waker, _ = listener.accept()
        waker.settimeout(30)
        try:
            got.append(waker.recv(1))  # the poke
        except socket.timeout:
            return
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(ANSWER)
        conn.close()
        waker.close()
    t = threading.Thread(target=serve)
    t.start()
    w = wine_http.Waker(port)
    try:
        deadline = time.monotonic() + 10
        while w._sock is None and time.monotonic() < deadline:
            time.sleep(0.05)  # the Waker's own connection, accepted first
        r = requests.get("http://127.0.0.1:%d/" % port, timeout=20)
    finally:
        w.stop()
        t.join()
    assert r.status_code == 200 and r.text == "ok"
    assert got == [b"G"] and w.pokes >= 1
