"""A private Apache for the conformance tests.

Minimal stand-in until tests/apache/apache_fixture.py exists: one httpd per
test, its own ServerRoot-less config in a temporary directory, its own port
on 127.0.0.1, mpm_worker, loading either mod_sysgi or the real mod_wsgi
(the reference the tests are validated against), plus the test's extra
configuration lines. Apache runs in the foreground as our child so a test
can find its processes, signal it and read its error log.
"""
import os
import signal
import socket
import subprocess
import time
import urllib.request

APACHE = "/usr/sbin/apache2"
MODDIR = "/usr/lib/apache2/modules"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_public_dir(path):
    """Apache's children run as www-data: test files must be reachable."""
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o777)
    p = os.path.dirname(os.path.abspath(path))
    while p not in ("/", ""):
        st = os.stat(p)
        if not st.st_mode & 0o001:
            os.chmod(p, st.st_mode | 0o711)
        p = os.path.dirname(p)
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
        self.module_id = kind + "_module"
        self.log_name = kind          # LogLevel <name>:debug


class Apache:
    def __init__(self, workdir, module, conf="", env=None, threads=25,
                 servers=1, tls=False, extra_modules=(), loglevel="info",
                 ssl_std_env_vars=False):
        self.dir = make_public_dir(workdir)
        self.module = module
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.error_log = os.path.join(self.dir, "error.log")
        self.conf_path = os.path.join(self.dir, "httpd.conf")
        self.access_log = os.path.join(self.dir, "access.log")
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("PYTHON"):
                del self.env[k]   # the test decides what Python sees
        self.env.update(env or {})
        self.proc = None
        mods = ["mpm_worker", "authz_core", "authn_core", "auth_basic",
                "authz_user", "env", "alias"]
        if tls:
            mods += ["socache_shmcb", "ssl"]
        mods += list(extra_modules)
        lines = ["LoadModule %s_module %s/mod_%s.so" % (m, MODDIR, m) for m in mods]
        lines.append("LoadModule %s %s" % (module.module_id, module.so_path))
        lines += [
            "ServerName 127.0.0.1",
            "Listen 127.0.0.1:%d" % self.port,
            "User www-data",
            "Group www-data",
            "DefaultRuntimeDir %s" % self.dir,
            "PidFile %s/httpd.pid" % self.dir,
            "ErrorLog %s" % self.error_log,
            "LogLevel %s %s:debug" % (loglevel, module.log_name),
            # Written after the handler returned: a request's error-log
            # lines are all in once its access-log line is.
            'LogFormat "%r %>s" conformance',
            "CustomLog %s conformance" % self.access_log,
            "DocumentRoot %s" % self.dir,
            "StartServers %d" % servers,
            "ServerLimit %d" % servers,
            "MinSpareThreads 1",
            "MaxSpareThreads %d" % (threads * servers),
            "ThreadsPerChild %d" % threads,
            "ThreadLimit %d" % threads,
            "MaxRequestWorkers %d" % (threads * servers),
            "MaxConnectionsPerChild 0",
            "KeepAlive On",
            "MaxKeepAliveRequests 0",
            "KeepAliveTimeout 30",
            "Timeout 60",
        ]
        if tls:
            crt, key = make_tls_cert(self.dir)
            lines += [
                "Listen 127.0.0.1:%d" % self.tls_port,
                "SSLSessionCache shmcb:%s/ssl_scache(512000)" % self.dir,
                "<VirtualHost 127.0.0.1:%d>" % self.tls_port,
                "  ServerName 127.0.0.1",
                "  SSLEngine on",
                "  SSLCertificateFile %s" % crt,
                "  SSLCertificateKeyFile %s" % key,
            ]
            if ssl_std_env_vars:
                lines.append("  SSLOptions +StdEnvVars")
            # The main server's configuration (conf below) is inherited.
            lines.append("</VirtualHost>")
        lines.append(conf.replace("${APACHE_DIR}", self.dir))
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    # -- lifecycle ---------------------------------------------------------
    def start(self, wait_url=None, timeout=60):
        """Starts httpd; waits until it answers (any HTTP status)."""
        check = subprocess.run([APACHE, "-t", "-f", self.conf_path], env=self.env,
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError("httpd config rejected: %s%s" % (check.stdout, check.stderr))
        self.proc = subprocess.Popen([APACHE, "-f", self.conf_path, "-DFOREGROUND"],
                                     env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if wait_url is False:
            return self
        deadline = time.monotonic() + timeout
        url = self.url(wait_url or "/")
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("httpd exited (%s): %s\n%s" % (
                    self.proc.returncode, self.proc.stdout.read().decode(errors="replace"),
                    self.log_text()))
            try:
                urllib.request.urlopen(url, timeout=10).read()
                return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("httpd did not answer on %s\n%s" % (url, self.log_text()))
                time.sleep(0.1)

    def stop(self, timeout=60):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- helpers -------------------------------------------------------------
    def url(self, path, tls=False):
        if tls:
            return "https://127.0.0.1:%d%s" % (self.tls_port, path)
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def log_text(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.error_log)
        except FileNotFoundError:
            return 0

    def log_since(self, offset):
        with open(self.error_log, errors="replace") as f:
            f.seek(offset)
            return f.read()

    def wait_logged(self, request_target, timeout=60):
        """Waits until the access log shows the request (method and target,
        e.g. "GET /x?1"), i.e. until its handler has returned."""
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
        """The worker children of the httpd parent."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]

    def all_pids(self):
        """Every process still in httpd's session (parent and children)."""
        out = subprocess.run(["ps", "-o", "pid=", "-s", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]
