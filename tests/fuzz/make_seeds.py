#!/usr/bin/env python3
"""Writes the generated seed corpora of tests/fuzz/corpus/ (run from the
checkout: python3 tests/fuzz/make_seeds.py). The seeds are small, real
inputs in each target's input format (see each fuzz_*.c); files named
regress-* are reproducers of crashes found, kept as they were and never
rewritten here."""
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def ini_seeds():
    for src, name in (("examples/sysgi.ini", "examples-sysgi.ini"),
                      ("installer/sysgi.ini", "installer-sysgi.ini")):
        with open(os.path.join(ROOT, src), "rb") as f:
            write("fuzz_ini", name, f.read())
    write("fuzz_ini", "two-apps.ini",
          "[server]\nlisten = http://+:8080/\nthreads = 16\n\n[app:/]\n"
          "script = C:\\sites\\www\\wsgi.py\napplication-group = %{GLOBAL}\n\n"
          "[app:/api]\nscript = C:\\sites\\api\\wsgi.py\n"
          "callable-object = app\npass-authorization = on\n")
    write("fuzz_ini", "groups.ini",
          "\ufeff[server]\r\nmax-queued = 128\r\n[process-group:site]\r\n"
          "processes = 2\r\nmemory-limit = 512M\r\nuser = nobody\r\n"
          "[app:/x]\r\nprocess-group = site\r\nscript = \"C:\\a b\\w.py\"\r\n")
    write("fuzz_ini", "errors.ini",
          "threads = 1\n[server\n[server]\nthreads\n= 2\nthreads = 0\n"
          "threads = 3\n[server]\nlog-level =\n[app:nomount]\n[app:/]\n"
          "bogus = 1\n\xc3\x28\n")
    write("fuzz_ini", "utf16.ini", b"\xff\xfe[\x00s\x00]\x00")


def config_seeds():
    """One record per row of the settings table (core/src/config_table.c)
    with its default, in the section it belongs to."""
    with open(os.path.join(ROOT, "core", "src", "config_table.c")) as f:
        table = f.read()
    rows = re.findall(r'ROW\("([a-z-]+)",.*?(SRV|APP|GRP)\(', table, re.S)
    sect = {"SRV": "server", "APP": "app:/", "GRP": "process-group:g"}
    samples = {"server": ["8", "on", "10M", "http://+:8080/ http://*:81/x/",
                          "/tmp", "debug", "random"],
               "app:/": ["/tmp/app.py", "app", "%{ENV:X}", "%{RESOURCE}",
                         "off", "g"],
               "process-group:g": ["2", "512M", "-5", "30", "/tmp", "C.UTF-8"]}
    recs = []
    for i, (name, scope) in enumerate(rows):
        s = sect[scope]
        recs.append("%s\t%s\t%s" % (s, name, samples[s][i % len(samples[s])]))
    write("fuzz_config", "table-rows", "process-group:g\napp:/\n" + "\n".join(recs) + "\n")
    write("fuzz_config", "two-apps",
          "server\tlisten\thttp://127.0.0.1:8000/\napp:/\tscript\t/tmp\n"
          "app:/Blog\tscript\t/tmp\napp:/blog\tscript\t/tmp\n"
          "\x02\t\t/blog/x\n\x02\t\t/BLOG\n\x01\tthreads\t0\n"
          "\x01\tlisten\thttp://[::1]:80/\n")
    write("fuzz_config", "bad", "server\tthreads\t2000\nserver\tuser\tx\n"
          "app\tscript\t\nprocess-group:\tprocesses\t1\n"
          "app:/a\tprocess-group\tnope\n")


def www_auth_seeds():
    for i, v in enumerate([
            'Basic realm="a", Negotiate',
            'Basic realm="a, b"',
            'Digest realm="x", qop="auth,auth-int", nonce="n", Basic realm="y"',
            'Negotiate abc==, NTLM',
            'Bearer realm="q\\"uoted, still", error="x" , Basic',
            ' , Basic ,, NTLM ',
            '"unterminated, Basic', 'a=b, c=d, Basic x=y', ',' * 40]):
        write("fuzz_www_authenticate", "seed-%d" % i, bytes([16]) + v.encode())


def lp(b):
    b = b if isinstance(b, bytes) else b.encode("latin-1")
    return bytes([min(len(b), 255)]) + b[:255]


def sr_seeds():
    def enc(flags, status, headers):
        out = bytes([flags]) + lp(status)
        for mode, n, v in headers:
            out += bytes([mode]) + lp(n) + lp(v)
        return out
    write("fuzz_start_response", "ok", enc(0, "200 OK", [
        (0, "Content-Type", "text/plain"), (0, "Content-Length", "12")]))
    write("fuzz_start_response", "www-auth", enc(0, "401 Unauthorized", [
        (0, "WWW-Authenticate", 'Basic realm="a", Negotiate'),
        (0, "www-authenticate", 'Digest realm="r", nonce="1,2"')]))
    write("fuzz_start_response", "bad-values", enc(1, "099 Low", [
        (1, "X-A", "\xe2\x82\xac"), (0, "X A", "b"), (2, "X-B", "c"),
        (3, "X-C", "d"), (4, "X-D", "e"), (5, "X-E", "f"),
        (0, "Transfer-Encoding", "chunked"), (0, "X-F", "a\r\nSet-Cookie: x")]))
    write("fuzz_start_response", "content-length", enc(0, "204 No Content", [
        (0, "content-length", " 99999999999999999999 "),
        (0, "Content-Length", "5")]))


