"""The README's configuration reference against the model's table
(sysgi_config_table prints sysgi_config_settings()): same keys in the same
order, sections, defaults, registry names and mod_wsgi directives, and help
text; the options the README says are rejected are rejected by the model;
every mod_wsgi directive of the model is in mod_sysgi's directive table."""
import os
import re
import subprocess

import pytest

TOOL = os.environ.get("SYSGI_CONFIG_TABLE", "")
README = os.environ.get("SYSGI_README", "")


@pytest.fixture(scope="module")
def model():
    assert TOOL and os.path.exists(TOOL), "SYSGI_CONFIG_TABLE is not set: run through ctest"
    out = subprocess.run([TOOL], capture_output=True, text=True, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    assert len(rows) >= 40 and all(len(r) == 6 for r in rows)
    return rows


@pytest.fixture(scope="module")
def readme():
    assert README and os.path.exists(README), "SYSGI_README is not set: run through ctest"
    with open(README, encoding="utf-8") as f:
        return f.read()


def between(text, name):
    m = re.search(r"<!-- %s:begin -->\n(.*?)<!-- %s:end -->" % (name, name), text, re.S)
    assert m, "README has no %s markers" % name
    return m.group(1)


def cell(c):
    """A README cell as the tool prints it: code spans unwrapped, '—' for none."""
    c = c.strip().replace("\\|", "|")
    if c == "—":
        return "-"
    if c == "the server's":
        return "(server)"
    m = re.fullmatch(r"`([^`]*)`", c)
    return m.group(1) if m else c


def readme_rows(text):
    rows = []
    for line in between(text, "config-reference").splitlines():
        if not line.startswith("| `"):
            continue
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        assert len(cells) == 6, line
        rows.append([cell(c) for c in cells])
    return rows


def test_reference_matches_the_model(model, readme):
    doc = readme_rows(readme)
    doc_keys = [(r[0], r[1]) for r in doc]
    model_keys = [(r[0], r[1]) for r in model]
    missing = [k for k in model_keys if k not in doc_keys]
    extra = [k for k in doc_keys if k not in model_keys]
    assert not missing, "settings missing from README: %s" % missing
    assert not extra, "README documents settings the model lacks: %s" % extra
    assert doc_keys == model_keys, "README's order differs from the table's"
    for d, m in zip(doc, model):
        assert d[2] == m[2], "%s [%s]: default %r in README, %r in the model" % (m[0], m[1], d[2], m[2])
        assert d[3] == m[3], "%s [%s]: registry %r in README, %r in the model" % (m[0], m[1], d[3], m[3])
        assert d[4] == m[4], "%s [%s]: directive %r in README, %r in the model" % (m[0], m[1], d[4], m[4])
        assert d[5] == m[5], "%s [%s]: help differs" % (m[0], m[1])


def test_unsupported_options_are_rejected(readme):
    names = re.findall(r"`([a-z-]+)`", between(readme, "config-unsupported"))
    assert len(names) >= 15
    for n in names:
        r = subprocess.run([TOOL, "--unsupported", n], capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.strip(), "%s: README says rejected, the model does not" % n
    # and an option the model supports is not "unsupported"
    assert subprocess.run([TOOL, "--unsupported", "processes"]).returncode == 1


def test_mod_sysgi_table_lists_the_model_directives(model, readme):
    start = readme.index("## mod_sysgi: the Apache 2.4 module")
    end = readme.index("\n## ", start + 10)
    apache = readme[start:end]
    directives = {m[4].split()[0] for m in model if m[4] != "-"}
    directives.discard("WSGIDaemonProcess")  # its options are the groups' keys
    assert "WSGIPythonHome" in directives
    for d in sorted(directives):
        assert "`%s" % d in apache, "%s is in the model but not in mod_sysgi's table" % d
