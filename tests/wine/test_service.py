"""sysgi.exe as a Windows service, under Wine, with the real Windows CPython.

One private Wine prefix for the whole module (<build>/wineprefix-service,
made fresh), kept alive by `wineserver -p`: a service lives only while the
wineserver does. services.exe is started first with its stderr on a file
(services.log) and WINEDEBUG=+eventlog: Wine's ReportEventW only traces
its strings (and, on the advapi FIXME channel, the event ID), so that file
is where the service's Event Log reports can be read back. It also keeps
services.exe from holding a test's pipe open.

What Wine really does and what it only accepts (see the README):
- real: CreateService, start/stop through sysgi, `sc` and `net`,
  START_PENDING checkpoints, a stop during initialisation, exit codes,
  the account name, the binary path, the Event Log calls (traced).
- accepted but not stored by Wine's SCM: failure actions (FIXME), the
  failure actions flag, the service SID type and the delayed start (both
  ERROR_INVALID_LEVEL, install warns); Wine does not restart a crashed
  service, so the crash test restarts it by hand and checks that the new
  run reports the crash.
"""
import os
import re
import subprocess
import time

import pytest
import requests

from conftest import BUILD, end_prefix, free_port, service_prefix

SYSGI = os.environ.get("SYSGI_EXE", "")
HERE = os.path.dirname(os.path.abspath(__file__))
WINPY = os.environ.get("SYSGI_WINPY") or os.path.join(
    HERE, "..", "..", ".deps", "winpy", "cpython-3.11-win-amd64")
TIMEOUT = 180

MESSAGE_IDS = {  # service/sysgi_msg.mc (severity bits included)
    "started": 0x40000001, "stopped": 0x40000002,
    "config_error": 0xC0000003, "crash_restart": 0x80000004,
    "start_failed": 0xC0000005, "stop_during_init": 0x80000006,
    "error": 0xC0000007, "warning": 0x80000008,
}


def winpath(p):
    return "Z:" + os.path.abspath(str(p)).replace("/", "\\")


