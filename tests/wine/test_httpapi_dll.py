"""Our test httpapi.dll (tests/wine/httpapi/) itself: its checks fire on
misuse, and its URL ACL store answers like the real HTTP Server API.
httpapi_probe.exe calls the API directly (see httpapi_probe.c)."""
import os
import subprocess

import pytest

from conftest import free_port, httpapi_log_lines, stand_in_env, wine_path

PROBE = os.environ.get("SYSGI_HTTPAPI_PROBE", "")
TIMEOUT = 120


def run_probe(wine, tmp_path, args, extra=None, env_from=None):
    exe, env = env_from or stand_in_env("ours", PROBE, tmp_path, poison="all")
    e = dict(wine)
    e.update(env)
    e.update(extra or {})
    p = subprocess.run(["wine", exe] + args, env=e, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    return p.returncode, out, err, env


def test_misuse_is_recorded_as_violations(wine, tmp_path):
    # A long completion delay: the probe changes a buffer right after its
    # send call, which must be seen before the send completes.
    rc, out, err, env = run_probe(
        wine, tmp_path, ["misuse", str(free_port())],
        {"SYSGI_HTTPAPI_MAX_DELAY_US": "300000"})
    assert rc == 0 and "probe done" in out, out + err
    log = "\n".join(httpapi_log_lines(env["SYSGI_HTTPAPI_LOG"]))
    assert "LOADED" in log
    for expected in [
            "HttpSendResponseEntityBody before HttpSendHttpResponse",
            "a buffer of a send changed before the send completed",
            "second HttpSendHttpResponse",
            "HttpSendResponseEntityBody after the final send",
            "response ended after 5 body bytes of Content-Length 10",
            "HttpSendHttpResponse: unknown flags 0x1000",
            "HttpSendResponseEntityBody while another send of request",
            "received but never answered when its queue closed",
            "ERROR_MORE_DATA never followed by a receive",
            "HttpReceiveHttpRequest on a closed request queue"]:
        assert expected in log, "missing violation %r in:\n%s" % (expected,
                                                                   log)
    # Each is on stderr too, for whoever reads the server's output.
    assert err.count("httpapi VIOLATION") == log.count("VIOLATION")


def test_urlacl_semantics(wine, tmp_path):
    rc, out, err, _ = run_probe(wine, tmp_path, ["urlacl"])
    assert rc == 0 and "probe done" in out, out + err


def test_urlacl_survives_between_processes(wine, tmp_path):
    store = tmp_path / "shared-urlacl.txt"
    shared = {"SYSGI_HTTPAPI_URLACL": wine_path(str(store))}
    url = "http://+:8125/kept/"
    rc, out, err, _ = run_probe(wine, tmp_path, ["urlacl-add", url], shared)
    assert rc == 0, out + err
    assert url in store.read_text()  # the documented file format
    assert "\t" + "D:(A;;GX;;;WD)" in store.read_text()
    rc, out, err, _ = run_probe(wine, tmp_path, ["urlacl-has", url], shared)
    assert rc == 0, out + err
    rc, out, _, _ = run_probe(wine, tmp_path, ["urlacl-add", url], shared)
    assert rc == 1 and "result 183" in out  # ERROR_ALREADY_EXISTS
    rc, out, _, _ = run_probe(wine, tmp_path,
                              ["urlacl-has", "http://+:8125/other/"], shared)
    assert rc == 3, out


def test_urlacl_failure_injection(wine, tmp_path):
    rc, out, _, _ = run_probe(wine, tmp_path,
                              ["urlacl-add", "http://+:8126/x/"],
                              {"SYSGI_HTTPAPI_FAIL_URLACL": "5"})
    assert rc == 1 and "result 5" in out, out  # ERROR_ACCESS_DENIED


@pytest.fixture(autouse=True)
def _probe_built():
    if not PROBE or not os.path.isfile(PROBE):
        pytest.fail("SYSGI_HTTPAPI_PROBE is not set: run through ctest")
