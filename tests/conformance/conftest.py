"""Shared fixtures of the conformance tests (one test per item of the seed
change log, /work/shared/seed/mod_wsgi-3.4-changes.txt).

    /usr/bin/python3 -m pytest -v tests/conformance --sysgi-build=build

runs them against build/apache-win/mod_sysgi.so. With --reference-mod-wsgi
they run against Debian's real mod_wsgi instead, which is how each test was
validated: a test that passes there checks a behaviour mod_wsgi really has.
"""
import os
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from _apache import Apache, Module, make_public_dir  # noqa: E402

MOD_WSGI = "/usr/lib/apache2/modules/mod_wsgi.so"


def pytest_addoption(parser):
    parser.addoption("--sysgi-build", default=os.environ.get("SYSGI_BUILD", os.path.join(REPO, "build")),
                     help="CMake build directory holding apache-win/mod_sysgi.so")
    parser.addoption("--reference-mod-wsgi", action="store_true",
                     help="run against Debian's mod_wsgi (the reference) instead of mod_sysgi")


@pytest.fixture(scope="session")
def build_dir(request):
    return os.path.abspath(request.config.getoption("--sysgi-build"))


@pytest.fixture(scope="session")
def reference(request):
    """True when the tests run against the real mod_wsgi."""
    return request.config.getoption("--reference-mod-wsgi")


@pytest.fixture(scope="session")
def module(build_dir, reference):
    if reference:
        return Module("wsgi", MOD_WSGI)
    so = os.path.join(build_dir, "apache-win", "mod_sysgi.so")
    if not os.path.exists(so):
        pytest.fail("mod_sysgi.so not found at %s (build it, or pass --sysgi-build)" % so)
    return Module("sysgi", so)


class Site:
    """A public directory for one test's scripts, and the Apache(s) using it."""

    def __init__(self, root, module):
        self.root = make_public_dir(root)
        self.module = module
        self.servers = []

    def write(self, name, text):
        path = os.path.join(self.root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text).lstrip())
        os.chmod(path, 0o644)
        return path

    def subdir(self, name):
        return make_public_dir(os.path.join(self.root, name))

    def apache(self, conf="", start=True, wait_url=None, name=None, **kw):
        name = name or "httpd%d" % len(self.servers)
        a = Apache(os.path.join(self.root, name), self.module, textwrap.dedent(conf), **kw)
        self.servers.append(a)
        if start:
            a.start(wait_url=wait_url)
        return a

    def close(self):
        for a in self.servers:
            a.stop()


@pytest.fixture
def site(tmp_path, module):
    s = Site(str(tmp_path / "site"), module)
    yield s
    s.close()


def reference_daemon_conf(reference, apache_dir_hint="${APACHE_DIR}"):
    """Configuration lines that, in a --reference-mod-wsgi run only, move the
    application into a mod_wsgi daemon process: mod_wsgi 4 kept some 3.4
    items only there (mod_wsgi.queue_start, splitting a combined
    WWW-Authenticate), and the embedded-mode requirement of sysgi is
    validated against that behaviour."""
    if not reference:
        return ""
    return ("WSGIDaemonProcess conformance threads=4\n"
            "WSGISocketPrefix %s/wsgi\n"
            "WSGIProcessGroup conformance\n" % apache_dir_hint)


CRASH_MARKERS = ("Segmentation fault", "exit signal", "Aborted", "core dumped",
                 "Fatal Python error")


def assert_no_crash(apache):
    text = apache.log_text()
    bad = [ln for ln in text.splitlines() if any(m in ln for m in CRASH_MARKERS)]
    assert not bad, "the error log shows a crash:\n" + "\n".join(bad)
