"""stripe_peer.py — test helpers around fake_stripe.py: start/stop it as a subprocess,
talk to its /_test/ control endpoints, and sign webhook payloads exactly the way Stripe does
(header "t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>")."""
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class FakeStripe:
    def __init__(self, key="sk_test_rodeo_e2e", prices=("price_pro_e2e=1999", "price_premium_e2e=4999")):
        self.key = key
        args = ["/usr/bin/python3", os.path.join(HERE, "fake_stripe.py"), "--port", "0", "--key", key]
        for p in prices:
            args += ["--price", p]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("PORT "), line
        self.port = int(line.split()[1])
        self.base = "http://127.0.0.1:%d" % self.port

    def ctl(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request(method, path, body=json.dumps(body) if body is not None else None)
            r = c.getresponse()
            return json.loads(r.read() or b"null")
        finally:
            c.close()

    def requests(self, path=None):
        reqs = self.ctl("GET", "/_test/requests")
        return [r for r in reqs if path is None or r["path"] == path]

    def fail(self, path, count=1, status=500, mode="before", delay=0):
        self.ctl("POST", "/_test/fail", {"path": path, "count": count, "status": status,
                                         "mode": mode, "delay": delay})

    def subscription(self, sid, **changes):
        if changes:
            return self.ctl("POST", "/_test/subscription/" + sid, changes)
        return self.ctl("GET", "/_test/subscription/" + sid)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def sign(secret, body, t=None):
    t = int(time.time()) if t is None else int(t)
    mac = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, mac)


def event(evt_id, type_, obj, created=None):
    return json.dumps({"id": evt_id, "object": "event", "type": type_,
                       "created": int(time.time()) if created is None else created,
                       "data": {"object": obj}, "livemode": False}).encode()
