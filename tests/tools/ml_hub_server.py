#!/usr/bin/python3
"""ml_hub_server.py ROOT [--drop-after N] [--bad-sha FILE] [--log PATH] — a loopback stand-in
for the Hugging Face hub, for the `rodeo models pull` tests.

Serves ROOT/<repo>/<file> at /<repo>/resolve/<revision>/<file> with Range support (206 /
416), the file's SHA-256 in X-Linked-Etag as the hub does for LFS files, and faults on
request: --drop-after N closes the connection after N body bytes on the first request of
each file; --bad-sha FILE advertises a wrong digest for FILE. Each request line and Range
header go to --log. Prints the port it listens on, then serves until killed.
"""
import hashlib
import http.server
import os
import re
import sys

root = sys.argv[1]
args = sys.argv[2:]
drop_after = int(args[args.index("--drop-after") + 1]) if "--drop-after" in args else -1
bad_sha = args[args.index("--bad-sha") + 1] if "--bad-sha" in args else None
log_path = args[args.index("--log") + 1] if "--log" in args else None
dropped = set()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        rng = self.headers.get("Range")
        if log_path:
            with open(log_path, "a") as f:
                f.write("%s %s\n" % (self.path, rng or "-"))
        m = re.match(r"^/(.+)/resolve/([^/]+)/([^/]+)$", self.path)
        path = os.path.join(root, m.group(1), m.group(3)) if m else None
        if not path or not os.path.isfile(path):
            body = b'{"error":"Entry not found"}'
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        data = open(path, "rb").read()
        sha = hashlib.sha256(data).hexdigest()
        if bad_sha and path.endswith("/" + bad_sha):
            sha = "0" * 64
        start = 0
        if rng:
            start = int(re.match(r"bytes=(\d+)-", rng).group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        self.send_header("X-Linked-Etag", '"%s"' % sha)
        self.send_header("ETag", '"%s"' % hashlib.sha1(data).hexdigest())
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if drop_after >= 0 and path not in dropped and len(body) > drop_after:
            dropped.add(path)
            self.wfile.write(body[:drop_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
sys.stdout.write("%d\n" % srv.server_address[1])
sys.stdout.flush()
os.close(1)
srv.serve_forever()
