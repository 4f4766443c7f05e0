"""Requests to Wine's own http.sys, which now and then leaves a fresh TCP
connection unaccepted.

Wine's http.sys (dlls/http.sys/http.c) accepts from one thread that wakes
on one auto-reset event shared by the listening sockets and every accepted
connection. Now and then a connection's arrival does not wake it: the
connection stays in the listener's accept queue, unread, while sysgi has
every receive posted, and later fresh connections stay there with it until
traffic on an already accepted connection wakes the thread (README, "The
two http.sys stand-ins"). Real http.sys accepts in the kernel.

So a test talking to that stand-in:
- keeps a Waker on the server's port: one accepted connection of its own
  that sends one byte of a request line (never completed, so no request
  reaches the server) whenever the accept queue stays non-empty, which
  wakes Wine's thread, which then accepts what waits. Not for a server
  whose receives come and go (process groups): Wine hands a newly posted
  receive only to the first idle connection of its list, and if that is
  the Waker's, a request that arrived while no receive was posted waits
  on (wine_groups' maximum-requests test hung so);
- sends over one kept-alive connection (kept_alive_session), which never
  needs another accept;
- sends a request left unanswered once more on a new connection only when
  the accept queue proves that Wine never took a connection: the server
  never saw the request, so resending says nothing about sysgi. A request
  that was accepted and not answered fails the test, as it should. The
  rule itself is tested against a plain socket in e2e/test_support.py.
"""
import http.cookiejar
import socket
import threading
import time
import urllib.parse

import requests

ACCEPT_WAIT = 60  # seconds before looking whether Wine took the connection


def _tcp_rows():
    """The columns of every row of /proc/net/tcp and tcp6 (read there, not
    with ss, so no package is needed)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            yield row.split()


def _port(address):
    return int(address.rsplit(":", 1)[1], 16)


def unaccepted_connections(port):
    """How many connections to 127.0.0.1:port wait in the kernel's accept
    queue: the rx_queue of a LISTEN socket is its accept backlog."""
    return sum(int(cols[4].split(":")[1], 16) for cols in _tcp_rows()
               if cols[3] == "0A" and _port(cols[1]) == port)


def accepted(port, client_port):
    """Whether the server side of our connection from `client_port` to
    `port` belongs to a process: an unaccepted one has inode 0."""
    return any(cols[9] != "0" for cols in _tcp_rows()
               if _port(cols[1]) == port and _port(cols[2]) == client_port)


class Waker:
    """Keeps Wine's http.sys accepting on `port` (see the module's text).
    `pokes` counts the bytes sent; stop() ends it."""
    POLL = 0.25      # seconds between looks at the accept queue
    STUCK = 1.0      # a connection waiting this long gets a poke

    def __init__(self, port):
        self.port, self.pokes = port, 0
        self._stop = threading.Event()
        self._sock = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        deadline = time.monotonic() + 30
        while not accepted(self.port, s.getsockname()[1]):
            if time.monotonic() > deadline or self._stop.wait(self.POLL):
                s.close()  # left unaccepted itself: try again later
                return None
        return s

    def _run(self):
        waiting_since = None
        while not self._stop.wait(self.POLL):
            try:
                if self._sock is None or self.pokes >= 4000:
                    if self._sock is not None:
                        self._sock.close()
                    self._sock, self.pokes = self._connect(), 0
                    continue
                if not unaccepted_connections(self.port):
                    waiting_since = None
                    continue
                now = time.monotonic()
                if waiting_since is None:
                    waiting_since = now
                elif now - waiting_since >= self.STUCK:
                    self._sock.sendall(b"G")  # a request line, never ended
                    self.pokes += 1
                    waiting_since = now
            except OSError:
                if self._sock is not None:
                    self._sock.close()
                self._sock = None

    def stop(self):
        self._stop.set()
        self._thread.join(30)
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def wake_while_running(proc, ports):
    """A Waker on each of `ports` until `proc.stop()` (a WineProcess), which
    stops them first."""
    wakers = [Waker(port) for port in ports]
    process_stop = proc.stop

    def stop():
        while wakers:
            wakers.pop().stop()
        process_stop()
    proc.stop = stop


def kept_alive_session():
    """A session that keeps its connections alive and keeps no cookies, so
    each request through it is still a stranger to the application."""
    s = requests.Session()
    s.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return s


def request(method, url, session, accept_wait=ACCEPT_WAIT, timeout=None,
            **kw):
    """`method` ("get", "post", ...) of `url` through `session`, waiting
    `accept_wait` seconds for the answer; sent once more, waiting `timeout`
    (default `accept_wait`), only if a connection to the URL's port is
    still in the accept queue then. Any other timeout is raised."""
    send = getattr(session, method)
    try:
        return send(url, timeout=accept_wait, **kw)
    except requests.exceptions.ReadTimeout:
        port = urllib.parse.urlsplit(url).port
        if not unaccepted_connections(port):
            raise
        print("Wine's http.sys left a connection to port %d unaccepted; "
              "%s %s sent again" % (port, method.upper(), url))
        return send(url, timeout=timeout or accept_wait, **kw)
