"""The sysgi MSI (installer/sysgi.wxs): its tables, then msiexec under Wine.

The tables are read with msitools' msiinfo. The rest runs in one private
Wine prefix for the module (<build>/wineprefix-msi, made fresh), kept alive
by `wineserver -p` (a service lives only while the wineserver does), with
services.exe's stderr on a file and WINEDEBUG=+eventlog, which is where
Wine's ReportEventW traces the service's Event Log reports.

The tests run in order, each on the machine the previous one left:
  1. the tables of the MSI;
  2. an older build of the same wxs (-DVERSION), with LISTEN and a
     PYTHONHOME that does not exist: the install succeeds, its log names the error, the service
     runs and answers 503 with the reason in the Event Log;
  3. uninstall: service, files and keys gone, what the administrator made
     (an edited INI, a registry value, a file) kept;
  4. the older build again, with the real Windows CPython, PORT and
     INSTALLDIR: the service answers a hello app added to the INI;
  5. the current build over it (a major upgrade, no properties): the INI
     edit, the port, the Python, the directory and the administrator's
     value survive; the older build over it is refused;
  6. uninstall of the current build;
  7. the current build without PYTHONHOME: no PythonHome value, 503;
  8. a LISTEN that is no URL prefix: the install fails and rolls back.
Wine's own limits (see WINE.md and the README): its SCM accepts but does
not keep delayed start, failure actions and the service SID type, and its
HttpSetServiceConfiguration is a stub (URL reservations are only logged).
"""
import os
import re
import subprocess
import time

import pytest
import requests

from conftest import BUILD, end_prefix, free_port, service_prefix

MSI = os.environ.get("SYSGI_MSI", "")
VERSION = os.environ.get("SYSGI_MSI_VERSION", "")
BUILD_ARGS = [a for a in os.environ.get("SYSGI_MSI_BUILD_ARGS", "").split("|")
              if a]
CMAKE = os.environ.get("SYSGI_CMAKE", "cmake")
HERE = os.path.dirname(os.path.abspath(__file__))
WINPY = os.environ.get("SYSGI_WINPY") or os.path.join(
    HERE, "..", "..", ".deps", "winpy", "cpython-3.11-win-amd64")
UPGRADE_CODE = "{2C1D6A0E-7B47-4E0B-9C1F-5A8E3D9B6F41}"
OLD_VERSION = "0.0.1"
TIMEOUT = 180
KEY = r"HKLM\SOFTWARE\sysgi"
EVENTLOG_KEY = r"HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\sysgi"
SERVICE_KEY = r"HKLM\SYSTEM\CurrentControlSet\Services\sysgi"
UNINSTALL_KEY = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall"
NO_PYTHON = r"C:\no\such\python"
OTHER_DIR = r"C:\sysgi-test"

state = {}  # what one test leaves for the next


def winpath(p):
    return "Z:" + os.path.abspath(str(p)).replace("/", "\\")


def version_tuple(v):
    return tuple(int(x) for x in v.split("."))


# ---- msiinfo ----------------------------------------------------------------

def table(msi, name):
    """The rows of a table as dicts (msiinfo export: names, types, key, rows)."""
    out = subprocess.run(["msiinfo", "export", msi, name], check=True,
                         stdout=subprocess.PIPE, timeout=60).stdout
    lines = out.decode("utf-8", "replace").replace("\r", "").split("\n")
    cols = lines[0].split("\t")
    return [dict(zip(cols, line.split("\t"))) for line in lines[3:] if line]


def by(rows, col, value):
    found = [r for r in rows if r[col] == value]
    assert len(found) == 1, (col, value, rows)
    return found[0]


def product_code(msi):
    return by(table(msi, "Property"), "Property", "ProductCode")["Value"]


# ---- the Wine prefix --------------------------------------------------------

