"""New features of mod_wsgi 3.4 that apply to embedded mode: 2, 3, 6, 7,
11, 12. (1, Python versions, is test_3_new_feature_1_python_versions.py;
4, 5, 8, 9, 10 belong to process groups and are not tested here.)"""
import http.client
import json
import os
import re
import ssl
import subprocess
import time

import pytest
import requests

from _apache import APACHE
from conformance_support import assert_no_crash, reference_daemon_conf

HELLO_APP = """
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]
"""


def test_new_feature_2_apache_2_4(site):
    """The module loads into Apache 2.4 and serves a request."""
    version = subprocess.run([APACHE, "-v"], capture_output=True, text=True).stdout
    assert re.search(r"Apache/2\.4\.\d+", version), version
    app = site.write("hello.py", HELLO_APP)
    a = site.apache(f"WSGIScriptAlias /hello {app}\n")
    r = requests.get(a.url("/hello"), timeout=60)
    assert (r.status_code, r.text) == (200, "hello")
    assert_no_crash(a)


# ---- 3 and 11: access, authentication and authorisation hooks over TLS -----
HOOKS = """
import json
import os

RECORDS = os.path.join(os.path.dirname(__file__), "records")


def _record(hook, environ, **extra):
    is_https = environ.get("mod_ssl.is_https")
    var_lookup = environ.get("mod_ssl.var_lookup")
    facts = {
        "hook": hook,
        "has_is_https": callable(is_https),
        "has_var_lookup": callable(var_lookup),
        "is_https": bool(is_https()) if callable(is_https) else None,
        "SSL_PROTOCOL": var_lookup("SSL_PROTOCOL") if callable(var_lookup) else None,
        "SSL_CIPHER": var_lookup("SSL_CIPHER") if callable(var_lookup) else None,
        "HTTPS_in_environ": "HTTPS" in environ,
    }
    facts.update(extra)
    name = "%s-%s.json" % (hook, environ.get("HTTP_X_TEST_ID", "none"))
    with open(os.path.join(RECORDS, name), "w") as f:
        json.dump(facts, f)


def allow_access(environ, host):
    _record("access", environ, host=host)
    return "HTTP_X_DENY" not in environ


USERS = {"alice": "secret", "bob": "hunter2"}
GROUPS = {"alice": ["admins", "users"], "bob": ["users"]}


def check_password(environ, user, password):
    _record("user", environ, user=user)
    if user not in USERS:
        return None
    return USERS[user] == password


def groups_for_user(environ, user):
    _record("group", environ, user=user)
    return GROUPS.get(user, [])
"""

WHOAMI_APP = """
def application(environ, start_response):
    body = ("user=%s scheme=%s" % (environ.get("REMOTE_USER"), environ["wsgi.url_scheme"])).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
"""


def _hooks_site(site):
    records = site.subdir("records")
    hooks = site.write("hooks.py", HOOKS)
    app = site.write("whoami.py", WHOAMI_APP)
    a = site.apache(f"""
        WSGIScriptAlias /access {app}
        WSGIScriptAlias /user {app}
        WSGIScriptAlias /group {app}
        <Location /access>
          WSGIAccessScript {hooks}
        </Location>
        <Location /user>
          AuthType Basic
          AuthName "conformance"
          AuthBasicProvider wsgi
          WSGIAuthUserScript {hooks}
          Require valid-user
        </Location>
        <Location /group>
          AuthType Basic
          AuthName "conformance"
          AuthBasicProvider wsgi
          WSGIAuthUserScript {hooks}
          WSGIAuthGroupScript {hooks}
          Require wsgi-group admins
        </Location>
        """, tls=True)
    return a, records


