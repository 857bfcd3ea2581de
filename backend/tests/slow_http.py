"""A static HTTP server on 127.0.0.1 that waits DELAY seconds before each answer, so the tests can
act in the middle of a download. Prints its port, then serves DIR until killed."""

import functools
import http.server
import sys
import time

delay, directory = float(sys.argv[1]), sys.argv[2]


class Slow(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        time.sleep(delay)
        super().do_GET()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(
    ("127.0.0.1", 0), functools.partial(Slow, directory=directory)
)
print(server.server_address[1], flush=True)
server.serve_forever()
