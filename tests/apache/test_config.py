"""Directives: values, errors, application groups, reloading, handlers,
auth hooks, Python home, import scripts, and a clean child exit."""
import json
import os
import shutil
import time

import pytest
import requests

import apache_fixture
from conftest import APPS, EXAMPLES

pytestmark = pytest.mark.sysgi_only
HELLO = os.path.join(EXAMPLES, "hello.py")
CASES = os.path.join(APPS, "cases.py")


def get(srv, path, **kw):
    kw.setdefault("timeout", 60)
    return requests.get(srv.url + path, **kw)


# ---- configuration errors name the directive --------------------------------

@pytest.mark.parametrize("line,needle", [
    ("WSGIProcessGroup mygroup", "process groups are provided by sysgi.exe"),
    ("WSGIScriptAlias / %s process-group=pg" % HELLO, "process groups are provided by sysgi.exe"),
    ("WSGIApplicationGroup %{NOPE}", "WSGIApplicationGroup: unknown application group macro"),
    ("WSGIScriptAlias / %s bogus=1" % HELLO, "WSGIScriptAlias: unknown option 'bogus'"),
    ("WSGIScriptAlias / %s justaword" % HELLO, "WSGIScriptAlias: invalid option 'justaword'"),
    ("WSGIScriptAlias noslash %s" % HELLO, "must start with '/'"),
    ("WSGIScriptAlias /x", "WSGIScriptAlias needs a URL path and a script file"),
    ("WSGIScriptAliasMatch ^/(x %s" % HELLO, "WSGIScriptAliasMatch: invalid regular expression"),
    ("WSGICallableObject 1abc", "WSGICallableObject: '1abc' is not a Python identifier"),
    ("WSGIEnableSendfile Maybe", "WSGIEnableSendfile"),
    ("WSGIDontWriteBytecode Yes", "WSGIDontWriteBytecode"),
    ("WSGIRestrictEmbedded On", "WSGIRestrictEmbedded On"),
    ("WSGIDaemonProcess site threads=5", "WSGIDaemonProcess: daemon mode is not available"),
    # Its options are checked by the configuration model, as sysgi.ini's.
    ("WSGIDaemonProcess site user=www-data threads=5",
     "WSGIDaemonProcess: [process-group:site] user: not supported on Windows"),
    ("WSGIDaemonProcess site processes=0",
     "WSGIDaemonProcess: [process-group:site] processes: '0' is not a number from 1 to 256"),
    ("WSGIDaemonProcess site memory-limit=lots threads=x",
     "memory-limit: 'lots' is not a size (a number of bytes, or with K, M or G: 512M); "
     "WSGIDaemonProcess: [process-group:site] threads: 'x' is not a number"),
    ("WSGIDaemonProcess site bogus=1", "[process-group:site] bogus: unknown setting"),
    ("WSGIDaemonProcess site python-home=/no/such/dir",
     "[process-group:site] python-home: no such directory: /no/such/dir"),
    ("WSGIDaemonProcess", "WSGIDaemonProcess needs a process group name"),
    ("WSGICaseSensitivity Maybe", "WSGICaseSensitivity"),
    ("<VirtualHost *:80>\nWSGICaseSensitivity Off\n</VirtualHost>", "WSGICaseSensitivity cannot occur within"),
    ("WSGIScriptAlias / %s process-group=%%{SERVER}" % HELLO, "WSGIScriptAlias: '%{SERVER}' is not a process group name"),
    ("WSGIImportScript %s" % HELLO, "WSGIImportScript: application-group= is required"),
    ("WSGIImportScript %s application-group=%%{RESOURCE}" % HELLO, "WSGIImportScript: application-group must be"),
    ("<VirtualHost *:80>\nWSGIPythonHome /usr\n</VirtualHost>", "WSGIPythonHome cannot occur within"),
    ("<Directory />\nWSGIScriptAlias / %s\n</Directory>" % HELLO, "WSGIScriptAlias not allowed in <Directory>"),
])
def test_bad_directive_is_a_config_error(tmp_path, module_path, line, needle):
    work = apache_fixture.make_public(str(tmp_path / "httpd"))
    conf = apache_fixture.write_config(work, apache_fixture.free_port(), [line],
                                       module_path=module_path)
    ok, out = apache_fixture.check_config(conf)
    assert not ok, out
    assert needle in out


