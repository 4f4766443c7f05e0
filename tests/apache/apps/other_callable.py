def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"application"]


def my_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"my_app"]
