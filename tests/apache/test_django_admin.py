"""The Django admin of a stock `django-admin startproject` project, on
mod_sysgi and (--reference-mod-wsgi) on mod_wsgi, with the same directives:
log in with the CSRF token, add a user through the admin form, see it
listed, log out (issue 13)."""
import os
import re
import subprocess

import pytest
import requests

import apache_fixture


def csrf(text):
    m = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
    assert m, text[:2000]
    return m.group(1)


@pytest.fixture
def django_site(servers, tmp_path):
    base = servers.site("django")
    subprocess.run(["django-admin", "startproject", "mysite", base], check=True)
    env = dict(os.environ, DJANGO_SUPERUSER_PASSWORD="s3cret-Pass",
               DJANGO_SETTINGS_MODULE="mysite.settings", PYTHONPATH=base)
    py = "/usr/bin/python3"
    subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=base, env=env,
                   check=True)
    subprocess.run([py, "manage.py", "createsuperuser", "--noinput",
                    "--username", "admin", "--email", "a@example.com"],
                   cwd=base, env=env, check=True)
    # Apache's children (www-data when we are root) write the database.
    for root, dirs, files in os.walk(base):
        for n in dirs:
            os.chmod(os.path.join(root, n), 0o777)
        for n in files:
            os.chmod(os.path.join(root, n), 0o666)
    srv = servers.start([
        "WSGIPythonPath %s" % base,
        "WSGIScriptAlias / %s/mysite/wsgi.py" % base,
        "<Directory %s>\n  Require all granted\n</Directory>" % base,
    ], None, wait_path="/admin/login/")
    return srv


def test_admin_add_user_flow(django_site):
    srv = django_site
    s = requests.Session()
    r = s.get(srv.url + "/admin/login/?next=/admin/", timeout=60)
    assert r.status_code == 200
    r = s.post(srv.url + "/admin/login/?next=/admin/", timeout=60, data={
        "csrfmiddlewaretoken": csrf(r.text), "username": "admin",
        "password": "s3cret-Pass", "next": "/admin/"})
    assert r.status_code == 200 and r.url.endswith("/admin/"), r.text[:2000]
    assert "Site administration" in r.text
    r = s.get(srv.url + "/admin/auth/user/add/", timeout=60)
    assert r.status_code == 200
    r = s.post(srv.url + "/admin/auth/user/add/", timeout=60, data={
        "csrfmiddlewaretoken": csrf(r.text), "username": "grace",
        "password1": "Hopper-1906-x", "password2": "Hopper-1906-x",
        "_save": "Save"})
    assert r.status_code == 200 and "/admin/auth/user/" in r.url, r.text[:3000]
    r = s.get(srv.url + "/admin/auth/user/", timeout=60)
    assert r.status_code == 200 and ">grace<" in r.text
    r = s.post(srv.url + "/admin/logout/", timeout=60,
               data={"csrfmiddlewaretoken": s.cookies["csrftoken"]})
    assert r.status_code == 200 and "Logged out" in r.text
    r = s.get(srv.url + "/admin/auth/user/", timeout=60, allow_redirects=False)
    assert r.status_code == 302 and "/admin/login/" in r.headers["Location"]
    log = srv.error_log()
    assert "Traceback" not in log, log
