"""The CVE-2014-0242 reproducer (mod_wsgi 3.4 security item 1, bug 7).

The application computes its Content-Type value at run time in a helper
frame that has returned before the first non-empty chunk is yielded (an
empty chunk comes first); nothing in the application keeps a reference to
that value or to the header list. Meanwhile allocations of objects of
exactly the same size (str and bytes, filled with junk) reuse freed memory:
from a background thread (BACKGROUND = True), and/or from the request
threads themselves (?churn=1). A server that kept only a borrowed pointer to
the value sends whatever now lives there; with PYTHONMALLOC=debug freed
memory is filled with 0xDD at once. The body carries the value the header
should have, recomputed from a seed, so the client can check every response.
"""
import http.client
import threading
import urllib.parse

APP = '''
import random
import threading
import time

BACKGROUND = %(background)r
PREFIX = "text/plain; charset=utf-8; request="
LENGTH = len(PREFIX) + 64


def _value(seed):
    # Built at run time: a new str object every call.
    return PREFIX + ("%%016x" %% seed) * 4


def _churn(n):
    # Same-sized str and bytes objects filled with junk, freed again.
    junk = [("#" * (LENGTH - 8)) + ("%%08x" %% i) for i in range(n)]
    raw = [s.encode("latin-1") for s in junk]
    del junk, raw


CHURNED = [0]


def _background():
    while True:
        _churn(500)
        CHURNED[0] += 1
        time.sleep(0.0005)


if BACKGROUND:
    threading.Thread(target=_background, name="allocator", daemon=True).start()


def _start(start_response):
    seed = random.getrandbits(64)
    start_response("200 OK", [("Content-Type", _value(seed))])
    return seed


def _body(seed, churn):
    yield b""
    if churn:
        _churn(200)
    yield _value(seed).encode("latin-1")


def application(environ, start_response):
    query = environ.get("QUERY_STRING", "")
    if query == "allocator":
        try:
            import _testcapi  # libpython3.x-stdlib ships it
            name = _testcapi.pymem_getallocatorsname()
        except Exception as e:
            name = "unknown: %%r" %% (e,)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [name.encode()]
    if query == "churned":   # rounds of the background allocator so far
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(CHURNED[0]).encode()]
    return _body(_start(start_response), "churn=1" in query)
'''

APP_WITH_BACKGROUND = APP % {"background": True}
APP = APP % {"background": False}


class Result:
    def __init__(self):
        self.ok = 0
        self.corrupt = []   # (header, body) pairs that disagree
        self.errors = []    # transport errors
        self.lock = threading.Lock()


def hammer(url, requests_total, connections, timeout=120):
    """Sends requests_total GETs over `connections` keep-alive connections
    at once and checks each Content-Type against its body."""
    u = urllib.parse.urlsplit(url)
    target = u.path + ("?" + u.query if u.query else "")
    result = Result()
    remaining = [requests_total]

    def take():
        with result.lock:
            if remaining[0] <= 0:
                return False
            remaining[0] -= 1
            return True

    def worker():
        conn, reused = None, False
        while take():
            for attempt in (1, 2):
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
                        reused = False
                    conn.request("GET", target)
                    resp = conn.getresponse()
                    body = resp.read()
                    header = resp.getheader("Content-Type")
                    if resp.will_close:
                        conn.close()
                        conn = None
                    else:
                        reused = True
                    break
                except (http.client.RemoteDisconnected, ConnectionResetError,
                        BrokenPipeError) as e:
                    # A kept-alive connection the server had just closed:
                    # retry once on a fresh one, like any HTTP client.
                    conn.close()
                    conn = None
                    if reused and attempt == 1:
                        continue
                    error = e
                except Exception as e:  # a transport error is a failure too
                    if conn is not None:
                        conn.close()
                    conn = None
                    error = e
                with result.lock:
                    result.errors.append(repr(error))
                resp = None
                break
            if resp is None:
                continue
            with result.lock:
                if resp.status == 200 and header == body.decode("latin-1"):
                    result.ok += 1
                else:
                    result.corrupt.append((resp.status, header, body[:200]))
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result
