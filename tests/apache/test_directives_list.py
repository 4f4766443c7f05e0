"""Every directive of mod_wsgi 4.9.4 and 6.0.5 (data/mod_wsgi-directives.txt,
a copy of ../shared/reference/mod_wsgi-directives.txt) is known to
mod_sysgi: a configuration using any of them passes `apache2 -t`, except
WSGIDaemonProcess, which is a clear error naming sysgi.exe's process groups.
Directives with no effect here are accepted with a notice in the error log.
"""
import os
import subprocess

import pytest
import requests

import apache_fixture
from conftest import APPS, EXAMPLES, HERE

LIST = os.path.join(HERE, "data", "mod_wsgi-directives.txt")
HELLO = os.path.join(EXAMPLES, "hello.py")
CASES = os.path.join(APPS, "cases.py")


def reference(kind):
    names = []
    with open(LIST) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            release, k, name = line.rstrip("\n").split("\t")
            if k == kind and name not in names:
                names.append(name)
    return names


DIRECTIVES = reference("directive")

# A typical use of each directive, as a mod_wsgi configuration has it.
# Anything not listed takes "On"; a directive missing from mod_sysgi fails
# with "Invalid command" whatever its argument.
USES = {
    "<WSGIInterpreterOptions": "<WSGIInterpreterOptions %{GLOBAL}>\n"
                               "  WSGIFreeThreading On\n"
                               "</WSGIInterpreterOptions>",
    "WSGIAcceptMutex": "WSGIAcceptMutex default",
    "WSGIAccessScript": "<Location /x>\nWSGIAccessScript %s\n</Location>" % HELLO,
    "WSGIApplicationGroup": "WSGIApplicationGroup %{GLOBAL}",
    "WSGIAuthGroupScript": "<Location /x>\nWSGIAuthGroupScript %s\n</Location>" % HELLO,
    "WSGIAuthUserScript": "<Location /x>\nWSGIAuthUserScript %s\n</Location>" % HELLO,
    "WSGICallableObject": "WSGICallableObject application",
    "WSGIDispatchScript": "WSGIDispatchScript %s" % HELLO,
    "WSGIGroupAuthoritative": "<Location /x>\nWSGIGroupAuthoritative Off\n</Location>",
    "WSGIUserAuthoritative": "<Location /x>\nWSGIUserAuthoritative Off\n</Location>",
    "WSGIHandlerScript": "WSGIHandlerScript my-handler %s" % HELLO,
    "WSGIImportScript": "WSGIImportScript %s application-group=%%{GLOBAL} "
                        "process-group=%%{GLOBAL}" % HELLO,
    "WSGIMapHEADToGET": "WSGIMapHEADToGET Auto",
    "WSGINewRelicConfigFile": "WSGINewRelicConfigFile /etc/newrelic.ini",
    "WSGINewRelicEnvironment": "WSGINewRelicEnvironment production",
    "WSGIProcessGroup": "WSGIProcessGroup %{GLOBAL}",
    "WSGIPythonEggs": "WSGIPythonEggs /tmp",
    "WSGIPythonHashSeed": "WSGIPythonHashSeed random",
    "WSGIPythonHome": "WSGIPythonHome /usr",
    "WSGIPythonOptimize": "WSGIPythonOptimize 1",
    "WSGIPythonPath": "WSGIPythonPath /tmp",
    "WSGIPythonWarnings": "WSGIPythonWarnings ignore::DeprecationWarning",
    "WSGIRestrictEmbedded": "WSGIRestrictEmbedded Off",
    "WSGIRestrictProcess": "WSGIRestrictProcess %{GLOBAL}",
    "WSGIScriptAlias": "WSGIScriptAlias /a %s" % HELLO,
    "WSGIScriptAliasMatch": "WSGIScriptAliasMatch ^/m/([a-z]+) %s/$1.py" % EXAMPLES,
    "WSGISlowRequests": "WSGISlowRequests 5",
    "WSGISocketPrefix": "WSGISocketPrefix /var/run/wsgi",
    "WSGISwitchInterval": "WSGISwitchInterval 0.005",
    "WSGITelemetryOptions": "WSGITelemetryOptions +requests",
    "WSGITelemetryService": "WSGITelemetryService unix:/tmp/t.sock",
    "WSGITrustedProxies": "WSGITrustedProxies 127.0.0.1",
    "WSGITrustedProxyHeaders": "WSGITrustedProxyHeaders X-Forwarded-For",
}


def check(tmp_path, module_path, lines):
    work = apache_fixture.make_public(str(tmp_path / "httpd"))
    conf = apache_fixture.write_config(work, apache_fixture.free_port(), lines,
                                       module_path=module_path)
    return apache_fixture.check_config(conf)


