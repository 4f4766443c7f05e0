"""What the test httpapi.dll keeps per request stays bounded, so the soak
test (tools/soak.py --front wine) measures sysgi.exe and not the DLL: its
request records (the last HA_KEEP = 1024), its connection records (freed
with their last request record once the thread ended), its live ops and
connection threads (none once the queue closes), and the process heaps'
busy bytes, flat from one STATS line to the next. Before the fix
(tests/wine/httpapi/reqs.c) every record was kept: records == requests
and heap_busy grew by about 300 bytes per request (450 KB here)."""

import re

import requests

from conftest import httpapi_log_lines
from e2e_support import Serve

APP = '''
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]
'''

N = 3000
EVERY = 500


def stats(lines):
    out = []
    for l in lines:
        if l.startswith("STATS"):
            out.append((l.split()[2],
                        {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", l)}))
    return out


def test_records_and_live_objects_stay_bounded(wine, tmp_path):
    d = tmp_path / "site"
    d.mkdir()
    (d / "app.py").write_text(APP)
    s = Serve(wine, "ours", tmp_path, d / "app.py",
              extra_env={"SYSGI_HTTPAPI_STATS": str(EVERY)})
    log = s.stand_env["SYSGI_HTTPAPI_LOG"]
    try:
        for _ in range(50):  # connections that end: their records must go
            r = requests.get(s.url("/"), headers={"Connection": "close"},
                             timeout=60)
            assert r.content == b"hello"
        with requests.Session() as sess:
            for _ in range(N - 50):
                r = sess.get(s.url("/"), timeout=60)
                assert r.content == b"hello"
    finally:
        s.stop()
    st = stats(httpapi_log_lines(log))
    periodic = {v["requests"]: v for why, v in st if why == "periodic"}
    close = [v for why, v in st if why == "close"]
    assert close and 1500 in periodic and N in periodic, st
    c = close[-1]
    assert c["requests"] == N, c
    assert c["records"] <= 1024 and c["zombies"] == 0, c
    assert c["ops"] == 0 and c["conn_threads"] == 0, c
    # The keep-alive connection's record, at most one more.
    assert c["conns_alloc"] <= 2, c
    grew = periodic[N]["heap_busy"] - periodic[1500]["heap_busy"]
    assert grew < 150000, (grew, periodic[1500], periodic[N])
