"""Fixtures of the Apache tests (pytest + requests).

    SYSGI_BUILD=build-apache /usr/bin/python3 -m pytest -q tests/apache
    /usr/bin/python3 -m pytest -q tests/apache --module-path=/x/mod_sysgi.so
    /usr/bin/python3 -m pytest -q tests/apache --reference-mod-wsgi

The --reference-mod-wsgi form runs the same tests against Debian's real
mod_wsgi (tests of mod_sysgi-only features skip themselves there): a
behaviour test that passes against both checks what mod_wsgi really does.

    /usr/bin/python3 -m pytest -q tests/apache/test_requests.py --apache-win

runs against mod_sysgi for Windows in httpd.exe of the Apache for Windows
fixture under Wine, with the Windows CPython (tests/wine/apache_win.py; CTest
`wine_apache_requests` in the Windows build sets its environment). It
applies to the tests that talk HTTP to `main_server` or start servers with
plain configuration (no mpm choice, no Linux-only tools such as strace):
the CTest lists which. A test that asks for what Wine's httpd cannot give
fails, it does not skip.
"""
import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import apache_fixture  # noqa: E402

APPS = os.path.join(HERE, "apps")
EXAMPLES = os.path.join(apache_fixture.REPO, "examples")


def pytest_sessionstart(session):
    """Apache's children run as www-data when the tests run as root, and
    they load apps straight from this checkout: a clone made in a private
    directory (mktemp -d is 0700) must be traversable, or every such app is
    a 403. make_public() only adds search (o+x) to the parents."""
    if os.geteuid() == 0:
        for d in (APPS, EXAMPLES):
            apache_fixture.make_public(d)
            for root, dirs, _ in os.walk(d):
                for name in dirs:
                    os.chmod(os.path.join(root, name), 0o755)


def pytest_addoption(parser):
    parser.addoption("--module-path", default=None,
                     help="mod_sysgi.so to test (default: $SYSGI_MODULE, "
                          "$SYSGI_BUILD/apache-win/mod_sysgi.so or build/)")
    parser.addoption("--reference-mod-wsgi", action="store_true",
                     help="run against Debian's mod_wsgi instead")
    parser.addoption("--apache-win", action="store_true",
                     help="run against mod_sysgi for Windows in httpd.exe "
                          "under Wine (see tests/wine/apache_win.py)")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="session")
def module_kind(request):
    return "wsgi" if request.config.getoption("--reference-mod-wsgi") else "sysgi"


@pytest.fixture(scope="session")
def apache_win(request):
    """tests/wine/apache_win.py when --apache-win is given, else None."""
    if not request.config.getoption("--apache-win"):
        return None
    sys.path.insert(0, os.path.join(apache_fixture.REPO, "tests", "wine"))
    import apache_win as aw
    try:
        aw.apache_root(), aw.module_path(), aw.winpy_home(), aw.wine_env()
    except aw.Missing as e:
        pytest.fail(str(e))
    return aw


class WinServers:
    """Servers for --apache-win: httpd.exe under Wine, the Windows CPython
    from WSGIPythonHome. Only what applies there is accepted."""

    def __init__(self, aw, tmp):
        self.aw, self.tmp = aw, tmp
        self.started = []

    def site(self, name="site"):
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        return d

    def copy_app(self, name, dest_name=None):
        dst = os.path.join(self.site(), dest_name or name)
        shutil.copy(os.path.join(APPS, name), dst)
        return dst

    def start(self, conf_lines=(), apps=None, threads=25, wait_path="/",
              **kw):
        unsupported = {k: v for k, v in kw.items()
                       if not (k == "mpm" and v == "winnt")}
        if unsupported:
            pytest.fail("--apache-win: httpd.exe under Wine cannot take %r "
                        "(mpm_winnt only, its own modules)" % unsupported)
        mounts = apache_fixture._mount_list(apps)
        lines = ['WSGIScriptAlias %s "%s"' % (m, self.aw.confpath(p))
                 for m, p in mounts] + list(conf_lines)
        srv = self.aw.WinApache(os.path.join(self.tmp, "httpd%d" % len(self.started)),
                                lines, python_home=self.aw.winpy_home(),
                                threads=threads)
        self.started.append(srv)
        srv.start().wait(wait_path or "/")
        return srv

    def close(self, failed):
        for srv in self.started:
            srv.stop()
            if failed:
                sys.stderr.write("\n==== logs of %s (%s) ====\n%s\n"
                                 % (srv.url, srv.conf_path, srv.logs()))
            else:
                srv.assert_no_crash()


