"""harness.py — end-to-end test support: start a real `rodeo serve` on a loopback port with a
temporary data dir, and speak HTTP to it with the standard library only.

A test module is tests/e2e/test_*.py with functions named test_*(srv) taking a Server.
Servers are shared per module (start is ~tens of ms); tests create their own users so they
do not depend on each other. Fake external peers (LLM, Stripe, JWKS) live in tests/tools/.
"""
import http.client
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse
import uuid

BINARY = os.environ.get("RODEO_BINARY", "build/rodeo")
DATABASE_URL = os.environ.get("RODEO_TEST_DATABASE_URL", "")


def fresh_database(base_url, name):
    """Creates (or recreates) PostgreSQL database e2e_<name> beside base_url's; returns its URL."""
    db = "e2e_" + name.lower()
    for sql in ("DROP DATABASE IF EXISTS %s" % db, "CREATE DATABASE %s" % db):
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", base_url, "-c", sql], check=True,
                       capture_output=True)
    u = urllib.parse.urlsplit(base_url)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + db, u.query, u.fragment))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8")

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:200])


class Server:
    def __init__(self, env=None, database_url=None):
        self.dir = tempfile.mkdtemp(prefix="rodeo-e2e-")
        self.port = free_port()
        self.env = dict(os.environ)
        self.env.update({
            "PORT": str(self.port), "HOST": "127.0.0.1",
            "RODEO_DATA_DIR": os.path.join(self.dir, "data"),
            "LOG_LEVEL": "warn", "HTTP_THREADS": "4",
            "JWT_SECRET": "e2e-test-secret-" + uuid.uuid4().hex,
            # limits are tested in test_http.py; other suites register many users quickly
            "RATE_LIMIT": "0",
            # the starter product catalog renders and imports in the background: only
            # test_recognize.py wants it
            "RODEO_STARTER_CATALOG": "0",
        })
        db = database_url if database_url is not None else DATABASE_URL
        if db:
            self.env["DATABASE_URL"] = db
        if env:
            self.env.update(env)
        self.proc = None
        self.log_path = os.path.join(self.dir, "server.log")

    def sql(self, query):
        """Runs one SQL statement on this server's database, SQLite or PostgreSQL (for tests
        that stage a data directory by hand). Returns (rows as tuples of str, row count)."""
        url = self.env.get("DATABASE_URL")
        if url:
            r = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", query],
                               capture_output=True, text=True, check=True)
            lines = [line for line in r.stdout.splitlines() if line]
            if lines and lines[-1].split()[0] in ("UPDATE", "DELETE", "INSERT"):
                return [], int(lines[-1].split()[-1])
            rows = [tuple(line.split("|")) for line in lines]
            return rows, len(rows)
        db = sqlite3.connect(os.path.join(self.env["RODEO_DATA_DIR"], "rodeo.db"))
        try:
            cur = db.execute(query)
            rows = [tuple(str(c) for c in row) for row in cur.fetchall()]
            db.commit()
            return rows, cur.rowcount if cur.rowcount >= 0 else len(rows)
        finally:
            db.close()

    def start(self, wait=True):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([BINARY, "serve"], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if wait:
            deadline = time.time() + 30
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("server exited %d:\n%s" % (self.proc.returncode, self.read_log()))
                try:
                    if self.request("GET", "/health").status == 200:
                        return self
                except OSError:
                    pass
                time.sleep(0.02)
            raise RuntimeError("server did not become healthy:\n" + self.read_log())
        return self

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, timeout=20):
        """SIGTERM and wait: returns the exit code (must be 0 for a clean shutdown)."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("server did not stop on SIGTERM within %ds" % timeout)
        self.log.close()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- HTTP ----
    def conn(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, token=None, json_body=None,
                timeout=30):
        h = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            h.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        if token:
            h["Authorization"] = "Bearer " + token
        c = self.conn(timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json_body=None, **kw):
        return self.request("POST", path, json_body=json_body, **kw)

    def patch(self, path, json_body=None, **kw):
        return self.request("PATCH", path, json_body=json_body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # ---- accounts ----
    def register(self, email=None, password="correct horse battery staple", full_name="Test Rider"):
        email = email or ("rider-%s@example.com" % uuid.uuid4().hex[:12])
        r = self.post("/api/auth/register", {"email": email, "password": password,
                                             "full_name": full_name})
        assert r.status == 201, r
        d = r.json()
        d["email"] = email
        d["password"] = password
        return d

    def token(self):
        return self.register()["access_token"]


def check_error(r, status, code=None):
    """Asserts the one JSON error shape {"detail": str, "code": str} and the status."""
    assert r.status == status, "expected %d, got %r" % (status, r)
    d = r.json()
    assert isinstance(d.get("detail"), (str, list)), d
    assert isinstance(d.get("code"), str), d
    if code:
        assert d["code"] == code, d
    return d
