"""Python's own output (issue 13): sys.stdout and sys.stderr go to the
error log, one entry per line, with Apache's prefix and the client while a
request runs on the thread, in the main interpreter and in sub-interpreters;
WSGIRestrictStdout / WSGIRestrictStdin as in mod_wsgi."""
import os
import re
import uuid

import pytest
import requests

from conftest import APPS

CASES = os.path.join(APPS, "cases.py")
PREFIX = re.compile(r"^\[[^]]+\] \[(wsgi|sysgi):error\] \[pid \d+(:tid \d+)?\] ")


def lines_with(log, text):
    return [ln for ln in log.splitlines() if text in ln]


@pytest.mark.parametrize("group", ["%{GLOBAL}", "%{RESOURCE}", "named"])
def test_print_and_stderr_reach_the_error_log(servers, group):
    srv = servers.start(["WSGIApplicationGroup %s" % group], CASES,
                        wait_path="/hello")
    m = uuid.uuid4().hex[:8]
    r = requests.get(srv.url + "/stdio?m=" + m, timeout=60)
    assert r.status_code == 200
    log = srv.wait_for_log("thread-" + m)
    log = srv.wait_for_log("stderr-%s two" % m)
    for text in ("stdout-%s line one" % m, "stdout-%s line two" % m,
                 "stderr-%s one" % m, "stderr-%s two" % m):
        found = lines_with(log, text)
        assert len(found) == 1, (text, log)
        assert PREFIX.match(found[0]), found[0]
        assert "[client 127.0.0.1:" in found[0], found[0]
        assert found[0].endswith(text)   # one line per line, nothing glued
    # A thread of the application's own: no request, so no client.
    found = lines_with(log, "thread-" + m)
    assert len(found) == 1 and PREFIX.match(found[0]), log
    assert "[client " not in found[0]
    assert r.json()["argv"] == ["mod_wsgi"]
    assert r.json()["isatty"] is False


def test_restrict_stdout_and_stdin(servers):
    srv = servers.start(["WSGIRestrictStdout On", "WSGIRestrictStdin On"],
                        CASES, wait_path="/hello")
    m = uuid.uuid4().hex[:8]
    r = requests.get(srv.url + "/stdio?m=" + m, timeout=60).json()
    assert r["stdout"] == "sys.stdout access restricted by mod_wsgi"
    assert r["stdin"] == "sys.stdin access restricted by mod_wsgi"
    log = srv.wait_for_log("stderr-%s two" % m)
    assert not lines_with(log, "stdout-" + m)