@pytest.fixture(scope="session")
def module_path(request, module_kind, apache_win):
    if apache_win:
        return apache_win.module_path()
    if module_kind == "wsgi":
        return apache_fixture.MOD_WSGI
    p = os.path.abspath(request.config.getoption("--module-path")
                        or apache_fixture.sysgi_module_path())
    if not os.path.exists(p):
        pytest.fail("mod_sysgi.so not found at %s (build it; set SYSGI_BUILD "
                    "or --module-path)" % p)
    return p


def pytest_configure(config):
    config.addinivalue_line("markers", "sysgi_only: a mod_sysgi feature "
                            "(skipped with --reference-mod-wsgi)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--reference-mod-wsgi"):
        skip = pytest.mark.skip(reason="a mod_sysgi feature")
        for item in items:
            if "sysgi_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def sysgi_only(module_kind):
    if module_kind != "sysgi":
        pytest.skip("a mod_sysgi feature")


class Servers:
    """Starts Apaches for one test (or module) and stops them after."""

    def __init__(self, kind, path, tmp):
        self.kind, self.path, self.tmp = kind, path, tmp
        self.started = []

    def site(self, name="site"):
        """A directory www-data can read, for scripts a test writes."""
        d = os.path.join(self.tmp, name)
        apache_fixture.make_public(d)
        os.chmod(d, 0o777)   # the apps write marker files here
        return d

    def copy_app(self, name, dest_name=None):
        d = self.site()
        dst = os.path.join(d, dest_name or name)
        shutil.copy(os.path.join(APPS, name), dst)
        os.chmod(dst, 0o644)
        return dst

    def start(self, conf_lines=(), apps=None, **kw):
        kw.setdefault("module", self.kind)
        kw.setdefault("module_path", self.path)
        n = len(self.started)
        kw.setdefault("workdir", os.path.join(self.tmp, "httpd%d" % n))
        srv = apache_fixture.start_apache(conf_lines, apps, **kw)
        self.started.append(srv)
        return srv

    def close(self, failed):
        for srv in self.started:
            srv.stop()
            if failed:
                sys.stderr.write("\n==== error log of %s (%s) ====\n%s\n"
                                 % (srv.url, srv.conf_path, srv.error_log()))
            else:
                srv.assert_no_crash()


def _failed(node):
    return any(getattr(getattr(node, "rep_" + w, None), "failed", False)
               for w in ("setup", "call"))


@pytest.fixture
def servers(request, module_kind, module_path, tmp_path, apache_win):
    s = (WinServers(apache_win, str(tmp_path)) if apache_win
         else Servers(module_kind, module_path, str(tmp_path)))
    yield s
    s.close(_failed(request.node))


@pytest.fixture(scope="module")
def main_server(request, module_kind, module_path, tmp_path_factory,
                apache_win):
    """One httpd for a whole test module: tests/apache/apps/cases.py at /
    (WSGIEnableSendfile Off) and at /sf (EnableSendfile and
    WSGIEnableSendfile On)."""
    tmp = str(tmp_path_factory.mktemp("main"))
    s = (WinServers(apache_win, tmp) if apache_win
         else Servers(module_kind, module_path, tmp))
    cases = os.path.join(APPS, "cases.py")
    if apache_win:   # httpd.exe reads Z:/ paths
        cases = '"%s"' % apache_win.confpath(cases)
    conf = ["EnableSendfile On",
            "WSGIScriptAlias /sf %s" % cases,
            "WSGIScriptAlias / %s" % cases]
    if module_kind == "sysgi":
        conf += ["<Location /sf>", "  WSGIEnableSendfile On", "</Location>"]
    else:  # mod_wsgi's WSGIEnableSendfile is server-wide only
        conf += ["WSGIEnableSendfile On", "WSGIChunkedRequest On"]
    srv = s.start(conf, None, wait_path="/hello")
    srv.files_dir = s.site("files")
    yield srv
    failed = any(_failed(i) for i in request.session.items
                 if i.module is request.module)
    s.close(failed)
