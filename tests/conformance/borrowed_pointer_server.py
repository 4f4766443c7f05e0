"""A deliberately vulnerable WSGI server, for the CVE-2014-0242 test to
prove it can fail.

It makes mod_wsgi 3.3's mistake on purpose: start_response() remembers only
the address of the Content-Type str's characters (a borrowed pointer), keeps
no reference, and reads the bytes at that address when the first non-empty
chunk arrives. Run with PYTHONMALLOC=debug, the freed value reads back as
0xDD bytes. Prints its port, then serves the reproducer application until
killed.

    PYTHONMALLOC=debug python3 borrowed_pointer_server.py
"""
import ctypes
import os
import socketserver
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import content_type_repro  # noqa: E402

# Characters of a compact ASCII str start right after its header.
ASCII_DATA_OFFSET = sys.getsizeof("") - 1


def load_app():
    ns = {"__file__": __file__, "__name__": "reproducer"}
    exec(compile(content_type_repro.APP_WITH_BACKGROUND, "reproducer", "exec"), ns)
    return ns["application"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    app = staticmethod(load_app())

    def log_message(self, *args):
        pass

    def do_GET(self):
        state = {}

        def start_response(status, headers):
            for name, value in headers:
                if name.lower() == "content-type":
                    # The bug: an address, no reference.
                    state["at"] = (id(value) + ASCII_DATA_OFFSET, len(value))

        environ = {"REQUEST_METHOD": "GET", "QUERY_STRING": self.path.partition("?")[2]}
        chunks = []
        for chunk in self.app(environ, start_response):
            if chunk and "ct" not in state:
                state["ct"] = ctypes.string_at(*state["at"]).decode("latin-1")
            chunks.append(chunk)
        body = b"".join(chunks)
        self.send_response(200)
        self.send_header("Content-Type", state.get("ct", ""))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
