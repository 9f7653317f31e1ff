"""fake_jwks.py — a loopback stand-in for Google's JWKS endpoint, plus an ID-token signer.

Keys are generated at start (RSA 2048, python3-cryptography); tokens are RS256 JWTs shaped
like Google's ID tokens. Counts fetches so tests can check caching."""
import base64
import http.server
import json
import threading
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_bytes(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


class FakeJWKS:
    def __init__(self):
        self.keys = {}
        self.published = []
        self.fetches = 0
        self.add_key("k1")
        handler = self._handler()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d/oauth2/v3/certs" % self.port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add_key(self, kid, publish=True):
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.keys[kid] = k
        if publish:
            self.published.append(kid)
        return k

    def jwks(self):
        out = []
        for kid in self.published:
            pub = self.keys[kid].public_key().public_numbers()
            out.append({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
                        "n": b64u(_int_bytes(pub.n)), "e": b64u(_int_bytes(pub.e))})
        return {"keys": out}

    def _handler(self):
        fake = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                fake.fetches += 1
                body = json.dumps(fake.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "public, max-age=3600")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass
        return H

    def token(self, client_id, sub="1234567890", email="rider@gmail.com", kid="k1", exp_in=3600,
              iss="https://accounts.google.com", email_verified=True, name="Rider Gmail", alg="RS256",
              key_kid=None, **extra):
        header = {"alg": alg, "kid": kid, "typ": "JWT"}
        now = int(time.time())
        claims = {"iss": iss, "aud": client_id, "sub": sub, "email": email,
                  "email_verified": email_verified, "name": name, "iat": now, "exp": now + exp_in}
        claims.update(extra)
        signing = (b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())).encode()
        key = self.keys[key_kid or kid]
        sig = key.sign(signing, padding.PKCS1v15(), hashes.SHA256())
        return signing.decode() + "." + b64u(sig)

    def close(self):
        self.httpd.shutdown()
