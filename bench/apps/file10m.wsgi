# file10m: a 10 MiB file through wsgi.file_wrapper. Mounted twice by the
# bench, once with WSGIEnableSendfile Off and once with On. The data file is
# written by bench/run.py next to this script's directory (../static/).
import os

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, os.pardir, "static", "file-sendfile")
SIZE = os.path.getsize(PATH)
HEADERS = [("Content-Type", "application/octet-stream"),
           ("Content-Length", str(SIZE))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return environ["wsgi.file_wrapper"](open(PATH, "rb"), 65536)
