"""--python-home with a real Windows CPython: a virtual environment made
by that CPython's own `python.exe -m venv --without-pip`, and the wrong or
missing homes a real installation can produce (one clear line, then 503 to
every request; tests/wine/test_serve.py covers the same with fake DLLs)."""
import os
import shutil

import pytest
import requests

from e2e_support import (APPS, Serve, TIMEOUT, find_winpy,
                         run_python, winpath)



@pytest.fixture(scope="module")
def venv(wine, tmp_path_factory):
    d = tmp_path_factory.mktemp("venv") / "env"
    run_python(wine, ["-m", "venv", "--without-pip", winpath(d)])
    cfg = (d / "pyvenv.cfg").read_text()
    assert "home = " in cfg, cfg
    sp = d / "Lib" / "site-packages"
    assert sp.is_dir()
    (sp / "venvonly.py").write_text("WHERE = __file__\n")
    return d


def test_virtual_environment_as_python_home(wine, tmp_path, venv):
    # Stand-in independent: Wine's http.sys only.
    shutil.copy(os.path.join(APPS, "venvapp.py"), tmp_path / "venvapp.py")
    s = Serve(wine, "wine", tmp_path, tmp_path / "venvapp.py", home=venv)
    try:
        r = requests.get(s.url("/"), timeout=TIMEOUT)
        assert r.status_code == 200, (r.text, s.stderr())
        info = r.json()
        base = winpath(find_winpy()).lower()
        assert info["prefix"].lower() == winpath(venv).lower()
        assert info["base_prefix"].lower() == base
        assert info["venvonly"].lower() == winpath(
            venv / "Lib" / "site-packages" / "venvonly.py").lower()
        assert winpath(venv / "Lib" / "site-packages").lower() in [
            p.lower() for p in info["path"]]
        assert "Python loaded from %s\\python3.dll" % winpath(find_winpy()) in s.stderr()
    finally:
        s.stop()


def check_503(s, expected):
    try:
        for path in ("/", "/x?y=1"):
            assert requests.get(s.url(path), timeout=TIMEOUT).status_code == 503
        r = requests.post(s.url("/p"), data=b"x" * 1000, timeout=TIMEOUT)
        assert r.status_code == 503
        assert s.running(), "the server must keep running"
        err = s.stderr()
        lines = [l for l in err.splitlines() if "cannot load Python" in l]
        assert len(lines) == 1, err
        for part in expected:
            assert part in lines[0], lines[0]
        assert "answering 503" in lines[0]
        assert "Traceback" not in err and "Fatal Python error" not in err, err
    finally:
        s.stop()


@pytest.fixture
def app(tmp_path):
    (tmp_path / "app.py").write_text(
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [b'hi']\n")
    return tmp_path / "app.py"


def test_home_that_is_a_real_dir_without_dll(wine, tmp_path, app):
    # The Lib directory of the real installation: a real tree, no DLL.
    home = os.path.join(find_winpy(), "Lib")
    s = Serve(wine, "wine", tmp_path, app, home=home)
    check_503(s, [winpath(home), "neither python3.dll nor python3XY.dll"])


def test_copy_of_installation_without_its_dlls(wine, tmp_path, app):
    # A real installation whose python3*.dll are gone (a broken copy).
    home = tmp_path / "broken"
    home.mkdir()
    for name in os.listdir(find_winpy()):
        if not name.lower().endswith(".dll"):
            os.symlink(os.path.join(find_winpy(), name), home / name)
    s = Serve(wine, "wine", tmp_path, app, home=home)
    check_503(s, [winpath(home), "neither python3.dll nor python3XY.dll"])


def test_venv_whose_base_is_missing(wine, tmp_path, app, venv):
    # A copy of the real venv whose pyvenv.cfg names a base that is gone.
    env = tmp_path / "orphan"
    shutil.copytree(venv, env, symlinks=True)
    gone = tmp_path / "moved-python"
    (env / "pyvenv.cfg").write_text(
        "home = %s\ninclude-system-site-packages = false\nversion = 3.11.2\n"
        % winpath(gone))
    s = Serve(wine, "wine", tmp_path, app, home=env)
    check_503(s, [winpath(env), winpath(gone), "pyvenv.cfg"])
