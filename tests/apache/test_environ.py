"""The WSGI environ: the keys of data/environ-modwsgi.txt (a copy of the
project's shared/reference/environ-modwsgi.txt: real mod_wsgi 4.9.4), and a
side-by-side comparison with Debian's mod_wsgi on this machine for the same
request.

Deliberate differences (the rest must match):
- apache.version is a tuple of ints as in mod_wsgi, but of the running
  httpd (2.4.71 here), where mod_wsgi reports the httpd headers it was
  compiled against (2.4.55 in Debian's build).
- mod_wsgi.queue_start: present in mod_sysgi (mod_wsgi 3.4's New Features
  12), absent from mod_wsgi 4.9.
- mod_wsgi.version is sysgi's version; wsgi.errors is the core's own class.
- Mount order: mod_sysgi picks the longest matching WSGIScriptAlias whatever
  the order of the lines; mod_wsgi takes the first that matches.
- A trailing '/' on a mount ("/env/") is ignored by mod_sysgi.
"""
import os

import pytest
import requests

from conftest import EXAMPLES

REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                         "environ-modwsgi.txt")
QUERY = "x=1&y=a%20b&flag&empty=&utf=%C3%A9"
HEADERS = {"User-Agent": "wsgibench-env/1", "X-Bench-Header": "one",
           "Accept": "*/*"}
NOT_IN_SYSGI = set()
ONLY_IN_SYSGI = {"mod_wsgi.queue_start"}
VOLATILE = {"REMOTE_PORT", "SERVER_SOFTWARE", "mod_wsgi.request_id",
            "mod_wsgi.request_start", "mod_wsgi.script_start",
            "mod_wsgi.queue_start", "mod_wsgi.total_requests",
            "mod_wsgi.thread_id", "mod_wsgi.thread_requests",
            "mod_wsgi.version", "wsgi.errors", "thread.name",
            "apache.version"}


def parse_dump(text):
    out = {}
    for ln in text.splitlines():
        if not ln or ln.startswith("#"):
            continue
        key, typ, rep = ln.split("\t", 2)
        out[key] = (typ, rep)
    return out


def reference_keys():
    with open(REFERENCE) as f:
        return parse_dump(f.read())


def dump(srv, path="/env/sub?" + QUERY):
    r = requests.get(srv.url + path, headers=HEADERS, timeout=60)
    assert r.status_code == 200, r.text
    return parse_dump(r.text)


@pytest.fixture
def env_server(servers):
    return servers.start([], {"/": os.path.join(EXAMPLES, "env.py")})


def test_environ_has_every_reference_key(env_server, module_kind):
    env = dump(env_server)
    missing = set(reference_keys()) - set(env)
    if module_kind == "sysgi":
        missing -= NOT_IN_SYSGI
    assert not missing, "keys missing from the environ: %s" % sorted(missing)
    assert "HTTPS" not in env
    typ, rep = env["apache.version"]
    assert typ == "tuple", env["apache.version"]
    version = eval(rep)
    assert len(version) == 3 and all(isinstance(x, int) for x in version)
    assert version >= (2, 4)


