"""mod_sysgi for Windows in httpd.exe of the Apache for Windows fixture
(../shared/apache-win, unpacked into .deps/apache-win), under Wine, with
the real Windows CPython 3.11 of ../shared/winpy.

Two servers are started once for the whole module, at the same time (each
takes 30-40 s to its first answer under Wine):
  - `nopy`: WSGIPythonHome names a directory that does not exist: every
    WSGI request is a 503, the error log has ONE startup line naming the
    directive, the path and the reason, and one line per request;
  - `srv`: the real CPython: hello, environ, POST, wsgi.file_wrapper,
    streaming, sub-interpreters, WSGIAccessScript, Flask, HTTPS through
    mod_ssl. Its PATH (WINEPATH) starts with a directory of broken
    python3.dll/python311.dll: the module must not care.

Not here: WSGIAuthUserScript/WSGIAuthGroupScript. They need mod_auth_basic
(AuthBasicProvider wsgi), which the fixture tree does not ship (its modules
are alias, authz_core, authz_host, dir, env, headers, log_config, mime,
setenvif, ssl); they are tested on Linux Apache (tests/apache/test_config.py).
"""
import concurrent.futures
import hashlib
import json
import os
import sys
import time

import pytest
import requests
import urllib3

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import apache_win  # noqa: E402
from apache_win import REPO, confpath, winpath  # noqa: E402

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

CASES = os.path.join(REPO, "tests", "apache", "apps", "cases.py")
AUTH = os.path.join(REPO, "tests", "apache", "apps", "authscripts.py")
TIMEOUT_APP = os.path.join(REPO, "tests", "apache", "apps", "timeout_app.py")
EXAMPLES = os.path.join(REPO, "examples")
FACTS = os.path.join(HERE, "apps", "winfacts.py")
TLS_ACCESS = os.path.join(HERE, "apps", "tls_access.py")
REFERENCE = os.path.join(REPO, "tests", "apache", "data", "environ-modwsgi.txt")
TIMEOUT = 120

# Keys of real mod_wsgi 4.9's environ (Linux) that mod_sysgi on Windows
# does not have, and why. Empty: every key is there.
NOT_ON_WINDOWS = set()


def alias(mount, script, opts=""):
    return 'WSGIScriptAlias %s "%s"%s' % (mount, confpath(script),
                                         " " + opts if opts else "")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    try:
        home = apache_win.winpy_home()
        bad_dir = tmp_path_factory.mktemp("broken-path-python")
        for name in ("python3.dll", "python311.dll"):
            (bad_dir / name).write_bytes(b"not a DLL, found through PATH\n" * 64)
        conf = [alias("/env", os.path.join(EXAMPLES, "env.py")),
                alias("/flask", os.path.join(EXAMPLES, "flask_app.py")),
                alias("/facts", FACTS),
                alias("/ga", CASES, "application-group=A"),
                alias("/ga2", CASES, "application-group=A"),
                alias("/gb", CASES, "application-group=B"),
                alias("/gg", CASES, "application-group=%{GLOBAL}"),
                alias("/guarded", CASES),
                "<Location /guarded>",
                '  WSGIAccessScript "%s"' % confpath(AUTH),
                "</Location>",
                alias("/tlsfacts", FACTS),
                "<Location /tlsfacts>",
                '  WSGIAccessScript "%s"' % confpath(TLS_ACCESS),
                "</Location>",
                alias("/tmo", TIMEOUT_APP),
                "<Location /tmo>",
                "  WSGIRequestTimeout 3",
                "</Location>",
                alias("/", CASES)]
        srv = apache_win.WinApache(str(tmp_path_factory.mktemp("srv")), conf,
                                   python_home=home, tls=True)
        srv.env["WINEPATH"] = winpath(bad_dir)
        nopy = apache_win.WinApache(
            str(tmp_path_factory.mktemp("nopy")), [alias("/", CASES)],
            python_home=str(tmp_path_factory.getbasetemp() / "no-such-python"))
    except apache_win.Missing as e:
        pytest.fail(str(e))
    srv.start()
    nopy.start()
    try:
        nopy.wait("/hello")
        srv.wait("/hello")
    except Exception:
        srv.stop()
        nopy.stop()
        raise
    yield srv, nopy
    for s in (srv, nopy):
        s.stop()
    for s in (srv, nopy):
        s.assert_no_crash()


@pytest.fixture(scope="module")
def srv(pair):
    return pair[0]


@pytest.fixture(scope="module")
def nopy(pair):
    return pair[1]


def get(s, path, **kw):
    kw.setdefault("timeout", TIMEOUT)
    return requests.get(s.url + path, **kw)


