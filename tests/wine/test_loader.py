"""core/win/python_loader.c with stand-in Python DLLs under Wine: both
python-home layouts (python.org: python3.dll forwarding to python3XY.dll;
python3XY.dll alone), functions and data symbols through the __imp_ table,
and DLLs found in the home only (not next to the exe, not on the PATH)."""
import os
import shutil
import subprocess

import pytest

LOADER = os.environ.get("SYSGI_LOADER_TEST", "")
REAL = os.environ.get("SYSGI_FAKEPY_REAL", "")
FWD = os.environ.get("SYSGI_FAKEPY_FWD", "")
FWD38 = os.environ.get("SYSGI_FAKEPY_FWD38", "")
REAL38 = os.environ.get("SYSGI_FAKEPY_REAL38", "")


def winpath(p):
    return "Z:" + str(p).replace("/", "\\")


def run(wine, tmp_path, home, *mode):
    # The exe runs from its own directory with no Python DLL next to it.
    exe_dir = tmp_path / "bin"
    exe_dir.mkdir(exist_ok=True)
    exe = exe_dir / "loader_test.exe"
    shutil.copy(LOADER, exe)
    arg = home if home == "-" else winpath(home)
    r = subprocess.run(["wine", str(exe), arg] + list(mode), env=wine,
                       capture_output=True, timeout=120, cwd=str(tmp_path))
    return r.returncode, r.stdout.decode("utf-8", "replace").replace("\r", "")


def test_python_org_layout_forwarders(wine, tmp_path):
    home = tmp_path / "Python399"
    home.mkdir()
    shutil.copy(FWD, home / "python3.dll")
    shutil.copy(REAL, home / "python399.dll")
    rc, out = run(wine, tmp_path, home)
    assert rc == 0, out
    assert "loaded " + winpath(home) + "\\python3.dll" in out
    for what in ("ok function 3.99.0", "ok data pointer type-error",
                 "ok data object none-object"):
        assert what in out, out


def test_versioned_dll_only(wine, tmp_path):
    home = tmp_path / "embed"
    home.mkdir()
    shutil.copy(REAL, home / "python399.dll")
    rc, out = run(wine, tmp_path, home)
    assert rc == 0, out
    assert "loaded " + winpath(home) + "\\python399.dll" in out
    assert "ok data object none-object" in out


def test_forwarder_without_its_target_is_one_clear_error(wine, tmp_path):
    home = tmp_path / "broken"
    home.mkdir()
    shutil.copy(FWD, home / "python3.dll")  # python399.dll missing
    rc, out = run(wine, tmp_path, home)
    assert rc == 1, out
    line = [l for l in out.splitlines() if l.startswith("error ")]
    assert len(line) == 1, out
    assert winpath(home) + "\\python3.dll" in line[0]
    assert "lacks 4 of the 4" in line[0], line[0]
    assert "no python3XY.dll next to it" in line[0], line[0]


def test_venv_home_uses_pyvenv_cfg_base(wine, tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    shutil.copy(FWD, base / "python3.dll")
    shutil.copy(REAL, base / "python399.dll")
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = %s\ninclude-system-site-packages"
                                     " = false\n" % winpath(base))
    rc, out = run(wine, tmp_path, venv)
    assert rc == 0, out
    assert "loaded " + winpath(base) + "\\python3.dll" in out


def test_python38_home_interpreter_get_under_its_38_name(wine, tmp_path):
    # Python 3.8's python3.dll lacks PyInterpreterState_Get (Stable ABI from
    # 3.9) and python38.dll exports it as _PyInterpreterState_Get.
    home = tmp_path / "Python38"
    home.mkdir()
    shutil.copy(FWD38, home / "python3.dll")
    shutil.copy(REAL38, home / "python399.dll")
    rc, out = run(wine, tmp_path, home)
    assert rc == 0, out
    assert "loaded " + winpath(home) + "\\python3.dll" in out
    for what in ("ok function 3.99.0", "ok data object none-object",
                 "ok function interpreter"):
        assert what in out, out


# ---- as mod_sysgi calls it (sysgi_python_load_utf8 with Apache's words) ----

def test_apache_words_and_utf8_home(wine, tmp_path):
    home = tmp_path / "Pythön399"      # a non-ASCII home, passed as UTF-8
    home.mkdir()
    shutil.copy(FWD, home / "python3.dll")
    shutil.copy(REAL, home / "python399.dll")
    rc, out = run(wine, tmp_path, home, "apache")
    assert rc == 0, out
    assert "loaded " + winpath(home) + "\\python3.dll" in out
    assert "ok data object none-object" in out

    rc, out = run(wine, tmp_path, tmp_path / "nope", "apache")
    assert rc == 1
    assert "cannot load Python from WSGIPythonHome " + winpath(tmp_path / "nope") \
        + ": no such directory" in out, out
    assert "python-home" not in out

    rc, out = run(wine, tmp_path, "-", "apache")
    assert rc == 1 and "no WSGIPythonHome (set WSGIPythonHome)" in out, out

    x86 = tmp_path / "Python399-32"
    x86.mkdir()
    data = bytearray(open(REAL, "rb").read())
    pe = int.from_bytes(data[0x3c:0x40], "little")
    data[pe + 4:pe + 6] = (0x014c).to_bytes(2, "little")   # IMAGE_FILE_MACHINE_I386
    (x86 / "python399.dll").write_bytes(bytes(data))
    rc, out = run(wine, tmp_path, x86, "apache")
    assert rc == 1
    assert "32-bit (x86) DLL: mod_sysgi is 64-bit" in out, out
