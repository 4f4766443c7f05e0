"""Issue 14: wsgi.file_wrapper under mod_http2 (tests/apache/test_http2.py).

?file=N  returns data/fileN.bin of this script's directory through
         wsgi.file_wrapper; the wrapper closes the file when the response
         ends, i.e. as soon as mod_sysgi's send_file returns.
?churn   opens and closes files meanwhile, so a freed descriptor number is
         taken again at once (by another file's contents).
"""
import os
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def path(i):
    return os.path.join(HERE, "data", "file%d.bin" % i)


def application(environ, start_response):
    q = environ["QUERY_STRING"]
    if q.startswith("churn"):
        files = []
        for i in range(24):
            f = open(path(i % 8), "rb")
            f.read(1)
            files.append(f)
        time.sleep(0.005)
        for f in files:
            f.close()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"churned"]
    f = open(path(int(q.split("=")[1])), "rb")
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return environ["wsgi.file_wrapper"](f, 65536)
