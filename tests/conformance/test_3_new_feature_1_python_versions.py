"""New feature 1 of mod_wsgi 3.4 was "support Python 3.2". For sysgi the
item reads: every CPython from 3.8 on runs the same binary, because the core
and the module use nothing outside the Stable ABI of 3.8."""
import glob
import os
import re
import subprocess
import tomllib

import pytest

from conformance_support import MOD_WSGI, REPO

STABLE_ABI_TOML = os.path.join(REPO, ".deps", "python-src", "Misc", "stable_abi.toml")
LIMIT = (3, 8)


# The one exception, and why it is safe: PyInterpreterState_Get (needed to
# give a worker thread its own state in a sub-interpreter; nothing in the
# 3.8 Stable ABI returns an interpreter pointer) joined the Stable ABI in
# 3.9. CPython 3.8 exports the same function as _PyInterpreterState_Get,
# and sysgi.exe's run-time loader resolves that name on a 3.8 home
# (core/win/python_loader.c, tested in tests/wine/test_loader.py). Each
# entry must be a 3.9 Stable-ABI name that the loader maps to its 3.8 name.
RENAMED_AFTER_3_8 = {"PyInterpreterState_Get": "_PyInterpreterState_Get"}
LOADER_SOURCE = os.path.join(REPO, "core", "win", "python_loader.c")


def _version(text):
    return tuple(int(x) for x in text.split("."))


def stable_abi(limit=LIMIT, toml_path=STABLE_ABI_TOML):
    """Names of the functions and data of the Stable ABI added up to `limit`
    (abi_only items included: public macros of the Limited API call them)."""
    with open(toml_path, "rb") as f:
        items = tomllib.load(f)
    return {name for kind in ("function", "data")
            for name, info in items[kind].items() if _version(info["added"]) <= limit}


def undefined_python_symbols(path):
    """The Py*/_Py* symbols a shared object or static library imports."""
    args = ["nm", "-u"] if path.endswith(".a") else ["nm", "-D", "--undefined-only"]
    out = subprocess.run(args + [path], capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-2] in ("U", "w", "v"):
            name = parts[-1].split("@")[0]
            if re.match(r"_?Py", name):
                names.add(name)
    return names


def abi_violations(symbols, allowed):
    return sorted(s for s in symbols if s not in allowed)


def _compile_flags(build_dir):
    """Every CMake flags file (Makefiles or Ninja) of the core's build."""
    texts = []
    for pattern in ("core/**/flags.make", "apache-win/**/flags.make", "build.ninja"):
        for p in glob.glob(os.path.join(build_dir, pattern), recursive=True):
            with open(p, errors="replace") as f:
                texts.append(f.read())
    return "\n".join(texts)


def test_new_feature_1_python_3_8_and_later_from_one_binary(build_dir, reference):
    """mod_sysgi.so and the core static library import only functions and
    data of the 3.8 Stable ABI (checked against CPython's stable_abi.toml),
    plus the names in RENAMED_AFTER_3_8 that the Windows loader maps to
    their 3.8 names; the checker itself is shown to flag 3.9+ and private
    names."""
    assert os.path.exists(STABLE_ABI_TOML), "run tools/install-deps.sh (CPython source missing)"
    allowed = stable_abi()
    with open(STABLE_ABI_TOML, "rb") as f:
        items = tomllib.load(f)
    with open(LOADER_SOURCE) as f:
        loader = f.read()
    for name, old in RENAMED_AFTER_3_8.items():
        assert items["function"][name]["added"] == "3.9", name
        assert '"%s"' % name in loader and '"%s"' % old in loader, \
            "the Windows loader does not map %s to its 3.8 name %s" % (name, old)
    strict = set(allowed)
    allowed = allowed | set(RENAMED_AFTER_3_8)
    # The checker can fail: a 3.2 function passes, a 3.9 one and a private
    # one do not, and neither does the real mod_wsgi (built against the full
    # API of one Python version).
    assert "PyCFunction_NewEx" in allowed and "Py_NewInterpreter" in allowed
    assert abi_violations({"PyCFunction_NewEx", "Py_Initialize", "_Py_Dealloc",
                           "_Py_NoneStruct"}, allowed) == []
    assert abi_violations({"PyCMethod_New", "PyCFunction_NewEx"}, allowed) == ["PyCMethod_New"]
    assert abi_violations({"_PyObject_GC_Malloc"}, allowed) == ["_PyObject_GC_Malloc"]
    assert "PyType_GetModule" not in stable_abi((3, 8)) and "PyType_GetModule" in stable_abi((3, 10))
    assert abi_violations({"PyInterpreterState_Get"}, strict) == ["PyInterpreterState_Get"]
    assert abi_violations({"PyThreadState_GetInterpreter"}, allowed) == ["PyThreadState_GetInterpreter"]
    if os.path.exists(MOD_WSGI):
        assert abi_violations(undefined_python_symbols(MOD_WSGI), allowed), \
            "the checker found nothing wrong with mod_wsgi, which is not a Stable-ABI module"
    if reference:
        pytest.skip("the Stable-ABI requirement is sysgi's own: nothing to check in mod_wsgi")

    module = os.path.join(build_dir, "apache-win", "mod_sysgi.so")
    libs = [p for p in glob.glob(os.path.join(build_dir, "core", "**", "*.a"), recursive=True)]
    assert os.path.exists(module), module
    core_lib = [p for p in libs if os.path.basename(p) == "libsysgi_core.a"]
    assert core_lib, "no libsysgi_core.a under %s/core" % build_dir
    for path in [module] + libs:
        symbols = undefined_python_symbols(path)
        if os.path.basename(path) == "libsysgi_config.a":
            # The configuration model is pure C: it must not need Python.
            assert not symbols, "%s must not use Python: %s" % (path, sorted(symbols))
            continue
        # The other core libraries (sysgi_pyvenv) need no Python at all.
        if path in [module] + core_lib:
            assert symbols, "%s imports no Python symbol at all: wrong file?" % path
        bad = abi_violations(symbols, allowed)
        assert bad == [], "%s uses names outside the 3.8 Stable ABI: %s" % (path, bad)

    flags = _compile_flags(build_dir)
    assert re.search(r"-DPy_LIMITED_API=(0x03080000|50855936)\b", flags), \
        "the core is not compiled with Py_LIMITED_API=0x03080000"
    assert "-Werror" in flags