# ---- without a Python ------------------------------------------------------

def test_no_python_is_503_with_one_clear_line(nopy):
    before = nopy.error_log()
    startup = [l for l in before.splitlines() if "cannot load Python" in l
               and "[client " not in l]
    assert len(startup) == 1, before            # ONE startup line ...
    line = startup[0]
    for part in ("WSGIPythonHome", "no-such-python", "no such directory",
                 "every WSGI request will answer 503"):
        assert part in line, line               # ... naming directive, path, cause
    off = nopy.log_offset()
    for path in ("/hello", "/env?x=1"):
        assert get(nopy, path).status_code == 503
    assert requests.post(nopy.url + "/echo", data=b"x" * 5000,
                         timeout=TIMEOUT).status_code == 503
    # Each request's line is written before its answer is sent.
    new = nopy.error_log()[off:]
    per_request = [l for l in new.splitlines() if "mod_sysgi" in l]
    assert len(per_request) == 3, new            # one line per request
    assert all("503" in l and "WSGIPythonHome" in l and "no such directory" in l
               for l in per_request), new
    log = nopy.error_log()
    assert "--python-home" not in log and "python-home " not in log, log
    assert nopy.proc.poll() is None, "httpd must keep running"


def test_no_python_banner_names_no_python(nopy):
    server = get(nopy, "/hello").headers["Server"]
    assert "mod_sysgi/0.1.0" in server and "Python/" not in server, server


# ---- with the real Windows CPython ------------------------------------------

def test_hello_and_banner_from_loaded_python(srv):
    r = get(srv, "/hello")
    assert r.status_code == 200 and r.content == b"Hello World!"
    facts = get(srv, "/facts").json()
    # The banner names the Python actually loaded (3.11 from winpy), read
    # from the DLL at run time.
    major_minor = ".".join(facts["version"].split(".")[:2])
    assert "mod_sysgi/0.1.0 Python/%s" % major_minor in r.headers["Server"]
    assert major_minor == "3.11"
    assert facts["platform"] == "win32" and facts["maxsize64"]
    # ... and only the child loads it: the mpm_winnt parent, which logs
    # AH00455 with its own banner, never touches Python.
    parent = [l for l in srv.error_log().splitlines() if "AH00455" in l]
    assert parent and all("mod_sysgi/0.1.0" in l and "Python/" not in l
                          for l in parent), parent
    home = apache_win.winpy_home()
    assert facts["base_prefix"].lower().replace("/", "\\") == winpath(home).lower()


def test_path_has_no_say(srv):
    """WINEPATH put broken python DLLs first on the PATH: still served."""
    assert "WINEPATH" in srv.env
    assert get(srv, "/facts").status_code == 200
    assert "not a DLL" not in srv.error_log()


def parse_dump(text):
    out = {}
    for ln in text.splitlines():
        if ln and not ln.startswith("#"):
            key, typ, rep = ln.split("\t", 2)
            out[key] = (typ, rep)
    return out


def test_environ_keys_match_mod_wsgi(srv):
    with open(REFERENCE) as f:
        ref = parse_dump(f.read())
    r = get(srv, "/env/sub?x=1&y=a%20b", headers={"X-Bench-Header": "one"})
    assert r.status_code == 200, r.text
    env = parse_dump(r.text)
    missing = set(ref) - set(env) - NOT_ON_WINDOWS
    assert not missing, sorted(missing)
    port = str(srv.port)
    assert env["SCRIPT_NAME"][1] == "'/env'" and env["PATH_INFO"][1] == "'/sub'"
    assert env["QUERY_STRING"][1] == "'x=1&y=a%20b'"
    assert env["SERVER_PORT"][1] == repr(port)
    assert env["HTTP_X_BENCH_HEADER"][1] == "'one'"
    assert env["wsgi.url_scheme"][1] == "'http'"
    # mpm_winnt: one child process with threads.
    assert env["wsgi.multithread"][1] == "True"
    assert env["wsgi.multiprocess"][1] == "False"
    assert env["mod_wsgi.application_group"][1] == repr("127.0.0.1:%s|/env" % port)
    assert eval(env["apache.version"][1])[:2] == (2, 4)
    assert "HTTPS" not in env


BODY = os.urandom(1 << 20)


