"""Ctrl-C (SIGINT to the wine process, which Wine turns into a
CTRL_C_EVENT) while the first request is importing a script that sleeps at
import (the seed's bug 5, on sysgi.exe with a real Python): a clean exit
with code 0, no crash, no hang."""
import threading
import time

import pytest
import requests

from e2e_support import Serve, STAND_INS, TIMEOUT, wait_for

SLEEP = 20  # seconds the import sleeps

APP = '''
import os
import time

open(os.path.join(os.path.dirname(__file__), "importing"), "w").close()
time.sleep(%d)
open(os.path.join(os.path.dirname(__file__), "imported"), "w").close()


def application(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]
''' % SLEEP


@pytest.mark.parametrize("kind", STAND_INS)
def test_ctrl_c_while_the_import_sleeps(wine, tmp_path, kind):
    d = tmp_path / "site"
    d.mkdir()
    (d / "app.py").write_text(APP)
    s = Serve(wine, kind, tmp_path, d / "app.py")
    outcome = []

    def first_request():
        try:
            outcome.append(requests.get(s.url("/"), timeout=TIMEOUT).status_code)
        except requests.RequestException as e:
            outcome.append(repr(e))
    t = threading.Thread(target=first_request, daemon=True)
    try:
        t.start()
        wait_for((d / "importing").exists, TIMEOUT, "the import to start")
        assert not (d / "imported").exists()
        t0 = time.monotonic()
        rc = s.interrupt(timeout=SLEEP + TIMEOUT)
        err = s.stderr()
        assert rc == 0, "exit code %r after Ctrl-C; stderr:\n%s" % (rc, err)
        s.p.wait_line("sysgi: stopped", timeout=30)
        for bad in ("Fatal Python error", "Segmentation", "wine: Unhandled",
                    "Assertion failed", "abnormal program termination"):
            assert bad not in err, err
        t.join(TIMEOUT)
        assert not t.is_alive(), "the client still waits after the exit"
        # The request in flight got an answer or a closed connection.
        assert outcome and outcome[0] in (200, 500, 503) or "Connection" in str(outcome), outcome
    finally:
        s.stop()  # (already stopped) + the stand-in log
