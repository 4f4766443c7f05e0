# post1m: reads a 1 MiB request body from wsgi.input (the way Django's
# request.body does: one read of CONTENT_LENGTH) and answers its length.
def application(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = environ["wsgi.input"].read(length)
    body = str(len(data)).encode("ascii")
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
