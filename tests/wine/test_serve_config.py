"""`sysgi serve --config x.ini` with the real Windows CPython 3.11 under
Wine: two applications on two mounts of one http.sys server (the longest
mount wins), each with its own callable, application group and
pass-authorization; every script imported once, before the first request.
And `sysgi serve APP.py` with settings given as generic --KEY flags.

Wine's http.sys aborts the process on HttpSendResponseEntityBody, so every
app answers in one piece (a one-element list with Content-Length). A
program that starts Python must have stdout and stderr on pipes (WINE.md).
"""
import json
import os
import signal
import time

import pytest
import requests

from conftest import free_port
import wine_http
from piped_server import Server as PipedServer

SYSGI = os.environ.get("SYSGI_EXE", "")
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
WINPY = os.environ.get("SYSGI_WINPY") or os.path.join(
    SRC, ".deps", "winpy", "cpython-3.11-win-amd64")
TIMEOUT = 60
START_TIMEOUT = 180


def winpath(p):
    return "Z:" + str(p).replace("/", "\\")


def Server(env, args):
    return PipedServer(SYSGI, env, args, timeout=TIMEOUT,
                       wait_timeout=START_TIMEOUT)


APP = '''\
import json, os, sys
with open(os.path.join(os.path.dirname(__file__), "imports.txt"), "a") as f:
    f.write("%(name)s\\n")

def %(callable)s(environ, start_response):
    body = json.dumps({
        "app": "%(name)s",
        "script_name": environ["SCRIPT_NAME"],
        "path_info": environ["PATH_INFO"],
        "group": environ["mod_wsgi.application_group"],
        "authorization": environ.get("HTTP_AUTHORIZATION"),
        "interpreter": id(sys.modules),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''


@pytest.fixture(scope="module")
def winpy():
    dll = os.path.join(WINPY, "python311.dll")
    if not os.path.exists(dll):
        pytest.fail("no Windows CPython at %s (unpack "
                    "/work/shared/winpy/cpython-3.11-win-amd64.tar.xz into "
                    ".deps/winpy, or set SYSGI_WINPY)" % WINPY)
    return winpath(WINPY)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("site")
    (d / "root.py").write_text(APP % {"name": "root",
                                      "callable": "application"})
    (d / "api.py").write_text(APP % {"name": "api", "callable": "api_app"})
    return d


@pytest.fixture(scope="module")
def two_apps(wine, winpy, site):
    port = free_port()
    ini = site / "sysgi.ini"
    ini.write_text(
        "; two applications in one server\n"
        "[server]\n"
        "listen = http://127.0.0.1:%d/\n"
        "python-home = %s\n"
        "threads = 4\n"
        "dont-write-bytecode = on\n"
        "\n"
        "[app:/]\n"
        "script = root.py\n"            # relative to the INI file
        "application-group = %%{GLOBAL}\n"
        "\n"
        "[app:/api]\n"
        "script = %s\n"
        "callable-object = api_app\n"
        "application-group = api-group\n"
        "pass-authorization = on\n" % (port, winpy, winpath(site / "api.py")))
    s = Server(wine, ["serve", "--config", winpath(ini)])
    try:
        s.wait_line("sysgi: serving 2 applications on http://127.0.0.1:%d/"
                    % port)
    except Exception:
        s.stop()
        raise
    waker = wine_http.Waker(port)  # see wine_http
    yield s, "http://127.0.0.1:%d" % port
    waker.stop()
    s.stop()


SESSION = wine_http.kept_alive_session()  # see wine_http


def get(url, **kw):
    r = wine_http.request("get", url, SESSION, accept_wait=TIMEOUT, **kw)
    assert r.status_code == 200, (url, r.status_code, r.text)
    return r.json()


def test_requests_go_to_the_longest_mount(two_apps):
    _, base = two_apps
    for path, app, sn, pi in [("/", "root", "", "/"),
                              ("/x/y", "root", "", "/x/y"),
                              ("/apix", "root", "", "/apix"),
                              ("/api", "api", "/api", ""),
                              ("/api/users/7", "api", "/api", "/users/7"),
                              ("/API/Users", "api", "/api", "/Users")]:
        j = get(base + path)
        assert (j["app"], j["script_name"], j["path_info"]) == (app, sn, pi), \
            (path, j)


def test_each_app_has_its_callable_group_and_authorization(two_apps):
    _, base = two_apps
    h = {"Authorization": "Basic dXNlcjpwdw=="}
    root = get(base + "/", headers=h)
    api = get(base + "/api/x", headers=h)
    assert root["group"] == "" and api["group"] == "api-group"
    # Two interpreters: the main one and a sub-interpreter.
    assert root["interpreter"] != api["interpreter"]
    assert root["authorization"] is None           # pass-authorization off
    assert api["authorization"] == "Basic dXNlcjpwdw=="


def test_scripts_are_imported_once_before_the_first_request(two_apps, site):
    s, base = two_apps
    for _ in range(3):
        get(base + "/")
        get(base + "/api/")
    imports = (site / "imports.txt").read_text().split()
    assert sorted(imports) == ["api", "root"], imports
    assert "Python loaded from" in s.output()


def test_ctrl_c_stops_the_two_app_server(two_apps):
    s, base = two_apps
    get(base + "/")
    assert s.stop() == 0
    s.wait_line("sysgi: stopped", timeout=TIMEOUT)


def test_serve_app_with_generic_flags(wine, winpy, site):
    port = free_port()
    s = Server(wine, ["serve", winpath(site / "api.py"), "--port", str(port),
                      "--python-home", winpy, "--mount", "/svc",
                      "--callable-object", "api_app",
                      "--application-group", "flags-group",
                      "--pass-authorization", "--threads", "2",
                      "--dont-write-bytecode=on"])
    try:
        s.wait_line("sysgi: serving %s on http://127.0.0.1:%d/"
                    % (winpath(site / "api.py"), port))
        base = "http://127.0.0.1:%d" % port
        j = get(base + "/svc/a", headers={"Authorization": "Bearer t"})
        assert j["app"] == "api" and j["group"] == "flags-group"
        assert (j["script_name"], j["path_info"]) == ("/svc", "/a")
        assert j["authorization"] == "Bearer t"
        r = wine_http.request("get", base + "/elsewhere", SESSION,
                              accept_wait=TIMEOUT)
        assert r.status_code == 404
    finally:
        assert s.stop() == 0


def test_ctrl_c_while_a_script_imports_ends_cleanly(wine, winpy, site):
    # Seed bug 5, in the runner shared with the service: a stop that
    # arrives while a script is still importing (before listening) ends
    # the process cleanly, with no request served. The import waits for a
    # file the test creates only once sysgi has logged the stop request.
    release = site / "release"
    started = site / "import-started"
    (site / "slow.py").write_text(
        "import os, time\n"
        "open(%r, 'w').close()\n"
        "while not os.path.exists(%r):\n"
        "    time.sleep(0.05)\n"
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Length', '2')])\n"
        "    return [b'no']\n" % (winpath(started), winpath(release)))
    port = free_port()
    s = Server(wine, ["serve", winpath(site / "slow.py"), "--port", str(port),
                      "--python-home", winpy, "--application-group", "slow",
                      "--dont-write-bytecode"])
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not started.exists():
            assert s.proc.poll() is None, s.output()
            assert time.monotonic() < deadline, s.output()
            time.sleep(0.1)
        s.proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + TIMEOUT
        while "stop requested" not in s.output():
            assert time.monotonic() < deadline, s.output()
            time.sleep(0.1)
        release.touch()
        assert s.proc.wait(timeout=TIMEOUT) == 0, s.output()
        s.wait_line("sysgi: stopped", timeout=TIMEOUT)
        out = s.output()
        assert "stop requested during startup: not listening" in out, out
        assert "sysgi: serving" not in out, out
        with pytest.raises(requests.ConnectionError):
            requests.get("http://127.0.0.1:%d/" % port, timeout=TIMEOUT)
    finally:
        release.touch()
        s.stop()
