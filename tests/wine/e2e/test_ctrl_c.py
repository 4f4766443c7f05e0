"""Ctrl-C (SIGINT to the wine process, which Wine turns into a
CTRL_C_EVENT) while sysgi.exe is importing a script that sleeps at import
(the seed's bug 5, on sysgi.exe with a real Python). The runner imports
every application's script at start-up, before it listens (as
WSGIImportScript does, and as the service needs for its START_PENDING
checkpoints), so the stop arrives during initialisation: a clean exit with
code 0, no crash, no hang, and no request ever served."""

from e2e_support import Serve, TIMEOUT, wait_for

SLEEP = 7  # seconds the import sleeps: less than serve's shutdown timeout (10 s), like the seed's bug 5 test

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


def test_ctrl_c_while_the_import_sleeps(wine, tmp_path):
    # The stop comes before the server touches http.sys, so one stand-in
    # is enough (our DLL would not even be loaded).
    kind = "wine"
    d = tmp_path / "site"
    d.mkdir()
    (d / "app.py").write_text(APP)
    s = Serve(wine, kind, tmp_path, d / "app.py", wait=False)
    try:
        wait_for((d / "importing").exists, TIMEOUT, "the import to start")
        assert not (d / "imported").exists()
        rc = s.interrupt(timeout=SLEEP + TIMEOUT)
        err = s.stderr()
        assert rc == 0, "exit code %r after Ctrl-C; stderr:\n%s" % (rc, err)
        s.p.wait_line("sysgi: stopped", timeout=30)
        for bad in ("Fatal Python error", "Segmentation", "wine: Unhandled",
                    "Assertion failed", "abnormal program termination"):
            assert bad not in err, err
        # Stopped during initialisation: it never started listening.
        assert not any(l and l.startswith("sysgi: serving") for l in s.p.lines), s.p.lines
    finally:
        s.stop()  # (already stopped) + the stand-in log