def test_good_directives_accepted(tmp_path, module_path):
    work = apache_fixture.make_public(str(tmp_path / "httpd"))
    conf = apache_fixture.write_config(work, apache_fixture.free_port(), [
        "WSGIPythonHome /usr",
        "WSGIPythonPath /tmp:/srv/lib",
        "WSGIDontWriteBytecode On",
        "WSGIRestrictEmbedded Off",
        "WSGICaseSensitivity On",
        "WSGIProcessGroup %{GLOBAL}",
        "WSGIApplicationGroup %{ENV:SITE_GROUP}",
        "WSGICallableObject app",
        "WSGIEnableSendfile On",
        "WSGIPassAuthorization On",
        "WSGIScriptReloading Off",
        "WSGIImportScript %s application-group=%%{GLOBAL} process-group=%%{GLOBAL}" % HELLO,
        "WSGIScriptAlias /a %s application-group=%%{GLOBAL} callable-object=app" % HELLO,
        "WSGIScriptAliasMatch ^/m/([a-z]+) %s/$1.py" % EXAMPLES,
        "<Location /x>\n  WSGIApplicationGroup grp\n  WSGIAccessScript %s\n"
        "  WSGIAuthUserScript %s application-group=auth\n"
        "  WSGIAuthGroupScript %s\n</Location>" % (HELLO, HELLO, HELLO),
    ], module_path=module_path)
    ok, out = apache_fixture.check_config(conf)
    assert ok, out


def test_wrong_python_home_is_a_warning_not_an_error(tmp_path, module_path):
    """Apache still starts (requests answer 503, tested elsewhere), but the
    model's check names the problem at configuration time."""
    work = apache_fixture.make_public(str(tmp_path / "httpd"))
    missing = str(tmp_path / "no-such-python")
    conf = apache_fixture.write_config(work, apache_fixture.free_port(), [
        "WSGIPythonHome " + missing,
        "WSGIPythonPath /tmp:" + missing + "-lib",
    ], module_path=module_path)
    ok, out = apache_fixture.check_config(conf)
    assert ok, out
    assert "WSGIPythonHome: no such directory: " + missing in out
    assert "WSGIPythonPath: no such file or directory: " + missing + "-lib" in out


# ---- mounts: the configuration model's matcher --------------------------------

def test_case_sensitivity_off_matches_any_case(servers):
    """WSGICaseSensitivity Off (Windows' default): /APP is the /app mount."""
    srv = servers.start(["WSGICaseSensitivity Off"], [("/app", CASES)], wait_path=None)
    assert get(srv, "/APP/counter").status_code == 200
    assert get(srv, "/app/counter").status_code == 200
    assert get(srv, "/apple/counter").status_code == 404  # '/' boundary


def test_case_sensitive_mounts_by_default_on_linux(servers):
    srv = servers.start([], [("/app", CASES)], wait_path=None)
    assert get(srv, "/app/counter").status_code == 200
    assert get(srv, "/APP/counter").status_code == 404


# ---- application groups -------------------------------------------------------

def counters(srv, paths):
    return {p: get(srv, p + "/counter").json() for p in paths}


def test_default_group_is_one_interpreter_per_mount(servers):
    srv = servers.start([], [("/a", CASES), ("/b", CASES)], wait_path=None)
    for _ in range(3):
        c = counters(srv, ["/a", "/b"])
    port = srv.port
    assert c["/a"]["group"] == "127.0.0.1:%d|/a" % port
    assert c["/b"]["group"] == "127.0.0.1:%d|/b" % port
    # Separate sub-interpreters: separate `sys` modules, separate counters.
    assert c["/a"]["counter"] == 3 and c["/b"]["counter"] == 3
    assert c["/a"]["sys_id"] != c["/b"]["sys_id"]


def test_global_group_shares_the_main_interpreter(servers):
    srv = servers.start(["WSGIApplicationGroup %{GLOBAL}"],
                        [("/a", CASES), ("/b", CASES)], wait_path=None)
    for _ in range(3):
        c = counters(srv, ["/a", "/b"])
    assert c["/a"]["group"] == "" and c["/b"]["group"] == ""
    assert c["/a"]["sys_id"] == c["/b"]["sys_id"]
    assert sorted([c["/a"]["counter"], c["/b"]["counter"]]) == [5, 6]


