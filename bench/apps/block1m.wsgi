# block1m: 1 MiB returned as one bytes object. Measures how cheaply a large
# Python buffer reaches the socket (copies, brigade handling).
BODY = bytes(range(256)) * 4096  # 1 MiB
HEADERS = [("Content-Type", "application/octet-stream"),
           ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
