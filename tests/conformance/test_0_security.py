"""Security issues fixed in mod_wsgi 3.4."""
import os
import subprocess
import sys

import requests

from conformance_support import assert_no_crash
import content_type_repro

REQUESTS = 10000
CONNECTIONS = 32
# Connections stay open however slowly a loaded machine runs the client.
KEEPALIVE = "KeepAliveTimeout 300\nMaxKeepAliveRequests 0\n"
HERE = os.path.dirname(os.path.abspath(__file__))


def _reproducer_catches_a_borrowed_pointer():
    """The reproducer and its client detect the bug where it exists: the
    deliberately vulnerable borrowed_pointer_server.py (same application,
    same allocator) sends corrupted values."""
    env = dict(os.environ, PYTHONMALLOC="debug")
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "borrowed_pointer_server.py")],
                            stdout=subprocess.PIPE, env=env)
    try:
        port = int(proc.stdout.readline())
        result = content_type_repro.hammer("http://127.0.0.1:%d/ct" % port, 200, 8)
    finally:
        proc.kill()
        proc.wait(30)
    return result


def test_security_cve_2014_0242_content_type_corruption(site):
    """CVE-2014-0242: the Content-Type computed in a frame that has ended
    before the first non-empty chunk is yielded, with a background thread
    allocating same-sized objects, under mpm_worker, 32 concurrent
    connections, 10,000 requests, Python's debug allocator (freed memory is
    overwritten at once): not one response may carry a corrupted value."""
    control = _reproducer_catches_a_borrowed_pointer()
    assert control.errors == [] and len(control.corrupt) > 0, \
        "the reproducer did not catch a server that keeps a borrowed pointer"

    app = site.write("ct.py", content_type_repro.APP_WITH_BACKGROUND)
    a = site.apache(f"WSGIScriptAlias /ct {app}\n" + KEEPALIVE, threads=CONNECTIONS + 16,
                    env={"PYTHONMALLOC": "debug"}, loglevel="warn")
    allocator = requests.get(a.url("/ct?allocator"), timeout=60).text
    assert allocator.endswith("_debug"), "PYTHONMALLOC=debug is not in effect: " + allocator

    churned_before = int(requests.get(a.url("/ct?churned"), timeout=60).text)
    result = content_type_repro.hammer(a.url("/ct"), REQUESTS, CONNECTIONS)
    churned_after = int(requests.get(a.url("/ct?churned"), timeout=60).text)
    assert result.errors == [], "%d transport errors, e.g. %s" % (len(result.errors), result.errors[:3])
    assert result.corrupt == [], "%d corrupted responses, e.g. %s" % (len(result.corrupt), result.corrupt[:3])
    assert result.ok == REQUESTS
    # The background allocator really ran while the requests were served.
    assert churned_after > churned_before, (churned_before, churned_after)
    assert_no_crash(a)
