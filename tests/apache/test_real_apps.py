"""Real applications (issue 13), each on mod_sysgi and, with
--reference-mod-wsgi, on mod_wsgi, with the same directives: Flask (form,
JSON, stream_with_context, send_file with Range, 304 and HEAD), Pyramid,
Falcon, Bottle, werkzeug's test app, and apps wrapped in
wsgiref.validate.validator with no validator error in the log."""
import hashlib
import json
import os

import pytest
import requests

from conftest import APPS, Servers, _failed

REAL = os.path.join(APPS, "real")
MOUNTS = {"/flask": "flask_app.py", "/pyramid": "pyramid_app.py",
          "/falcon": "falcon_app.py", "/bottle": "bottle_app.py",
          "/werkzeug": "werkzeug_app.py", "/validate": "validated.py"}


@pytest.fixture(scope="module")
def srv(request, module_kind, module_path, tmp_path_factory):
    s = Servers(module_kind, module_path, str(tmp_path_factory.mktemp("real")))
    conf = ["WSGIScriptAlias %s %s" % (m, os.path.join(REAL, f))
            for m, f in MOUNTS.items()]
    if module_kind == "wsgi":
        conf.append("WSGIChunkedRequest On")
    srv = s.start(conf, None, wait_path="/validate")
    yield srv
    s.close(any(_failed(i) for i in request.session.items
                if i.module is request.module))


def url(srv, path):
    return srv.url + path


# ---- Flask ---------------------------------------------------------------------

def test_flask_form_and_json(srv):
    assert "<form" in requests.get(url(srv, "/flask/form"), timeout=60).text
    r = requests.post(url(srv, "/flask/form"), data={"name": "ada", "x": "1"},
                      timeout=60)
    assert r.status_code == 200 and r.text == "name=ada n=2"
    r = requests.post(url(srv, "/flask/json"), json={"a": [1, 2]}, timeout=60)
    assert r.json() == {"got": {"a": [1, 2]}, "method": "POST"}


def test_flask_stream_with_context(srv):
    r = requests.get(url(srv, "/flask/stream?who=bob"), timeout=60, stream=True)
    assert r.headers.get("Transfer-Encoding") == "chunked"
    assert r.text == "bob-0\nbob-1\nbob-2\n"


def test_flask_send_file_range_304_head(srv):
    with open(os.path.join(REAL, "flask_app.py"), "rb") as f:
        data = f.read()
    full = requests.get(url(srv, "/flask/file"), timeout=60)
    assert full.status_code == 200 and full.content == data
    etag, lm = full.headers["ETag"], full.headers["Last-Modified"]
    part = requests.get(url(srv, "/flask/file"), headers={"Range": "bytes=10-29"},
                        timeout=60)
    assert part.status_code == 206 and part.content == data[10:30]
    assert part.headers["Content-Range"] == "bytes 10-29/%d" % len(data)
    for h in ({"If-None-Match": etag}, {"If-Modified-Since": lm}):
        r = requests.get(url(srv, "/flask/file"), headers=h, timeout=60)
        assert r.status_code == 304 and r.content == b""
    head = requests.head(url(srv, "/flask/file"), timeout=60)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(data))


# ---- Pyramid, Falcon, Bottle, werkzeug -----------------------------------------

def test_pyramid(srv):
    assert requests.get(url(srv, "/pyramid/hello/ann"), timeout=60).text == "pyramid hello ann"
    assert requests.get(url(srv, "/pyramid/json?q=1"), timeout=60).json() == {"pyramid": True, "q": "1"}
    assert requests.get(url(srv, "/pyramid/nope"), timeout=60).status_code == 404


def test_falcon(srv):
    assert requests.get(url(srv, "/falcon/things/t1?q=z"), timeout=60).json() == {"falcon": "t1", "q": "z"}
    r = requests.post(url(srv, "/falcon/things/t2"), json={"k": "v"}, timeout=60)
    assert r.status_code == 201 and r.json() == {"posted": {"k": "v"}, "name": "t2"}


def test_bottle(srv):
    assert requests.get(url(srv, "/bottle/hello/bo"), timeout=60).text == "bottle hello bo"
    assert requests.post(url(srv, "/bottle/form"), data={"name": "zed"}, timeout=60).json() == {"name": "zed"}


def test_werkzeug_test_app(srv):
    r = requests.get(url(srv, "/werkzeug/"), timeout=60)
    assert r.status_code == 200 and "Werkzeug" in r.text and "WSGI Information" in r.text


# ---- wsgiref.validate ----------------------------------------------------------

BODY = b"".join(b"line %d of the body\n" % i for i in range(500))


def test_validated_apps_have_no_validator_errors(srv):
    off = srv.log_offset()
    for mode in ("read", "readline", "readlines", "iter"):
        r = requests.post(url(srv, "/validate?mode=" + mode), data=BODY, timeout=60)
        assert r.status_code == 200, (mode, srv.error_log()[off:])
        assert r.text == "%s %d %s" % (mode, len(BODY), hashlib.sha256(BODY).hexdigest())
    r = requests.get(url(srv, "/validate?mode=stream"), timeout=60)
    assert r.text == "".join("chunk %d\n" % i for i in range(5))
    r = requests.get(url(srv, "/validate?mode=write"), timeout=60)
    assert r.text == "written then returned"
    r = requests.get(url(srv, "/validate?mode=file"), timeout=60)
    assert r.content == b"file body " * 100
    assert requests.head(url(srv, "/validate?mode=hello"), timeout=60).status_code == 200
    assert requests.get(url(srv, "/validate"), timeout=60).status_code == 200
    log = srv.error_log()[off:]
    bad = [ln for ln in log.splitlines()
           if "AssertionError" in ln or "WSGIWarning" in ln or "Traceback" in ln]
    assert not bad, "\n".join(bad)