def test_group_macros_and_alias_option(servers):
    srv = servers.start([
        "SetEnvIf Request_URI ^/e SITE_GROUP=from-env",
        "WSGIScriptAlias /lit %s application-group=literal" % CASES,
        "WSGIScriptAlias /srv %s application-group=%%{SERVER}" % CASES,
        "WSGIScriptAlias /e %s application-group=%%{ENV:SITE_GROUP}" % CASES,
        "WSGIScriptAlias /loc %s" % CASES,
        "<Location /loc>\n  WSGIApplicationGroup from-location\n</Location>",
    ], None, wait_path=None)
    c = counters(srv, ["/lit", "/srv", "/e", "/loc"])
    assert c["/lit"]["group"] == "literal"
    assert c["/srv"]["group"] == "127.0.0.1:%d" % srv.port
    assert c["/e"]["group"] == "from-env"
    assert c["/loc"]["group"] == "from-location"


def test_callable_object(servers):
    srv = servers.start([
        "WSGIScriptAlias /opt %s callable-object=my_app" % os.path.join(APPS, "other_callable.py"),
        "WSGIScriptAlias /dir %s" % os.path.join(APPS, "other_callable.py"),
        "WSGIScriptAlias /missing %s callable-object=nope" % os.path.join(APPS, "other_callable.py"),
        "<Location /dir>\n  WSGICallableObject my_app\n</Location>",
        "WSGIScriptAlias /plain %s" % os.path.join(APPS, "other_callable.py"),
    ], None, wait_path=None)
    assert get(srv, "/opt").content == b"my_app"
    assert get(srv, "/dir").content == b"my_app"
    assert get(srv, "/plain").content == b"application"
    off = srv.log_offset()
    assert get(srv, "/missing").status_code == 500
    srv.wait_for_log("nope", since=off)


def test_missing_script_is_404(servers):
    srv = servers.start(["WSGIScriptAlias /gone /nonexistent/app.py"], None,
                        wait_path=None)
    off = srv.log_offset()
    assert get(srv, "/gone").status_code == 404
    srv.wait_for_log("target WSGI script not found", since=off)


def test_script_failing_to_import_is_500(servers):
    d = servers.site()
    bad = os.path.join(d, "syntax.py")
    with open(bad, "w") as f:
        f.write("def application(:\n")
    os.chmod(bad, 0o644)
    srv = servers.start([], {"/": bad}, wait_path=None)
    off = srv.log_offset()
    assert get(srv, "/").status_code == 500
    srv.wait_for_log("SyntaxError", since=off)
    assert get(srv, "/").status_code == 500   # and again: still serving


def test_script_alias_match(servers):
    srv = servers.start(["WSGIScriptAliasMatch ^/ex/([a-z]+) %s/$1.py" % EXAMPLES],
                        None, wait_path=None)
    assert get(srv, "/ex/hello").content == b"Hello World!"
    env = get(srv, "/ex/env/more").text
    assert "PATH_INFO\tstr\t'/more'" in env
    assert "SCRIPT_NAME\tstr\t'/ex/env'" in env


# ---- handlers ---------------------------------------------------------------

def test_sethandler_and_addhandler(servers):
    d = servers.site("docroot")
    for name in ("app.wsgi", "other.py", "plain.txt"):
        src = HELLO if name != "plain.txt" else None
        dst = os.path.join(d, name)
        if src:
            shutil.copy(src, dst)
        else:
            with open(dst, "w") as f:
                f.write("static text\n")
        os.chmod(dst, 0o644)
    os.makedirs(os.path.join(d, "h"))
    shutil.copy(os.path.join(EXAMPLES, "env.py"), os.path.join(d, "h", "env.py"))
    os.chmod(os.path.join(d, "h", "env.py"), 0o644)
    os.chmod(os.path.join(d, "h"), 0o755)
    srv = servers.start([
        "Alias /docs %s" % d,
        "<Directory %s>" % d,
        "  AddHandler wsgi-script .wsgi",
        "  Options +ExecCGI",
        "</Directory>",
        "<Directory %s/h>" % d,
        "  SetHandler wsgi-script",
        "</Directory>",
    ], None, wait_path=None)
    assert get(srv, "/docs/app.wsgi").content == b"Hello World!"
    assert get(srv, "/docs/plain.txt").content == b"static text\n"
    # other.py has no handler: served as a file, never run.
    assert get(srv, "/docs/other.py").content.startswith(b'"""The smallest')
    env = get(srv, "/docs/h/env.py/extra").text
    assert "SCRIPT_NAME\tstr\t'/docs/h/env.py'" in env
    assert "PATH_INFO\tstr\t'/extra'" in env
    assert "mod_wsgi.request_handler\tstr\t'wsgi-script'" in env


