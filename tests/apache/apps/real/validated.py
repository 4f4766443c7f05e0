"""Apps wrapped in wsgiref.validate.validator: any PEP 3333 violation by
the server raises AssertionError or warns WSGIWarning (both reach the error
log), so the test counts them."""
import hashlib
import os
import tempfile
from urllib.parse import parse_qs
from wsgiref.validate import validator


def _inner(environ, start_response):
    mode = parse_qs(environ.get("QUERY_STRING", "")).get("mode", ["hello"])[0]
    inp = environ["wsgi.input"]
    n = int(environ.get("CONTENT_LENGTH") or 0)
    if mode == "read":
        data = inp.read(n)
    elif mode == "readline":
        data = b"".join(iter(lambda: inp.readline(), b""))
    elif mode == "readlines":
        data = b"".join(inp.readlines())
    elif mode == "iter":
        data = b"".join(iter(inp))
    else:
        data = b""
    if mode == "write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        return [b"then returned"]
    if mode == "stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b"chunk %d\n" % i for i in range(5))
    if mode == "file":
        fd, path = tempfile.mkstemp()
        os.write(fd, b"file body " * 100)
        os.close(fd)
        f = open(path, "rb")
        os.unlink(path)
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", "1000")])
        return environ["wsgi.file_wrapper"](f, 256)
    body = ("%s %d %s" % (mode, len(data),
                          hashlib.sha256(data).hexdigest())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = validator(_inner)
