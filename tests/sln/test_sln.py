"""wsgi.sln (Visual Studio) stays in sync with the CMake build.

The solution wraps CMake (tools/gen_sln.py): one Makefile project per
CMake target that ships or that a front end links, each building exactly
that target. These tests fail when a target is added, renamed or removed
in CMake without regenerating the solution, or when a project names a
target the build does not have.

SYSGI_SLN_BUILD: a configured CMake build directory; its real target list
(`cmake --build DIR --target help`) is compared too. SYSGI_SLN_ALL=1 when
that build has every product target (the Windows build with APACHE_ROOT):
then every project must exist there as well.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools"))

import gen_sln  # noqa: E402

# What Windows users build; the list of the issue. sysgi_config (the
# configuration model) joins it once its library exists in CMake.
MUST_HAVE = {"sysgi", "mod_sysgi", "sysgi_core", "sysgi_httpsys", "sysgi_pyload"}


def sln_projects():
    with open(os.path.join(REPO, "wsgi.sln"), newline="") as f:
        text = f.read()
    assert text.startswith("\r\nMicrosoft Visual Studio Solution File, Format Version 12.00\r\n")
    return dict(re.findall(r'^Project\("\{[0-9A-F-]+\}"\) = "([^"]+)", "([^"]+)"',
                           text, re.M))


def project_target(vcxproj):
    with open(os.path.join(REPO, vcxproj.replace("\\", "/"))) as f:
        text = f.read()
    cmd = re.search(r"<NMakeBuildCommandLine>(.*)</NMakeBuildCommandLine>", text)
    assert cmd, vcxproj
    m = re.search(r"--target (\S+)$", cmd.group(1))
    return m.group(1) if m else None


def test_solution_is_generated_from_current_cmake():
    r = subprocess.run([sys.executable, os.path.join(REPO, "tools", "gen_sln.py"),
                        "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_product_target_has_a_project_building_it():
    targets = gen_sln.product_targets()
    assert MUST_HAVE <= set(targets), sorted(MUST_HAVE - set(targets))
    if "sysgi_config" in targets or os.path.exists(
            os.path.join(REPO, "core", "include", "sysgi_config.h")):
        assert "sysgi_config" in targets
    projects = sln_projects()
    built = {}
    for name, path in projects.items():
        if name == "configure":
            assert project_target(path) is None
            continue
        built[name] = project_target(path)
        assert built[name] == name, (name, built[name])
    assert set(built) == set(targets), (
        "in CMake only: %s; in wsgi.sln only: %s"
        % (sorted(set(targets) - set(built)), sorted(set(built) - set(targets))))


def build_targets():
    build = os.environ.get("SYSGI_SLN_BUILD")
    assert build, "SYSGI_SLN_BUILD is not set: run this through ctest"
    out = subprocess.run(["cmake", "--build", build, "--target", "help"],
                         capture_output=True, text=True, check=True).stdout
    return {m.group(1) for m in re.finditer(r"^\.\.\. (\S+)", out, re.M)}


def test_projects_match_the_configured_build():
    real = build_targets()
    products = set(gen_sln.product_targets())
    projects = set(sln_projects()) - {"configure"}
    # Every product target this build has is in the solution ...
    assert (real & products) <= projects
    assert real & products, "no product target in this build: %s" % sorted(real)
    # ... and, in a build of everything, every project is a real target.
    if os.environ.get("SYSGI_SLN_ALL") == "1":
        assert projects <= real, sorted(projects - real)
