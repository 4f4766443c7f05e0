"""httpd.exe of the Apache for Windows fixture, under Wine, loading the
Windows mod_sysgi.so: shared by tests/wine/test_apache.py and by the
`--apache-win` mode of tests/apache (which imports this file).

    srv = WinApache(work_dir, conf_lines, python_home=WINPY).start()
    requests.get(srv.url + "/hello")
    srv.stop()

Where things come from (CTest sets them, see tests/wine/CMakeLists.txt):
  SYSGI_APACHE_ROOT   the unpacked Apache24 tree (tools/unpack-fixtures.sh)
  SYSGI_WIN_MODULE    the mod_sysgi.so of the Windows build
  SYSGI_WIN_BUILD     the Windows build directory (its wineprefix/)
  SYSGI_WINPY         the Windows CPython (dir with python.exe), else
                      .deps/winpy/cpython-3.11-win-amd64
A missing piece FAILS the suite (it did not run), it never skips.

Under Wine httpd.exe needs 30-40 s to its first answer (the mpm_winnt
parent, then its child), so a suite starts its servers once, and several at
the same time (start() does not wait; wait() does). stdout/stderr of wine
are pipes: a Windows CPython with a std handle on a regular file dies at
start-up (WINE.md).
"""
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
START_TIMEOUT = 240  # seconds, on a loaded 2-core machine
CRASH_MARKERS = ("Fatal Python error", "exited with status", "Access violation",
                 "Unhandled exception", "wine: Unhandled")


class Missing(Exception):
    """A fixture the suite needs is not there: the suite did not run."""


def apache_root():
    root = os.environ.get("SYSGI_APACHE_ROOT") or os.path.join(
        REPO, ".deps", "apache-win", "Apache24")
    if not os.path.exists(os.path.join(root, "bin", "httpd.exe")):
        raise Missing("the Windows Apache suite did NOT run: no bin/httpd.exe "
                      "in %s (run tools/unpack-fixtures.sh apache-win, or set "
                      "SYSGI_APACHE_ROOT)" % root)
    return root


def module_path():
    p = os.environ.get("SYSGI_WIN_MODULE", "")
    if not p or not os.path.exists(p):
        raise Missing("the Windows Apache suite did NOT run: mod_sysgi.so for "
                      "Windows not found (%r; configure build-win with "
                      "-DAPACHE_ROOT)" % p)
    return p


def winpy_home():
    home = os.environ.get("SYSGI_WINPY") or os.path.join(
        REPO, ".deps", "winpy", "cpython-3.11-win-amd64")
    if not os.path.exists(os.path.join(home, "python311.dll")) and \
            not os.path.exists(os.path.join(home, "python3.dll")):
        raise Missing("the Windows Apache suite did NOT run: no Windows "
                      "CPython in %s (tools/unpack-fixtures.sh winpy, or set "
                      "SYSGI_WINPY)" % home)
    return home


def winpath(p):
    """Z:\\... for a Unix path (Wine maps / to Z:)."""
    return "Z:" + os.path.abspath(str(p)).replace("/", "\\")


def confpath(p):
    """Z:/... : httpd.conf takes forward slashes."""
    return "Z:" + os.path.abspath(str(p))


def wine_env():
    build = os.environ.get("SYSGI_WIN_BUILD", "")
    if not build:
        raise Missing("SYSGI_WIN_BUILD is not set: run these tests through ctest")
    env = dict(os.environ)
    env["WINEPREFIX"] = os.path.join(build, "wineprefix")
    env["WINEDLLOVERRIDES"] = "mscoree,mshtml=;winedbg.exe=d"
    env["WINEDEBUG"] = os.environ.get("SYSGI_WINEDEBUG", "-all")
    for k in ("DISPLAY", "WAYLAND_DISPLAY", "PYTHONHOME", "PYTHONPATH",
              "PYTHONSTARTUP"):
        env.pop(k, None)
    return env


def boot_prefix(env):
    """The build's private prefix, created once (as tests/wine/conftest.py)."""
    marker = os.path.join(env["WINEPREFIX"], ".sysgi-booted")
    if os.path.exists(marker):
        return
    subprocess.run(["wineboot", "-i"], env=env, check=True, timeout=300,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        subprocess.run(["wineserver", "-w"], env=env, timeout=120)
    except subprocess.TimeoutExpired:
        subprocess.run(["wineserver", "-k"], env=env, timeout=60)
    open(marker, "w").close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_tls_cert(directory):
    """A self-signed certificate for 127.0.0.1, made with the host's openssl."""
    crt = os.path.join(directory, "server.crt")
    key = os.path.join(directory, "server.key")
    if not os.path.exists(crt):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True)
    return crt, key


