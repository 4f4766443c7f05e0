"""Reports which interpreter it runs in, and exercises codecs there: the
codec registry and the encodings package are per interpreter, and
sub-interpreters are where embedders have broken them before."""
import codecs
import json
import sys

import _xxsubinterpreters

VERSION = "v1"

SAMPLE = "h\u00e9llo w\u00f6rld \u20ac"


def _codecs():
    out = {}
    for name in ("utf-8", "utf-16", "utf-32", "latin-1", "cp1252", "mbcs",
                 "ascii", "idna", "punycode", "unicode_escape"):
        try:
            text = SAMPLE if name not in ("ascii", "latin-1", "idna") else (
                "hello" if name != "idna" else "b\u00fccher.example")
            if name == "latin-1":
                text = "h\u00e9llo"
            data = text.encode(name)
            out[name] = [data.hex(), data.decode(name) == text]
        except Exception as e:
            out[name] = ["error", repr(e)]
    out["rot13"] = codecs.encode("hello", "rot13")
    out["base64"] = codecs.encode(b"hello", "base64").decode()
    out["zlib"] = len(codecs.encode(b"a" * 1000, "zlib"))
    return out


def application(environ, start_response):
    body = json.dumps({
        "version": VERSION,
        "interp": int(_xxsubinterpreters.get_current()),
        "main": int(_xxsubinterpreters.get_main()),
        "group": environ["mod_wsgi.application_group"],
        "codecs": _codecs(),
        "fs": sys.getfilesystemencoding(),
        "module": __name__,
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