class Prefix:
    def __init__(self, env, services_log):
        self.env = env
        self.services_log = services_log

    def run(self, *argv, timeout=TIMEOUT, extra_env=None):
        env = dict(self.env)
        env.update(extra_env or {})
        p = subprocess.run(["wine"] + [str(a) for a in argv], env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        p.out = p.stdout.decode("utf-8", "replace").replace("\r", "")
        p.err = p.stderr.decode("utf-8", "replace").replace("\r", "")
        return p

    def sysgi(self, *argv, exe=None, **kw):
        return self.run(exe or SYSGI, *argv, **kw)

    def status(self):
        p = self.sysgi("status")
        if p.returncode != 0:
            return {"installed": False, "text": p.err}
        d = {"installed": True, "text": p.out}
        for line in p.out.splitlines():
            k, _, v = line.partition(": ")
            d[k.strip()] = v.strip()
        return d

    def sc_state(self):
        p = self.run("sc", "query", "sysgi")
        m = re.search(r"STATE\s*:\s*\d+\s+(\w+)", p.out)
        return m.group(1) if m else None

    def wait_state(self, want, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            st = self.status()
            seen.append(st.get("state"))
            if st.get("state") == want:
                return st
            time.sleep(0.5)
        raise AssertionError("the service never reached %s (seen %s)"
                             % (want, seen[-5:]))

    def reg_query(self, key, value=None):
        argv = ["reg", "query", key] + (["/v", value] if value else [])
        return self.run(*argv)

    def events(self):
        """(kind, text) of every ReportEventW, kind err/warn/trace, and the
        event IDs in order, from services.log."""
        with open(self.services_log, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        strings = re.findall(r":(err|warn|trace):eventlog:ReportEventW "
                             r"L\"(.*)\"", text)
        ids = [int(x, 16) for x in re.findall(
            r"ReportEventW \(\w+,0x\w+,0x\w+,0x(\w+),", text)]
        return strings, ids


@pytest.fixture(scope="module")
def prefix():
    if not BUILD or not SYSGI:
        pytest.fail("SYSGI_WIN_BUILD / SYSGI_EXE are not set: run through "
                    "ctest")
    if not os.path.isfile(os.path.join(WINPY, "python.exe")):
        pytest.fail("no Windows CPython at %s (unpack the winpy fixture, "
                    "see HELPERS.md, or set SYSGI_WINPY)" % WINPY)
    env, root, log = service_prefix("service", "-all,+eventlog,fixme+advapi")
    pfx = Prefix(env, log)
    yield pfx
    if pfx.status()["installed"]:
        pfx.sysgi("uninstall")
    end_prefix(env)


def write_apps(d):
    # Every response declares its length: Wine's http.sys aborts the
    # process on HttpSendResponseEntityBody (WINE.md), so a body must go
    # out with its head in one call.
    (d / "app_a.py").write_text(
        "import os\n"
        "print('hello from app a at import', flush=True)\n"
        "for i in range(30):  # enough lines to rotate a 2K log\n"
        "    print('app a import line %02d ' % i + 'x' * 50)\n"
        "import sys; sys.stdout.flush()\n"
        "def application(environ, start_response):\n"
        "    if environ['PATH_INFO'] == '/crash':\n"
        "        os._exit(3)\n"
        "    body = ('app a|%s|%s|%d' % (environ['SCRIPT_NAME'],\n"
        "            environ['PATH_INFO'], os.getpid())).encode()\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain'),\n"
        "                              ('Content-Length', str(len(body)))])\n"
        "    return [body]\n")
    (d / "app_b.py").write_text(
        "def application(environ, start_response):\n"
        "    body = ('app b|%s|%s' % (environ['SCRIPT_NAME'],\n"
        "            environ['PATH_INFO'])).encode()\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain'),\n"
        "                              ('Content-Length', str(len(body)))])\n"
        "    return [body]\n")
    (d / "slow.py").write_text(
        "import time\n"
        "time.sleep(300)  # the import a stop has to interrupt\n"
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Length', '4')])\n"
        "    return [b'slow']\n")


def write_ini(d, port, apps, extra=""):
    log = d / "logs" / "sysgi.log"
    log.parent.mkdir(exist_ok=True)
    lines = ["; written by test_service.py", "[server]",
             "listen = http://127.0.0.1:%d/" % port,
             "python-home = %s" % winpath(WINPY),
             "log-file = %s" % winpath(log),
             "shutdown-timeout = 3", extra, ""]
    for mount, script in apps:
        lines += ["[app:%s]" % mount, "script = %s" % winpath(d / script),
                  # %{GLOBAL} (not mod_wsgi's default %{RESOURCE}): the
                  # script is imported at start, while START_PENDING.
                  "application-group = %{GLOBAL}" if script == "slow.py"
                  else "", ""]
    ini = d / "sysgi.ini"
    ini.write_text("\n".join(lines))
    return ini, log


def read_logs(log):
    """The service log and its rotated files, oldest first."""
    parts = []
    for i in range(10, 0, -1):
        p = "%s.%d" % (log, i)
        if os.path.exists(p):
            parts.append(open(p, "rb").read())
    if os.path.exists(str(log)):
        parts.append(open(str(log), "rb").read())
    return b"".join(parts).decode("utf-8", "replace")


@pytest.fixture
def cleanup(prefix):
    yield
    if prefix.status()["installed"]:
        prefix.sysgi("stop")
        prefix.sysgi("uninstall")


def test_usage(prefix):
    p = prefix.sysgi("service")  # the SCM's entry, run from a console
    assert p.returncode == 2, p.out + p.err
    assert "run by the Service Control Manager" in p.err, p.err
    p = prefix.sysgi("install", "--bogus")
    assert p.returncode == 2 and "unexpected argument" in p.err, p.err
    for cmd in ("start", "stop", "status", "uninstall"):
        p = prefix.sysgi(cmd)
        assert p.returncode == 1, (cmd, p.out, p.err)
        assert "not installed" in p.err, (cmd, p.err)


def test_invalid_config_is_refused(prefix, tmp_path, cleanup):
    write_apps(tmp_path)
    ini, _ = write_ini(tmp_path, free_port(), [("/a", "app_a.py")],
                       extra="no-such-key = 1")
    p = prefix.sysgi("install", "--config", winpath(ini))
    assert p.returncode == 1, p.out + p.err
    assert "no-such-key" in p.err, p.err
    assert "sysgi.ini:" in p.err, p.err  # the file and line
    assert "nothing was installed" in p.err, p.err
    assert not prefix.status()["installed"]
    # A missing script is refused the same way.
    ini, _ = write_ini(tmp_path, free_port(), [("/a", "missing.py")])
    p = prefix.sysgi("install", "--config", winpath(ini))
    assert p.returncode == 1 and "missing.py" in p.err, p.out + p.err
    assert not prefix.status()["installed"]


def test_install_start_requests_stop_uninstall(prefix, tmp_path, cleanup):
    write_apps(tmp_path)
    port = free_port()
    ini, log = write_ini(tmp_path, port, [("/a", "app_a.py"),
                                          ("/b", "app_b.py")],
                         extra="log-max-size = 2K\nlog-keep = 2")
    p = prefix.sysgi("install", "--config", winpath(ini))
    assert p.returncode == 0, p.out + p.err
    assert "reserved http://127.0.0.1:%d/ for NT SERVICE\\sysgi" % port \
        in p.out, p.out
    assert "log directory %s (writable for S-1-5-80-" % winpath(log.parent) \
        in p.out, p.out

    st = prefix.status()
    assert st["state"] == "STOPPED", st["text"]
    assert st["account"] == "NT SERVICE\\sysgi", st["text"]
    exe = winpath(SYSGI)
    assert st["binary"] == '"%s" service --config "%s"' % (exe, winpath(ini)), \
        st["text"]
    assert st["config file"].startswith(winpath(ini)), st["text"]
    assert st["start type"].startswith("automatic"), st["text"]
    r = prefix.reg_query(r"HKLM\SYSTEM\CurrentControlSet\Services\EventLog"
                         r"\Application\sysgi", "EventMessageFile")
    assert r.returncode == 0 and exe.lower() in r.out.lower(), r.out + r.err
    r = prefix.reg_query(r"HKLM\SOFTWARE\sysgi", "ConfigFile")
    assert r.returncode == 0 and winpath(ini).lower() in r.out.lower(), r.out

    # sysgi start / stop
    p = prefix.sysgi("start")
    assert p.returncode == 0, p.out + p.err
    st = prefix.status()
    assert st["state"] == "RUNNING" and int(st["pid"]) > 0, st["text"]
    assert prefix.sc_state() == "RUNNING"
    base = "http://127.0.0.1:%d" % port
    r = requests.get(base + "/a/x?q=1", timeout=60)
    assert r.status_code == 200 and r.text.startswith("app a|/a|/x|"), r.text
    r = requests.get(base + "/b/y", timeout=60)
    assert r.status_code == 200 and r.text == "app b|/b|/y", r.text
    p = prefix.sysgi("stop")
    assert p.returncode == 0, p.out + p.err
    assert prefix.status()["state"] == "STOPPED"
    assert prefix.sc_state() == "STOPPED"
    with pytest.raises(requests.ConnectionError):
        requests.get(base + "/a/", timeout=30)

    # net start / net stop act on the same service
    p = prefix.run("net", "start", "sysgi")
    assert p.returncode == 0, p.out + p.err
    # Wine's net start returns once the service is started, which may be
    # before it reports RUNNING.
    prefix.wait_state("RUNNING")
    assert requests.get(base + "/b/", timeout=60).text == "app b|/b|/"
    p = prefix.run("net", "stop", "sysgi")
    assert p.returncode == 0, p.out + p.err
    prefix.wait_state("STOPPED")

    # sc start / sc stop too (sc does not wait: poll)
    p = prefix.run("sc", "start", "sysgi")
    assert p.returncode == 0, p.out + p.err
    prefix.wait_state("RUNNING")
    assert requests.get(base + "/a/", timeout=60).status_code == 200
    p = prefix.run("sc", "stop", "sysgi")
    assert p.returncode == 0, p.out + p.err
    prefix.wait_state("STOPPED")

    text = read_logs(log)
    assert text.count("The sysgi") == 0  # the file has lines, not messages
    # (Rotation keeps only the latest runs; the Event Log counts below.)
    assert "listening on http://127.0.0.1:%d/ (pid" % port in text, text
    assert text.rstrip().endswith("clean stop"), text[-2000:]
    # The app's print() at import reached the log: the core makes
    # sys.stdout/sys.stderr log lines (as mod_wsgi), one per line printed.
    assert re.search(r"\] hello from app a at import\r?$", text, re.M), text
    # Rotation at 2K keeping 2: sysgi.log.1 and .2 exist, .3 never.
    assert os.path.exists("%s.1" % log) and os.path.exists("%s.2" % log)
    assert not os.path.exists("%s.3" % log)
    for f in (str(log), "%s.1" % log, "%s.2" % log):
        assert os.path.getsize(f) <= 2048 + 600, f  # limit + one line

    strings, ids = prefix.events()
    texts = [t for _, t in strings]
    assert sum("listening on http://127.0.0.1:%d/" % port in t
               for t in texts) >= 3, texts
    assert ids.count(MESSAGE_IDS["started"]) >= 3, [hex(i) for i in ids]
    assert ids.count(MESSAGE_IDS["stopped"]) >= 3, [hex(i) for i in ids]

    p = prefix.sysgi("uninstall")
    assert p.returncode == 0, p.out + p.err
    st = prefix.status()
    assert not st["installed"] and "not installed" in st["text"], st
    r = prefix.reg_query(r"HKLM\SYSTEM\CurrentControlSet\Services\EventLog"
                         r"\Application\sysgi")
    assert r.returncode != 0, r.out
    r = prefix.reg_query(r"HKLM\SOFTWARE\sysgi", "ConfigFile")
    assert r.returncode != 0, r.out
    assert prefix.sysgi("uninstall").returncode == 1


def test_message_table_is_in_sysgi_exe(prefix, tmp_path):
    """What Event Viewer does with EventMessageFile: FormatMessage from
    sysgi.exe loaded as a data file, for every ID of sysgi_msg.mc."""
    script = tmp_path / "fmt.py"
    script.write_text(
        "import ctypes, sys\n"
        "k = ctypes.WinDLL('kernel32', use_last_error=True)\n"
        "k.LoadLibraryExW.restype = ctypes.c_void_p\n"
        "h = k.LoadLibraryExW(sys.argv[1], None, 2)  # AS_DATAFILE\n"
        "assert h, ctypes.get_last_error()\n"
        "for i in sys.argv[2:]:\n"
        "    buf = ctypes.create_unicode_buffer(1024)\n"
        "    args = (ctypes.c_void_p * 1)(ctypes.cast(\n"
        "        ctypes.c_wchar_p('DETAIL'), ctypes.c_void_p))\n"
        "    n = k.FormatMessageW(0x800 | 0x2000, ctypes.c_void_p(h),\n"
        "                         int(i), 0, buf, 1024, args)\n"
        "    print(i, repr(buf.value[:n].strip()) if n else\n"
        "          'ERROR %d' % ctypes.get_last_error())\n")
    p = prefix.run(os.path.join(WINPY, "python.exe"), winpath(script),
                   winpath(SYSGI), *[str(v) for v in MESSAGE_IDS.values()])
    assert p.returncode == 0, p.out + p.err
    got = dict(l.split(" ", 1) for l in p.out.splitlines() if l)
    want = {"started": "The sysgi service started: DETAIL",
            "stopped": "The sysgi service stopped: DETAIL",
            "config_error": "The sysgi configuration is invalid: DETAIL",
            "crash_restart": "The sysgi service restarted after a crash: "
                             "DETAIL",
            "start_failed": "The sysgi service could not start: DETAIL",
            "error": "DETAIL"}
    for name, text in want.items():
        assert got[str(MESSAGE_IDS[name])] == repr(text), (name, got)


def test_stop_during_initialisation(prefix, tmp_path, cleanup):
    write_apps(tmp_path)
    port = free_port()
    ini, log = write_ini(tmp_path, port, [("/", "slow.py")])
    assert prefix.sysgi("install", "--config", winpath(ini)).returncode == 0
    p = prefix.run("sc", "start", "sysgi")
    assert p.returncode == 0, p.out + p.err
    # START_PENDING with advancing checkpoints while the import sleeps.
    deadline = time.monotonic() + TIMEOUT
    while "starting: importing scripts" not in read_logs(log):
        assert time.monotonic() < deadline, read_logs(log)
        time.sleep(0.5)
    st = prefix.status()
    assert st["state"] == "START_PENDING", st["text"]
    first = int(st["checkpoint"])
    deadline = time.monotonic() + 60
    while int(prefix.status().get("checkpoint", first)) <= first:
        assert time.monotonic() < deadline, "the checkpoint never advanced"
        time.sleep(0.5)
    assert prefix.status()["state"] == "START_PENDING"
    # The stop is accepted and the service ends cleanly, long before the
    # 300 s sleep would end (the command's own timeout bounds the wait).
    p = prefix.sysgi("stop", timeout=120)
    assert p.returncode == 0, p.out + p.err
    st = prefix.status()
    assert st["state"] == "STOPPED", st["text"]
    assert "(error 0)" in st.get("last exit", ""), st["text"]
    with pytest.raises(requests.ConnectionError):
        requests.get("http://127.0.0.1:%d/" % port, timeout=30)
    text = read_logs(log)
    assert "stop requested (stop)" in text, text
    assert "start-up abandoned, no request was served" in text, text
    _, ids = prefix.events()
    assert MESSAGE_IDS["stop_during_init"] in ids
    assert not os.path.exists(str(log.parent / "sysgi.running"))


def test_crash_is_reported_at_the_restart(prefix, tmp_path, cleanup):
    write_apps(tmp_path)
    port = free_port()
    ini, log = write_ini(tmp_path, port, [("/a", "app_a.py")])
    p = prefix.sysgi("install", "--config", winpath(ini))
    assert p.returncode == 0, p.out + p.err
    # Wine's SCM accepts the failure actions but does not store them.
    st = prefix.status()
    assert "failure actions" in st, st["text"]
    assert prefix.sysgi("start").returncode == 0
    base = "http://127.0.0.1:%d" % port
    pid = int(requests.get(base + "/a/", timeout=60).text.split("|")[3])
    assert (log.parent / "sysgi.running").exists()
    with pytest.raises(requests.RequestException):
        requests.get(base + "/a/crash", timeout=60)
    # Windows' SCM would restart it after 5 s (failure actions); Wine's
    # does not (it goes on reporting RUNNING for the dead process, but
    # StartService works again), so start it the way an administrator
    # would.
    p = prefix.sysgi("start")
    assert p.returncode == 0 and "is running (pid" in p.out, p.out + p.err
    r = requests.get(base + "/a/", timeout=60)
    assert r.status_code == 200 and int(r.text.split("|")[3]) != pid
    text = read_logs(log)
    assert "restarted after a crash: the previous run (pid %d" % pid in text, \
        text
    strings, ids = prefix.events()
    assert MESSAGE_IDS["crash_restart"] in ids, [hex(i) for i in ids]
    assert any("restarted after a crash" in t for _, t in strings)
    assert prefix.sysgi("stop").returncode == 0
    assert not (log.parent / "sysgi.running").exists()
    # A clean stop leaves no crash for the next start to report.
    assert prefix.sysgi("start").returncode == 0
    assert prefix.sysgi("stop").returncode == 0
    assert read_logs(log).count("restarted after a crash") == 1


# ---- URL reservations, through our test httpapi.dll -------------------------
# Wine's HttpSetServiceConfiguration is a stub that succeeds, so these run
# install/uninstall from a copy of sysgi.exe next to our httpapi.dll, which
# keeps reservations in a file (SYSGI_HTTPAPI_URLACL) and fails on demand
# (SYSGI_HTTPAPI_FAIL_URLACL). The service itself is not started here.

def service_sid(name):
    """The SCM's derivation of NT SERVICE\\<name>'s SID, done independently
    of urlacl.c (hashlib here, CryptoAPI there)."""
    import hashlib
    import struct
    d = hashlib.sha1(name.upper().encode("utf-16-le")).digest()
    return "S-1-5-80-" + "-".join(str(x) for x in struct.unpack("<5I", d))


def unix_path(p):
    """stand_in_env names files the Windows way (Z:\\...)."""
    if p[:2].upper() == "Z:":
        return p[2:].replace("\\", "/")
    return p


def reservations(path):
    path = unix_path(path)
    if not os.path.exists(path):
        return {}
    out = {}
    with open(path, "rb") as f:
        for line in f.read().decode("utf-8").splitlines():
            if line and not line.startswith("#"):
                url, _, sddl = line.partition("\t")
                assert url not in out, "reserved twice: " + url
                out[url] = sddl
    return out


@pytest.fixture
def ours(prefix, tmp_path):
    from conftest import check_httpapi_log, stand_in_env
    exe, extra = stand_in_env("ours", SYSGI, tmp_path)
    yield exe, extra
    check_httpapi_log(extra["SYSGI_HTTPAPI_LOG"])


def test_sid_derivation_matches_windows():
    # `sc showsid TrustedInstaller` on Windows.
    assert service_sid("TrustedInstaller") == (
        "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464")


def test_install_reserves_urls_and_uninstall_removes_them(prefix, tmp_path,
                                                         ours, cleanup):
    exe, extra = ours
    write_apps(tmp_path)
    p1, p2 = free_port(), free_port()
    urls = ["http://+:%d/" % p1, "http://127.0.0.1:%d/app/" % p2]
    ini, _ = write_ini(tmp_path, p1, [("/a", "app_a.py")])
    ini.write_text(ini.read_text().replace(
        "listen = http://127.0.0.1:%d/" % p1, "listen = " + " ".join(urls)))
    acl = extra["SYSGI_HTTPAPI_URLACL"]
    # A reservation of an earlier install for another account is replaced.
    with open(unix_path(acl), "w") as f:
        f.write("%s\tD:(A;;GX;;;S-1-5-19)\n" % urls[0])
    p = prefix.sysgi("install", "--config", winpath(ini), exe=exe,
                     extra_env=extra)
    assert p.returncode == 0, p.out + p.err
    sid = service_sid("sysgi")
    assert reservations(acl) == {u: "D:(A;;GX;;;%s)" % sid for u in urls}
    assert "(%s)" % sid in p.out, p.out
    p = prefix.sysgi("uninstall", exe=exe, extra_env=extra)
    assert p.returncode == 0, p.out + p.err
    for u in urls:
        assert "removed the reservation of %s" % u in p.out, p.out
    assert reservations(acl) == {}
    assert not prefix.status()["installed"]

    # --account: another virtual account, a well-known one.
    for account, want in (("NT SERVICE\\TrustedInstaller",
                           service_sid("TrustedInstaller")),
                          ("LocalSystem", "S-1-5-18")):
        p = prefix.sysgi("install", "--config", winpath(ini), "--account",
                         account, exe=exe, extra_env=extra)
        assert p.returncode == 0, p.out + p.err
        assert set(reservations(acl).values()) == {"D:(A;;GX;;;%s)" % want}
        st = prefix.status()
        assert st["account"] == account, st["text"]
        assert prefix.sysgi("uninstall", exe=exe,
                            extra_env=extra).returncode == 0
        assert reservations(acl) == {}


def test_url_reservation_errors_are_reported(prefix, tmp_path, ours, cleanup):
    exe, extra = ours
    write_apps(tmp_path)
    port = free_port()
    ini, _ = write_ini(tmp_path, port, [("/a", "app_a.py")])
    acl = extra["SYSGI_HTTPAPI_URLACL"]
    failing = dict(extra, SYSGI_HTTPAPI_FAIL_URLACL="5")
    p = prefix.sysgi("install", "--config", winpath(ini), exe=exe,
                     extra_env=failing)
    assert p.returncode == 1, p.out + p.err
    assert ("cannot reserve http://127.0.0.1:%d/ for NT SERVICE\\sysgi "
            "(HttpSetServiceConfiguration, HttpServiceConfigUrlAclInfo)"
            % port) in p.err, p.err
    assert "(error 5)" in p.err and "nothing was installed" in p.err, p.err
    assert not prefix.status()["installed"]  # rolled back
    assert reservations(acl) == {}

    # An account that does not exist: refused, nothing left behind.
    p = prefix.sysgi("install", "--config", winpath(ini), "--account",
                     "no-such-user-sysgi", exe=exe, extra_env=extra)
    assert p.returncode == 1, p.out + p.err
    assert "unknown account no-such-user-sysgi" in p.err, p.err
    assert not prefix.status()["installed"]
    assert reservations(acl) == {}

    # Uninstall goes on when a reservation cannot be removed, and says so.
    assert prefix.sysgi("install", "--config", winpath(ini), exe=exe,
                        extra_env=extra).returncode == 0
    assert len(reservations(acl)) == 1
    p = prefix.sysgi("uninstall", exe=exe, extra_env=failing)
    assert p.returncode == 1, p.out + p.err
    assert ("cannot remove the reservation of http://127.0.0.1:%d/ "
            "(HttpDeleteServiceConfiguration)" % port) in p.err, p.err
    assert not prefix.status()["installed"]


def test_configuration_error_at_start(prefix, tmp_path, cleanup):
    """A configuration that became invalid after install: the service stops
    with service-specific exit code 1, the error goes to the Event Log (ID
    3) and to the default log file (the configured one is not known)."""
    write_apps(tmp_path)
    ini, _ = write_ini(tmp_path, free_port(), [("/a", "app_a.py")])
    assert prefix.sysgi("install", "--config", winpath(ini)).returncode == 0
    (tmp_path / "app_a.py").unlink()
    p = prefix.sysgi("start")
    assert p.returncode == 1, p.out + p.err
    assert "service-specific exit code 1 (the configuration is invalid)" \
        in p.err, p.err
    st = prefix.status()
    assert st["state"] == "STOPPED", st["text"]
    assert "service-specific exit code 1" in st["last exit"], st["text"]
    p = prefix.run("sc", "query", "sysgi")
    assert re.search(r"SERVICE_EXIT_CODE\s*:\s*1\b", p.out), p.out
    strings, ids = prefix.events()
    assert MESSAGE_IDS["config_error"] in ids, [hex(i) for i in ids]
    assert any(k == "err" and "app_a.py" in t for k, t in strings), strings
    default_log = os.path.join(prefix.env["WINEPREFIX"], "drive_c",
                               "ProgramData", "sysgi", "logs", "sysgi.log")
    text = open(default_log, "rb").read().decode("utf-8", "replace")
    assert "app_a.py" in text and "the configuration is invalid" in text, text


def test_stop_drains_a_request_in_flight(prefix, tmp_path, cleanup):
    """A stop while a request is inside the application: STOP_PENDING until
    it finishes (within shutdown-timeout), the request gets its answer."""
    entered, release = tmp_path / "entered", tmp_path / "release"
    (tmp_path / "hold.py").write_text(
        "import os, time\n"
        "def application(environ, start_response):\n"
        "    open(%r, 'w').close()\n"
        "    for _ in range(1200):  # at most 60 s\n"
        "        if os.path.exists(%r):\n"
        "            break\n"
        "        time.sleep(0.05)\n"
        "    start_response('200 OK', [('Content-Length', '7')])\n"
        "    return [b'drained']\n" % (winpath(entered), winpath(release)))
    port = free_port()
    ini, log = write_ini(tmp_path, port, [("/", "hold.py")])
    ini.write_text(ini.read_text().replace("shutdown-timeout = 3",
                                           "shutdown-timeout = 120"))
    assert prefix.sysgi("install", "--config", winpath(ini)).returncode == 0
    assert prefix.sysgi("start").returncode == 0
    import threading
    result = {}

    def get():
        try:
            result["r"] = requests.get("http://127.0.0.1:%d/" % port,
                                       timeout=TIMEOUT)
        except Exception as e:  # reported below
            result["e"] = e

    t = threading.Thread(target=get)
    t.start()
    deadline = time.monotonic() + TIMEOUT
    while not entered.exists():
        assert time.monotonic() < deadline and t.is_alive(), result
        time.sleep(0.1)
    stopper = {}
    s = threading.Thread(target=lambda: stopper.update(
        p=prefix.sysgi("stop")))
    s.start()
    prefix.wait_state("STOP_PENDING")
    assert t.is_alive(), result  # still held in the application
    release.write_text("")
    t.join(TIMEOUT)
    s.join(TIMEOUT)
    assert "r" in result, result
    assert result["r"].status_code == 200 and result["r"].text == "drained"
    assert stopper["p"].returncode == 0, stopper["p"].out + stopper["p"].err
    assert prefix.status()["state"] == "STOPPED"
    assert read_logs(log).rstrip().endswith("clean stop"), read_logs(log)


def test_error_lines_reach_the_event_log_rate_limited(prefix, tmp_path,
                                                     cleanup):
    """wsgi.errors lines are server errors: in the log file, and in the
    Event Log (ID 7) at most 20 a minute, then one warning (ID 8)."""
    (tmp_path / "noisy.py").write_text(
        "def application(environ, start_response):\n"
        "    for i in range(25):\n"
        "        print('noisy line %02d' % i, file=environ['wsgi.errors'])\n"
        "    start_response('200 OK', [('Content-Length', '2')])\n"
        "    return [b'ok']\n")
    port = free_port()
    ini, log = write_ini(tmp_path, port, [("/", "noisy.py")])
    assert prefix.sysgi("install", "--config", winpath(ini)).returncode == 0
    assert prefix.sysgi("start").returncode == 0
    _, before = prefix.events()
    r = requests.get("http://127.0.0.1:%d/" % port, timeout=TIMEOUT)
    assert r.status_code == 200
    assert prefix.sysgi("stop").returncode == 0
    text = read_logs(log)
    assert all("noisy line %02d" % i in text for i in range(25)), text
    strings, ids = prefix.events()
    noisy = [t for k, t in strings if "noisy line" in t]
    assert len(noisy) == 20, noisy
    new = ids[len(before):]
    assert new.count(MESSAGE_IDS["error"]) == 20, [hex(i) for i in new]
    assert MESSAGE_IDS["warning"] in new
    assert any("more than 20 errors in a minute" in t for _, t in strings)