def test_environ_values(env_server, module_kind):
    env = dump(env_server)
    port = str(env_server.port)
    expect = {
        "PATH_INFO": "'/env/sub'", "SCRIPT_NAME": "''",
        "QUERY_STRING": repr(QUERY), "REQUEST_URI": repr("/env/sub?" + QUERY),
        "REQUEST_METHOD": "'GET'", "SERVER_PROTOCOL": "'HTTP/1.1'",
        "SERVER_PORT": repr(port), "SERVER_NAME": "'127.0.0.1'",
        "HTTP_HOST": repr("127.0.0.1:" + port), "REMOTE_ADDR": "'127.0.0.1'",
        "HTTP_X_BENCH_HEADER": "'one'", "GATEWAY_INTERFACE": "'CGI/1.1'",
        "REQUEST_SCHEME": "'http'",
        "SCRIPT_FILENAME": repr(os.path.join(EXAMPLES, "env.py")),
        "PATH_TRANSLATED": repr(os.path.join(EXAMPLES, "env.py") + "/env/sub"),
        "wsgi.url_scheme": "'http'", "wsgi.version": "(1, 0)",
        "wsgi.multithread": "True", "wsgi.multiprocess": "False",
        "wsgi.run_once": "False", "wsgi.input_terminated": "True",
        "mod_wsgi.application_group": repr("127.0.0.1:%s|" % port),
        "mod_wsgi.callable_object": "'application'",
        "mod_wsgi.process_group": "''", "mod_wsgi.enable_sendfile": "'0'",
        "mod_wsgi.path_info": "'/env/sub'", "mod_wsgi.script_name": "''",
        "mod_wsgi.request_handler": "'wsgi-script'",
        "mod_wsgi.listener_port": repr(port),
        "mod_wsgi.listener_host": "'127.0.0.1'",
        "wsgi.input.read()": "b''",
    }
    got = {k: env.get(k, (None, None))[1] for k in expect}
    assert got == expect
    assert env["mod_wsgi.thread_id"][0] == "int"
    assert env["wsgi.file_wrapper"][0] == "type"
    assert "PATH" not in env   # the server's own PATH is not the request's


def test_environ_matches_real_mod_wsgi(servers, module_kind, tmp_path):
    """Same request, same configuration, Debian's mod_wsgi beside us."""
    if module_kind != "sysgi":
        pytest.skip("compares mod_sysgi with mod_wsgi")
    apps = {"/": os.path.join(EXAMPLES, "env.py")}
    ours = servers.start([], apps)
    theirs = servers.start([], apps, module="wsgi", module_path=None)
    a, b = dump(ours), dump(theirs)
    assert set(b) - set(a) == NOT_IN_SYSGI
    assert set(a) - set(b) == ONLY_IN_SYSGI

    def norm(srv, rep):
        return (rep.replace(str(srv.port), "PORT")
                .replace(srv.dir, "ROOT"))
    diffs = {k: (a[k], b[k]) for k in set(a) & set(b) - VOLATILE
             if norm(ours, a[k][1]) != norm(theirs, b[k][1])}
    assert not diffs


@pytest.mark.parametrize("mount,path,script_name,path_info", [
    ("/env", "/env", "/env", ""),
    ("/env", "/env/", "/env", "/"),
    ("/env", "/env/a/b", "/env", "/a/b"),
    # mod_sysgi: a trailing '/' on the mount is ignored (mod_wsgi differs)
    pytest.param("/env/", "/env/a", "/env", "/a", marks=pytest.mark.sysgi_only),
    ("/", "/", "", "/"),
    ("/deep/mount", "/deep/mount/x", "/deep/mount", "/x"),
])
def test_script_name_and_path_info(servers, mount, path, script_name, path_info):
    srv = servers.start([], {mount: os.path.join(EXAMPLES, "env.py")},
                        wait_path=path)
    env = dump(srv, path)
    assert env["SCRIPT_NAME"][1] == repr(script_name)
    assert env["PATH_INFO"][1] == repr(path_info)


def test_mount_matches_only_at_slash_boundary(servers):
    srv = servers.start([], {"/env": os.path.join(EXAMPLES, "env.py")},
                        wait_path="/env")
    assert requests.get(srv.url + "/envx", timeout=60).status_code == 404
    assert requests.get(srv.url + "/env", timeout=60).status_code == 200


@pytest.mark.sysgi_only   # mod_wsgi takes the first match in config order
def test_longest_mount_wins(servers):
    env_py = os.path.join(EXAMPLES, "env.py")
    hello = os.path.join(EXAMPLES, "hello.py")
    srv = servers.start([], [("/", hello), ("/a/b", env_py), ("/a", hello)])
    assert requests.get(srv.url + "/a/x", timeout=60).content == b"Hello World!"
    assert requests.get(srv.url + "/zzz", timeout=60).content == b"Hello World!"
    env = dump(srv, "/a/b/c")
    assert env["SCRIPT_NAME"][1] == "'/a/b'" and env["PATH_INFO"][1] == "'/c'"
