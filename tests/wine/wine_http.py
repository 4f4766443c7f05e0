"""Requests to Wine's own http.sys, which now and then leaves a fresh TCP
connection unaccepted.

Wine's http.sys (dlls/http.sys/http.c) accepts from one thread that wakes
on one auto-reset event shared by the listening sockets and every accepted
connection. Now and then a connection's arrival does not wake it: the
connection stays in the listener's accept queue, unread, while sysgi has
every receive posted, and later fresh connections stay there with it until
traffic on an already accepted connection wakes the thread (README, "The
two http.sys stand-ins"). Real http.sys accepts in the kernel.

So a test talking to that stand-in sends over one kept-alive connection
(kept_alive_session), which never needs another accept, and a request left
unanswered is sent once more on a new connection only when the accept
queue proves that Wine never took a connection: the server never saw the
request, so resending says nothing about sysgi. A request that was
accepted and not answered fails the test, as it should. The rule itself is
tested against a plain socket in e2e/test_support.py.
"""
import http.cookiejar
import urllib.parse

import requests

ACCEPT_WAIT = 60  # seconds before looking whether Wine took the connection


def unaccepted_connections(port):
    """How many connections to 127.0.0.1:port wait in the kernel's accept
    queue: /proc/net/tcp's rx_queue of a LISTEN socket is its accept
    backlog. Read there, not with ss, so no package is needed."""
    total = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            local, state, queues = cols[1], cols[3], cols[4]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                total += int(queues.split(":")[1], 16)
    return total


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
