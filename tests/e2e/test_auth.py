"""Accounts and sessions: register, login, refresh rotation and reuse, logout, me, users."""
import base64
import json
import threading
from harness import check_error


def test_register_returns_tokens_and_user(srv):
    r = srv.post("/api/auth/register", {"email": "  Roper@Example.COM ", "password": "heel and head 2024",
                                        "full_name": "Ty Roper", "unknown_field": 1})
    assert r.status == 201, r
    d = r.json()
    assert d["token_type"] == "bearer" and d["expires_in"] > 0
    assert d["access_token"].count(".") == 2 and len(d["refresh_token"]) >= 40
    assert d["user"]["email"] == "roper@example.com"          # normalised
    assert d["user"]["full_name"] == "Ty Roper"
    assert d["user"]["skill_level"] == "beginner"
    assert "password_hash" not in d["user"] and "password" not in json.dumps(d["user"])


def test_register_duplicate_email_is_409_case_insensitive(srv):
    u = srv.register()
    r = srv.post("/api/auth/register", {"email": u["email"].upper(), "password": "another good one 9"})
    check_error(r, 409, "email_taken")


def test_register_rejects_weak_and_invalid(srv):
    for pw in ["short", "aaaaaaaaaaaa", "password", "12345678"]:
        check_error(srv.post("/api/auth/register", {"email": "w@example.com", "password": pw}), 422)
    for email in ["", "no-at-sign", "a@b", "@example.com", "a@@b.com", "a b@c.com", 42, None]:
        check_error(srv.post("/api/auth/register", {"email": email, "password": "fine password 1"}), 422)
    check_error(srv.post("/api/auth/register", {"password": "fine password 1"}), 422)
    check_error(srv.post("/api/auth/register", {"email": "x@example.com", "password": 12345678}), 422)
    # nothing was written: the address is still free
    assert srv.post("/api/auth/register", {"email": "w@example.com", "password": "fine password 1"}).status == 201


def test_login_success_and_failures(srv):
    u = srv.register()
    r = srv.post("/api/auth/login", {"email": u["email"].upper(), "password": u["password"]})
    assert r.status == 200, r
    assert r.json()["user"]["id"] == u["user"]["id"]
    d = check_error(srv.post("/api/auth/login", {"email": u["email"], "password": "wrong password"}), 401,
                    "invalid_credentials")
    d2 = check_error(srv.post("/api/auth/login", {"email": "nobody@example.com", "password": "wrong password"}),
                     401, "invalid_credentials")
    assert d["detail"] == d2["detail"]       # no user enumeration


def test_me_requires_valid_token(srv):
    u = srv.register()
    r = srv.get("/api/auth/me", token=u["access_token"])
    assert r.status == 200 and r.json()["email"] == u["email"]
    check_error(srv.get("/api/auth/me"), 401)
    check_error(srv.get("/api/auth/me", token="garbage"), 401)
    check_error(srv.get("/api/auth/me", headers={"Authorization": "Basic Zm9vOmJhcg=="}), 401)


