# yields256: the same 1 MiB as 256 yields of 4 KiB. Measures per-chunk cost
# of driving an iterable (mod_wsgi flushes every yield).
BLOCK = bytes(range(256)) * 16  # 4 KiB
HEADERS = [("Content-Type", "application/octet-stream"),
           ("Content-Length", str(len(BLOCK) * 256))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    for _ in range(256):
        yield BLOCK
