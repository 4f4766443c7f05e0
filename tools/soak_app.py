"""The WSGI application of tools/soak.py: one route per kind of request.
data.bin (written by soak.py) sits beside this file."""
import hashlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data.bin")
CHUNK = bytes(range(256)) * 16          # 4 KiB


def application(environ, start_response):
    kind = environ.get("PATH_INFO", "/").strip("/")
    if kind == "hello":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello soak"]
    if kind == "stream":                  # a generator, chunked
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (CHUNK for _ in range(16))
    if kind == "write":                   # the write() callable
        w = start_response("200 OK", [("Content-Type", "text/plain")])
        for i in range(8):
            w(b"%d," % i)
        return [b"end"]
    if kind == "file":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](open(DATA, "rb"), 65536)
    if kind == "post":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [hashlib.sha1(body).hexdigest().encode()]
    if kind == "error":                   # the core's 500
        raise ValueError("soak: an application error")
    if kind == "big":                     # the client goes away mid-body
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (CHUNK * 16 for _ in range(64))   # 4 MiB
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no such kind"]
