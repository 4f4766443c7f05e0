"""`sysgi.exe serve` under Wine, without a usable Python (Wine has no
Windows CPython): one clear message naming the path tried and the reason,
and a server that stays up answering 503 instead of crashing. Usage errors
exit with 2."""
import os
import shutil
import subprocess
import struct

import pytest
import requests

from conftest import WineProcess, free_port

SYSGI = os.environ.get("SYSGI_EXE", "")
FAKE_PY = os.environ.get("SYSGI_FAKE_PYTHON", "")
TIMEOUT = 60


def winpath(p):
    return "Z:" + str(p).replace("/", "\\")


@pytest.fixture
def app(tmp_path):
    script = tmp_path / "app.py"
    script.write_text("def application(environ, start_response):\n"
                      "    start_response('200 OK', [])\n"
                      "    return [b'hi']\n")
    return script


def serve(wine, tmp_path, app, home, env_home=None):
    port = free_port()
    argv = [SYSGI, "serve", winpath(app), "--port", str(port)]
    if home is not None:
        argv += ["--python-home", home]
    extra = {"PYTHONHOME": env_home} if env_home else {}
    p = WineProcess(wine, argv, str(tmp_path / "serve.log"), extra)
    try:
        p.wait_line("sysgi: serving")
    except Exception:
        p.stop()
        raise
    return p, "http://127.0.0.1:%d" % port


def check_503(wine, tmp_path, app, home, expected, env_home=None):
    p, base = serve(wine, tmp_path, app, home, env_home)
    try:
        for path in ("/", "/x?y=1"):
            r = requests.get(base + path, timeout=TIMEOUT)
            assert r.status_code == 503
        r = requests.post(base + "/p", data=b"x" * 1000, timeout=TIMEOUT)
        assert r.status_code == 503
        assert p.proc.poll() is None, "the server must keep running"
        err = p.stderr()
        lines = [l for l in err.splitlines() if "cannot load Python" in l]
        assert len(lines) == 1, err  # ONE message ...
        for part in expected:       # ... naming the path and the reason
            assert part in lines[0], lines[0]
        assert "answering 503" in lines[0]
    finally:
        p.stop()


@pytest.fixture(autouse=True)
def no_pythonhome(monkeypatch):
    monkeypatch.delenv("PYTHONHOME", raising=False)


def test_missing_python_home_is_a_usage_error(wine, tmp_path, app):
    # A python-home must exist (the configuration model checks paths); a
    # home that exists but holds no usable Python gives a 503 (below).
    home = winpath(tmp_path / "no-such-python")
    r = run_sysgi(wine, ["serve", winpath(app), "--python-home", home])
    assert r.returncode == 2, r
    assert ("--python-home: no such directory: " + home).encode() in r.stderr


def test_no_python_home_at_all(wine, tmp_path, app):
    check_503(wine, tmp_path, app, None,
              ["no python-home", "--python-home", "PYTHONHOME"])


def test_pythonhome_variable_is_the_default(wine, tmp_path, app):
    home = winpath(tmp_path / "from-env")
    check_503(wine, tmp_path, app, None, [home, "no such directory"],
              env_home=home)


def test_empty_home(wine, tmp_path, app):
    d = tmp_path / "empty"
    d.mkdir()
    check_503(wine, tmp_path, app, winpath(d),
              [winpath(d), "neither python3.dll nor python3XY.dll"])


def test_garbage_python3_dll(wine, tmp_path, app):
    d = tmp_path / "garbage"
    d.mkdir()
    (d / "python3.dll").write_bytes(b"this is not a DLL\n" * 100)
    check_503(wine, tmp_path, app, winpath(d),
              [winpath(d) + "\\python3.dll", "not a Windows DLL"])


def make_32bit(src, dst):
    """A copy of a DLL whose PE header says i386 (machine 0x014c)."""
    data = bytearray(open(src, "rb").read())
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    assert data[pe:pe + 4] == b"PE\0\0"
    struct.pack_into("<H", data, pe + 4, 0x014C)
    open(dst, "wb").write(bytes(data))


def test_32bit_python_dll(wine, tmp_path, app):
    d = tmp_path / "py32"
    d.mkdir()
    make_32bit(FAKE_PY, d / "python3.dll")
    check_503(wine, tmp_path, app, winpath(d),
              [winpath(d) + "\\python3.dll", "32-bit", "64-bit"])


def test_dll_lacking_python_symbols(wine, tmp_path, app):
    d = tmp_path / "nopy"
    d.mkdir()
    shutil.copy(FAKE_PY, d / "python3.dll")
    check_503(wine, tmp_path, app, winpath(d),
              [winpath(d) + "\\python3.dll", "lacks",
               "no python3XY.dll next to it"])


def test_versioned_dll_only_layout_is_found(wine, tmp_path, app):
    # A home with only python3XY.dll (no python3.dll) is searched too.
    d = tmp_path / "versioned"
    d.mkdir()
    shutil.copy(FAKE_PY, d / "python312.dll")
    check_503(wine, tmp_path, app, winpath(d),
              [winpath(d) + "\\python312.dll", "lacks",
               "older than sysgi supports"])


def test_several_versioned_dlls_are_refused(wine, tmp_path, app):
    d = tmp_path / "two"
    d.mkdir()
    shutil.copy(FAKE_PY, d / "python311.dll")
    shutil.copy(FAKE_PY, d / "python312.dll")
    check_503(wine, tmp_path, app, winpath(d),
              ["several Python DLLs", "python311.dll", "python312.dll"])


def run_sysgi(wine, args):
    return subprocess.run(["wine", SYSGI] + args, env=wine, timeout=120,
                          capture_output=True)


@pytest.mark.parametrize("args", [
    [],
    ["serve"],
    ["serve", "app.py", "--port"],
    ["serve", "APP", "--port", "abc"],
    ["serve", "APP", "--port", "70000"],
    ["serve", "APP", "--threads", "0"],
    ["serve", "APP", "--bogus"],
    ["serve", "APP", "--mount", "noslash"],
    ["serve", "Z:\\no\\such\\script.py"],
    ["frobnicate"],
])
def test_usage_errors_exit_2(wine, app, args):
    args = [winpath(app) if a == "APP" else a for a in args]
    r = run_sysgi(wine, args)
    assert r.returncode == 2, r
    assert b"usage" in r.stderr or b"sysgi --help" in r.stderr, r.stderr


def test_help_and_version(wine):
    r = run_sysgi(wine, ["--help"])
    assert r.returncode == 0 and b"sysgi serve APP.py" in r.stdout
    r = run_sysgi(wine, ["--version"])
    assert r.returncode == 0 and r.stdout.startswith(b"sysgi 0.")


def test_ctrl_c_stops_serve(wine, tmp_path, app):
    import signal
    (tmp_path / "nohome").mkdir()
    p, base = serve(wine, tmp_path, app, winpath(tmp_path / "nohome"))
    try:
        assert requests.get(base + "/", timeout=TIMEOUT).status_code == 503
        p.proc.send_signal(signal.SIGINT)
        p.wait_line("sysgi: stopped", timeout=TIMEOUT)
        assert p.proc.wait(timeout=TIMEOUT) == 0
    finally:
        p.stop()


def test_port_in_use_is_a_clear_error(wine, tmp_path, app):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run_sysgi(wine, ["serve", winpath(app), "--port", str(port),
                             "--python-home", winpath(tmp_path)])
    assert r.returncode == 1, r
    err = r.stderr.decode("utf-8", "replace")
    assert "registering URL http://127.0.0.1:%d/ failed" % port in err, err
    assert "another program has registered this URL or port" in err, err
