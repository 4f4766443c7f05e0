"""The e2e limits app (issue 14): /read reads the whole body and answers
what it got or the OSError it raised (also written to wsgi.errors, so the
server's log shows what the app saw); /leak lets the error out; /big
streams 64 MiB; anything else says hello."""


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/read":
        try:
            data = environ["wsgi.input"].read()
            msg = b"read %d" % len(data)
        except OSError as e:
            msg = ("app-saw: %s" % e).encode()
            print(msg.decode(), file=environ["wsgi.errors"])
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(msg)))])
        return [msg]
    if path == "/leak":
        data = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"read %d" % len(data)]
    if path == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        block = b"x" * (1 << 20)
        return (block for _ in range(64))
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", "5")])
    return [b"hello"]
