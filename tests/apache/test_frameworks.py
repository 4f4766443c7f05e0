"""Flask and Django examples under mpm_worker (25 threads) with 32
concurrent clients; mpm_prefork and mpm_event smoke tests."""
import concurrent.futures
import hashlib
import os

import pytest
import requests

from conftest import APPS, EXAMPLES

CLIENTS, PER_CLIENT = 32, 20


def hammer(urls_and_checks):
    """32 threads x 20 requests, each on its own keep-alive session."""
    def client(i):
        errors = []
        with requests.Session() as s:
            for j in range(PER_CLIENT):
                url, check = urls_and_checks[(i + j) % len(urls_and_checks)]
                try:
                    r = s.get(url, timeout=120)
                    check(r, i, j)
                except Exception as e:  # collected, reported together
                    errors.append("%s: %r" % (url, e))
        return errors
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS)))
    errors = [e for r in results for e in r]
    assert not errors, "%d errors, first: %s" % (len(errors), errors[:5])


def test_flask_concurrent(servers):
    srv = servers.start([], {"/": os.path.join(EXAMPLES, "flask_app.py")},
                        threads=25)

    def check_json(r, i, j):
        assert r.status_code == 200, r.text
        assert r.json()["id"] == 7 and r.json()["query"] == "q0"

    def check_html(r, i, j):
        assert r.status_code == 200
        assert b"<li>&lt;three&gt;</li>" in r.content

    hammer([(srv.url + "/api/items/7?q=q0", check_json),
            (srv.url + "/", check_html)])
    srv.assert_no_crash()


def test_flask_concurrent_query(servers):
    srv = servers.start([], {"/app": os.path.join(EXAMPLES, "flask_app.py")},
                        threads=25, wait_path="/app/")

    def client(i):
        with requests.Session() as s:
            for j in range(PER_CLIENT):
                r = s.post(srv.url + "/app/api/items/%d?q=%d" % (j, i),
                           json={"i": i, "j": j}, timeout=120)
                assert r.status_code == 200, r.text
                d = r.json()
                assert d == {"id": j, "name": "item-%d" % j, "query": str(i),
                             "posted": {"i": i, "j": j}, "script_name": "/app",
                             "path": "/api/items/%d" % j}
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        for f in [pool.submit(client, i) for i in range(CLIENTS)]:
            f.result()


def test_django_concurrent(servers):
    srv = servers.start([], {"/": os.path.join(EXAMPLES, "django_site", "wsgi.py")},
                        threads=25)

    def check_json(r, i, j):
        assert r.status_code == 200, r.text
        assert r.json() == {"hello": "w", "method": "GET", "script_name": "",
                            "path": "/api/hello/w", "query": "1"}

    def check_html(r, i, j):
        assert r.status_code == 200
        assert b"Hello from Django on sysgi" in r.content

    hammer([(srv.url + "/api/hello/w?q=1", check_json), (srv.url + "/", check_html)])
    srv.assert_no_crash()


@pytest.mark.parametrize("mpm", ["prefork", "event", "worker"])
def test_mpm_smoke(servers, mpm):
    srv = servers.start([], {"/": os.path.join(APPS, "cases.py")}, mpm=mpm,
                        threads=4, servers=2, wait_path="/hello")
    r = requests.get(srv.url + "/hello", timeout=60)
    assert r.content == b"Hello World!"
    body = os.urandom(300000)
    r = requests.post(srv.url + "/echo", data=body, timeout=60)
    assert r.json()["sha256"] == hashlib.sha256(body).hexdigest()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        rs = list(pool.map(lambda i: requests.get(srv.url + "/hello", timeout=60).content,
                           range(40)))
    assert rs == [b"Hello World!"] * 40
    srv.assert_no_crash()


@pytest.mark.parametrize("mpm,multithread,multiprocess", [
    ("prefork", False, True), ("worker", True, False), ("event", True, False)])
def test_mpm_flags_in_environ(servers, mpm, multithread, multiprocess):
    srv = servers.start([], {"/": os.path.join(EXAMPLES, "env.py")}, mpm=mpm,
                        threads=4, servers=1, wait_path=None)
    text = requests.get(srv.url + "/", timeout=60).text
    assert "wsgi.multithread\tbool\t%s" % multithread in text
    assert "wsgi.multiprocess\tbool\t%s" % multiprocess in text
