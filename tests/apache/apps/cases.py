"""One WSGI script with a case per path, for tests/apache (and by hand:
./sysgi serve tests/apache/apps/cases.py). Works under mod_wsgi too."""
import hashlib
import io
import json
import os
import sys
import time
from urllib.parse import parse_qs


def _qs(environ):
    return {k: v[0] for k, v in
            parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}


def _reply(start_response, body, ctype="text/plain", status="200 OK",
           extra=()):
    if isinstance(body, str):
        body = body.encode("utf-8")
    start_response(status, [("Content-Type", ctype),
                            ("Content-Length", str(len(body)))] + list(extra))
    return [body]


def hello(environ, start_response):
    return _reply(start_response, b"Hello World!")


def echo(environ, start_response):
    """Reads the body one way (?mode=...) and answers length + sha256."""
    mode = _qs(environ).get("mode", "read")
    inp = environ["wsgi.input"]
    parts = []
    if mode == "read":
        parts.append(inp.read())
    elif mode == "readn":
        n = int(_qs(environ).get("n", "7919"))
        while True:
            b = inp.read(n)
            if not b:
                break
            parts.append(b)
    elif mode == "readline":
        while True:
            b = inp.readline()
            if not b:
                break
            parts.append(b)
    elif mode == "readline_n":
        while True:
            b = inp.readline(100)
            if not b:
                break
            assert len(b) <= 100
            parts.append(b)
    elif mode == "readlines":
        parts.extend(inp.readlines())
    elif mode == "iter":
        parts.extend(iter(inp))
    elif mode == "content_length":
        n = int(environ.get("CONTENT_LENGTH") or 0)
        parts.append(inp.read(n))
    data = b"".join(parts)
    out = {"len": len(data), "sha256": hashlib.sha256(data).hexdigest(),
           "content_length": environ.get("CONTENT_LENGTH"),
           "transfer_encoding": environ.get("HTTP_TRANSFER_ENCODING"),
           "chunks": len(parts), "mode": mode}
    return _reply(start_response, json.dumps(out), "application/json")


def errors(environ, start_response):
    marker = _qs(environ)["marker"]
    err = environ["wsgi.errors"]
    err.write("wsgi.errors write %s\n" % marker)
    err.writelines(["wsgi.errors writelines %s\n" % marker])
    err.flush()
    print("print to wsgi.errors %s" % marker, file=err)
    err.flush()
    return _reply(start_response, b"logged")


def file(environ, start_response):
    """wsgi.file_wrapper over ?path= from ?offset= (seeked first), as a real
    file (mode=fileno) or a file-like object without fileno (mode=bytesio)."""
    q = _qs(environ)
    path, offset = q["path"], int(q.get("offset", "0"))
    blksize = int(q.get("blksize", "8192"))
    if q.get("mode", "fileno") == "bytesio":
        with open(path, "rb") as f:
            fobj = io.BytesIO(f.read())
    else:
        fobj = open(path, "rb")
    fobj.seek(offset)
    headers = [("Content-Type", "application/octet-stream")]
    if q.get("cl") == "1":
        headers.append(("Content-Length", str(os.path.getsize(path) - offset)))
    start_response("200 OK", headers)
    return environ["wsgi.file_wrapper"](fobj, blksize)


def cookies(environ, start_response):
    return _reply(start_response, b"cookies", extra=[
        ("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/"),
        ("X-Multi", "one"), ("X-Multi", "two")])


def status(environ, start_response):
    code = _qs(environ).get("code", "404 Not Found")
    return _reply(start_response, b"status " + code.encode(), status=code)


def cl_truncate(environ, start_response):
    """Declares 5 bytes, yields 10: only 5 may reach the client."""
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", "5")])
    return [b"01234", b"56789"]


def stream(environ, start_response):
    """?n chunks of ?size bytes, no Content-Length (chunked)."""
    q = _qs(environ)
    n, size = int(q.get("n", "256")), int(q.get("size", "4096"))
    start_response("200 OK", [("Content-Type", "application/octet-stream")])

    def gen():
        for i in range(n):
            yield bytes([i % 256]) * size
    return gen()


