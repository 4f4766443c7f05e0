"""A private Apache httpd for tests: its own ServerRoot in a temporary
directory, its own free port on 127.0.0.1, loading mod_sysgi from the build
directory (or Debian's real mod_wsgi, to compare behaviour).

    from apache_fixture import start_apache
    srv = start_apache(["WSGIApplicationGroup %{GLOBAL}"],
                       apps={"/": "/path/app.py"})
    requests.get(srv.url + "/")
    print(srv.error_log())
    srv.stop()

The module is found through, in order: the `module_path` argument, the
SYSGI_MODULE environment variable (a .so path), SYSGI_BUILD (a CMake build
directory), then <repo>/build/apache-win/mod_sysgi.so.
"""
import os
import pwd
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
APACHE = "/usr/sbin/apache2"
MODDIR = "/usr/lib/apache2/modules"
MOD_WSGI = os.path.join(MODDIR, "mod_wsgi.so")
# mod_log_config & co. are compiled into Debian's apache2.
BUILTIN = {"log_config", "logio", "unixd", "so", "version", "watchdog"}
CRASH_MARKERS = ("Segmentation fault", "exit signal", "Aborted",
                 "core dumped", "Fatal Python error")
HANG_MARKER = "still did not exit"


def sysgi_module_path():
    p = os.environ.get("SYSGI_MODULE")
    if p:
        return os.path.abspath(p)
    build = os.environ.get("SYSGI_BUILD", os.path.join(REPO, "build"))
    return os.path.abspath(os.path.join(build, "apache-win", "mod_sysgi.so"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_public(path):
    """Apache's children run as www-data when we are root: the directory
    and every parent must be traversable."""
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)
    p = os.path.dirname(os.path.abspath(path))
    while p not in ("/", ""):
        st = os.stat(p)
        if not st.st_mode & 0o001:
            os.chmod(p, st.st_mode | 0o711)
        p = os.path.dirname(p)
    return path


class ApacheServer:
    """One running httpd. .url is "http://127.0.0.1:PORT"."""

    def __init__(self, workdir, port, conf_path, proc, module):
        self.dir = workdir
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self.conf_path = conf_path
        self.proc = proc
        self.module = module
        self.error_log_path = os.path.join(workdir, "error.log")
        self.access_log_path = os.path.join(workdir, "access.log")

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
        """Waits until `text` appears in the error log after offset
        `since`; returns the new part of the log."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.error_log()[since:]
            if text in log:
                return log
            if time.monotonic() > deadline:
                raise AssertionError("%r not in the error log:\n%s" % (text, log))
            time.sleep(0.1)

    def assert_no_crash(self):
        bad = [ln for ln in self.error_log().splitlines()
               if any(m in ln for m in CRASH_MARKERS)]
        assert not bad, "the error log shows a crash:\n" + "\n".join(bad)

    def child_pids(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]

    def running(self):
        return self.proc.poll() is None

    def stop(self, timeout=60):
        """graceful-stop (SIGWINCH), waits for httpd to exit."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGWINCH)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _mount_list(apps):
    if not apps:
        return []
    if isinstance(apps, str):
        return [("/", apps)]
    if isinstance(apps, dict):
        return list(apps.items())
    return list(apps)


def write_config(workdir, port, conf_lines=(), apps=None, module="sysgi",
                 module_path=None, mpm="worker", threads=25, servers=1,
                 loglevel="info", modules=()):
    if module == "wsgi":
        so, mod_id, log_name = module_path or MOD_WSGI, "wsgi_module", "wsgi"
    else:
        so, mod_id, log_name = (module_path or sysgi_module_path(),
                                "sysgi_module", "sysgi")
    mods = ["mpm_" + mpm, "authz_core", "authn_core", "auth_basic",
            "authz_user", "mime", "env", "alias", "setenvif"] + list(modules)
    lines = ["ServerRoot %s" % workdir, "ServerName 127.0.0.1",
             "Listen 127.0.0.1:%d" % port]
    lines += ["LoadModule %s_module %s/mod_%s.so" % (m, MODDIR, m)
              for m in dict.fromkeys(mods) if m not in BUILTIN]
    lines.append("LoadModule %s %s" % (mod_id, so))
    if os.geteuid() == 0:
        user = "www-data"
        try:
            pwd.getpwnam(user)
        except KeyError:
            user = "nobody"
        lines += ["User %s" % user, "Group %s" % ("nogroup" if user == "nobody" else user)]
    if mpm == "prefork":
        lines += ["StartServers %d" % servers, "MinSpareServers 1",
                  "MaxSpareServers %d" % max(servers, threads),
                  "ServerLimit %d" % max(servers, threads),
                  "MaxRequestWorkers %d" % max(servers, threads)]
    else:
        lines += ["StartServers %d" % servers, "ServerLimit %d" % servers,
                  "ThreadsPerChild %d" % threads, "ThreadLimit %d" % threads,
                  "MaxRequestWorkers %d" % (threads * servers),
                  "MinSpareThreads 1", "MaxSpareThreads %d" % (threads * servers)]
    lines += [
        "DefaultRuntimeDir %s" % workdir,
        "PidFile %s/httpd.pid" % workdir,
        "ErrorLog %s/error.log" % workdir,
        "LogLevel %s %s:debug" % (loglevel, log_name),
        'LogFormat "%r %>s %b" t',
        "CustomLog %s/access.log t" % workdir,
        "TypesConfig /etc/mime.types",
        "DocumentRoot %s" % workdir,
        "MaxConnectionsPerChild 0",
        "KeepAlive On",
        "Timeout 60",
        # Bounds a stop if a child hangs on its way out (then the log says
        # "still did not exit"; test_lifecycle checks that it does not).
        "GracefulShutdownTimeout 5",
    ]
    for mount, path in _mount_list(apps):
        lines.append('WSGIScriptAlias %s "%s"' % (mount, os.path.abspath(path)))
    lines += list(conf_lines)
    conf = os.path.join(workdir, "httpd.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return conf


def check_config(conf_path, env=None):
    """apache2 -t: (ok, output)."""
    r = subprocess.run([APACHE, "-t", "-f", conf_path], capture_output=True,
                       text=True, env=env)
    return r.returncode == 0, r.stdout + r.stderr


def start_apache(conf_lines=(), apps=None, module="sysgi", module_path=None,
                 mpm="worker", threads=25, servers=1, workdir=None,
                 wait_path="/", timeout=90, env=None, loglevel="info",
                 modules=()):
    """Starts httpd and waits until it answers `wait_path` (any HTTP status;
    None: until it accepts connections, without sending a request). conf_lines: extra configuration lines; apps: a
    script path (mounted at /), {mount: path} or [(mount, path)]."""
    workdir = make_public(workdir or tempfile.mkdtemp(prefix="sysgi-apache-"))
    port = free_port()
    conf = write_config(workdir, port, conf_lines, apps, module, module_path,
                        mpm, threads, servers, loglevel, modules)
    run_env = dict(os.environ)
    for k in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP"):
        run_env.pop(k, None)   # the configuration decides what Python sees
    run_env.update(env or {})
    ok, out = check_config(conf, run_env)
    if not ok:
        raise RuntimeError("httpd rejected %s:\n%s" % (conf, out))
    proc = subprocess.Popen([APACHE, "-f", conf, "-DFOREGROUND"], env=run_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    srv = ApacheServer(workdir, port, conf, proc, module)
    deadline = time.monotonic() + timeout
    while wait_path is None:   # only wait for the port to accept
        if proc.poll() is not None:
            raise RuntimeError("httpd exited with %s:\n%s" % (proc.returncode,
                                                              srv.error_log()))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=10).close()
            return srv
        except OSError:
            if time.monotonic() > deadline:
                srv.stop()
                raise RuntimeError("httpd did not listen on %s:\n%s"
                                   % (srv.url, srv.error_log()))
            time.sleep(0.2)
    while True:
        if proc.poll() is not None:
            raise RuntimeError("httpd exited with %s:\n%s" % (proc.returncode,
                                                              srv.error_log()))
        try:
            urllib.request.urlopen(srv.url + wait_path, timeout=30).read()
            return srv
        except urllib.error.HTTPError:
            return srv
        except OSError:
            if time.monotonic() > deadline:
                srv.stop()
                raise RuntimeError("httpd did not answer on %s:\n%s"
                                   % (srv.url, srv.error_log()))
            time.sleep(0.2)
