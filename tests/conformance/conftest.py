"""Fixtures of the conformance tests: one test per item of the seed change
log (/work/shared/seed/mod_wsgi-3.4-changes.txt) that applies in-process.

    /usr/bin/python3 -m pytest -v tests/conformance --sysgi-build=build

runs them against build/apache-win/mod_sysgi.so. With --reference-mod-wsgi
they run against Debian's real mod_wsgi instead, which is how each test was
validated: a test that passes there checks a behaviour mod_wsgi really has.
With --apache-win they run against mod_sysgi for Windows in httpd.exe of the
Apache for Windows fixture under Wine, with the Windows CPython
(tests/wine/apache_win.py; CTest `wine_conformance` in the Windows build
runs the items that apply there and says which do not).
"""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from conformance_support import MOD_WSGI, REPO, Module, Site  # noqa: E402

# What Python does inside Apache is decided by each test's configuration,
# never by the environment pytest happens to run in (CTest may set these).
for _var in ("PYTHONDONTWRITEBYTECODE", "PYTHONMALLOC", "PYTHONHOME", "PYTHONPATH",
             "PYTHONSTARTUP", "PYTHONPYCACHEPREFIX"):
    os.environ.pop(_var, None)


def pytest_addoption(parser):
    parser.addoption("--sysgi-build", default=os.environ.get("SYSGI_BUILD", os.path.join(REPO, "build")),
                     help="CMake build directory holding apache-win/mod_sysgi.so")
    try:
        parser.addoption("--reference-mod-wsgi", action="store_true",
                         help="run against Debian's mod_wsgi (the reference) instead of mod_sysgi")
    except ValueError:
        pass   # tests/apache's conftest (same session) already defines it
    try:
        parser.addoption("--apache-win", action="store_true",
                         help="run against mod_sysgi for Windows in httpd.exe under Wine")
    except ValueError:
        pass


@pytest.fixture(scope="session")
def build_dir(request):
    return os.path.abspath(request.config.getoption("--sysgi-build"))


@pytest.fixture(scope="session")
def reference(request):
    """True when the tests run against the real mod_wsgi."""
    return request.config.getoption("--reference-mod-wsgi")


@pytest.fixture(scope="session")
def module(request, build_dir, reference):
    if request.config.getoption("--apache-win"):
        sys.path.insert(0, os.path.join(REPO, "tests", "wine"))
        import apache_win
        try:
            m = Module("sysgi", apache_win.module_path())
            apache_win.apache_root(), apache_win.winpy_home(), apache_win.wine_env()
        except apache_win.Missing as e:
            pytest.fail(str(e))
        m.win = apache_win
        return m
    if reference:
        return Module("wsgi", MOD_WSGI)
    so = os.path.join(build_dir, "apache-win", "mod_sysgi.so")
    if not os.path.exists(so):
        pytest.fail("mod_sysgi.so not found at %s (build it, or pass --sysgi-build)" % so)
    return Module("sysgi", so)


@pytest.fixture
def site(request, tmp_path, module):
    s = Site(str(tmp_path / "site"), module)
    yield s
    s.close()