def slow_stream(environ, start_response):
    """A chunk, then waits until ?flag exists (the client saw the first
    chunk): proves the first chunk was sent before the response ended."""
    q = _qs(environ)
    flag = q["flag"]
    # ?count blocks of ?size bytes (the last ending in a newline) first.
    size, count = int(q.get("size", "0")), int(q.get("count", "1"))
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        if size > 1:
            for _ in range(count - 1):
                yield b"x" * size
            yield b"x" * (size - 1) + b"\n"
        else:
            yield b"first\n"
        deadline = time.monotonic() + 60
        while not os.path.exists(flag) and time.monotonic() < deadline:
            time.sleep(0.05)
        yield b"second\n" if os.path.exists(flag) else b"timeout\n"
    return gen()


class _Abandoned:
    """A big response; records close() in ?marker."""

    def __init__(self, marker):
        self.marker = marker
        self.sent = 0

    def __iter__(self):
        chunk = b"x" * (1 << 20)
        for _ in range(2000):
            self.sent += 1
            yield chunk

    def close(self):
        # Written aside, then renamed: the test polls for the file and must
        # never read it half-written (seen under Wine).
        with open(self.marker + ".tmp", "w") as f:
            f.write("closed after %d chunks\n" % self.sent)
        os.replace(self.marker + ".tmp", self.marker)


