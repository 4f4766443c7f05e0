"""WSGITrustedProxyHeaders / WSGITrustedProxies (issue 13), on mod_sysgi
and (--reference-mod-wsgi) on mod_wsgi."""
import os

import requests

from conftest import APPS

CASES = os.path.join(APPS, "cases.py")
SPOOF = {"X-Forwarded-For": "203.0.113.7, 198.51.100.2",
         "X-Real-IP": "192.0.2.99", "X-Forwarded-Host": "public.example",
         "X-Forwarded-Proto": "https", "X-Scheme": "http"}


def env(srv, headers):
    return requests.get(srv.url + "/env", headers=headers, timeout=60).json()


def test_trusted_headers_without_proxy_list(servers):
    srv = servers.start(["WSGITrustedProxyHeaders X-Forwarded-For "
                         "X-Forwarded-Host X-Forwarded-Proto"],
                        CASES, wait_path="/hello")
    e = env(srv, SPOOF)
    assert e["REMOTE_ADDR"] == "203.0.113.7"       # the first address
    assert e["HTTP_HOST"] == "public.example"
    assert e["wsgi.url_scheme"] == "https"
    # untrusted synonyms of the same kinds are removed
    assert "HTTP_X_REAL_IP" not in e and "HTTP_X_SCHEME" not in e


def test_trusted_proxies_decide(servers):
    srv = servers.start(["WSGITrustedProxyHeaders X-Forwarded-For",
                         "WSGITrustedProxies 127.0.0.1 198.51.100.0/24"],
                        CASES, wait_path="/hello")
    e = env(srv, SPOOF)
    # 127.0.0.1 (the peer) and 198.51.100.2 are trusted: the client is the
    # address before them, and the list is kept from there on
    assert e["REMOTE_ADDR"] == "203.0.113.7"
    assert e["HTTP_X_FORWARDED_FOR"] == "203.0.113.7, 198.51.100.2"
    assert "HTTP_X_REAL_IP" not in e


def test_untrusted_peer_changes_nothing(servers):
    srv = servers.start(["WSGITrustedProxyHeaders X-Forwarded-For",
                         "WSGITrustedProxies 10.0.0.0/8"],
                        CASES, wait_path="/hello")
    e = env(srv, SPOOF)
    assert e["REMOTE_ADDR"] == "127.0.0.1"
    assert "HTTP_X_REAL_IP" not in e   # still removed: a client's spoof


def test_later_header_of_a_kind_wins(servers):
    srv = servers.start(["WSGITrustedProxyHeaders X-Forwarded-For X-Real-IP"],
                        CASES, wait_path="/hello")
    e = env(srv, SPOOF)
    assert e["REMOTE_ADDR"] == "192.0.2.99"
    assert e["HTTP_X_REAL_IP"] == "192.0.2.99"
    assert "HTTP_X_FORWARDED_FOR" not in e


def test_trusted_proxies_never_resolve_names(servers, sysgi_only):
    # Found by tests/fuzz (fuzz_apache_request): a name in X-Forwarded-For
    # went to the resolver, a DNS query per request chosen by the client.
    # "localhost" resolves to the trusted 127.0.0.1 without DNS, so the
    # old code took it for a trusted hop and skipped it; only a literal
    # address can be a trusted proxy, so it is the client here.
    srv = servers.start(["WSGITrustedProxyHeaders X-Forwarded-For",
                         "WSGITrustedProxies 127.0.0.1 ::1"],
                        CASES, wait_path="/hello")
    e = env(srv, {"X-Forwarded-For": "203.0.113.7, localhost"})
    assert e["REMOTE_ADDR"] == "localhost"
    assert e["HTTP_X_FORWARDED_FOR"] == "localhost"
    e = env(srv, {"X-Forwarded-For": "203.0.113.7, 127.0.0.1"})
    assert e["REMOTE_ADDR"] == "203.0.113.7"
    e = env(srv, {"X-Forwarded-For": "203.0.113.7, 0127.0.0.1"})
    assert e["REMOTE_ADDR"] == "0127.0.0.1"   # not a literal: leading zero
    e = env(srv, {"X-Forwarded-For": "203.0.113.7, ::1"})
    assert e["REMOTE_ADDR"] == "203.0.113.7"  # IPv6 literals still compare
    e = env(srv, {"X-Forwarded-For": "203.0.113.7, ::1:"})
    assert e["REMOTE_ADDR"] == "::1:"
