"""The smallest WSGI application: 12 bytes of "Hello World!".

    ./sysgi serve examples/hello.py
"""


def application(environ, start_response):
    body = b"Hello World!"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