MODULES = ["authz_core", "authz_host", "alias", "dir", "env", "headers",
           "log_config", "mime", "setenvif"]


class WinApache:
    """One httpd.exe. .url is http://127.0.0.1:PORT; with tls=True .tls_url
    is an https:// port (mod_ssl) that inherits the main configuration."""

    def __init__(self, workdir, conf_lines=(), python_home=None, tls=False,
                 threads=25):
        self.dir = os.path.abspath(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.root = apache_root()
        self.module = module_path()
        self.env = wine_env()
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.tls_port = free_port() if tls else None
        self.tls_url = "https://127.0.0.1:%d" % self.tls_port if tls else None
        self.error_log_path = os.path.join(self.dir, "error.log")
        self.access_log_path = os.path.join(self.dir, "access.log")
        self.files_dir = os.path.join(self.dir, "files")
        os.makedirs(self.files_dir, exist_ok=True)
        self.conf_path = os.path.join(self.dir, "httpd.conf")
        self.out = []
        self.proc = None
        self._write_conf(conf_lines, python_home, threads)

    def _write_conf(self, conf_lines, python_home, threads):
        mods = MODULES + (["ssl"] if self.tls_port else [])
        lines = ['Define SRVROOT "%s"' % confpath(self.root),
                 'ServerRoot "${SRVROOT}"',
                 "ServerName 127.0.0.1",
                 "Listen 127.0.0.1:%d" % self.port]
        lines += ["LoadModule %s_module modules/mod_%s.so" % (m, m) for m in mods]
        lines += ['LoadModule sysgi_module "%s"' % confpath(self.module),
                  "ThreadsPerChild %d" % threads,
                  'PidFile "%s"' % confpath(os.path.join(self.dir, "httpd.pid")),
                  'ErrorLog "%s"' % confpath(self.error_log_path),
                  "LogLevel info sysgi:debug",
                  'LogFormat "%r %>s %b" t',
                  'CustomLog "%s" t' % confpath(self.access_log_path),
                  "TypesConfig conf/mime.types",
                  'DocumentRoot "%s"' % confpath(self.dir),
                  "KeepAlive On",
                  "Timeout 60"]
        if python_home:
            lines.append('WSGIPythonHome "%s"' % confpath(python_home))
        lines += list(conf_lines)
        if self.tls_port:
            crt, key = make_tls_cert(self.dir)
            lines += ["Listen 127.0.0.1:%d" % self.tls_port,
                      "<VirtualHost 127.0.0.1:%d>" % self.tls_port,
                      "  SSLEngine on",
                      '  SSLCertificateFile "%s"' % confpath(crt),
                      '  SSLCertificateKeyFile "%s"' % confpath(key),
                      "</VirtualHost>"]
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        """Launches httpd.exe without waiting for it (see wait())."""
        boot_prefix(self.env)
        exe = os.path.join(self.root, "bin", "httpd.exe")
        self.proc = subprocess.Popen(
            ["wine", exe, "-f", winpath(self.conf_path)], env=self.env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self):
        for raw in self.proc.stdout:
            self.out.append(raw.decode("utf-8", "replace").rstrip("\r\n"))

    def wait(self, path="/", timeout=START_TIMEOUT):
        """Until `path` gets any HTTP answer; raises with the logs if not."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("httpd.exe exited with %s:\n%s"
                                     % (self.proc.returncode, self.logs()))
            try:
                urllib.request.urlopen(self.url + path, timeout=30).read()
                return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("httpd.exe did not answer %s within "
                                         "%ss:\n%s" % (self.url + path, timeout,
                                                       self.logs()))
                time.sleep(0.5)

    def logs(self):
        return ("---- wine output ----\n%s\n---- error.log ----\n%s"
                % ("\n".join(self.out), self.error_log()))

    def error_log(self):
        try:
            with open(self.error_log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_offset(self):
        try:
            return os.path.getsize(self.error_log_path)
        except FileNotFoundError:
            return 0

    def wait_for_log(self, text, since=0, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            log = self.error_log()[since:]
            if text in log:
                return log
            if time.monotonic() > deadline:
                raise AssertionError("%r not in the error log:\n%s" % (text, log))
            time.sleep(0.2)

    def assert_no_crash(self):
        text = self.error_log() + "\n" + "\n".join(self.out)
        bad = [ln for ln in text.splitlines() if any(m in ln for m in CRASH_MARKERS)]
        assert not bad, "httpd.exe shows a crash:\n" + "\n".join(bad)

    def child_pids(self):
        raise NotImplementedError("no Unix pids for httpd.exe's child under Wine")

    def stop(self, timeout=60):
        """Ctrl-C to the console parent: it stops its child, then exits."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
