"""Helpers shared by the conformance tests (imported by name, not through
conftest, so that tests/apache's conftest can never shadow them)."""
import os
import textwrap

from _apache import MOD_WSGI, REPO, Apache, Module, make_public_dir  # noqa: F401


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
        """Stops every Apache; a crash while stopping fails the test too."""
        for a in self.servers:
            a.stop()
        for a in self.servers:
            if a.srv is not None:
                assert_no_crash(a)


def reference_daemon_conf(reference):
    """Configuration lines that, in a --reference-mod-wsgi run only, move the
    application into a mod_wsgi daemon process: mod_wsgi 4 kept some 3.4
    items only there (mod_wsgi.queue_start), and sysgi's embedded-mode
    requirement is validated against that behaviour."""
    if not reference:
        return ""
    return ("WSGIDaemonProcess conformance threads=4\n"
            "WSGISocketPrefix ${APACHE_DIR}/wsgi\n"
            "WSGIProcessGroup conformance\n")


CRASH_MARKERS = ("Segmentation fault", "exit signal", "Aborted", "core dumped",
                 "Fatal Python error")


def assert_no_crash(apache):
    text = apache.log_text()
    bad = [ln for ln in text.splitlines() if any(m in ln for m in CRASH_MARKERS)]
    assert not bad, "the error log shows a crash:\n" + "\n".join(bad)


def module_lines(apache, text):
    """The error-log lines written by the WSGI module itself."""
    tag = "[%s:" % apache.module.log_name
    return [ln for ln in text.splitlines() if tag in ln]
