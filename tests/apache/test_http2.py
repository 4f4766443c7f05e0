"""wsgi.file_wrapper over HTTP/2 (issue 14): under mod_http2 a file bucket
is read by the main connection after the request's send_file returned and
the core closed the application's file; mod_sysgi must give the bucket a
descriptor of its own (Apache's H2CopyFiles documentation names mod_wsgi
for this). Files are served over h2c, many streams on one connection,
while other requests open and close files so that a closed descriptor
number is reused at once; every body must be its file, byte for byte.

The client is h2client.py (one connection, 50 streams at a time)."""
import os
import shutil

import pytest

import h2client
from conftest import APPS

pytestmark = pytest.mark.sysgi_only

N_FILES = 8
SIZE = 1 << 20


@pytest.fixture(scope="module")
def h2(request, module_kind, module_path, tmp_path_factory):
    from conftest import Servers
    tmp = str(tmp_path_factory.mktemp("h2"))
    s = Servers(module_kind, module_path, tmp)
    site = s.site()
    script = os.path.join(site, "h2files.py")
    shutil.copy(os.path.join(APPS, "h2files.py"), script)
    os.chmod(script, 0o644)
    data = os.path.join(site, "data")
    os.makedirs(data)
    os.chmod(data, 0o755)
    contents = []
    for i in range(N_FILES):
        b = os.urandom(SIZE)
        p = os.path.join(data, "file%d.bin" % i)
        with open(p, "wb") as f:
            f.write(b)
        os.chmod(p, 0o644)
        contents.append(b)
    srv = s.start(["Protocols h2c http/1.1", "H2CopyFiles Off",
                   "EnableMMAP Off", "EnableSendfile Off"],
                  apps={"/": script}, modules=["http2"], mpm="event",
                  wait_path="/?churn")
    yield srv, contents
    s.close(False)


def test_file_wrapper_over_h2c(h2):
    srv, contents = h2
    paths, want = [], []
    for k in range(4 * 50):
        if k % 4 == 3:
            paths.append("/?churn%d" % k)
            want.append(b"churned")
        else:
            i = k % N_FILES
            paths.append("/?file=%d" % i)
            want.append(contents[i])
    for rnd in range(3):
        try:
            got = h2client.get_many("127.0.0.1", srv.port, paths)
        except OSError as e:
            pytest.fail("round %d: %s\nerror log tail:\n%s"
                        % (rnd, e, srv.error_log()[-3000:]))
        bad = []
        for st, w in zip(got, want):
            if st.status != 200 or st.reset is not None or st.body != w:
                first = next((j for j, (a, b) in enumerate(zip(st.body, w))
                              if a != b), min(len(st.body), len(w)))
                bad.append("%s: status %s, reset %s, %d bytes of %d, the "
                           "first %d right" % (st.path, st.status, st.reset,
                                               len(st.body), len(w), first))
        assert not bad, "round %d: %d of %d bodies wrong:\n%s\nerror log "\
            "tail:\n%s" % (rnd, len(bad), len(paths), "\n".join(bad[:20]),
                           srv.error_log()[-3000:])
