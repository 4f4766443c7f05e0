# hello: the smallest possible response (12 bytes). Measures the per-request
# overhead of the server: environ, start_response, one write.
BODY = b"Hello world!"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
