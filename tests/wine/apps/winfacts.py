"""What the Windows CPython inside httpd.exe sees: the interpreter and
the request's scheme. JSON."""
import json
import sys


def application(environ, start_response):
    out = {
        "version": "%d.%d.%d" % sys.version_info[:3],
        "platform": sys.platform,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "maxsize64": sys.maxsize > 2 ** 32,
        "url_scheme": environ["wsgi.url_scheme"],
        "group": environ.get("mod_wsgi.application_group"),
        "HTTPS_in_environ": "HTTPS" in environ,
    }
    body = json.dumps(out).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
