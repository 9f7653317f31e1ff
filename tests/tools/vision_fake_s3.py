#!/usr/bin/python3
"""vision_fake_s3.py ACCESS_KEY SECRET_KEY REGION — a small S3-compatible peer on loopback
for the blob S3 backend tests. It speaks the real wire protocol: path-style object URLs,
AWS Signature Version 4 verified independently here (hashlib/hmac, per the AWS spec),
x-amz-content-sha256 checked against the body as S3 does, S3 XML errors. Prints the port
on its first stdout line, then serves until killed. Objects live in memory."""
import hashlib, hmac, sys, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCESS, SECRET, REGION = sys.argv[1], sys.argv[2], sys.argv[3]
objects = {}
EMPTY = hashlib.sha256(b"").hexdigest()


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class S3(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def error(self, status, code, msg=""):
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
                f"<Message>{msg}</Message></Error>").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body) if self.command != "HEAD" else 0))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def verify(self, body):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return "missing or non-SigV4 Authorization"
        parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        cred = parts["Credential"].split("/")
        if cred[0] != ACCESS or cred[2] != REGION or cred[3] != "s3" or cred[4] != "aws4_request":
            return "bad credential scope " + parts["Credential"]
        signed = parts["SignedHeaders"].split(";")
        for required in ("host", "x-amz-date", "x-amz-content-sha256"):
            if required not in signed:
                return "header not signed: " + required
        payload = self.headers.get("x-amz-content-sha256", "")
        if payload != "UNSIGNED-PAYLOAD" and payload != hashlib.sha256(body).hexdigest():
            return "XAmzContentSHA256Mismatch"
        url = urllib.parse.urlsplit(self.path)
        canon_uri = urllib.parse.quote(urllib.parse.unquote(url.path), safe="/-_.~")
        q = sorted(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        canon_q = "&".join(urllib.parse.quote(k, safe="-_.~") + "=" + urllib.parse.quote(v, safe="-_.~") for k, v in q)
        canon_h = "".join(f"{h}:{' '.join(self.headers.get(h, '').split())}\n" for h in signed)
        creq = "\n".join([self.command, canon_uri, canon_q, canon_h, parts["SignedHeaders"], payload])
        amzdate = self.headers["x-amz-date"]
        scope = f"{cred[1]}/{REGION}/s3/aws4_request"
        sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(creq.encode()).hexdigest()])
        k = sign(sign(sign(sign(("AWS4" + SECRET).encode(), cred[1]), REGION), "s3"), "aws4_request")
        if hmac.new(k, sts.encode(), hashlib.sha256).hexdigest() != parts["Signature"]:
            return "SignatureDoesNotMatch"
        return None

    def handle_any(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n) if n else b""
        problem = self.verify(body)
        if problem == "XAmzContentSHA256Mismatch":
            return self.error(400, problem, "payload hash mismatch")
        if problem:
            return self.error(403, "SignatureDoesNotMatch" if "Signature" in problem else "AccessDenied", problem)
        key = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        if self.command == "PUT":
            objects[key] = body
            self.send_response(200)
            self.send_header("ETag", '"%s"' % hashlib.md5(body).hexdigest())
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.command in ("GET", "HEAD"):
            if key not in objects:
                return self.error(404, "NoSuchKey", key)
            data = objects[key]
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(data)
        elif self.command == "DELETE":
            objects.pop(key, None)           # S3 answers 204 whether or not it existed
            self.send_response(204)
            self.end_headers()

    do_PUT = do_GET = do_HEAD = do_DELETE = handle_any


srv = ThreadingHTTPServer(("127.0.0.1", 0), S3)
print(srv.server_address[1], flush=True)
srv.serve_forever()