def test_the_list_is_complete():
    """The copy holds both releases (a truncated copy would pass anything)."""
    assert len(DIRECTIVES) >= 50
    for d in ("WSGIChunkedRequest", "WSGIErrorOverride", "WSGIDaemonProcess",
              "<WSGIInterpreterOptions", "WSGITelemetryService",
              "WSGINewRelicConfigFile"):
        assert d in DIRECTIVES


@pytest.mark.sysgi_only
@pytest.mark.parametrize("name", [d for d in DIRECTIVES if d != "WSGIDaemonProcess"])
def test_mod_wsgi_directive_is_known(tmp_path, module_path, name):
    use = USES.get(name, "%s On" % name)
    ok, out = check(tmp_path, module_path, [use])
    assert "Invalid command" not in out, out
    assert ok, out


@pytest.mark.sysgi_only
def test_daemon_process_is_an_error_naming_sysgi_exe(tmp_path, module_path):
    ok, out = check(tmp_path, module_path,
                    ["WSGIDaemonProcess site processes=2 threads=15"])
    assert not ok
    assert "WSGIDaemonProcess: daemon mode is not available in mod_sysgi" in out
    assert "process groups are provided by sysgi.exe" in out


@pytest.mark.sysgi_only
@pytest.mark.parametrize("option", reference("script-alias-option"))
def test_script_alias_option_is_known(tmp_path, module_path, option):
    value = {"application-group": "%{GLOBAL}", "callable-object": "application",
             "pass-authorization": "On", "process-group": "%{GLOBAL}"}[option]
    for d in ("WSGIScriptAlias /a %s" % HELLO,
              "WSGIScriptAliasMatch ^/m %s" % HELLO):
        ok, out = check(tmp_path, module_path, ["%s %s=%s" % (d, option, value)])
        assert ok, out


@pytest.mark.sysgi_only
def test_bad_values_name_the_directive(tmp_path, module_path):
    for line, needle in [
            ("WSGIPythonOptimize 3", "WSGIPythonOptimize: '3' is not a number from 0 to 2"),
            ("WSGIPythonHashSeed often", "WSGIPythonHashSeed: 'often' is not 'random'"),
            ("WSGIMapHEADToGET Maybe", "WSGIMapHEADToGET: 'Maybe' is not On, Off or Auto"),
            ("WSGIChunkedRequest Maybe", "WSGIChunkedRequest"),
            ("WSGIScriptAlias / %s pass-authorization=maybe" % HELLO,
             "WSGIScriptAlias: pass-authorization: 'maybe' is not a boolean"),
            ("WSGIAcceptMutex", "WSGIAcceptMutex needs an argument"),
    ]:
        ok, out = check(tmp_path, module_path, [line])
        assert not ok and needle in out, (line, out)


@pytest.mark.sysgi_only
def test_no_effect_directives_log_a_notice(servers):
    srv = servers.start(["WSGIAcceptMutex default", "WSGISocketPrefix run/wsgi",
                         "WSGILazyInitialization On",
                         "<WSGIInterpreterOptions %{GLOBAL}>",
                         "WSGIFreeThreading On", "</WSGIInterpreterOptions>"],
                        CASES, wait_path="/hello")
    log = srv.error_log()
    for d in ("WSGIAcceptMutex", "WSGISocketPrefix", "WSGILazyInitialization",
              "<WSGIInterpreterOptions"):
        lines = [ln for ln in log.splitlines()
                 if d + ": has no effect in mod_sysgi" in ln]
        assert len(lines) == 1, log   # once, not once per configuration pass
        assert "httpd.conf:" in lines[0] and "[sysgi:notice]" in lines[0]


# ---- directives with a meaning, against both modules -----------------------

def chunked_post(srv, path):
    def gen():
        yield b"hello "
        yield b"world"
    return requests.post(srv.url + path, data=gen(), timeout=60)


def test_chunked_request_off_is_411(servers):
    srv = servers.start(["WSGIChunkedRequest Off"], CASES, wait_path="/hello")
    r = chunked_post(srv, "/echo")
    assert r.status_code == 411
    assert "chunked" in srv.error_log().lower()


def test_chunked_request_on_reads_the_body(servers):
    srv = servers.start(["WSGIChunkedRequest On"], CASES, wait_path="/hello")
    r = chunked_post(srv, "/echo")
    assert r.status_code == 200 and r.json()["len"] == 11