def abandon(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return _Abandoned(_qs(environ)["marker"])


def head(environ, start_response):
    return _reply(start_response, b"a body that HEAD must not send",
                  extra=[("X-Method", environ["REQUEST_METHOD"])])


def counter(environ, start_response):
    """Which interpreter am I in? A counter kept on the `sys` module (one per
    interpreter) and the application group name."""
    sys._sysgi_test_counter = getattr(sys, "_sysgi_test_counter", 0) + 1
    out = {"counter": sys._sysgi_test_counter,
           "group": environ.get("mod_wsgi.application_group"),
           "sys_id": id(sys)}
    return _reply(start_response, json.dumps(out), "application/json")


def env(environ, start_response):
    out = {k: v for k, v in environ.items() if isinstance(v, str)}
    return _reply(start_response, json.dumps(out), "application/json")


def cl_short(environ, start_response):
    """Declares 10 bytes, sends 5 (?mode=list: one list, else a generator)."""
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", "10")])
    if _qs(environ).get("mode") == "list":
        return [b"01234"]

    def gen():
        yield b"012"
        yield b"34"
    return gen()


def own_te(environ, start_response):
    """Sets its own Transfer-Encoding (a hop-by-hop header) and sends the
    body unchunked: the server must frame it itself."""
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Transfer-Encoding", "chunked")])

    def gen():
        yield b"hello "
        yield b"world"
    return gen()


def stdio(environ, start_response):
    """print() and sys.stderr go to the error log (?m=MARKER); reports what
    the restricted streams raised."""
    import threading
    m = _qs(environ).get("m", "x")
    out = {}
    try:
        print("stdout-%s line one" % m)
        print("stdout-%s line two" % m, flush=True)
        out["stdout"] = "ok"
    except OSError as e:
        out["stdout"] = str(e)
    sys.stderr.write("stderr-%s one\nstderr-%s two\n" % (m, m))
    t = threading.Thread(target=print, args=("thread-%s" % m,))
    t.start()
    t.join()
    try:
        sys.stdin.read()
        out["stdin"] = "ok"
    except (OSError, ValueError) as e:
        out["stdin"] = str(e)
    out["argv"] = sys.argv
    try:
        out["isatty"] = sys.stderr.isatty()
    except OSError as e:
        out["isatty"] = str(e)
    return _reply(start_response, json.dumps(out), "application/json")


_EVENTS = []


def modwsgi(environ, start_response):
    """What `import mod_wsgi` / `import apache` give an application."""
    import mod_wsgi
    import apache
    if not _EVENTS:
        _EVENTS.append("subscribed")
        mod_wsgi.subscribe_events(lambda name, **kw: _EVENTS.append(name))
        mod_wsgi.subscribe_shutdown(lambda name, **kw: None)
    rid = environ.get("mod_wsgi.request_id")
    data = mod_wsgi.request_data()
    data["mark"] = 1
    out = {"version": list(mod_wsgi.version),
           "process_group": mod_wsgi.process_group,
           "application_group": mod_wsgi.application_group,
           "env_group": environ["mod_wsgi.application_group"],
           "maximum_processes": mod_wsgi.maximum_processes,
           "threads_per_process": mod_wsgi.threads_per_process,
           "mpm_name": getattr(mod_wsgi, "mpm_name", None),
           "apache_mpm_name": getattr(apache, "mpm_name", None),
           "apache_attrs": sorted(a for a in dir(apache) if not a.startswith("_")),
           "attrs": sorted(a for a in dir(mod_wsgi) if not a.startswith("_")),
           "active": rid in mod_wsgi.active_requests
           and mod_wsgi.active_requests[rid] is data,
           "request_metrics": isinstance(mod_wsgi.request_metrics(), dict),
           "process_metrics_pid": mod_wsgi.process_metrics()["pid"] == os.getpid(),
           "server_metrics": mod_wsgi.server_metrics(),
           "events": list(_EVENTS),
           "apache_version": list(apache.version)}
    return _reply(start_response, json.dumps(out), "application/json")


def streams(environ, start_response):
    """wsgi.errors / wsgi.input as mod_wsgi 4's (issue 13)."""
    e = environ["wsgi.errors"]
    try:
        e.fileno()
        fileno = "no error"
    except OSError:   # mod_wsgi: OSError; ours: io.UnsupportedOperation
        fileno = "OSError"
    out = {"isatty": e.isatty(), "closed": e.closed, "encoding": e.encoding,
           "name": e.name, "fileno": fileno,
           "input_close": environ["wsgi.input"].close()}
    return _reply(start_response, json.dumps(out), "application/json")


def pyflags(environ, start_response):
    """What WSGIPythonOptimize / HashSeed / Warnings made of Python."""
    import warnings
    try:
        warnings.warn("sysgi-test", UserWarning)
        is_error = False
    except UserWarning:
        is_error = True
    out = {"optimize": sys.flags.optimize, "hash": hash("sysgi"),
           "warnoptions": list(sys.warnoptions),
           "userwarning_is_error": is_error}
    return _reply(start_response, json.dumps(out), "application/json")


# ---- bad applications ----------------------------------------------------

class _RaiseInIter:
    def __init__(self, when):
        self.when = when

    def __iter__(self):
        if self.when == "after":
            yield b"partial body "
        raise RuntimeError("sysgi-test: raised in __iter__ (%s)" % self.when)


class _RaiseInClose:
    def __iter__(self):
        yield b"body before a failing close"

    def close(self):
        raise RuntimeError("sysgi-test: raised in close()")


def bad(environ, start_response):
    kind = environ["PATH_INFO"].rsplit("/", 1)[-1]
    if kind == "nonstr_header":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Num", 1)])
        return [b"x"]
    if kind == "nonstr_name":
        start_response("200 OK", [(b"X-Bytes", "v")])
        return [b"x"]
    if kind == "crlf_header":
        start_response("200 OK", [("X-Evil", "a\r\nInjected: yes")])
        return [b"x"]
    if kind == "no_reason":
        start_response("200", [("Content-Type", "text/plain")])
        return [b"x"]
    if kind == "str_body":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["a str, not bytes"]
    if kind == "raise_in_iter":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _RaiseInIter("before")
    if kind == "raise_after_head":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _RaiseInIter("after")
    if kind == "raise_in_close":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _RaiseInClose()
    if kind == "no_start_response":
        return [b"never called start_response"]
    if kind == "raise_in_app":
        raise ValueError("sysgi-test: raised in the application")
    if kind == "returns_none":
        start_response("200 OK", [])
        return None
    raise KeyError(kind)


ROUTES = {
    "/hello": hello, "/echo": echo, "/errors": errors, "/file": file,
    "/cookies": cookies, "/status": status, "/cl_truncate": cl_truncate,
    "/stream": stream, "/slow_stream": slow_stream, "/abandon": abandon,
    "/head": head, "/counter": counter, "/env": env, "/pyflags": pyflags, "/stdio": stdio,
    "/modwsgi": modwsgi, "/streams": streams,
    "/cl_short": cl_short, "/own_te": own_te,
}


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/bad/"):
        return bad(environ, start_response)
    fn = ROUTES.get(path)
    if fn is None:
        return _reply(start_response, "no case %r" % path,
                      status="404 Not Found")
    return fn(environ, start_response)
