"""`import mod_wsgi` and `import apache` (issue 13), in the main interpreter
and in sub-interpreters, on mod_sysgi and on mod_wsgi."""
import os

import pytest
import requests

from conftest import APPS

CASES = os.path.join(APPS, "cases.py")


@pytest.mark.parametrize("group", ["%{GLOBAL}", "%{RESOURCE}"])
def test_mod_wsgi_module(servers, group, module_kind):
    srv = servers.start(["WSGIApplicationGroup %s" % group], CASES,
                        wait_path="/hello", threads=25)
    first = requests.get(srv.url + "/modwsgi", timeout=60).json()
    r = requests.get(srv.url + "/modwsgi", timeout=60).json()
    assert r["process_group"] == ""
    assert r["application_group"] == r["env_group"]
    assert r["application_group"] == ("" if group == "%{GLOBAL}"
                                      else "127.0.0.1:%d|" % srv.port)
    assert r["apache_mpm_name"] == "worker"
    if module_kind == "sysgi":   # mod_wsgi 4.9 has it on `apache` only
        assert r["mpm_name"] == "worker"
    assert r["threads_per_process"] == 25
    assert r["maximum_processes"] >= 1
    assert r["active"] is True
    assert r["request_metrics"] is True and r["process_metrics_pid"] is True
    if module_kind == "sysgi":
        # deliberate: no scoreboard data (mod_wsgi 4.9 gives Apache's)
        assert r["server_metrics"] is None
    # subscribed during the first request: its finish, then the second
    # request's start were published
    assert first["events"] == ["subscribed"]
    seen = r["events"]
    assert seen[0] == "subscribed" and "request_started" in seen[1:]
    assert "response_started" in seen and "request_finished" in seen
    assert len(r["version"]) == 3 and all(isinstance(x, int) for x in r["version"])
    assert r["apache_version"][:2] == [2, 4]


def test_errors_and_input_streams(main_server):
    r = requests.get(main_server.url + "/streams", timeout=60).json()
    assert r == {"isatty": False, "closed": False, "encoding": "utf-8",
                 "name": "<wsgi.errors>", "fileno": "OSError",
                 "input_close": None}
