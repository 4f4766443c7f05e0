"""Real frameworks on sysgi.exe with the Windows CPython under Wine: Flask
(from the CPython's site-packages) and Django's admin on sqlite (Debian's
pure-Python python3-django and its dependencies, copied into a
site-packages the test builds; the database migrated and the superuser
created by the Windows python.exe before serving)."""
import os
import re
import shutil
import threading

import pytest
import requests

from e2e_support import APPS, Serve, STAND_INS, run_python, winpath

DIST = "/usr/lib/python3/dist-packages"
DJANGO_DEPS = ["django", "asgiref", "sqlparse", "pytz"]
PASSWORD = "e2e-Pa55word"
BOTH = pytest.mark.parametrize("kind", STAND_INS, scope="module")


@pytest.fixture(scope="module")
def flask_site(tmp_path_factory):
    d = tmp_path_factory.mktemp("flask")
    shutil.copy(os.path.join(APPS, "flaskapp", "app.py"), d / "app.py")
    return d


@pytest.fixture(scope="module")
def flask_srv(request, wine, flask_site, tmp_path_factory):
    s = Serve(wine, request.param, tmp_path_factory.mktemp("flask-" + request.param),
              flask_site / "app.py")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def django_site(wine, tmp_path_factory):
    d = tmp_path_factory.mktemp("django")
    shutil.copytree(os.path.join(APPS, "djangoapp"), d, dirs_exist_ok=True)
    sp = d / "site-packages"
    for name in DJANGO_DEPS:
        src = os.path.join(DIST, name)
        if not os.path.isdir(src):
            pytest.fail("the Django test needs Debian's python3-django and its "
                        "dependencies (%s missing; tools/install-deps.sh)" % src)
        shutil.copytree(src, sp / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    out = run_python(wine, ["-B", winpath(d / "setup_db.py"), PASSWORD], cwd=str(d))
    assert re.search(r"django 3\.\d+(\.\d+)? users 1", out), out
    assert (d / "db.sqlite3").stat().st_size > 0
    return d


@pytest.fixture(scope="module")
def django_srv(request, wine, django_site, tmp_path_factory):
    s = Serve(wine, request.param, tmp_path_factory.mktemp("django-" + request.param),
              django_site / "wsgi.py")
    yield s
    s.stop()


@pytest.mark.parametrize("flask_srv", STAND_INS, indirect=True, scope="module")
def test_flask(flask_srv):
    s = flask_srv
    r = s.get("/?name=e2e")
    assert r.status_code == 200, (r.text, s.stderr())
    assert r.text == "<h1>Hello e2e</h1><p>a, b&lt;c</p>"
    j = s.get("/json").json()
    assert j == {"python": "3.11.2", "platform": "win32", "script_name": "",
                 "path": "/json"}
    sess = requests.Session()
    r = s.post("/login", sess, data={"user": "alice"})
    assert r.status_code == 200 and r.text == "logged in as alice"
    assert "session" in sess.cookies
    assert s.get("/me", sess).text == "you are alice"
    assert s.get("/me").text == "you are nobody"
    assert s.get("/nope").status_code == 404


@pytest.mark.parametrize("flask_srv", STAND_INS, indirect=True, scope="module")
def test_flask_concurrent_clients(flask_srv):
    results, errors = [], []

    def client(i):
        try:
            with requests.Session() as sess:
                for j in range(5):
                    r = flask_srv.get("/?name=c%d_%d" % (i, j), sess)
                    results.append(r.text == "<h1>Hello c%d_%d</h1><p>a, b&lt;c</p>"
                                   % (i, j))
        except Exception as e:
            errors.append(repr(e))
    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert results.count(True) == 40


@pytest.mark.parametrize("django_srv", STAND_INS, indirect=True, scope="module")
def test_django_admin_login(django_srv):
    s = django_srv
    r = s.get("/hello")
    assert r.status_code == 200, (r.text, s.stderr())
    assert r.text == "hello from django"
    sess = requests.Session()
    r = s.get("/admin/", sess, allow_redirects=False)
    assert r.status_code == 302 and "/admin/login/" in r.headers["Location"]
    r = s.get("/admin/login/?next=/admin/", sess)
    assert r.status_code == 200, r.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', r.text).group(1)
    assert "csrftoken" in sess.cookies
    # Without the token: CSRF refuses.
    r = s.post("/admin/login/?next=/admin/",
                      data={"username": "admin", "password": PASSWORD})
    assert r.status_code == 403
    # A wrong password: the form again.
    r = s.post("/admin/login/?next=/admin/", sess,
                  data={"csrfmiddlewaretoken": token, "username": "admin",
                        "password": "wrong", "next": "/admin/"},
                  allow_redirects=False)
    assert r.status_code == 200 and "Please enter the correct username" in r.text
    r = s.post("/admin/login/?next=/admin/", sess,
                  data={"csrfmiddlewaretoken": token, "username": "admin",
                        "password": PASSWORD, "next": "/admin/"},
                  allow_redirects=False)
    assert r.status_code == 302, r.text
    assert r.headers["Location"] == "/admin/"
    assert "sessionid" in sess.cookies
    r = s.get("/admin/", sess)
    assert r.status_code == 200
    assert "Site administration" in r.text
    assert 'href="/admin/auth/user/"' in r.text
    r = s.get("/admin/auth/user/", sess)
    assert r.status_code == 200 and "admin@example.invalid" in r.text