def hs_req(verb, maj, mnr, flags, mounts, unknown_verb, url, headers):
    out = bytes([verb, maj, mnr, flags]) + mounts.encode() + b"\n"
    out += unknown_verb.encode() + b"\n" + url + b"\n"
    for h in headers:
        if isinstance(h, tuple):
            out += bytes([h[0]]) + h[1].encode("latin-1") + b"\n"
        else:
            out += h.encode("latin-1") + b"\n"
    return out


def httpsys_seeds():
    GET, POST, UNKNOWN = 4, 6, 1
    HOST, AUTH, CT, CL, COOKIE, UA = 28, 24, 12, 11, 25, 40
    write("fuzz_httpsys_request", "get", hs_req(GET, 1, 1, 0, "/", "",
          b"/hello?x=1&y=%20", [(HOST, "localhost:8000"), (UA, "curl/8"),
                                "X-Forwarded-For:10.0.0.1", "X-Custom:a"]))
    write("fuzz_httpsys_request", "mounts", hs_req(POST, 1, 1, 2,
          "/,/api,/API/v2,/app/", "", b"/api/v2/../x/./y//z?q",
          [(HOST, "[::1]:8080"), (AUTH, "Basic eA=="), (CT, "text/plain"),
           (CL, "5"), (COOKIE, "a=b"), "X-Dup:1", "x-dup:2", "X_User:evil"]))
    write("fuzz_httpsys_request", "escapes", hs_req(UNKNOWN, 1, 0, 9,
          "/static", "PURGE", b"/static/%2e%2E/%41%2f%00%zz%C3%A9",
          ["Proxy-Authorization:x", ":novalue", "Name-Only"]))
    write("fuzz_httpsys_request", "absolute", hs_req(GET, 1, 1, 5, "/",
          "", b"http://example.com:8080/a/b?c", [(HOST, "example.com")]))


def ap_req(flags, trust, mounts, method, uri, peer, headers):
    out = bytes([flags]) + struct.pack("<H", trust)
    out += b"\n".join([mounts.encode(), method.encode(), uri.encode(),
                       peer.encode()] + [h.encode("latin-1") for h in headers])
    return out


def apache_seeds():
    allbits = (1 << 15) - 1
    write("fuzz_apache_request", "get", ap_req(1, 0, "/,/app", "GET",
          "/app/x/y?q=1", "192.0.2.7", ["Host: www.example.com",
                                        "User-Agent: curl/8"]))
    write("fuzz_apache_request", "proxy-all", ap_req(4 | 2, allbits, "/",
          "POST", "/x", "10.1.2.3", [
              "X-Forwarded-For: 203.0.113.9, 10.0.0.2 , ,10.9.9.9",
              "X-Client-IP: 1.2.3.4", "X-Real-IP: 5.6.7.8",
              "X-Forwarded-Host: a.example", "X-Host: b.example",
              "X-Forwarded-Server: s", "X-Forwarded-Port: 443",
              "X-Script-Name: /mnt", "X-Forwarded-Proto: https",
              "X-Forwarded-SSL: on", "X-HTTPS: 0",
              "Authorization: Basic eA==", "Content-Type: text/plain",
              "Content-Length: 3"]))
    write("fuzz_apache_request", "head-map", ap_req(8 | 0x20 | 0x40, 1 | 512,
          "/blog,/Blog/x", "HEAD", "/BLOG/x/..//y", "::1",
          ["X-Forwarded-For: ::1", "X-Forwarded-Proto: http"]))


def dicts():
    """libFuzzer dictionaries (tests/fuzz/dict/<target>.dict)."""
    d = os.path.join(ROOT, "tests", "fuzz", "dict")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(ROOT, "core", "src", "config_table.c")) as f:
        names = sorted(set(re.findall(r'ROW\("([a-z-]+)"', f.read())))
    words = names + ["[server]", "[app:/", "[process-group:", "%{GLOBAL}",
                     "%{SERVER}", "%{RESOURCE}", "%{ENV:", "http://+:",
                     "https://*:", "on", "off", "random", "512M", " = "]
    raw = [r'"\xEF\xBB\xBF"', r'"\x0D\x0A"', r'"\xFF\xFE"']
    def q(w):
        return '"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"'
    for target in ("fuzz_ini", "fuzz_config"):
        with open(os.path.join(d, target + ".dict"), "w") as f:
            f.write("# generated by tests/fuzz/make_seeds.py\n")
            for w in words:
                f.write(q(w) + "\n")
            for w in raw:
                f.write(w + "\n")
    http = ["%2e", "%2E", "%2f", "%2F", "%00", "%25", "..", "/./", "/../", "//",
            "http://", "https://", "?", "authorization", "X-Forwarded-For",
            "X-Forwarded-Proto", "X-Script-Name", "Host", "[::1]", ":8080",
            "https", "on", "10.0.0.1", "::1", ","]
    for target in ("fuzz_httpsys_request", "fuzz_apache_request"):
        with open(os.path.join(d, target + ".dict"), "w") as f:
            f.write("# generated by tests/fuzz/make_seeds.py\n")
            for w in http:
                f.write(q(w) + "\n")
    with open(os.path.join(d, "fuzz_www_authenticate.dict"), "w") as f:
        f.write("# generated by tests/fuzz/make_seeds.py\n")
        for w in ['"', "\\", ",", " ", "=", "Basic", "realm=", "Negotiate"]:
            f.write(q(w) + "\n")


if __name__ == "__main__":
    dicts()
    ini_seeds()
    config_seeds()
    www_auth_seeds()
    sr_seeds()
    httpsys_seeds()
    apache_seeds()
