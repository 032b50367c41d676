"""A minimal HTTP cache server for the tests: GET, HEAD and PUT of /ac/<hex> and /cas/<hex>
into a directory (the Bazel HTTP cache protocol, as bazel-remote or nginx with WebDAV serve it).
Prints "Serving HTTP on 127.0.0.1 port N" once listening, like python's http.server."""
import http.server
import os
import re
import sys

ROOT = sys.argv[1]
PATH = re.compile(r"^/(ac|cas)/([0-9a-f]{64})$")


class Handler(http.server.BaseHTTPRequestHandler):
    def target(self):
        m = PATH.match(self.path)
        return os.path.join(ROOT, m.group(1), m.group(2)) if m else None

    def do_GET(self, body=True):
        path = self.target()
        if not path or not os.path.isfile(path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with open(path, "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_HEAD(self):
        self.do_GET(body=False)

    def do_PUT(self):
        path = self.target()
        data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not path:
            self.send_response(400)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.replace(path + ".tmp", path)
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"Serving HTTP on 127.0.0.1 port {server.server_address[1]}", flush=True)
server.serve_forever()
