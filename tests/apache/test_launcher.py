"""./sysgi serve: the Linux development launcher."""
import os
import signal
import subprocess
import time

import pytest
import requests

import apache_fixture
from conftest import EXAMPLES

pytestmark = pytest.mark.sysgi_only
SYSGI = os.path.join(apache_fixture.REPO, "sysgi")


def test_help():
    r = subprocess.run([SYSGI, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    for opt in ("serve APP.py", "--port", "--threads", "--mpm"):
        assert opt in r.stdout


def test_bad_arguments():
    r = subprocess.run([SYSGI, "serve", "/nonexistent/app.py"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "no such file" in r.stderr
    r = subprocess.run([SYSGI, "serve", os.path.join(EXAMPLES, "hello.py"),
                        "--mpm", "winnt"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "invalid choice" in r.stderr


def serve(module_path, app, *args, sig=signal.SIGINT, check=None):
    port = apache_fixture.free_port()
    env = dict(os.environ, SYSGI_MODULE=module_path)
    proc = subprocess.Popen([SYSGI, "serve", app, "--port", str(port)] + list(args),
                            env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                r = requests.get("http://127.0.0.1:%d/" % port, timeout=30)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "sysgi serve never answered"
                time.sleep(0.2)
        if check:
            check(r, port)
    finally:
        proc.send_signal(sig)
        try:
            out = proc.communicate(timeout=90)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            out = proc.communicate()[0]
    return proc.returncode, out


@pytest.mark.parametrize("mpm", ["worker", "prefork"])
def test_serve_hello_and_ctrl_c(module_path, mpm):
    seen = {}

    def check(r, port):
        assert r.content == b"Hello World!"
        assert "mod_sysgi/" in r.headers["Server"]
        seen["ok"] = True
    rc, out = serve(module_path, os.path.join(EXAMPLES, "hello.py"),
                    "--mpm", mpm, "--threads", "5", check=check)
    assert seen.get("ok")
    assert rc == 0, out
    assert "serving" in out and "stopped" in out
    # The temporary ServerRoot is gone.
    line = [ln for ln in out.splitlines() if "configuration and error.log in" in ln][0]
    tmp = line.rsplit(" ", 1)[1]
    assert "sysgi-serve-" in tmp and not os.path.exists(tmp)


def test_serve_django_sigterm(module_path):
    def check(r, port):
        assert r.status_code == 200
        assert b"Hello from Django on sysgi" in r.content
        j = requests.get("http://127.0.0.1:%d/api/hello/x" % port, timeout=60).json()
        assert j["hello"] == "x"
    rc, out = serve(module_path, os.path.join(EXAMPLES, "django_site", "wsgi.py"),
                    sig=signal.SIGTERM, check=check)
    assert rc == 0, out


def test_serve_stock_django_startproject(module_path, tmp_path):
    """A project exactly as `django-admin startproject mysite` makes it:
    mysite/manage.py beside the package mysite/mysite/. The root is found
    from manage.py, is on sys.path and is the working directory;
    --python-path adds more."""
    base = apache_fixture.make_public(str(tmp_path / "proj"))
    subprocess.run(["django-admin", "startproject", "mysite", base], check=True)
    extra = apache_fixture.make_public(str(tmp_path / "extra"))
    with open(os.path.join(extra, "sysgi_extra_mod.py"), "w") as f:
        f.write("VALUE = 'from --python-path'\n")
    with open(os.path.join(base, "mysite", "urls.py"), "a") as f:
        f.write("\nimport os\nfrom django.http import JsonResponse\n"
                "def _where(request):\n"
                "    import sysgi_extra_mod\n"
                "    return JsonResponse({'cwd': os.getcwd(),\n"
                "                         'extra': sysgi_extra_mod.VALUE})\n"
                "urlpatterns.append(path('where/', _where))\n")
    for root, dirs, files in os.walk(str(tmp_path)):
        for n in dirs:
            os.chmod(os.path.join(root, n), 0o755)
        for n in files:
            os.chmod(os.path.join(root, n), 0o644)
    seen = {}

    def check(r, port):
        # "/" is Django's own (debug) answer: no ModuleNotFoundError 500
        assert r.status_code in (200, 404) and "Django" in r.text, r.text[:2000]
        w = requests.get("http://127.0.0.1:%d/where/" % port, timeout=60)
        assert w.status_code == 200, w.text[:2000]
        seen.update(w.json())
        admin = requests.get("http://127.0.0.1:%d/admin/login/" % port, timeout=60)
        assert admin.status_code == 200 and "csrfmiddlewaretoken" in admin.text
    rc, out = serve(module_path, os.path.join(base, "mysite", "wsgi.py"),
                    "--python-path", extra, check=check)
    assert rc == 0, out
    assert "ModuleNotFoundError" not in out
    assert seen == {"cwd": base, "extra": "from --python-path"}


def test_bad_python_path(module_path, tmp_path):
    r = subprocess.run([SYSGI, "serve", os.path.join(EXAMPLES, "hello.py"),
                        "--python-path", str(tmp_path / "nope")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "no such directory" in r.stderr
