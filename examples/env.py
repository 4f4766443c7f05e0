"""Dumps the WSGI environ, sorted, one "KEY<TAB>type<TAB>repr" per line.

The format of /work/shared/reference/environ-modwsgi.txt (what real mod_wsgi
gives), so the two can be compared line by line:

    ./sysgi serve examples/env.py
    curl 'http://127.0.0.1:8000/env/sub?x=1&y=a%20b'
"""
import re
import sys
import threading

_ADDR = re.compile(r"0x[0-9a-fA-F]+")


def _type_name(v):
    t = type(v)
    if t.__module__ == "builtins":
        return t.__qualname__
    return "%s.%s" % (t.__module__, t.__qualname__)


def _line(key, value):
    return "%s\t%s\t%s" % (key, _type_name(value), _ADDR.sub("0xADDR", repr(value)))


def application(environ, start_response):
    lines = [_line(k, environ[k]) for k in sorted(environ)]
    body_read = environ["wsgi.input"].read()
    lines.append("# extra")
    lines.append(_line("file_wrapper.class", environ.get("wsgi.file_wrapper")))
    lines.append(_line("wsgi.input.read()", body_read))
    lines.append(_line("python.version", sys.version.split()[0]))
    lines.append(_line("python.executable", sys.executable))
    lines.append(_line("thread.name", threading.current_thread().name))
    body = ("\n".join(lines) + "\n").encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
