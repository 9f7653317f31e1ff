"""The binary as an operator uses it: --help/--version, migrate, user create/admin, start-up
errors, graceful shutdown with a request in flight, start-up time."""
import os
import subprocess
import tempfile
import threading
import time
import harness

OWN_SERVER = True


def run(args, env=None, input=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([harness.BINARY] + args, env=e, input=input, capture_output=True, text=True,
                          timeout=60)


def test_version_and_help(_):
    r = run(["--version"])
    assert r.returncode == 0 and r.stdout.startswith("rodeo ")
    r = run(["--help"])
    assert r.returncode == 0 and "serve" in r.stdout and "migrate" in r.stdout
    for cmd in ["serve", "migrate", "user"]:
        r = run([cmd, "--help"])
        assert r.returncode == 0 and "usage: rodeo " + cmd in r.stdout, (cmd, r)
    r = run(["bogus"])
    assert r.returncode == 2 and "unknown command" in r.stderr


def _dbenv(d):
    env = {"RODEO_DATA_DIR": d}
    if harness.DATABASE_URL:
        env["DATABASE_URL"] = harness.DATABASE_URL
    return env


def test_migrate_is_idempotent(_):
    with tempfile.TemporaryDirectory() as d:
        r1 = run(["migrate"], _dbenv(d))
        assert r1.returncode == 0 and "schema version" in r1.stdout, r1
        r2 = run(["migrate"], _dbenv(d))
        assert r2.returncode == 0 and r2.stdout == r1.stdout


def test_user_create_and_admin_then_login(_):
    with tempfile.TemporaryDirectory() as d:
        env = _dbenv(d)
        email = "Boss-%d@Example.com" % os.getpid()
        r = run(["user", "create", "--email", email, "--password-stdin", "--admin"], env,
                input="steer wrestling 4.1\n")
        assert r.returncode == 0 and "(admin)" in r.stdout, r
        r = run(["user", "create", "--email", email, "--password-stdin"], env, input="steer wrestling 4.1\n")
        assert r.returncode == 1 and "already exists" in r.stderr
        r = run(["user", "create", "--email", "weak@example.com", "--password-stdin"], env, input="short\n")
        assert r.returncode == 1
        r = run(["user", "create", "--email", "x@example.com"], env)
        assert r.returncode == 2
        srv = harness.Server(env={"RODEO_DATA_DIR": d}).start()
        try:
            t = srv.post("/api/auth/login", {"email": email, "password": "steer wrestling 4.1"})
            assert t.status == 200, t
            me = srv.get("/api/auth/me", token=t.json()["access_token"]).json()
            assert me["is_admin"] is True
            # an admin may read another user's profile
            other = srv.register()
            assert srv.get("/api/users/%d" % other["user"]["id"], token=t.json()["access_token"]).status == 200
        finally:
            srv.cleanup()
        r = run(["user", "admin", "--email", email, "--revoke"], env)
        assert r.returncode == 0 and "no longer" in r.stdout
        r = run(["user", "admin", "--email", "ghost@example.com"], env)
        assert r.returncode == 1


def test_production_requires_jwt_secret(_):
    with tempfile.TemporaryDirectory() as d:
        env = dict(_dbenv(d), RODEO_ENV="production", PORT=str(harness.free_port()), JWT_SECRET="")
        r = run(["serve"], env)
        assert r.returncode == 1 and "JWT_SECRET" in r.stderr, r
        r = run(["serve"], dict(env, JWT_SECRET="too-short"))
        assert r.returncode == 1 and "JWT_SECRET" in r.stderr


def test_bad_configuration_is_a_clear_error(_):
    r = run(["serve"], {"PORT": "eighty"})
    assert r.returncode == 1 and "PORT" in r.stderr
    r = run(["serve"], {"DATABASE_URL": "mysql://nope", "RODEO_DATA_DIR": tempfile.gettempdir()})
    assert r.returncode == 1 and r.stderr.strip()


def test_port_in_use_is_a_clear_error(_):
    srv = harness.Server().start()
    try:
        other = harness.Server(env={"PORT": str(srv.port)})
        other.start(wait=False)
        assert other.proc.wait(30) == 1
        other.log.close()
        assert other.read_log().strip()
    finally:
        srv.cleanup()


def test_graceful_shutdown_finishes_in_flight_request(_):
    srv = harness.Server(env={"LOG_LEVEL": "info"}).start()
    try:
        u = srv.register()
        # registration spends ~argon2 time; SIGTERM while another is in flight must let it finish
        results = []

        def slow():
            results.append(srv.post("/api/auth/login", {"email": u["email"], "password": u["password"]}).status)
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.01)
        rc = srv.stop()
        t.join()
        assert rc == 0
        assert results == [200], results
        assert "stopped" in srv.read_log()
    finally:
        srv.cleanup()


def test_starts_fast_and_restarts_on_same_data(_):
    srv = harness.Server()
    t0 = time.time()
    srv.start()
    first = time.time() - t0
    try:
        u = srv.register()
        assert srv.stop() == 0
        srv.start()
        # sessions survive a restart (the generated or configured secret is kept)
        assert srv.get("/api/auth/me", token=u["access_token"]).status == 200
    finally:
        srv.cleanup()
    assert first < 5.0, first


def test_newer_schema_is_a_clear_startup_error(_):
    if harness.DATABASE_URL:
        return      # SQLite file edited directly below; the store unit tests cover PostgreSQL
    import sqlite3
    with tempfile.TemporaryDirectory() as d:
        assert run(["migrate"], {"RODEO_DATA_DIR": d}).returncode == 0
        db = sqlite3.connect(os.path.join(d, "rodeo.db"))
        db.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)")
        db.commit()
        db.close()
        r = run(["serve"], {"RODEO_DATA_DIR": d, "PORT": str(harness.free_port())})
        assert r.returncode == 1 and "999" in r.stderr, r