def _get(apache, path, test_id, tls, auth=None, headers=None):
    """GET over plain HTTP or TLS (the test's own self-signed certificate);
    returns status, body and the negotiated TLS version (None for HTTP)."""
    h = {"X-Test-Id": test_id}
    h.update(headers or {})
    if auth:
        import base64
        h["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode()
    if tls:
        ctx = ssl.create_default_context(cafile=os.path.join(apache.dir, "server.crt"))
        c = http.client.HTTPSConnection("127.0.0.1", apache.tls_port, context=ctx, timeout=60)
    else:
        c = http.client.HTTPConnection("127.0.0.1", apache.port, timeout=60)
    c.request("GET", path, headers=h)
    r = c.getresponse()
    body = r.read()
    version = c.sock.version() if tls else None
    c.close()
    return r.status, body.decode(errors="replace"), version


def _facts(records, hook, test_id):
    with open(os.path.join(records, "%s-%s.json" % (hook, test_id))) as f:
        return json.load(f)


def test_new_feature_3_mod_ssl_runs_before_access_script(site):
    """WSGIAccessScript runs after mod_ssl has set up the request: over TLS
    allow_access() sees mod_ssl.var_lookup('SSL_PROTOCOL') equal to the
    protocol the client negotiated; host is the client's address; its
    verdict is obeyed."""
    a, records = _hooks_site(site)
    status, body, version = _get(a, "/access", "tls-allow", tls=True)
    assert (status, body) == (200, "user=None scheme=https")
    facts = _facts(records, "access", "tls-allow")
    assert facts["SSL_PROTOCOL"] == version, (facts, version)
    # host: the client's name, or (no DNS lookups) its address, as mod_wsgi
    # passes it; an access script allowing by address depends on it.
    assert facts["host"] == "127.0.0.1", facts

    status, _, _ = _get(a, "/access", "tls-deny", tls=True, headers={"X-Deny": "1"})
    assert status == 403
    assert _facts(records, "access", "tls-deny")["SSL_PROTOCOL"] == version
    assert_no_crash(a)


def test_new_feature_6_www_authenticate_split(site, reference):
    """Several WWW-Authenticate challenges from the application reach the
    client as separate header lines, whether the application gave them as
    separate headers or combined into one comma-separated value (commas
    inside quoted strings, as in Digest's qop="auth,auth-int", do not split)."""
    app = site.write("challenge.py", """
        CHALLENGES = {
            "separate": ['Basic realm="one"', 'Digest realm="two", nonce="abc", qop="auth"'],
            "combined": ['Basic realm="one", Digest realm="two", nonce="abc", qop="auth"'],
            "quoted": ['Negotiate, Basic realm="a, b", Digest realm="x", '
                       'qop="auth,auth-int", algorithm=MD5'],
        }

        def application(environ, start_response):
            headers = [("WWW-Authenticate", v) for v in CHALLENGES[environ["QUERY_STRING"]]]
            start_response("401 Unauthorized", [("Content-Type", "text/plain")] + headers)
            return [b"denied"]
        """)
    a = site.apache(f"WSGIScriptAlias /challenge {app}\n" + reference_daemon_conf(reference))
    want = {
        "separate": ['Basic realm="one"', 'Digest realm="two", nonce="abc", qop="auth"'],
        "combined": ['Basic realm="one"', 'Digest realm="two", nonce="abc", qop="auth"'],
        "quoted": ["Negotiate", 'Basic realm="a, b"',
                   'Digest realm="x", qop="auth,auth-int", algorithm=MD5'],
    }
    got = {}
    for case in want:
        c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=60)
        c.request("GET", "/challenge?" + case)
        r = c.getresponse()
        r.read()
        c.close()
        assert r.status == 401
        # http.client keeps repeated header lines apart: one entry per line.
        got[case] = r.msg.get_all("WWW-Authenticate")
    assert_no_crash(a)
    assert got["separate"] == want["separate"], got
    if reference and got != want:
        # mod_wsgi only ever undid the merge its daemon transport made; it
        # never split a value the application combined itself.
        pytest.xfail("mod_wsgi does not split an application's combined value: %r" % got)
    assert got == want


BYTECODE_APP = """
import importlib
import os
import sys

def application(environ, start_response):
    lib = os.path.join(os.path.dirname(__file__), environ["QUERY_STRING"])
    sys.path.insert(0, lib)
    try:
        importlib.import_module("helpermod")
        importlib.import_module("helperpkg.sub")
    finally:
        sys.path.remove(lib)
    body = ("dont_write_bytecode=%s" % sys.dont_write_bytecode).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
"""


def _bytecode_files(root):
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        found += [os.path.join(dirpath, d) for d in dirnames if d == "__pycache__"]
        found += [os.path.join(dirpath, f) for f in filenames if f.endswith((".pyc", ".pyo"))]
    return found


