"""`sysgi check` under Wine: the INI file, the registry key
HKLM\\SOFTWARE\\sysgi over it (written with Wine's reg.exe), the source of
every value, every error with FILE:LINE (or the registry value) and the key,
and the exit codes (0 valid, 1 invalid, 2 usage). Also the usage errors of
`sysgi serve`'s generic --KEY flags, which go through the same model.
Nothing here starts Python."""
import os
import re
import subprocess

import pytest

SYSGI = os.environ.get("SYSGI_EXE", "")
REG_KEY = r"HKLM\SOFTWARE\sysgi"


def winpath(p):
    return "Z:" + str(p).replace("/", "\\")


def run(wine, args, extra_env=None):
    env = dict(wine)
    env.update(extra_env or {})
    r = subprocess.run(["wine", SYSGI] + args, env=env, timeout=120,
                       capture_output=True)
    text = [b.decode("utf-8", "replace").replace("\r\n", "\n")
            for b in (r.stdout, r.stderr)]
    return r.returncode, text[0], text[1]


def reg(wine, *args):
    r = subprocess.run(["wine", "reg"] + list(args), env=wine, timeout=120,
                       capture_output=True)
    return r.returncode


def reg_clear(wine):
    reg(wine, "delete", REG_KEY, "/f")  # absent: fails, which is fine
    assert reg(wine, "query", REG_KEY) != 0, "cannot clear " + REG_KEY


def reg_set(wine, name, typ, data):
    assert reg(wine, "add", REG_KEY, "/v", name, "/t", typ, "/d", data,
               "/f") == 0, (name, typ, data)


