"""request-timeout cases (tests/apache/test_timeout.py and the Wine e2e
suite): each path is an application that does not return in time."""
import os
import time
import urllib.parse

import mod_wsgi


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    flag = urllib.parse.unquote(environ.get("QUERY_STRING", ""))
    if path == "/busy":
        n = 0
        while True:            # a Python busy loop
            n += 1
    if path == "/sleeploop":
        while True:            # sleeps in C, and swallows Exception
            try:
                time.sleep(0.05)
            except Exception:
                pass
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return stream()
    if path == "/stuck":
        # Catches even RequestTimeout, until the test creates the flag
        # file (bounded, so a failed test cannot keep the child busy).
        # RequestTimeout lands wherever the thread runs next, in the loop's
        # condition as often as in the sleep: the try holds the whole loop.
        caught = 0
        end = time.monotonic() + 60
        while True:
            try:
                while not os.path.exists(flag) and time.monotonic() < end:
                    time.sleep(0.05)
                break
            except BaseException:
                caught += 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"caught %d released %s" % (caught,
                                             str(os.path.exists(flag)).encode())]
    if path == "/slow":
        time.sleep(float(flag or "3"))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slow done"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("hello %s" % issubclass(mod_wsgi.RequestTimeout,
                                     BaseException)).encode()]


def stream():
    yield b"first chunk\n"
    n = 0
    while True:
        n += 1
