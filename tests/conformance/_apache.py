"""The conformance tests' view of a private Apache.

The Apache itself is tests/apache/apache_fixture.py (shared with the Apache
tests: own config, own port on 127.0.0.1, mpm_worker, mod_sysgi or the real
mod_wsgi). This adapter adds what the conformance items need on top: a TLS
virtual host with a self-signed certificate the test creates, waiting for a
request's access-log line, the error log as text / since an offset, and the
pids of every httpd process.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "apache"))

import apache_fixture  # noqa: E402
from apache_fixture import APACHE, MOD_WSGI, free_port  # noqa: E402,F401


def make_public_dir(path):
    """A directory Apache's children (www-data) can read and write in."""
    apache_fixture.make_public(path)
    os.chmod(path, 0o777)
    return path


def make_tls_cert(directory):
    """A self-signed certificate for 127.0.0.1 (created once per directory)."""
    crt = os.path.join(directory, "server.crt")
    key = os.path.join(directory, "server.key")
    if not os.path.exists(crt):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True)
        os.chmod(key, 0o644)
    return crt, key


class Module:
    """Which WSGI module the Apache loads."""

    def __init__(self, kind, so_path):
        self.kind = kind              # "sysgi" or "wsgi"
        self.so_path = so_path
        self.log_name = kind          # its tag in the error log: [sysgi:info]
        self.win = None               # tests/wine/apache_win.py (--apache-win)


class Apache:
    """One test's httpd. `conf` is extra configuration text; ${APACHE_DIR}
    in it stands for the server's own directory. With tls=True a second
    port serves TLS (mod_ssl) and inherits the main server's configuration."""

    def __init__(self, workdir, module, conf="", env=None, threads=25,
                 servers=1, tls=False, extra_modules=(), loglevel="info",
                 ssl_std_env_vars=False):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.module = module
        self.env = env or {}
        self.threads, self.servers, self.loglevel = threads, servers, loglevel
        self.modules = list(extra_modules)
        self.tls_port = free_port() if tls else None
        self.tls = tls
        lines = conf.replace("${APACHE_DIR}", workdir).splitlines()
        if tls and module.win:
            if ssl_std_env_vars or extra_modules:
                raise AssertionError("--apache-win: the fixture tree has "
                                     "mod_ssl only (no %r)" % (extra_modules,))
        elif tls:
            crt, key = make_tls_cert(workdir)
            self.modules += ["socache_shmcb", "ssl"]
            lines += [
                "Listen 127.0.0.1:%d" % self.tls_port,
                "SSLSessionCache shmcb:%s/ssl_scache(512000)" % workdir,
                "<VirtualHost 127.0.0.1:%d>" % self.tls_port,
                "  ServerName 127.0.0.1",
                "  SSLEngine on",
                "  SSLCertificateFile %s" % crt,
                "  SSLCertificateKeyFile %s" % key,
            ]
            if ssl_std_env_vars:
                lines.append("  SSLOptions +StdEnvVars")
            lines.append("</VirtualHost>")
        self.lines = lines
        self.srv = None

    # -- lifecycle ---------------------------------------------------------
    def start(self, wait_url=None, timeout=90):
        """Starts httpd and waits until it answers wait_url (default "/",
        any status); wait_url=False: do not wait."""
        if self.module.win:
            return self._start_win(wait_url)
        self.srv = apache_fixture.start_apache(
            self.lines, None, module=self.module.kind, module_path=self.module.so_path,
            threads=self.threads, servers=self.servers, workdir=self.dir,
            wait_path=None if wait_url is False else (wait_url or "/"),
            timeout=timeout, env=self.env, loglevel=self.loglevel,
            modules=self.modules)
        self.port = self.srv.port
        self.proc = self.srv.proc
        self.error_log = self.srv.error_log_path
        self.access_log = self.srv.access_log_path
        return self

    def _start_win(self, wait_url):
        """httpd.exe under Wine. Paths like /tmp/x in the configuration and
        in requests resolve on ServerRoot's drive, Z:, which Wine maps to
        /: they need no translation."""
        aw = self.module.win
        if self.servers != 1 or self.modules:
            raise AssertionError("--apache-win: mpm_winnt has one child and "
                                 "the fixture tree no %r" % self.modules)
        srv = aw.WinApache(self.dir, self.lines, python_home=aw.winpy_home(),
                           tls=self.tls, threads=self.threads)
        srv.env.update(self.env)
        self.srv = srv.start()
        if wait_url is not False:
            srv.wait(wait_url or "/")
        self.port, self.tls_port = srv.port, srv.tls_port
        self.proc = srv.proc
        self.error_log = srv.error_log_path
        self.access_log = srv.access_log_path
        return self

    def stop(self, timeout=60):
        if self.srv is not None:
            self.srv.stop(timeout)

    # -- helpers -------------------------------------------------------------
    def url(self, path, tls=False):
        if tls:
            return "https://127.0.0.1:%d%s" % (self.tls_port, path)
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def log_text(self):
        return self.srv.error_log()

    def log_size(self):
        return self.srv.log_offset()

    def log_since(self, offset):
        with open(self.error_log, errors="replace") as f:
            f.seek(offset)
            return f.read()

    def wait_logged(self, request_target, timeout=60):
        """Waits until the access log shows the request (method and target,
        e.g. "GET /x?1"): Apache writes that line after the handler has
        returned, so every error-log line of the request is in by then."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(self.access_log, errors="replace") as f:
                    if any(ln.startswith(request_target + " ") for ln in f):
                        return
            except FileNotFoundError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("%r never reached the access log" % request_target)
            time.sleep(0.05)

    def child_pids(self):
        return self.srv.child_pids()

    def all_pids(self):
        """Every process still in httpd's session (parent and children)."""
        out = subprocess.run(["ps", "-o", "pid=", "-s", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]
