"""Several applications in one http.sys server (httpsys/apps.c), on Wine's
real http.sys with the echo test core, which reports the application the
front end chose: the longest mount wins, at a '/' boundary, compared
case-insensitively unless asked; SCRIPT_NAME/PATH_INFO split at the matched
mount; 404 when no mount matches; each application's script, group (macros
expanded for the listen URL), callable, pass-authorization and sendfile."""
import os
import socket

import pytest

import wine_http
from conftest import WineProcess, free_port

ECHO = os.environ.get("SYSGI_ECHO_SERVER", "")
TIMEOUT = 60


def start(wine, tmp_path, apps, extra=None, hosts=("127.0.0.1",)):
    ports = [free_port() for _ in hosts]
    urls = " ".join("http://%s:%d/" % hp for hp in zip(hosts, ports))
    env = {"ECHO_APPS": "\n".join(apps)}
    env.update(extra or {})
    p = WineProcess(wine, [ECHO, urls, "4"],
                    str(tmp_path / ("apps-%d.log" % ports[0])), env)
    try:
        p.wait_line("listening")
    except Exception:
        p.stop()
        raise
    wine_http.wake_while_running(p, ports)
    return p, ["http://127.0.0.1:%d" % port for port in ports]


# One kept-alive connection per server: Wine's http.sys now and then leaves
# a fresh connection unaccepted (wine_http).
SESSION = wine_http.kept_alive_session()


def get(url, **kw):
    return wine_http.request("get", url, SESSION, accept_wait=TIMEOUT, **kw)


APPS = [
    "/|%(d)s\\root.py|%%{GLOBAL}||r",
    "/api|%(d)s\\api.py|%%{RESOURCE}|api_app|a",
    "/api/v2|%(d)s\\v2.py|v2-group||s",
    "/Docs/|%(d)s\\docs.py|%%{SERVER}||",
]


@pytest.fixture(scope="module")
def server(wine, tmp_path_factory):
    d = tmp_path_factory.mktemp("apps")
    for name in ("root", "api", "v2", "docs"):
        (d / (name + ".py")).write_text("# the echo core never runs it\n")
    windir = "Z:" + str(d).replace("/", "\\")
    # The second listen URL is the strong wildcard: any Host header.
    p, bases = start(wine, d, [a % {"d": windir} for a in APPS],
                     hosts=("127.0.0.1", "+"))
    yield bases, windir
    p.stop()


def test_longest_mount_wins(server):
    (base, _), d = server
    cases = [
        ("/", "root", "", "/"),
        ("/x/y", "root", "", "/x/y"),
        ("/api", "api", "/api", ""),
        ("/api/", "api", "/api", "/"),
        ("/api/users/1", "api", "/api", "/users/1"),
        ("/api/v2/items", "v2", "/api/v2", "/items"),
        ("/api/v2", "v2", "/api/v2", ""),
        # A mount matches at a '/' boundary only.
        ("/apix", "root", "", "/apix"),
        ("/api/v22", "api", "/api", "/v22"),
        # A trailing slash in the configured mount is not part of it.
        ("/Docs/a", "docs", "/Docs", "/a"),
    ]
    for path, name, script_name, path_info in cases:
        script = d + "\\" + name + ".py"
        r = get(base + path)
        assert r.status_code == 200, (path, r.status_code)
        j = r.json()
        assert j["script_filename"] == script, (path, j["script_filename"])
        assert j["vars"]["SCRIPT_FILENAME"] == script, path
        assert j["vars"]["SCRIPT_NAME"] == script_name, (path, j["vars"])
        assert j["vars"]["PATH_INFO"] == path_info, (path, j["vars"])


def test_mounts_compare_case_insensitively(server):
    (base, _), d = server
    j = get(base + "/API/V2/Items").json()
    assert j["script_filename"] == d + "\\v2.py"
    # SCRIPT_NAME is the mount as configured, PATH_INFO the rest as sent.
    assert j["vars"]["SCRIPT_NAME"] == "/api/v2"
    assert j["vars"]["PATH_INFO"] == "/Items"
    j = get(base + "/docs/x").json()
    assert j["script_filename"] == d + "\\docs.py"


def test_each_app_has_its_own_callable_group_and_flags(server):
    (base, _), _d = server
    port = base.rsplit(":", 1)[1]
    root = get(base + "/").json()
    assert root["application_group"] == ""            # %{GLOBAL}
    assert root["callable_object"] == "application"   # the default
    assert root["enable_sendfile"] == 0
    assert root["script_mtime_set"] == 1              # reloading on
    api = get(base + "/api/x").json()
    assert api["application_group"] == "127.0.0.1:%s|/api" % port
    assert api["callable_object"] == "api_app"
    assert api["script_mtime_set"] == 0               # reloading off
    v2 = get(base + "/api/v2/x").json()
    assert v2["application_group"] == "v2-group"
    assert v2["enable_sendfile"] == 1
    docs = get(base + "/Docs/").json()
    assert docs["application_group"] == "127.0.0.1:%s" % port


def test_server_macro_follows_the_listen_url(server):
    # The same app reached through the other listen URL is another
    # %{SERVER}/%{RESOURCE}, as two virtual hosts are in mod_wsgi. That URL
    # is the wildcard '+': the machine's name stands for it, whatever Host
    # header the client sends, so clients cannot create interpreters.
    (_, base2), _d = server
    port2 = base2.rsplit(":", 1)[1]
    # (Wine's http.sys answers nothing when the Host port is another.)
    for host in (None, "evil.example:" + port2, "other:" + port2):
        h = {"Host": host} if host else {}
        g = get(base2 + "/api/x", headers=h).json()["application_group"]
        name, rest = g.split(":", 1)
        assert rest == "%s|/api" % port2, g
        assert name and name not in ("+", "127.0.0.1") and "evil" not in g \
            and "other" not in g, g
        assert name.lower() == socket.gethostname().lower(), g


def test_pass_authorization_per_app(server):
    (base, _), _d = server
    h = {"Authorization": "Basic dXNlcjpwdw=="}
    j = get(base + "/api/x", headers=h).json()
    assert j["vars"].get("HTTP_AUTHORIZATION") == "Basic dXNlcjpwdw=="
    j = get(base + "/x", headers=h).json()
    assert "HTTP_AUTHORIZATION" not in j["vars"]
    j = get(base + "/api/v2/x", headers=h).json()
    assert "HTTP_AUTHORIZATION" not in j["vars"]


def test_no_matching_mount_is_404(wine, tmp_path):
    p, bases = start(wine, tmp_path, ["/app|C:\\a.py|||",
                                      "/other|C:\\b.py|||"],
                     {"ECHO_CASE_SENSITIVE": "1"})
    try:
        assert get(bases[0] + "/").status_code == 404
        assert get(bases[0] + "/application").status_code == 404
        assert get(bases[0] + "/app/x").status_code == 200
        assert get(bases[0] + "/other").json()["script_filename"] == "C:\\b.py"
        # Asked to compare case-sensitively: /APP is not /app.
        assert get(bases[0] + "/APP/x").status_code == 404
        assert p.proc.poll() is None
    finally:
        p.stop()