def test_post_1mib_content_length(srv):
    r = requests.post(srv.url + "/echo", data=BODY, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["len"] == len(BODY)
    assert out["sha256"] == hashlib.sha256(BODY).hexdigest()
    assert out["content_length"] == str(len(BODY))


def test_post_1mib_chunked(srv):
    pieces = [BODY[i:i + 65536] for i in range(0, len(BODY), 65536)]
    r = requests.post(srv.url + "/echo", params={"mode": "readn"},
                      data=iter(pieces), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json()["len"] == len(BODY)
    assert r.json()["sha256"] == hashlib.sha256(BODY).hexdigest()


def test_file_wrapper(srv):
    data = os.urandom(2 * 1024 * 1024 + 4321)
    path = os.path.join(srv.files_dir, "big.bin")
    with open(path, "wb") as f:
        f.write(data)
    for offset, cl in ((0, "1"), (100003, "0")):
        r = get(srv, "/file", params={"path": winpath(path), "offset": offset,
                                      "cl": cl})
        assert r.status_code == 200
        assert r.content == data[offset:]
    r = get(srv, "/file", params={"path": winpath(path), "offset": 7,
                                  "mode": "bytesio", "blksize": 65536})
    assert r.content == data[7:]


def test_streaming(srv):
    r = get(srv, "/stream", params={"n": 300, "size": 4096}, stream=True)
    assert r.status_code == 200
    assert "Content-Length" not in r.headers
    got = b"".join(r.iter_content(65536))
    assert got == b"".join(bytes([i % 256]) * 4096 for i in range(300))


def test_sub_interpreters(srv):
    def counter(prefix):
        return get(srv, prefix + "/counter").json()
    a1, b1, g1 = counter("/ga"), counter("/gb"), counter("/gg")
    a2 = counter("/ga2")   # same group as /ga: the same interpreter
    b2 = counter("/gb")
    assert a1["group"] == "A" and b1["group"] == "B" and g1["group"] == ""
    assert a2["counter"] == a1["counter"] + 1 and a2["sys_id"] == a1["sys_id"]
    assert b2["counter"] == b1["counter"] + 1
    assert len({a1["sys_id"], b1["sys_id"], g1["sys_id"]}) == 3


def test_request_timeout_504(srv):
    # WSGIRequestTimeout in a <Location>: the child's watchdog thread (an
    # APR thread on Windows) raises RequestTimeout in the busy loop.
    since = srv.log_offset()
    r = get(srv, "/tmo/busy")
    assert r.status_code == 504, r.text
    r = get(srv, "/tmo/")
    assert r.status_code == 200 and r.text == "hello True"
    deadline = time.monotonic() + TIMEOUT
    while "answered 504 Gateway Timeout" not in srv.error_log()[since:]:
        assert time.monotonic() < deadline, srv.error_log()[since:]
        time.sleep(0.5)
    assert "request timeout: GET /tmo/busy of '" in srv.error_log()[since:]


def test_access_script(srv):
    assert get(srv, "/guarded/hello").content == b"Hello World!"
    r = get(srv, "/guarded/hello", headers={"X-Deny": "1"})
    assert r.status_code == 403


def test_https_through_mod_ssl(srv):
    """wsgi.url_scheme says https (no HTTPS key), and the hooks' environ
    has mod_ssl.is_https / mod_ssl.var_lookup answering from mod_ssl."""
    for tls in (True, False):
        base = srv.tls_url if tls else srv.url
        record = os.path.join(srv.files_dir, "tls-%s.json" % tls)
        r = requests.get(base + "/tlsfacts", verify=False, timeout=TIMEOUT,
                         headers={"X-Record": winpath(record)})
        assert r.status_code == 200, r.text
        app = r.json()
        assert app["url_scheme"] == ("https" if tls else "http")
        assert app["HTTPS_in_environ"] is False
        with open(record) as f:
            hook = json.load(f)
        assert hook["has_is_https"] and hook["has_var_lookup"], hook
        assert hook["url_scheme"] == app["url_scheme"]
        if tls:
            assert hook["is_https"] is True, hook
            assert hook["SSL_PROTOCOL"].startswith("TLSv1"), hook
            assert hook["SSL_CIPHER"], hook
        else:
            assert hook["is_https"] is False, hook
            assert not hook["SSL_PROTOCOL"], hook


def test_flask_and_concurrency(srv):
    def one(i):
        with requests.Session() as s:
            for j in range(5):
                r = s.get(srv.url + "/flask/api/items/%d?q=q%d" % (i, j),
                          timeout=TIMEOUT)
                assert r.status_code == 200, r.text
                assert r.json()["id"] == i and r.json()["query"] == "q%d" % j
                assert r.json()["script_name"] == "/flask"
                h = s.get(srv.url + "/hello", timeout=TIMEOUT)
                assert h.content == b"Hello World!"
        return i
    with concurrent.futures.ThreadPoolExecutor(40) as pool:
        assert sorted(pool.map(one, range(40))) == list(range(40))
    assert b"&lt;three&gt;" in get(srv, "/flask/").content