# ---- reloading ----------------------------------------------------------------

def test_script_reloads_when_changed(servers):
    d = servers.site()
    app = os.path.join(d, "reload.py")
    shutil.copy(os.path.join(APPS, "reload_v1.py"), app)
    os.chmod(app, 0o644)
    srv = servers.start([], {"/": app}, wait_path=None)
    assert get(srv, "/").content == b"v1"
    assert get(srv, "/").content == b"v1"
    with open(app) as f:
        text = f.read().replace('b"v1"', 'b"v2"')
    with open(app, "w") as f:
        f.write(text)
    st = os.stat(app)
    os.utime(app, (st.st_atime, st.st_mtime + 10))
    assert get(srv, "/").content == b"v2"


def test_script_reloading_off(servers):
    d = servers.site()
    app = os.path.join(d, "reload.py")
    shutil.copy(os.path.join(APPS, "reload_v1.py"), app)
    os.chmod(app, 0o644)
    srv = servers.start(["WSGIScriptReloading Off"], {"/": app}, wait_path=None)
    assert get(srv, "/").content == b"v1"
    with open(app, "w") as f:
        f.write(open(os.path.join(APPS, "reload_v1.py")).read().replace('b"v1"', 'b"v2"'))
    st = os.stat(app)
    os.utime(app, (st.st_atime, st.st_mtime + 10))
    assert get(srv, "/").content == b"v1"


# ---- auth hooks ---------------------------------------------------------------

@pytest.fixture
def auth_server(servers):
    auth = os.path.join(APPS, "authscripts.py")
    return servers.start([
        "WSGIScriptAlias / %s" % CASES,
        "<Location /hello>",
        "  WSGIAccessScript %s" % auth,
        "</Location>",
        "<Location /env>",
        "  AuthType Basic",
        "  AuthName sysgi",
        "  AuthBasicProvider wsgi",
        "  WSGIAuthUserScript %s" % auth,
        "  Require valid-user",
        "</Location>",
        "<Location /counter>",
        "  AuthType Basic",
        "  AuthName sysgi",
        "  AuthBasicProvider wsgi",
        "  WSGIAuthUserScript %s" % auth,
        "  WSGIAuthGroupScript %s" % auth,
        "  Require wsgi-group admins",
        "</Location>",
    ], None, wait_path=None)


def test_access_script(auth_server):
    assert get(auth_server, "/hello").content == b"Hello World!"
    off = auth_server.log_offset()
    assert get(auth_server, "/hello", headers={"X-Deny": "1"}).status_code == 403
    auth_server.wait_for_log("client denied by WSGIAccessScript", since=off)


def test_auth_user_script(auth_server):
    assert get(auth_server, "/env").status_code == 401
    assert get(auth_server, "/env", auth=("alice", "wrong")).status_code == 401
    assert get(auth_server, "/env", auth=("nobody", "x")).status_code == 401
    r = get(auth_server, "/env", auth=("bob", "builder"))
    assert r.status_code == 200
    env = r.json()
    assert env["REMOTE_USER"] == "bob" and env["AUTH_TYPE"] == "Basic"
    assert "HTTP_AUTHORIZATION" not in env   # WSGIPassAuthorization Off


def test_auth_group_script(auth_server):
    assert get(auth_server, "/counter", auth=("alice", "wonderland")).status_code == 200
    assert get(auth_server, "/counter", auth=("bob", "builder")).status_code == 401


def test_pass_authorization(servers):
    srv = servers.start(["WSGIPassAuthorization On"], {"/": CASES}, wait_path=None)
    env = get(srv, "/env", headers={"Authorization": "Bearer tok"}).json()
    assert env["HTTP_AUTHORIZATION"] == "Bearer tok"


