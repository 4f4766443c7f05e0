import sys


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"imported" if getattr(sys, "_sysgi_imported_at_start", False)
            else b"not imported"]