def test_new_feature_7_dont_write_bytecode(site):
    """WSGIDontWriteBytecode On: imports leave no __pycache__/.pyc behind,
    in a sub-interpreter (the default application group) and in the main
    interpreter (%{GLOBAL}). Control: without it, the same imports do write
    bytecode (so the check can fail)."""
    app = site.write("app.py", BYTECODE_APP)
    results = {}
    for mode, directive in (("on", "WSGIDontWriteBytecode On"), ("default", "")):
        a = site.apache(f"""
            {directive}
            WSGIScriptAlias /sub {app}
            WSGIScriptAlias /global {app}
            <Location /global>
              WSGIApplicationGroup %{{GLOBAL}}
            </Location>
            """, name="httpd-" + mode)
        for group in ("sub", "global"):
            name = "lib-%s-%s" % (mode, group)
            lib = site.subdir(name)
            site.write(name + "/helpermod.py", "VALUE = 1\n")
            site.subdir(name + "/helperpkg")
            site.write(name + "/helperpkg/__init__.py", "")
            site.write(name + "/helperpkg/sub.py", "VALUE = 2\n")
            r = requests.get(a.url("/%s?%s" % (group, name)), timeout=60)
            assert r.status_code == 200, r.text
            results[mode, group] = (r.text, _bytecode_files(lib))
        assert_no_crash(a)
        a.stop()
    for group in ("sub", "global"):
        assert results["on", group] == ("dont_write_bytecode=True", []), (group, results["on", group])
        text, files = results["default", group]
        assert text == "dont_write_bytecode=False", (group, text)
        assert files, "control failed: %s imports without the directive wrote no bytecode" % group


def test_new_feature_11_mod_ssl_callables_in_access_and_auth_hooks(site):
    """The environ of allow_access, check_password and groups_for_user has
    mod_ssl.is_https and mod_ssl.var_lookup: true and the negotiated
    protocol over TLS, false and no protocol over plain HTTP; the hooks'
    verdicts are obeyed."""
    a, records = _hooks_site(site)
    cases = [
        # path, auth, expected status, hooks that must have run
        ("/access", None, 200, ["access"]),
        ("/user", ("alice", "secret"), 200, ["user"]),
        ("/user", ("alice", "wrong"), 401, ["user"]),
        ("/user", ("nobody", "x"), 401, ["user"]),
        ("/group", ("alice", "secret"), 200, ["user", "group"]),
        ("/group", ("bob", "hunter2"), None, ["user", "group"]),
    ]
    for tls in (True, False):
        for i, (path, auth, want, hooks) in enumerate(cases):
            test_id = "%s-%d" % ("tls" if tls else "plain", i)
            status, body, version = _get(a, path, test_id, tls, auth=auth)
            if want is None:       # authenticated but not in the group
                assert status in (401, 403), (test_id, status)
            else:
                assert status == want, (test_id, path, auth, status, body)
            if status == 200 and auth:
                assert body.startswith("user=%s " % auth[0]), body
            for hook in hooks:
                facts = _facts(records, hook, test_id)
                assert facts["has_is_https"] and facts["has_var_lookup"], facts
                assert not facts["HTTPS_in_environ"], facts
                if tls:
                    assert facts["is_https"] is True, facts
                    assert facts["SSL_PROTOCOL"] == version, (facts, version)
                    assert facts["SSL_CIPHER"], facts
                else:
                    assert facts["is_https"] is False, facts
                    assert not facts["SSL_PROTOCOL"], facts
    assert_no_crash(a)


QUEUE_APP = """
import time

def application(environ, start_response):
    now_us = int(time.time() * 1000000) + 1
    body = ("%r %d" % (environ.get("mod_wsgi.queue_start"), now_us)).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
"""


def test_new_feature_12_queue_start(site, reference):
    """mod_wsgi.queue_start is in environ, parses as an integer (microseconds
    since the epoch) and lies between the client's send time and the
    application's own clock reading."""
    app = site.write("queue.py", QUEUE_APP)
    a = site.apache(f"WSGIScriptAlias /q {app}\n" + reference_daemon_conf(reference))
    requests.get(a.url("/q"), timeout=60)   # load the app first
    for _ in range(5):
        c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=60)
        c.connect()
        sent_us = int(time.time() * 1000000)
        c.request("GET", "/q")
        r = c.getresponse()
        text = r.read().decode()
        c.close()
        raw, app_us = text.rsplit(" ", 1)
        value = eval(raw, {})
        assert isinstance(value, str), text
        queue_start = int(value)
        assert sent_us <= queue_start <= int(app_us), (sent_us, queue_start, app_us)
    assert_no_crash(a)
