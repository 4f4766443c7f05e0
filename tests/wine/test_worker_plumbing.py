"""The worker-process plumbing of service/ (job.c, spawn.c, worker_env.c)
under Wine, through tests/wine/worker_plumbing.c, which prints one
"ok NAME" / "not ok NAME: why" line per check: Job Object limits and their
read-back, kill-on-close, the handle list of a spawn, the output pipe into
the log, memory sampling, the restricted token, and a process group's
lang/locale/dont-write-bytecode/home/cpu-priority as the real Windows
CPython (.deps/winpy or SYSGI_WINPY) sees them in a child of the worker.
Every check must be printed: a check that did not run fails here."""
import os
import re
import subprocess

import pytest

from conftest import unix_path, wine_path

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROGRAM = os.environ.get("SYSGI_WORKER_PLUMBING", "")

CHECKS = [
    "job_create", "job_no_limits",
    "spawn_handle_list", "child_has_listed_handle", "child_lacks_unlisted_handle",
    "handle_args", "spawn_missing_exe", "spawn_bad_handle",
    "spawn_into_job", "child_in_job", "child_alive_before_close", "kill_on_close",
    "memory_sampled", "memory_private_grows", "memory_working_set_grows",
    "memory_bad_handle", "job_terminate",
    "drain_logs_child_output",
    "token_restricted", "token_own_unchanged", "token_child_restricted",
    "priority_map", "env_no_model", "env_unknown_group",
    "env_unknown_locale_warns", "env_apply", "env_crt_locale",
    "env_home_is_cwd", "env_own_priority",
    "python_lang", "python_lc_all", "python_dont_write_bytecode",
    "python_cwd", "python_priority",
    "env_inherits_server_bytecode", "env_priority_back_to_normal",
]


def winpy_exe():
    home = os.environ.get("SYSGI_WINPY") or os.path.join(
        REPO, ".deps", "winpy", "cpython-3.11-win-amd64")
    exe = os.path.join(home, "python.exe")
    if not os.path.isfile(exe):
        pytest.fail("no Windows CPython at %s: unpack "
                    "../shared/winpy/cpython-3.11-win-amd64.tar.xz there "
                    "(HELPERS.md) or set SYSGI_WINPY" % home)
    return exe


@pytest.fixture(scope="module")
def run(wine, tmp_path_factory):
    assert PROGRAM and os.path.isfile(PROGRAM), \
        "SYSGI_WORKER_PLUMBING is not set: run through ctest"
    home = tmp_path_factory.mktemp("home")
    env = dict(wine)
    env["WINEDLLOVERRIDES"] = "mscoree,mshtml=;winedbg.exe=d"
    for name in ("LANG", "LC_ALL", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)  # the program clears them too
    # stdout and stderr on pipes: the program starts a Windows CPython.
    r = subprocess.run(["wine", PROGRAM, "run", wine_path(winpy_exe()),
                        wine_path(str(home))], env=env, timeout=400,
                       stdin=subprocess.DEVNULL, capture_output=True)
    out = r.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
    err = r.stderr.decode("utf-8", "replace").replace("\r\n", "\n")
    return r.returncode, out, err


def results(out):
    res = {}
    for line in out.splitlines():
        m = re.match(r"^(not ok|ok) ([a-z_]+)(?::\s*(.*))?$", line)
        if m:
            res[m.group(2)] = (m.group(1) == "ok", m.group(3) or "")
    return res


@pytest.mark.parametrize("name", CHECKS)
def test_check(run, name):
    rc, out, err = run
    res = results(out)
    assert name in res, "check %s did not run; output:\n%s\nstderr:\n%s" % (
        name, out, err[-4000:])
    ok, why = res[name]
    assert ok, "%s: %s\nstderr:\n%s" % (name, why, err[-4000:])


def test_job_limits_read_back(run):
    # On Windows the exact limits; under Wine 8 its zeroed read-back (it
    # stores and enforces kill-on-close but reports nothing): one of the two.
    rc, out, err = run
    res = results(out)
    names = {"job_limits_read_back", "job_limits_read_back_wine_zeros"} & set(res)
    assert len(names) == 1, out
    ok, why = res[names.pop()]
    assert ok, why


def test_every_check_is_known_and_passed(run):
    rc, out, err = run
    res = results(out)
    unknown = set(res) - set(CHECKS) - {"job_limits_read_back",
                                        "job_limits_read_back_wine_zeros"}
    assert not unknown, "checks this module does not list: %s" % sorted(unknown)
    assert rc == 0, "exit code %d (failures); output:\n%s" % (rc, out)
    assert "# 0 failure(s)" in out, out