# ---- Python startup -------------------------------------------------------------

def test_python_failing_to_start_gives_503(servers):
    srv = servers.start(["WSGIPythonHome /nonexistent"], {"/": HELLO},
                        wait_path=None)
    for _ in range(3):
        # The first requests may race the child's startup; all answer 503.
        r = get(srv, "/")
        assert r.status_code == 503
    log = srv.wait_for_log("Python failed to start")
    assert "/nonexistent" in log
    assert "Python is not available in this process" in log
    assert srv.running()


def test_python_path_and_dont_write_bytecode(servers):
    d = servers.site()
    lib = os.path.join(d, "lib")
    os.makedirs(lib)
    os.chmod(lib, 0o777)
    with open(os.path.join(lib, "helper_mod.py"), "w") as f:
        f.write("VALUE = b'from helper'\n")
    app = os.path.join(d, "uses_helper.py")
    with open(app, "w") as f:
        f.write("import sys, helper_mod\n"
                "def application(e, sr):\n"
                "    sr('200 OK', [('Content-Type', 'text/plain')])\n"
                "    return [helper_mod.VALUE, b' ', str(sys.dont_write_bytecode).encode()]\n")
    for p in (app, os.path.join(lib, "helper_mod.py")):
        os.chmod(p, 0o644)
    srv = servers.start(["WSGIPythonPath /nonexistent-first:%s" % lib,
                         "WSGIDontWriteBytecode On"], {"/": app}, wait_path=None)
    assert get(srv, "/").content == b"from helper True"
    assert not os.path.exists(os.path.join(lib, "__pycache__"))


def test_import_script(servers):
    srv = servers.start([
        "WSGIImportScript %s application-group=%%{GLOBAL}" % os.path.join(APPS, "imported.py"),
        "WSGIApplicationGroup %{GLOBAL}",
    ], {"/": os.path.join(APPS, "check_imported.py")}, wait_path=None)
    assert get(srv, "/").content == b"imported"


# ---- lifecycle ------------------------------------------------------------------

def test_child_exits_cleanly_after_requests(servers):
    """graceful-stop after a request that imported `threading` in a request
    thread: the child must finish Python and exit by itself."""
    srv = servers.start([], {"/": os.path.join(EXAMPLES, "env.py")})
    assert "thread.name" in get(srv, "/").text
    assert srv.stop() == 0
    log = srv.error_log()
    assert apache_fixture.HANG_MARKER not in log, log


def test_virtual_hosts(servers):
    """WSGIScriptAlias in a <VirtualHost>; %{RESOURCE} names the vhost; a
    vhost also sees the main server's aliases."""
    srv = servers.start([
        "WSGIScriptAlias /main %s" % CASES,
        "<VirtualHost 127.0.0.1:*>",
        "  ServerName one.example",
        "  WSGIScriptAlias /v %s" % CASES,
        "</VirtualHost>",
        "<VirtualHost 127.0.0.1:*>",
        "  ServerName two.example",
        "</VirtualHost>",
    ], None, wait_path=None)
    one = {"Host": "one.example:%d" % srv.port}
    two = {"Host": "two.example:%d" % srv.port}
    c = get(srv, "/v/counter", headers=one).json()
    assert c["group"] == "one.example:%d|/v" % srv.port
    assert get(srv, "/v/counter", headers=two).status_code == 404
    assert get(srv, "/main/hello", headers=two).content == b"Hello World!"
    assert get(srv, "/main/hello", headers=one).content == b"Hello World!"


def test_script_alias_to_a_directory(servers):
    """WSGIScriptAlias /w/ DIR/ maps /w/NAME.py/... onto DIR/NAME.py, as in
    mod_wsgi."""
    srv = servers.start(["WSGIScriptAlias /w/ %s/" % EXAMPLES], None, wait_path=None)
    assert get(srv, "/w/hello.py").content == b"Hello World!"
    env = get(srv, "/w/env.py/p/q").text
    assert "SCRIPT_NAME\tstr\t'/w/env.py'" in env
    assert "PATH_INFO\tstr\t'/p/q'" in env
    assert get(srv, "/w/missing.py").status_code == 404