@pytest.mark.sysgi_only
def test_chunked_request_is_accepted_by_default(servers):
    """Our default (RFC 9112: a server must accept chunked); mod_wsgi's is
    Off."""
    srv = servers.start([], CASES, wait_path="/hello")
    r = chunked_post(srv, "/echo")
    assert r.status_code == 200 and r.json()["len"] == 11


def test_script_alias_pass_authorization(servers):
    conf = ["WSGIScriptAlias /on %s pass-authorization=On" % CASES,
            "WSGIScriptAlias /off %s" % CASES]
    srv = servers.start(conf, None, wait_path="/on/hello")
    hdr = {"Authorization": "Bearer xyz"}
    on = requests.get(srv.url + "/on/env", headers=hdr, timeout=60).json()
    off = requests.get(srv.url + "/off/env", headers=hdr, timeout=60).json()
    assert on.get("HTTP_AUTHORIZATION") == "Bearer xyz"
    assert "HTTP_AUTHORIZATION" not in off


def test_python_optimize_hash_seed_warnings(servers):
    srv = servers.start(["WSGIPythonOptimize 1", "WSGIPythonHashSeed 123",
                         "WSGIPythonWarnings error::UserWarning"],
                        CASES, wait_path="/hello")
    r = requests.get(srv.url + "/pyflags", timeout=60).json()
    assert r["optimize"] == 1
    want = subprocess.run(["/usr/bin/python3", "-c", "print(hash('sysgi'))"],
                          env={"PYTHONHASHSEED": "123"}, capture_output=True,
                          text=True, check=True).stdout.strip()
    assert r["hash"] == int(want)
    assert "error::UserWarning" in r["warnoptions"] or r["userwarning_is_error"]


def test_map_head_to_get_on(servers):
    srv = servers.start(["WSGIMapHEADToGET On"], CASES, wait_path="/hello")
    r = requests.head(srv.url + "/head", timeout=60)
    assert r.status_code == 200 and r.headers["X-Method"] == "GET"
    srv2 = servers.start(["WSGIMapHEADToGET Off"], CASES, wait_path="/hello")
    r = requests.head(srv2.url + "/head", timeout=60)
    assert r.status_code == 200 and r.headers["X-Method"] == "HEAD"


def test_handler_script_serves_files_of_its_handler(servers):
    site = servers.site("pages")
    handler = os.path.join(site, "handler.py")
    with open(handler, "w") as f:
        f.write("def handle_request(environ, start_response):\n"
                "    with open(environ['SCRIPT_FILENAME'], 'rb') as f:\n"
                "        body = f.read().upper()\n"
                "    start_response('200 OK', [('Content-Type', 'text/plain'),\n"
                "        ('X-Handler', environ['mod_wsgi.handler_script'])])\n"
                "    return [body]\n")
    with open(os.path.join(site, "a.page"), "w") as f:
        f.write("hello page\n")
    for n in os.listdir(site):
        os.chmod(os.path.join(site, n), 0o644)
    srv = servers.start([
        "WSGIHandlerScript page-handler %s" % handler,
        "Alias /pages %s" % site,
        "<Directory %s>\n  Require all granted\n  AddHandler page-handler .page\n"
        "</Directory>" % site], None, wait_path=None)
    r = requests.get(srv.url + "/pages/a.page", timeout=60)
    assert r.status_code == 200 and r.text == "HELLO PAGE\n"
    assert r.headers["X-Handler"] == handler
    # the handler decides about a missing file (this one fails: 500)
    assert requests.get(srv.url + "/pages/missing.page", timeout=60).status_code == 500


def test_dispatch_script_chooses_group_and_callable(servers):
    site = servers.site("dispatch")
    script = os.path.join(site, "dispatch.py")
    with open(script, "w") as f:
        f.write("def application_group(environ):\n"
                "    return 'dispatched' if 'grp' in environ['QUERY_STRING'] else None\n"
                "def callable_object(environ):\n"
                "    return 'my_app' if 'mine' in environ['QUERY_STRING'] else None\n")
    os.chmod(script, 0o644)
    other = os.path.join(APPS, "other_callable.py")
    srv = servers.start(["WSGIDispatchScript %s" % script,
                         "WSGIScriptAlias /c %s" % CASES,
                         "WSGIScriptAlias /o %s" % other], None,
                        wait_path=None)
    r = requests.get(srv.url + "/c/counter", timeout=60).json()
    assert r["group"] == "127.0.0.1:%d|/c" % srv.port   # no override
    r = requests.get(srv.url + "/c/counter?grp", timeout=60).json()
    assert r["group"] == "dispatched"
    assert requests.get(srv.url + "/o/?mine", timeout=60).text == "my_app"
    assert requests.get(srv.url + "/o/", timeout=60).text == "application"