def test_log_lines_name_the_cause(run):
    rc, out, err = run
    assert "cannot start a missing program: CreateProcessW failed (error " in err, err
    assert ("cannot start process: SetHandleInformation (a handle to inherit) "
            "failed") in err, err
    assert "locale 'xx_QQ.bogus' is not known to the C runtime" in err, err


# ---- the worker's start-up with the real Windows CPython (worker_python.c) --

APP = r'''
import locale, os, sys
import venvonly, libmod
print("W venvonly=" + venvonly.NAME)
print("W libmod=" + libmod.WHERE)
print("W LANG=" + os.environ.get("LANG", "-"))
print("W LC_ALL=" + os.environ.get("LC_ALL", "-"))
print("W PYTHONDONTWRITEBYTECODE=" + os.environ.get("PYTHONDONTWRITEBYTECODE", "-"))
print("W dont_write_bytecode=%s" % sys.dont_write_bytecode)
print("W cwd=" + os.getcwd())
print("W pycache=%s" % os.path.exists(os.path.join(
    os.path.dirname(venvonly.__file__), "__pycache__")))
print("W locale=%s" % locale.setlocale(locale.LC_ALL))
print("W base_prefix=" + sys.base_prefix)
print("W site=%s" % ";".join(p for p in sys.path if "site-packages" in p))
def application(environ, start_response):
    start_response("200 OK", [])
    return [b""]
'''


@pytest.fixture(scope="module")
def started(wine, tmp_path_factory):
    program = os.environ.get("SYSGI_WORKER_PYTHON", "")
    assert program and os.path.isfile(program), \
        "SYSGI_WORKER_PYTHON is not set: run through ctest"
    root = tmp_path_factory.mktemp("group")
    env = dict(wine)
    env["WINEDLLOVERRIDES"] = "mscoree,mshtml=;winedbg.exe=d"
    for name in ("LANG", "LC_ALL", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    venv = root / "venv"
    r = subprocess.run(["wine", wine_path(winpy_exe()), "-m", "venv",
                        "--without-pip", wine_path(str(venv))], env=env,
                       timeout=300, stdin=subprocess.DEVNULL,
                       capture_output=True)
    assert (venv / "pyvenv.cfg").is_file(), r
    site = venv / "Lib" / "site-packages"
    (site / "venvonly.py").write_text('NAME = "venv-only 1.0"\n')
    home = root / "home"
    (home / "lib").mkdir(parents=True)
    (home / "lib" / "libmod.py").write_text('WHERE = "group python-path"\n')
    (home / "app.py").write_text(APP)
    r = subprocess.run(["wine", program, wine_path(str(venv)),
                        wine_path(str(home)), wine_path(str(home / "app.py"))],
                       env=env, timeout=300, stdin=subprocess.DEVNULL,
                       capture_output=True)
    err = r.stderr.decode("utf-8", "replace").replace("\r\n", "\n")
    seen = {}
    for line in err.splitlines():
        m = re.match(r"^\[\d\] W ([a-z_A-Z]+)=(.*)$", line)
        if m:
            seen[m.group(1)] = m.group(2)
    return {"rc": r.returncode, "err": err, "seen": seen, "venv": venv,
            "home": home, "site": site}


def test_worker_python_starts_from_the_groups_venv(started):
    s, err = started["seen"], started["err"]
    assert started["rc"] == 0, err
    assert s.get("venvonly") == "venv-only 1.0", err
    assert os.path.realpath(unix_path(s.get("base_prefix", ""))) == \
        os.path.realpath(os.path.dirname(winpy_exe())), err
    assert wine_path(str(started["site"])).lower() in s.get("site", "").lower(), err


def test_worker_python_has_the_groups_python_path(started):
    assert started["seen"].get("libmod") == "group python-path", started["err"]


def test_worker_python_lang_and_locale(started):
    s, err = started["seen"], started["err"]
    assert s.get("LANG") == "fr_FR.UTF-8", err
    assert s.get("LC_ALL") == "fr_FR.UTF-8", err
    # The whole C runtime locale, LC_CTYPE included (set again after
    # Python's start-up reset it to the user default).
    assert s.get("locale") == "French_France.1252", err


def test_worker_python_dont_write_bytecode(started):
    s, err = started["seen"], started["err"]
    assert s.get("PYTHONDONTWRITEBYTECODE") == "1", err
    assert s.get("dont_write_bytecode") == "True", err
    assert s.get("pycache") == "False", err
    assert not (started["site"] / "__pycache__").exists()
    assert not (started["home"] / "lib" / "__pycache__").exists()


def test_worker_python_home_is_cwd(started):
    assert started["seen"].get("cwd", "").lower() == wine_path(
        str(started["home"])).lower(), started["err"]