class Prefix:
    def __init__(self, env, root, services_log):
        self.env = env
        self.root = root
        self.services_log = services_log

    def run(self, *argv, timeout=TIMEOUT):
        p = subprocess.run(["wine"] + [str(a) for a in argv], env=self.env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        p.out = p.stdout.decode("utf-8", "replace").replace("\r", "")
        p.err = p.stderr.decode("utf-8", "replace").replace("\r", "")
        return p

    def host(self, *parts):
        """The host path of C:\\<parts>."""
        return os.path.join(self.root, "drive_c", *parts)

    install_dir = r"C:\Program Files\sysgi"  # the current install's

    @property
    def exe(self):
        return self.host(*self.install_dir[3:].split("\\"), "sysgi.exe")

    @property
    def ini(self):
        return self.host("ProgramData", "sysgi", "sysgi.ini")

    def sysgi(self, *argv):
        return self.run(self.install_dir + "\\sysgi.exe", *argv)

    def msiexec(self, log, *argv):
        """msiexec ... /qn /l*v LOG: (exit code, log text)."""
        p = self.run("msiexec", *argv, "/qn", "/l*v", winpath(log),
                     timeout=900)
        raw = open(log, "rb").read() if os.path.exists(log) else b""
        if raw[:2] == b"\xff\xfe":
            text = raw.decode("utf-16", "replace")
        else:
            text = raw.decode("utf-8", "replace")
        return p.returncode, text.replace("\r", "")

    def reg_query(self, *argv):
        """`reg query ...`, or None when reg says the key or value does not
        exist. Any other failure (a reg.exe that died under load) is tried
        again, so that it can never pass for "absent"."""
        for _ in range(5):
            p = self.run("reg", "query", *argv)
            if p.returncode == 0:
                return p
            if "Unable to find the specified registry" in p.out + p.err:
                return None
            time.sleep(1)
        raise AssertionError("reg query %s failed: %r %r" % (argv, p.out, p.err))

    def reg_value(self, key, name):
        """The data of a registry value as `reg query` shows it, or None."""
        p = self.reg_query(key, "/v", name)
        if p is None:
            return None
        for line in p.out.splitlines():
            parts = line.strip().split(None, 2)
            if len(parts) >= 2 and parts[0].lower() == name.lower():
                return parts[2] if len(parts) == 3 else ""
        return None

    def reg_key_exists(self, key):
        return self.reg_query(key) is not None

    def sc_state(self):
        p = self.run("sc", "query", "sysgi")
        m = re.search(r"STATE\s*:\s*\d+\s+(\w+)", p.out)
        return m.group(1) if m else None

    def wait_state(self, want, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            seen.append(self.sc_state())
            if seen[-1] == want:
                return
            time.sleep(0.5)
        raise AssertionError("the service never reached %s (seen %s)"
                             % (want, seen[-5:]))

    def events(self):
        with open(self.services_log, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        return re.findall(r"ReportEventW L\"(.*)\"", text)


@pytest.fixture(scope="module")
def prefix():
    if not BUILD or not MSI or not BUILD_ARGS:
        pytest.fail("SYSGI_WIN_BUILD / SYSGI_MSI / SYSGI_MSI_BUILD_ARGS are "
                    "not set: run through ctest")
    if not os.path.isfile(MSI):
        pytest.fail("no MSI at %s (the msi target builds it)" % MSI)
    if not os.path.isfile(os.path.join(WINPY, "python.exe")):
        pytest.fail("no Windows CPython at %s (unpack the winpy fixture, "
                    "see HELPERS.md, or set SYSGI_WINPY)" % WINPY)
    env, root, log = service_prefix("msi", "-all,+eventlog",
                                    "mscoree,mshtml=;winedbg.exe=d")
    yield Prefix(env, root, log)
    end_prefix(env)


@pytest.fixture(scope="module")
def old_msi(tmp_path_factory):
    """The same wxs built as an older version, by the msi target's script."""
    assert version_tuple(OLD_VERSION) < version_tuple(VERSION), VERSION
    out = tmp_path_factory.mktemp("old") / ("sysgi-%s-x64.msi" % OLD_VERSION)
    p = subprocess.run([CMAKE, "-DVERSION=" + OLD_VERSION, "-DOUT=%s" % out]
                       + BUILD_ARGS, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    assert p.returncode == 0, p.stdout.decode("utf-8", "replace")
    assert by(table(str(out), "Property"), "Property",
              "ProductVersion")["Value"] == OLD_VERSION
    return str(out)


def hello_app(d):
    (d / "hello.py").write_text(
        "import sys\n"
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [('hello from the MSI|%s|%d.%d' % (environ['PATH_INFO'],\n"
        "             sys.version_info[0], sys.version_info[1])).encode()]\n")
    return d / "hello.py"


def get(port, path="/", timeout=60):
    return requests.get("http://127.0.0.1:%d%s" % (port, path), timeout=timeout)


def wait_answer(port, path="/", timeout=TIMEOUT):
    """The first answer of a service that may still be starting."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return get(port, path)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


# ---- 1. the tables ----------------------------------------------------------

def test_tables():
    if not MSI or not os.path.isfile(MSI):
        pytest.fail("no MSI (SYSGI_MSI=%r): run through ctest" % MSI)
    assert os.path.basename(MSI) == "sysgi-%s-x64.msi" % VERSION
    tables = set(subprocess.run(["msiinfo", "tables", MSI], check=True,
                                stdout=subprocess.PIPE).stdout.decode().split())
    for t in ("File", "Component", "Registry", "ServiceInstall",
              "ServiceControl", "CustomAction", "Binary", "Upgrade",
              "AppSearch", "RegLocator", "InstallExecuteSequence"):
        assert t in tables, (t, tables)
    suminfo = subprocess.run(["msiinfo", "suminfo", MSI], check=True,
                             stdout=subprocess.PIPE).stdout.decode()
    assert re.search(r"Template:\s*x64;1033", suminfo), suminfo

    props = {r["Property"]: r["Value"] for r in table(MSI, "Property")}
    assert props["UpgradeCode"] == UPGRADE_CODE
    assert props["ProductVersion"] == VERSION
    assert props["ALLUSERS"] == "1"
    secure = props["SecureCustomProperties"].split(";")
    for p in ("LISTEN", "PORT", "PYTHONHOME", "INSTALLDIR", "SERVICEACCOUNT",
              "WIX_UPGRADE_DETECTED"):
        assert p in secure, secure
    assert props["MsiHiddenProperties"] == "SERVICEPASSWORD"

    files = table(MSI, "File")
    exe = by(files, "FileName", "sysgi.exe")
    ini = by(files, "FileName", "sysgi.ini")
    comps = table(MSI, "Component")
    exe_c = by(comps, "Component", exe["Component_"])
    assert exe_c["Directory_"] == "INSTALLDIR"
    assert int(exe_c["Attributes"]) & 256  # 64-bit
    ini_c = by(comps, "Component", ini["Component_"])
    assert ini_c["Directory_"] == "CONFIGDIR"
    # Permanent (16) and NeverOverwrite (128): the INI is the admin's.
    assert int(ini_c["Attributes"]) & (16 | 128) == 16 | 128, ini_c
    dirs = {r["Directory"]: r for r in table(MSI, "Directory")}
    assert dirs["INSTALLDIR"]["Directory_Parent"] == "ProgramFiles64Folder"
    assert dirs["CONFIGDIR"]["Directory_Parent"] == "CommonAppDataFolder"

    regs = table(MSI, "Registry")
    def reg(name):
        return by(regs, "Name", name)
    assert reg("Listen")["Key"] == r"SOFTWARE\sysgi"
    assert reg("Listen")["Value"] == "[LISTEN]" and reg("Listen")["Root"] == "2"
    assert reg("ConfigFile")["Value"] == "[CONFIGDIR]sysgi.ini"
    ph = reg("PythonHome")
    assert ph["Value"] == "[PYTHONHOME]"
    assert by(comps, "Component", ph["Component_"])["Condition"] == "PYTHONHOME"
    ev = reg("EventMessageFile")
    assert ev["Key"] == r"SYSTEM\CurrentControlSet\Services\EventLog\Application\sysgi"
    assert ev["Value"] == "[#%s]" % exe["File"]
    assert reg("TypesSupported")["Value"] == "#7"
    idir = reg("InstallDir")
    assert (idir["Key"], idir["Value"]) == (r"SOFTWARE\sysgi\Installer",
                                            "[INSTALLDIR]")
    searched = {r["Property"] for r in table(MSI, "AppSearch")}
    assert searched == {"LISTEN", "PYTHONHOME", "INSTALLDIR",
                        "SERVICEACCOUNT"}, searched

    svc = by(table(MSI, "ServiceInstall"), "Name", "sysgi")
    assert svc["StartName"] == "[SERVICEACCOUNT]"
    assert svc["Arguments"] == "service"
    assert svc["StartType"] == "2" and svc["ServiceType"] == "16"
    assert svc["Component_"] == exe["Component_"]
    ctl = {r["ServiceControl"]: r for r in table(MSI, "ServiceControl")}
    events = {int(r["Event"]): r["Wait"] for r in ctl.values()}
    # stop at install and uninstall + delete at uninstall, waited for;
    # start at install, not waited for (a wrong PYTHONHOME must not fail it)
    assert events == {2 | 32 | 128: "1", 1: "0"}, ctl

    cas = {r["Action"]: r for r in table(MSI, "CustomAction")}
    for name, entry in (("SysgiConfigure", "SysgiRun"),
                        ("SysgiCheck", "SysgiRunLogOnly"),
                        ("SysgiStop", "SysgiRunLogOnly"),
                        ("SysgiUnreserve", "SysgiRunLogOnly")):
        t = int(cas[name]["Type"])
        assert t & 0x3F == 1 and t & 0x400 and t & 0x800, (name, t)  # DLL, deferred, no impersonate
        assert cas[name]["Source"] == "SysgiCa" and cas[name]["Target"] == entry
    assert not int(cas["SysgiConfigure"]["Type"]) & 0x40   # its failure counts
    assert int(cas["SysgiCheck"]["Type"]) & 0x40          # never fails
    assert cas["SetSysgiConfigure"]["Target"] == \
        '"[#%s]" install --configure-only' % exe["File"]
    assert cas["SetSysgiCheck"]["Target"] == '"[#%s]" check' % exe["File"]
    assert cas["SetSysgiUnreserve"]["Target"] == \
        '"[INSTALLDIR]sysgi.exe" uninstall --urls-only'
    assert cas["SetSysgiStop"]["Target"] == '"[INSTALLDIR]sysgi.exe" stop'
    conds = {r["Action"]: r["Condition"]
             for r in table(MSI, "InstallExecuteSequence")}
    assert conds["SysgiStop"] == "Installed"
    assert conds["SysgiUnreserve"] == 'REMOVE="ALL"'
    assert conds["SysgiConfigure"] == 'NOT REMOVE="ALL"'
    assert "SysgiCa" in {r["Name"] for r in table(MSI, "Binary")}

    seq = {r["Action"]: int(r["Sequence"])
           for r in table(MSI, "InstallExecuteSequence")}
    assert seq["InstallValidate"] < seq["RemoveExistingProducts"] < \
        seq["InstallInitialize"]
    assert seq["InstallServices"] < seq["SysgiConfigure"] < \
        seq["SysgiCheck"] < seq["StartServices"]
    assert seq["InstallInitialize"] < seq["SysgiUnreserve"] < \
        seq["SysgiStop"] < seq["StopServices"]
    assert seq["AppSearch"] < seq["RestoreCmdListen"] < seq["ListenFromPort"] \
        < seq["DefaultListen"] < seq["CostFinalize"]
    upg = table(MSI, "Upgrade")
    assert {r["UpgradeCode"] for r in upg} == {UPGRADE_CODE}
    detect = by(upg, "ActionProperty", "WIX_UPGRADE_DETECTED")
    assert detect["VersionMax"] == VERSION and detect["VersionMin"] == ""


def test_module_joins_the_msi(tmp_path):
    """mod_sysgi and its sample sysgi.conf are in the MSI exactly when the
    module is built (here: this build's state, then a stand-in module)."""
    names = {r["FileName"] for r in table(MSI, "File")}
    has_module = os.environ.get("SYSGI_MSI_MODULE") == "1"
    assert ("mod_sysgi.so" in names) == has_module, names
    assert ("sysgi.conf" in names) == has_module, names
    wxs = [a for a in BUILD_ARGS if a.startswith("-DWXS=")][0][len("-DWXS="):]
    conf = os.path.join(os.path.dirname(wxs), "sysgi-apache.conf")
    assert "LoadModule sysgi_module" in open(conf).read()
    module = tmp_path / "mod_sysgi.so"
    module.write_bytes(b"MZ stand-in")
    out = tmp_path / "with-module.msi"
    p = subprocess.run([CMAKE, "-DVERSION=" + VERSION, "-DOUT=%s" % out,
                        "-DMOD_SYSGI=%s" % module, "-DAPACHE_CONF=" + conf]
                       + BUILD_ARGS, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    assert p.returncode == 0, p.stdout.decode("utf-8", "replace")
    files = table(str(out), "File")
    mod, cfg = by(files, "FileName", "mod_sysgi.so"), by(files, "FileName",
                                                          "sysgi.conf")
    comp = by(table(str(out), "Component"), "Component", mod["Component_"])
    assert comp["Directory_"] == "INSTALLDIR" and cfg["Component_"] == \
        mod["Component_"]
    assert mod["Component_"] in {r["Component_"] for r in
                                 table(str(out), "FeatureComponents")}


# ---- 2. a PYTHONHOME that does not exist ------------------------------------

def test_install_with_a_wrong_pythonhome(prefix, old_msi, tmp_path):
    port = free_port()
    listen = "http://127.0.0.1:%d/" % port
    rc, log = prefix.msiexec(tmp_path / "install.log", "/i", winpath(old_msi),
                             "LISTEN=" + listen, "PYTHONHOME=" + NO_PYTHON)
    assert rc == 0, log[-3000:]
    # The check custom action put the error into the install log.
    assert "sysgi: running" in log and '" check' in log, log[-3000:]
    assert re.search(r"python-home: no such directory: C:\\no\\such\\python",
                     log), log[-3000:]
    assert "(reported only: this does not fail the install)" in log
    assert "reserved %s for NT SERVICE\\sysgi" % listen in log
    assert prefix.reg_value(KEY, "Listen") == listen
    assert prefix.reg_value(KEY, "PythonHome") == NO_PYTHON
    assert os.path.isfile(prefix.exe)
    # The service runs anyway and says 503, the reason in the Event Log.
    prefix.wait_state("RUNNING")
    r = wait_answer(port)
    assert r.status_code == 503, (r.status_code, r.text)
    deadline = time.monotonic() + 60
    while not any("no such directory: C:\\\\no\\\\such\\\\python" in e
                  or "no such directory: C:\\no\\such\\python" in e
                  for e in prefix.events()):
        assert time.monotonic() < deadline, prefix.events()[-10:]
        time.sleep(1)
    state["wrong_home_port"] = port


# ---- 3. uninstall -----------------------------------------------------------

def test_uninstall_removes_the_msis_and_keeps_the_admins(prefix, old_msi,
                                                        tmp_path):
    assert "wrong_home_port" in state, "needs the install of the test before"
    # What an administrator made after the install.
    with open(prefix.ini, "a") as f:
        f.write("\n; edited by the administrator\n")
    edited = open(prefix.ini, "rb").read()
    p = prefix.run("reg", "add", KEY, "/v", "Threads", "/t", "REG_SZ",
                   "/d", "4", "/f")
    assert p.returncode == 0, p.out + p.err
    mine = prefix.host("ProgramData", "sysgi", "mine.txt")
    open(mine, "w").write("the administrator's\n")

    rc, log = prefix.msiexec(tmp_path / "uninstall.log", "/x", winpath(old_msi))
    assert rc == 0, log[-3000:]
    assert "uninstall --urls-only" in log
    assert ("removed the reservation of http://127.0.0.1:%d/"
            % state["wrong_home_port"]) in log, log[-3000:]
    # The service, the files, the keys: gone.
    assert prefix.sc_state() is None
    assert not prefix.reg_key_exists(SERVICE_KEY)
    assert not prefix.reg_key_exists(EVENTLOG_KEY)
    for v in ("Listen", "PythonHome", "ConfigFile"):
        assert prefix.reg_value(KEY, v) is None, v
    assert not os.path.exists(prefix.exe)
    assert not os.path.exists(prefix.host("Program Files", "sysgi"))
    assert not prefix.reg_key_exists(KEY + r"\Installer")
    assert not prefix.reg_key_exists(UNINSTALL_KEY + "\\" + product_code(old_msi))
    with pytest.raises(requests.ConnectionError):
        get(state["wrong_home_port"], timeout=20)
    # The administrator's: kept (the INI is a Permanent component).
    assert prefix.reg_value(KEY, "Threads") == "4"
    assert open(mine).read() == "the administrator's\n"
    assert open(prefix.ini, "rb").read() == edited


# ---- 4. the older version, with Python and an app ---------------------------

def test_install_serves_an_app(prefix, old_msi, tmp_path_factory):
    d = tmp_path_factory.mktemp("site")
    app = hello_app(d)
    port = free_port()
    log_path = d / "install.log"
    rc, log = prefix.msiexec(log_path, "/i", winpath(old_msi),
                             "PORT=%d" % port, "PYTHONHOME=" + winpath(WINPY),
                             "INSTALLDIR=" + OTHER_DIR + "\\")
    assert rc == 0, log[-3000:]
    prefix.install_dir = OTHER_DIR
    assert not os.path.exists(prefix.host("Program Files", "sysgi"))
    assert prefix.reg_value(KEY + r"\Installer", "InstallDir").lower() == \
        OTHER_DIR.lower() + "\\"
    assert "sysgi check: the configuration is valid" in log, log[-3000:]
    assert prefix.reg_value(KEY, "Listen") == "http://+:%d/" % port
    assert prefix.reg_value(KEY, "PythonHome").lower() == winpath(WINPY).lower()
    assert prefix.reg_value(KEY, "ConfigFile").lower() == \
        r"c:\programdata\sysgi\sysgi.ini"
    assert prefix.reg_value(EVENTLOG_KEY, "EventMessageFile").lower() == \
        OTHER_DIR.lower() + r"\sysgi.exe"
    assert os.path.isfile(prefix.exe)
    prefix.wait_state("RUNNING")
    st = prefix.sysgi("status")
    assert st.returncode == 0, st.out + st.err
    assert "state: RUNNING" in st.out and "NT SERVICE\\sysgi" in st.out, st.out
    assert (OTHER_DIR + "\\sysgi.exe").lower() in st.out.lower(), st.out
    # No app yet: Python is up (no 503) but there is nothing to run.
    r = wait_answer(port)
    assert r.status_code != 503, (r.status_code, r.text)
    # The administrator's app, in the installed INI; then a restart.
    with open(prefix.ini, "a") as f:
        f.write("\n[app:/]\nscript = %s\n" % winpath(app))
    state["ini"] = open(prefix.ini, "rb").read()
    for cmd in ("stop", "start"):
        p = prefix.sysgi(cmd)
        assert p.returncode == 0, (cmd, p.out, p.err)
    r = wait_answer(port, "/x")
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.text == "hello from the MSI|/x|3.11", r.text
    state["port"] = port


# ---- 5. the major upgrade ---------------------------------------------------

def test_upgrade_keeps_the_ini_and_the_settings(prefix, old_msi, tmp_path):
    assert "port" in state, "needs the install of the test before"
    port = state["port"]
    old_code, new_code = product_code(old_msi), product_code(MSI)
    assert old_code != new_code
    assert prefix.reg_key_exists(UNINSTALL_KEY + "\\" + old_code)
    rc, log = prefix.msiexec(tmp_path / "upgrade.log", "/i", winpath(MSI))
    assert rc == 0, log[-3000:]
    # The old product went (RemoveExistingProducts), the new one is there.
    assert not prefix.reg_key_exists(UNINSTALL_KEY + "\\" + old_code)
    assert prefix.reg_value(UNINSTALL_KEY + "\\" + new_code,
                            "DisplayVersion") == VERSION
    # Kept: the edited INI byte for byte, the port, the Python, the
    # installation directory, the administrator's registry value, the
    # account.
    assert os.path.isfile(prefix.exe), prefix.exe
    assert not os.path.exists(prefix.host("Program Files", "sysgi"))
    assert open(prefix.ini, "rb").read() == state["ini"]
    assert prefix.reg_value(KEY, "Listen") == "http://+:%d/" % port
    assert prefix.reg_value(KEY, "PythonHome").lower() == winpath(WINPY).lower()
    assert prefix.reg_value(KEY, "Threads") == "4"
    assert "sysgi check: the configuration is valid" in log, log[-3000:]
    prefix.wait_state("RUNNING")
    st = prefix.sysgi("status")
    assert "NT SERVICE\\sysgi" in st.out, st.out
    r = wait_answer(port, "/after-upgrade")
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.text == "hello from the MSI|/after-upgrade|3.11"
    # The older MSI over the newer one: refused, nothing changed.
    rc, log = prefix.msiexec(tmp_path / "downgrade.log", "/i", winpath(old_msi))
    assert rc != 0, log[-3000:]
    # (Wine's msi does not write the launch condition's text to the log.)
    assert re.search(r"WIX_DOWNGRADE_DETECTED = \{", log), log[-3000:]
    assert prefix.reg_key_exists(UNINSTALL_KEY + "\\" + new_code)
    assert not prefix.reg_key_exists(UNINSTALL_KEY + "\\" + old_code)
    prefix.wait_state("RUNNING")
    state["upgraded"] = True


# ---- 6. uninstall of the current version ------------------------------------

def test_uninstall_after_upgrade(prefix, tmp_path):
    assert state.get("upgraded"), "needs the upgrade of the test before"
    rc, log = prefix.msiexec(tmp_path / "uninstall.log", "/x", winpath(MSI))
    assert rc == 0, log[-3000:]
    assert "removed the reservation of http://+:%d/" % state["port"] in log
    assert prefix.sc_state() is None
    assert not prefix.reg_key_exists(SERVICE_KEY)
    assert not prefix.reg_key_exists(EVENTLOG_KEY)
    for v in ("Listen", "PythonHome", "ConfigFile"):
        assert prefix.reg_value(KEY, v) is None, v
    assert not os.path.exists(prefix.host(OTHER_DIR[3:]))
    assert not prefix.reg_key_exists(KEY + r"\Installer")
    assert not prefix.reg_key_exists(UNINSTALL_KEY + "\\" + product_code(MSI))
    with pytest.raises(requests.ConnectionError):
        get(state["port"], timeout=20)
    assert prefix.reg_value(KEY, "Threads") == "4"
    assert open(prefix.ini, "rb").read() == state["ini"]


# ---- 7. no PYTHONHOME at all ------------------------------------------------

def test_install_without_pythonhome(prefix, tmp_path):
    """Without PYTHONHOME (and nothing to remember) the PythonHome value is
    not written at all (an empty one would be a configuration error): the
    service runs and answers 503 until one is set."""
    assert prefix.sc_state() is None, "needs the uninstall of the test before"
    prefix.install_dir = r"C:\Program Files\sysgi"
    port = free_port()
    rc, log = prefix.msiexec(tmp_path / "install.log", "/i", winpath(MSI),
                             "PORT=%d" % port)
    assert rc == 0, log[-3000:]
    assert prefix.reg_value(KEY, "Listen") == "http://+:%d/" % port
    assert prefix.reg_value(KEY, "PythonHome") is None
    assert "sysgi check: the configuration is valid" in log, log[-3000:]
    prefix.wait_state("RUNNING")
    r = wait_answer(port)
    assert r.status_code == 503, (r.status_code, r.text)
    rc, log = prefix.msiexec(tmp_path / "uninstall.log", "/x", winpath(MSI))
    assert rc == 0, log[-3000:]
    assert prefix.sc_state() is None
    assert not os.path.exists(prefix.exe)


# ---- 8. a LISTEN that is no URL prefix --------------------------------------

def test_bad_listen_fails_and_rolls_back(prefix, tmp_path):
    """The service could never serve: the configure step fails, the install
    is rolled back, and the log says why."""
    assert prefix.sc_state() is None, "needs the uninstall of the test before"
    rc, log = prefix.msiexec(tmp_path / "install.log", "/i", winpath(MSI),
                             "LISTEN=http://+:80")
    assert rc != 0, log[-3000:]
    assert re.search(r"registry HKLM\\SOFTWARE\\sysgi\\Listen: .*listen: "
                     r"'http://\+:80' is not an http.sys URL prefix", log), \
        log[-3000:]
    assert "the listen URLs are invalid; the service was not configured" \
        in log, log[-3000:]
    assert "reserved" not in log
    assert "sysgi: the command exited with code 1" in log
    assert prefix.sc_state() is None
    assert not os.path.exists(prefix.exe)
    assert prefix.reg_value(KEY, "Listen") is None
    assert not prefix.reg_key_exists(EVENTLOG_KEY)
    assert not prefix.reg_key_exists(UNINSTALL_KEY + "\\" + product_code(MSI))
