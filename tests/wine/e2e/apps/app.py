"""The end-to-end suite's WSGI application, one route per feature.

Runs inside sysgi.exe with a real Windows CPython. MARKS (next to this
script) receives one file per close() call of a /disconnect response.
"""
import hashlib
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MARKS = os.path.join(HERE, "marks")
BIG = os.path.join(HERE, "big.bin")
os.makedirs(MARKS, exist_ok=True)


def _text(start_response, body, status="200 OK", ctype="text/plain"):
    body = body.encode("utf-8") if isinstance(body, str) else body
    start_response(status, [("Content-Type", ctype),
                            ("Content-Length", str(len(body)))])
    return [body]


def _read_all(environ):
    inp = environ["wsgi.input"]
    parts = []
    while True:
        b = inp.read(65536)
        if not b:
            break
        parts.append(b)
    return b"".join(parts)


class _Disconnecting:
    """Yields slowly, forever, until the client leaves; close() leaves a
    mark for the test."""

    def __init__(self, tag):
        self.tag = tag
        self.sent = 0

    def __iter__(self):
        while self.sent < 100000:
            self.sent += 1
            time.sleep(0.01)
            yield b"x" * 4096

    def close(self):
        with open(os.path.join(MARKS, self.tag), "w") as f:
            f.write(str(self.sent))


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "")
    if path == "/hello":
        return _text(start_response, "hello from %s" % sys.version.split()[0])
    if path.startswith("/environ"):
        env = {k: (v if isinstance(v, (str, int, bool)) else repr(v))
               for k, v in environ.items()}
        env["sys.platform"] = sys.platform
        return _text(start_response, json.dumps(env), ctype="application/json")
    if path == "/echo":
        body = _read_all(environ)
        info = {"length": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                "content_length": environ.get("CONTENT_LENGTH", ""),
                "transfer_encoding": environ.get("HTTP_TRANSFER_ENCODING", "")}
        return _text(start_response, json.dumps(info), ctype="application/json")
    if path == "/error":
        raise RuntimeError("e2e-boom-%s" % query)
    if path == "/stream":
        n, size = (int(x) for x in query.split(","))
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (bytes([65 + i % 26]) * size for i in range(n))
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written-1;")
        write(b"written-2;")
        return [b"returned"]
    if path == "/file":
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(os.path.getsize(BIG)))])
        return environ["wsgi.file_wrapper"](open(BIG, "rb"), 65536)
    if path == "/204":
        start_response("204 No Content", [])
        return []
    if path == "/304":
        start_response("304 Not Modified", [("ETag", '"e2e"')])
        return []
    if path == "/disconnect":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return _Disconnecting(query)
    return _text(start_response, "no route %s" % path, status="404 Not Found")