@pytest.fixture(scope="module")
def site(wine, tmp_path_factory):
    """A clean registry key, two scripts and two directories."""
    # One wineserver for the whole module (the session's fixture ends it):
    # without -p it exits between the many short commands here and each
    # one pays for its start again.
    # The first command starts Wine's long-lived helpers (services.exe,
    # ...), which inherit its standard handles: give it /dev/null, not the
    # pipes of a captured command, or that command never sees EOF.
    subprocess.run(["wineserver", "-p"], env=wine, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["wine", "reg", "query", REG_KEY], env=wine, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reg_clear(wine)
    d = tmp_path_factory.mktemp("site")
    for name in ("root", "api"):
        (d / (name + ".py")).write_text(
            "def application(environ, start_response):\n"
            "    start_response('200 OK', [])\n    return [b'x']\n")
    (d / "homeA").mkdir()
    (d / "homeB").mkdir()
    yield {"dir": d, "root": winpath(d / "root.py"),
           "api": winpath(d / "api.py"), "homeA": winpath(d / "homeA"),
           "homeB": winpath(d / "homeB"), "wdir": winpath(d)}
    reg_clear(wine)


@pytest.fixture
def clean_registry(wine):
    reg_clear(wine)
    yield
    reg_clear(wine)


def write_ini(site, name, text, encoding="utf-8"):
    p = site["dir"] / name
    p.write_bytes(text.format(**site).encode(encoding))
    return p


def check(wine, ini, extra_env=None):
    return run(wine, ["check", "--config", winpath(ini)], extra_env)


def errors_of(err):
    m = re.search(r"sysgi check: (\d+) errors?:\n", err)
    assert m, err
    lines = [l.strip() for l in err[m.end():].splitlines() if l.strip()]
    assert len(lines) == int(m.group(1)), err
    return lines


def dump_line(out, key_re):
    """The dump line 'key = value ; source' of the first key matching."""
    for line in out.splitlines():
        if re.match(key_re + r" = ", line):
            value, _, source = line.partition(" ; ")
            return value.split(" = ", 1)[1].strip(), source.strip()
    raise AssertionError("no %s in:\n%s" % (key_re, out))


# (name, INI text, the error it must give: one entry per error, each a
# list of parts of that error's line; "{ini}" is the file's path).
BAD = [
    ("unknown_key", "[server]\nbogus = 1\n",
     [["{ini}:2: [server] bogus: unknown setting"]]),
    ("unknown_section", "[frobnicate]\nx = 1\n",
     [["{ini}:1: [frobnicate] unknown section",
       "[server], [app:/MOUNT] or [process-group:NAME]"]]),
    ("key_in_wrong_section",
     "[server]\nscript = {root}\n[app:/]\nscript = {root}\n"
     "listen = http://+:8080/\n",
     [["{ini}:2: [server] script: not allowed here", "[app:MOUNT]"],
      ["{ini}:5: [app:/] listen: not allowed here", "[server]"]]),
    ("bad_boolean", "[server]\nenable-sendfile = maybe\n",
     [["{ini}:2: [server] enable-sendfile: 'maybe' is not a boolean",
       "on/off"]]),
    ("bad_size", "[server]\nlog-max-size = 10X\n",
     [["{ini}:2: [server] log-max-size: '10X' is not a size", "K, M or G"]]),
    ("bad_size_in_group", "[process-group:g]\nmemory-limit = lots\n",
     [["{ini}:2: [process-group:g] memory-limit: 'lots' is not a size"]]),
    ("bad_number", "[server]\nthreads = many\n",
     [["{ini}:2: [server] threads: 'many' is not a number from 1 to 1024"]]),
    ("threads_out_of_range", "[server]\nthreads = 0\n"
     "[process-group:g]\nthreads = 5000\n",
     [["{ini}:2: [server] threads: '0' is not a number from 1 to 1024"],
      ["{ini}:4: [process-group:g] threads: '5000' is not a number"]]),
    ("missing_script_file", "[app:/]\nscript = Z:\\no\\such\\app.py\n",
     [["{ini}:2: [app:/] script: no such file: Z:\\no\\such\\app.py"],
      ["{ini}:1: [app:/] script: missing"]]),
    ("app_without_script", "[app:/x]\ncallable-object = app\n",
     [["{ini}:1: [app:/x] script: missing",
       "every application needs its WSGI script"]]),
    ("missing_python_home", "[server]\npython-home = Z:\\no\\such\\python\n",
     [["{ini}:2: [server] python-home: no such directory: "
       "Z:\\no\\such\\python"]]),
    ("colliding_mounts_case_only",
     "[app:/api]\nscript = {api}\n[app:/API/]\nscript = {api}\n",
     [["{ini}:1: [app:/api] the mount '/api' collides with [app:/API/] "
       "({ini}:3)", "case-insensitively"]]),
    ("bad_listen_url", "[server]\nlisten = http://127.0.0.1/\n",
     [["{ini}:2: [server] listen: 'http://127.0.0.1/' is not an http.sys "
       "URL prefix", "the port is missing"]]),
    ("listen_port_out_of_range", "[server]\nlisten = http://+:99999/\n",
     [["{ini}:2: [server] listen: 'http://+:99999/'", "port"]]),
    ("app_names_unknown_process_group",
     "[app:/]\nscript = {root}\nprocess-group = nope\n",
     [["{ini}:3: [app:/] process-group: no [process-group:nope] is "
       "defined"]]),
    ("duplicate_section", "[server]\nthreads = 2\n[server]\nthreads = 3\n",
     [["{ini}:3: section [server] appears twice (first at line 1)"],
      ["{ini}:4: [server] threads: given twice in this section (first at "
       "line 2)"]]),
    ("duplicate_key", "[server]\nthreads = 2\nthreads = 3\n",
     [["{ini}:3: [server] threads: given twice in this section (first at "
       "line 2)"]]),
    ("line_not_key_value", "[server]\njust some text\n",
     [["{ini}:2: expected 'key = value' or '[section]', got 'just some "
       "text'"]]),
    ("key_before_any_section", "threads = 2\n[server]\n",
     [["{ini}:1: 'threads' comes before any section"]]),
    ("unclosed_section_header", "[server\nthreads = 2\n",
     [["{ini}:1: a section header must end with ']'"]]),
    ("mount_without_slash", "[app:api]\nscript = {root}\n",
     [["{ini}:1: [app:api] the mount must start with '/'"]]),
    ("bad_callable", "[app:/]\nscript = {root}\ncallable-object = 1abc\n",
     [["{ini}:3: [app:/] callable-object: '1abc' is not a Python "
       "identifier"]]),
    ("bad_group_macro",
     "[app:/]\nscript = {root}\napplication-group = %{{BOGUS}}\n",
     [["{ini}:3: [app:/] application-group: unknown application group "
       "macro '%{BOGUS}'"]]),
    ("bad_log_level", "[server]\nlog-level = loud\n",
     [["{ini}:2: [server] log-level: 'loud' is not a log level"]]),
    ("posix_only_daemon_option", "[process-group:g]\nuser = bob\n",
     [["{ini}:2: [process-group:g] user: not supported on Windows"]]),
    ("config_file_inside_the_ini", "[server]\nconfig-file = {root}\n",
     [["{ini}:2: [server] config-file: cannot be set in the file it names"]]),
    ("empty_value", "[server]\npython-home =\n[app:/]\nscript = {root}\n",
     [["{ini}:2: [server] python-home: no value after '='"]]),
]


@pytest.mark.parametrize("name,text,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_configuration(wine, site, name, text, expected):
    ini = write_ini(site, name + ".ini", text)
    rc, out, err = check(wine, ini)
    assert rc == 1, (rc, out, err)
    errors = errors_of(err)
    assert len(errors) == len(expected), errors
    for parts, line in zip(expected, errors):
        for part in parts:
            assert part.replace("{ini}", winpath(ini)) in line, (part, line)


def test_no_application_is_a_warning(wine, site):
    # The service may run before any application is configured (the MSI's
    # default INI has none): valid, with a warning; requests get 404.
    ini = write_ini(site, "no_app.ini", "; nothing to serve\n[server]\nthreads = 2\n")
    rc, out, err = check(wine, ini)
    assert rc == 0, (rc, out, err)
    assert "warning: no application is configured" in out, out
    assert "the configuration is valid" in out, out


def test_utf16_file_is_refused(wine, site):
    ini = write_ini(site, "utf16.ini", "[server]\nthreads = 2\n", "utf-16")
    rc, _, err = check(wine, ini)
    assert rc == 1
    assert errors_of(err) == ["%s:1: the file is UTF-16 (Notepad's "
                              "'Unicode'): save it as UTF-8" % winpath(ini)]


def test_invalid_utf8_names_the_line(wine, site):
    p = site["dir"] / "latin1.ini"
    p.write_bytes(b"[server]\n; caf\xe9\nthreads = \xe9\n")
    rc, _, err = check(wine, p)
    assert rc == 1
    assert errors_of(err) == ["%s:3: not valid UTF-8 (save the file as "
                              "UTF-8)" % winpath(p)]


def test_every_error_is_listed(wine, site):
    ini = write_ini(site, "many.ini",
                    "[server]\nthreads = 0\nbogus = 1\nlog-level = loud\n"
                    "[app:/]\nscript = {root}\nprocess-group = nope\n"
                    "[app:/x]\nscript = {api}\npass-authorization = perhaps\n"
                    "[nonsense]\n")
    rc, out, err = check(wine, ini)
    assert rc == 1
    errors = errors_of(err)
    w = winpath(ini)
    for prefix in ("%s:2: [server] threads" % w, "%s:3: [server] bogus" % w,
                   "%s:4: [server] log-level" % w,
                   "%s:7: [app:/] process-group" % w,
                   "%s:10: [app:/x] pass-authorization" % w,
                   "%s:11: [nonsense] unknown section" % w):
        assert any(e.startswith(prefix) for e in errors), (prefix, errors)
    assert len(errors) == 6, errors


def test_valid_file_prints_every_value_with_its_source(wine, site):
    ini = write_ini(site, "good.ini",
                    "\ufeff; a comment\n# another\n[server]\n"
                    "listen = http://+:8080/\nTHREADS = 4\n"
                    "python-home = \"{homeA}\"\n\n"
                    "[app:/]\nscript = {root}\n[app:/api]\nscript = {api}\n"
                    "application-group = %{{GLOBAL}}\n"
                    "[process-group:g]\nprocesses = 2\nmemory-limit = 512M\n")
    rc, out, err = check(wine, ini)
    assert rc == 0, err
    assert err == ""
    assert "sysgi check: the configuration is valid" in out
    w = winpath(ini)
    assert dump_line(out, "listen") == ("http://+:8080/", "%s:4" % w)
    assert dump_line(out, "threads") == ("4", "%s:5" % w)
    assert dump_line(out, "python-home") == (site["homeA"], "%s:6" % w)
    assert dump_line(out, "max-queued") == ("64", "default")
    assert dump_line(out, "config-file") == (w, "command line --config")
    sections = re.findall(r"^\[(.*)\]$", out, re.M)
    assert sections == ["server", "app:/", "app:/api", "process-group:g"]
    api = out[out.index("[app:/api]"):]
    assert dump_line(api, "script") == (site["api"], "%s:11" % w)
    assert dump_line(api, "application-group") == ("%{GLOBAL}", "%s:12" % w)
    assert dump_line(api, "callable-object") == ("application", "default")
    grp = out[out.index("[process-group:g]"):]
    assert dump_line(grp, "memory-limit") == ("512M", "%s:15" % w)


def test_registry_overrides_the_ini(wine, site, clean_registry):
    ini = write_ini(site, "prec.ini",
                    "[server]\npython-home = {homeA}\nthreads = 3\n"
                    "max-queued = 10\n[app:/]\nscript = {root}\n")
    rc, out, err = check(wine, ini)
    assert rc == 0, err
    w = winpath(ini)
    assert dump_line(out, "python-home") == (site["homeA"], "%s:2" % w)
    reg_set(wine, "PythonHome", "REG_SZ", site["homeB"])
    reg_set(wine, "Threads", "REG_DWORD", "12")
    reg_set(wine, "Listen", "REG_MULTI_SZ",
            "http://+:8001/\\0http://127.0.0.1:8002/")
    reg_set(wine, "LogFile", "REG_EXPAND_SZ", "%SYSGI_TEST_DIR%\\sysgi.log")
    reg_set(wine, "LogMaxSize", "REG_QWORD", "1048576")
    reg_set(wine, "DontWriteBytecode", "REG_DWORD", "1")
    rc, out, err = check(wine, ini, {"SYSGI_TEST_DIR": site["wdir"]})
    assert rc == 0, err
    src = "registry " + REG_KEY + "\\"
    assert dump_line(out, "python-home") == (site["homeB"], src + "PythonHome")
    assert dump_line(out, "threads") == ("12", src + "Threads")
    assert dump_line(out, "listen") == (
        "http://+:8001/ http://127.0.0.1:8002/", src + "Listen")
    assert dump_line(out, "log-file") == (site["wdir"] + "\\sysgi.log",
                                          src + "LogFile")
    assert dump_line(out, "log-max-size")[1] == src + "LogMaxSize"
    assert dump_line(out, "dont-write-bytecode")[1] == src + \
        "DontWriteBytecode"
    # What the registry does not set still comes from the file.
    assert dump_line(out, "max-queued") == ("10", "%s:4" % w)


def test_registry_config_file_names_the_ini(wine, site, clean_registry):
    ini = write_ini(site, "fromreg.ini",
                    "[server]\nthreads = 7\n[app:/]\nscript = {root}\n")
    reg_set(wine, "ConfigFile", "REG_SZ", winpath(ini))
    rc, out, err = run(wine, ["check"])
    assert rc == 0, err
    assert dump_line(out, "threads") == ("7", "%s:2" % winpath(ini))
    assert dump_line(out, "config-file") == (
        winpath(ini), "registry " + REG_KEY + "\\ConfigFile")
    # --config wins over the registry's ConfigFile.
    other = write_ini(site, "other.ini",
                      "[server]\nthreads = 9\n[app:/]\nscript = {root}\n")
    rc, out, err = check(wine, other)
    assert rc == 0, err
    assert dump_line(out, "threads") == ("9", "%s:2" % winpath(other))
    assert dump_line(out, "config-file") == (winpath(other),
                                             "command line --config")


def test_registry_errors_name_the_value(wine, site, clean_registry):
    ini = write_ini(site, "regbad.ini", "[app:/]\nscript = {root}\n")
    reg_set(wine, "Bogus", "REG_SZ", "x")
    reg_set(wine, "python-home", "REG_SZ", site["homeA"])
    reg_set(wine, "MaxQueued", "REG_BINARY", "0102")
    reg_set(wine, "PythonHome", "REG_DWORD", "1")
    reg_set(wine, "Threads", "REG_DWORD", "0")
    reg_set(wine, "EnableSendfile", "REG_SZ", "sometimes")
    rc, out, err = check(wine, ini)
    assert rc == 1, (out, err)
    errors = errors_of(err)
    src = "registry " + REG_KEY + "\\"
    want = [
        (src + "Bogus: unknown registry value (known: Listen, Threads",),
        (src + "python-home: unknown registry value",
         "the registry name of python-home is PythonHome"),
        (src + "MaxQueued: [server] max-queued: has type REG_BINARY",
         "REG_DWORD"),
        (src + "PythonHome: [server] python-home: has type REG_DWORD",
         "REG_SZ or REG_EXPAND_SZ"),
        (src + "Threads: [server] threads: '0' is not a number from 1",),
        (src + "EnableSendfile: [server] enable-sendfile: 'sometimes' is "
         "not a boolean",),
    ]
    for parts in want:
        assert any(all(p in e for p in parts) for e in errors), (parts, errors)
    assert len(errors) == len(want), errors


def test_missing_files(wine, site, clean_registry):
    # --config naming no file.
    rc, _, err = run(wine, ["check", "--config", site["wdir"] + "\\nope.ini"])
    assert rc == 1
    assert errors_of(err) == [
        site["wdir"] + "\\nope.ini: cannot open the configuration file: no "
        "such file (error 2)"]
    # Nothing at all: sysgi.ini next to sysgi.exe is named.
    rc, _, err = run(wine, ["check"])
    assert rc == 1
    (e,) = errors_of(err)
    assert e.endswith("\\sysgi.ini: no configuration file here (pass --config "
                      "PATH, or set the registry value "
                      "HKLM\\SOFTWARE\\sysgi\\ConfigFile)"), e
    # The registry's ConfigFile naming no file.
    reg_set(wine, "ConfigFile", "REG_SZ", site["wdir"] + "\\gone.ini")
    rc, _, err = run(wine, ["check"])
    assert rc == 1
    assert any("gone.ini: cannot open the configuration file" in e
               for e in errors_of(err)), err


@pytest.mark.parametrize("args", [["check", "--bogus"], ["check", "--config"],
                                  ["check", "extra"]])
def test_check_usage_errors_exit_2(wine, args):
    rc, _, err = run(wine, args)
    assert rc == 2, err
    assert "usage: sysgi check [--config PATH]" in err


# sysgi serve: every setting is a flag, checked by the model's parser
# before anything starts.
SERVE_BAD = [
    (["--threads", "0"], "--threads: '0' is not a number from 1 to 1024"),
    (["--log-level", "loud"], "--log-level: 'loud' is not a log level"),
    (["--pass-authorization=perhaps"],
     "--pass-authorization: 'perhaps' is not a boolean"),
    (["--callable-object", "1x"], "--callable-object: '1x' is not a Python"),
    (["--application-group", "%{NOPE}"],
     "--application-group: unknown application group macro"),
    (["--processes", "2"], "--processes is a [process-group:NAME] setting"),
    (["--no-such-setting", "1"], "unknown option --no-such-setting"),
    (["--python-home", "Z:\\no\\such\\dir"],
     "--python-home: no such directory: Z:\\no\\such\\dir"),
    (["--listen", "http://+/"], "--listen: 'http://+/' is not an http.sys"),
    (["--config-file", "x.ini"], "use --config PATH"),
    (["--threads"], "--threads needs a value"),
]


@pytest.mark.parametrize("extra,message", SERVE_BAD,
                         ids=[s[0][0].lstrip("-") for s in SERVE_BAD])
def test_serve_flag_errors_exit_2(wine, site, extra, message):
    rc, _, err = run(wine, ["serve", site["root"]] + extra)
    assert rc == 2, err
    assert "sysgi serve: " + message in err, err
    assert "usage: sysgi serve" in err


def test_serve_app_setting_needs_an_app(wine, site):
    ini = write_ini(site, "serveok.ini", "[app:/]\nscript = {root}\n")
    rc, _, err = run(wine, ["serve", "--config", winpath(ini),
                            "--callable-object", "app"])
    assert rc == 2, err
    assert "--callable-object is an application setting: give APP.py" in err


def test_serve_bad_ini_lists_every_error_and_exits_1(wine, site):
    ini = write_ini(site, "servebad.ini",
                    "[server]\nthreads = 0\n[app:/]\nscript = Z:\\x.py\n"
                    "[app:/x]\nscript = {root}\ncolour = blue\n")
    rc, out, err = run(wine, ["serve", "--config", winpath(ini)])
    assert rc == 1, (out, err)
    assert "sysgi serve: the configuration has 4 errors:" in err, err
    w = winpath(ini)
    for part in ("%s:2: [server] threads" % w, "%s:4: [app:/] script: no such"
                 % w, "%s:3: [app:/] script: missing" % w,
                 "%s:7: [app:/x] colour: unknown setting" % w):
        assert part in err, (part, err)
    assert "sysgi: serving" not in out


EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "examples", "sysgi.ini")


def example_blocks():
    """{section kind: {key: (value, line number)}} of examples/sysgi.ini's
    commented-out settings ("[app:/]" -> "app")."""
    blocks, kind = {}, None
    with open(EXAMPLE, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            m = re.match(r"^;?\[(server|app|process-group)\b.*\]$", line)
            if m:
                kind = m.group(1)
                blocks[kind] = {}
            m = re.match(r"^;([a-z-]+) = (.*)$", line)
            if m and kind:
                assert m.group(1) not in blocks[kind], (n, line)
                blocks[kind][m.group(1)] = (m.group(2), n)
    return blocks


def test_example_ini_shows_every_setting_with_its_default(wine):
    table = os.environ.get("SYSGI_CONFIG_TABLE", "")
    r = subprocess.run(["wine", table], env=wine, timeout=120,
                       capture_output=True)
    assert r.returncode == 0, r
    rows = [l.split("\t") for l in
            r.stdout.decode().replace("\r\n", "\n").splitlines()]
    assert len(rows) >= 40
    blocks = example_blocks()
    seen = set()
    for key, scope, default, _reg, _dir, _help in rows:
        if key == "config-file":
            continue  # cannot be set in the file; the example says why
        assert key in blocks[scope], "examples/sysgi.ini lacks [%s] %s" % (
            scope, key)
        value, line = blocks[scope][key]
        if default not in ("-", "(server)"):
            assert value == default, (scope, key, value, default, line)
        seen.add((scope, key))
    extra = {(s, k) for s in blocks for k in blocks[s]} - seen
    assert not extra, "not in the model's table: %s" % sorted(extra)


def test_example_ini_is_valid_with_its_defaults(wine, site):
    # The [server] defaults uncommented, and one application added.
    lines = open(EXAMPLE, encoding="utf-8").read().splitlines()
    out, kind, uncommented = [], None, []
    for line in lines:
        if re.match(r"^;?\[", line):
            kind = line
        m = re.match(r"^;([a-z-]+) = ", line)
        if kind == "[server]" and m and m.group(1) not in (
                "python-home", "python-path", "log-file"):
            line = line[1:]
            uncommented.append((m.group(1), len(out) + 1))
        out.append(line)
    out += ["[app:/]", "script = %s" % site["root"]]
    ini = site["dir"] / "example.ini"
    ini.write_text("\n".join(out) + "\n", encoding="utf-8")
    assert len(uncommented) >= 8
    rc, dump, err = check(wine, ini)
    assert rc == 0, err
    for key, line in uncommented:
        assert dump_line(dump, key)[1] == "%s:%d" % (winpath(ini), line), key
