"""Application groups: --application-group G runs the script in a
sub-interpreter named G (mod_wsgi's WSGIApplicationGroup), the default
(%{GLOBAL}) in the main interpreter; codecs work in both. Script reloading:
a new mtime loads the new code on the next request."""
import importlib.util
import os
import shutil
import time

import pytest
import requests

from e2e_support import APPS, Serve, STAND_INS, TIMEOUT

BOTH = pytest.mark.parametrize("kind", STAND_INS)


def local_codecs():
    """The same codec results computed by the test's own Python (Linux: no
    mbcs, which is Wine's ANSI code page, cp1252, there)."""
    spec = importlib.util.spec_from_file_location(
        "interp_local", os.path.join(APPS, "interp.py"))
    src = open(os.path.join(APPS, "interp.py")).read().replace(
        "import _xxsubinterpreters", "")
    ns = {}
    exec(compile(src, "interp_local", "exec"), ns)
    out = ns["_codecs"]()
    out["mbcs"] = out["cp1252"]
    return out


def serve_group(wine, tmp_path, kind, group):
    d = tmp_path / ("g-" + kind + "-" + (group or "default").strip("%{}"))
    d.mkdir()
    shutil.copy(os.path.join(APPS, "interp.py"), d / "interp.py")
    args = ["--application-group", group] if group is not None else []
    return Serve(wine, kind, d, d / "interp.py", args), d / "interp.py"


def get_info(s):
    r = requests.get(s.url("/"), timeout=TIMEOUT)
    assert r.status_code == 200, (r.text, s.stderr())
    return r.json()


@BOTH
def test_named_group_is_a_sub_interpreter_with_codecs(wine, tmp_path, kind):
    s, script = serve_group(wine, tmp_path, kind, "G")
    try:
        info = get_info(s)
        assert info["group"] == "G"
        assert info["interp"] != info["main"], info  # not the main one
        assert info["codecs"] == local_codecs()
        assert info["fs"] == "utf-8"
        again = get_info(s)  # the same sub-interpreter keeps the module
        assert again["interp"] == info["interp"]

        # Reload: new code, new mtime -> the next request runs it.
        text = script.read_text().replace('VERSION = "v1"', 'VERSION = "v2"')
        script.write_text(text)
        st = os.stat(script)
        os.utime(script, (st.st_atime, st.st_mtime + 5))
        info2 = get_info(s)
        assert info2["version"] == "v2", info2
        assert info2["group"] == "G" and info2["interp"] == info["interp"]
        assert info2["codecs"] == local_codecs()
    finally:
        s.stop()


@BOTH
@pytest.mark.parametrize("group", [None, "%{GLOBAL}"])
def test_global_group_is_the_main_interpreter(wine, tmp_path, kind, group):
    s, _ = serve_group(wine, tmp_path, kind, group)
    try:
        info = get_info(s)
        assert info["group"] == ""
        assert info["interp"] == info["main"] == 0
        assert info["codecs"] == local_codecs()
    finally:
        s.stop()
