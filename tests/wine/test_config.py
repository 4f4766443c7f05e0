"""The configuration model's C tests as a Windows program under Wine: the
same tests as natively (tests/config), with the Windows platform file
(UTF-16 paths through GetFileAttributesW, ';' path lists, drive paths)."""
import os
import subprocess

EXE = os.environ.get("SYSGI_CONFIG_TESTS", "")


def test_config_tests_under_wine(wine, tmp_path):
    assert EXE and os.path.exists(EXE), "SYSGI_CONFIG_TESTS is not set: run through ctest"
    listed = subprocess.run(["wine", EXE, "--list"], env=wine, capture_output=True,
                            text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr
    names = listed.stdout.split()
    assert len(names) >= 20
    env = dict(wine)
    # A Windows path for the scratch directory: Z: is Wine's view of /.
    env["SYSGI_CONFIG_TEST_DIR"] = "Z:" + str(tmp_path).replace("/", "\\")
    r = subprocess.run(["wine", EXE, "all"], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    passed = [l.split()[1] for l in r.stdout.splitlines() if l.startswith("ok ")]
    assert passed == names, r.stdout