def _b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_tampered_expired_and_alg_none_tokens_rejected(srv):
    u = srv.register()
    h, p, s = u["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    other = dict(claims, sub=str(int(claims["sub"]) + 1))
    check_error(srv.get("/api/auth/me", token="%s.%s.%s" % (h, _b64(other), s)), 401)
    check_error(srv.get("/api/auth/me", token="%s.%s." % (_b64({"alg": "none", "typ": "JWT"}), _b64(other))), 401)
    expired = dict(claims, exp=1000)
    check_error(srv.get("/api/auth/me", token="%s.%s.%s" % (h, _b64(expired), s)), 401)
    check_error(srv.get("/api/auth/me", token=u["access_token"] + "x"), 401)


def test_refresh_rotates_and_reuse_revokes_session(srv):
    u = srv.register()
    r1 = srv.post("/api/auth/refresh", {"refresh_token": u["refresh_token"]})
    assert r1.status == 200, r1
    t1 = r1.json()
    assert t1["refresh_token"] != u["refresh_token"]
    assert srv.get("/api/auth/me", token=t1["access_token"]).status == 200
    # the old refresh token again: reuse -> 401 and the whole session is revoked
    check_error(srv.post("/api/auth/refresh", {"refresh_token": u["refresh_token"]}), 401, "refresh_token_reused")
    check_error(srv.post("/api/auth/refresh", {"refresh_token": t1["refresh_token"]}), 401)
    check_error(srv.get("/api/auth/me", token=t1["access_token"]), 401)
    check_error(srv.post("/api/auth/refresh", {"refresh_token": "not-a-token"}), 401, "invalid_refresh_token")
    check_error(srv.post("/api/auth/refresh", {}), 422)


def test_logout_revokes_session(srv):
    u = srv.register()
    other = srv.post("/api/auth/login", {"email": u["email"], "password": u["password"]}).json()
    assert srv.post("/api/auth/logout", token=u["access_token"]).status == 200
    check_error(srv.get("/api/auth/me", token=u["access_token"]), 401)
    check_error(srv.post("/api/auth/refresh", {"refresh_token": u["refresh_token"]}), 401)
    # a second sign-in of the same user is a separate session and keeps working
    assert srv.get("/api/auth/me", token=other["access_token"]).status == 200


def test_users_only_self(srv):
    a, b = srv.register(), srv.register()
    ida, idb = a["user"]["id"], b["user"]["id"]
    assert srv.get("/api/users/%d" % ida, token=a["access_token"]).status == 200
    check_error(srv.get("/api/users/%d" % idb, token=a["access_token"]), 404)
    check_error(srv.patch("/api/users/%d" % idb, {"full_name": "hacked"}, token=a["access_token"]), 404)
    assert srv.get("/api/users/%d" % idb, token=b["access_token"]).json()["full_name"] == "Test Rider"
    check_error(srv.get("/api/users/%d" % ida), 401)
    for bad in ["abc", "-1", "0", "99999999999999999999999"]:
        check_error(srv.get("/api/users/" + bad, token=a["access_token"]), 422)


def test_user_patch_fields_and_validation(srv):
    a = srv.register()
    path, tok = "/api/users/%d" % a["user"]["id"], a["access_token"]
    r = srv.patch(path, {"full_name": "Amberley", "skill_level": "advanced",
                         "preferences": {"events": ["barrel racing"], "units": "imperial"}}, token=tok)
    assert r.status == 200 and r.json() == {"status": "success"}
    d = srv.get(path, token=tok).json()
    assert d["full_name"] == "Amberley" and d["skill_level"] == "advanced"
    assert d["preferences"] == {"events": ["barrel racing"], "units": "imperial"}
    check_error(srv.patch(path, {"skill_level": "legendary"}, token=tok), 422)
    check_error(srv.patch(path, {"preferences": [1, 2]}, token=tok), 422)
    check_error(srv.patch(path, {"full_name": 7}, token=tok), 422)
    check_error(srv.patch(path, {"preferences": {"x": "y" * 20000}}, token=tok), 422)
    assert srv.get(path, token=tok).json()["skill_level"] == "advanced"   # nothing written


def test_concurrent_registrations_of_one_email_create_one_account(srv):
    results = []

    def go():
        r = srv.post("/api/auth/register", {"email": "race@example.com", "password": "barrel race 15.2"})
        results.append(r.status)

    ts = [threading.Thread(target=go) for _ in range(8)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert sorted(results) == [201] + [409] * 7, results


def _login_burst(srv, u, n, results):
    """n logins at once, each on its own connection; (status, headers, body) into results."""
    def go():
        r = srv.post("/api/auth/login", {"email": u["email"], "password": u["password"]})
        results.append(r)
    ts = [threading.Thread(target=go) for _ in range(n)]
    for t in ts:
        t.start()
    return ts


def test_login_burst_does_not_stall_health(srv):
    """argon2 runs on the auth workers, not the HTTP threads (HTTP_THREADS=4 here): while 48
    logins hash at once, /health on the same server keeps answering well inside one argon2
    time, and every login still succeeds."""
    import time
    u = srv.register()
    one = []
    for _ in range(3):
        t0 = time.perf_counter()
        assert srv.post("/api/auth/login", {"email": u["email"], "password": u["password"]}).status == 200
        one.append(time.perf_counter() - t0)
    argon = sorted(one)[1]
    results, lat = [], []
    ts = _login_burst(srv, u, 48, results)
    while any(t.is_alive() for t in ts):
        t0 = time.perf_counter()
        assert srv.get("/health").status == 200
        lat.append(time.perf_counter() - t0)
        time.sleep(0.002)
    for t in ts:
        t.join()
    assert len(results) == 48 and all(r.status == 200 for r in results), [r.status for r in results]
    assert all(r.json()["user"]["id"] == u["user"]["id"] for r in results)
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    # on the HTTP threads each /health would wait behind several logins (48 / 4 threads)
    assert len(lat) >= 5, lat
    assert p99 < argon / 2, "health p99 %.1f ms vs one login %.1f ms (%d samples)" % (p99 * 1e3, argon * 1e3, len(lat))


def test_auth_queue_full_is_503_with_retry_after(srv):
    """One worker and a queue of one: a burst overflows it; the overflow is 503 auth_busy with
    Retry-After, the rest log in, and a wrong password is still 401 through the workers."""
    import harness
    other = harness.Server(env={"AUTH_WORKERS": "1", "AUTH_QUEUE": "1"}).start()
    try:
        u = other.register()
        results = []
        for t in _login_burst(other, u, 12, results):
            t.join()
        codes = sorted(r.status for r in results)
        assert set(codes) <= {200, 503} and 200 in codes and 503 in codes, codes
        for r in results:
            if r.status == 503:
                check_error(r, 503, "auth_busy")
                assert r.headers.get("retry-after") == "1"
        check_error(other.post("/api/auth/login", {"email": u["email"], "password": "not the password"}), 401,
                    "invalid_credentials")
        assert other.stop() == 0
    finally:
        other.cleanup()
