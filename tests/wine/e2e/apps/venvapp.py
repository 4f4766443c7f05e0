import json
import sys

import venvonly  # only in the virtual environment's site-packages


def application(environ, start_response):
    body = json.dumps({"prefix": sys.prefix, "base_prefix": sys.base_prefix,
                       "venvonly": venvonly.WHERE, "path": sys.path}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
