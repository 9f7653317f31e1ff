"""Google sign-in verified for real against a loopback JWKS server with test-generated keys."""
import time
from fake_jwks import FakeJWKS
from harness import check_error

CLIENT_ID = "rodeo-test.apps.googleusercontent.com"
JWKS = FakeJWKS()
SERVER_ENV = {"GOOGLE_CLIENT_ID": CLIENT_ID, "GOOGLE_JWKS_URL": JWKS.url}


def teardown_module():
    JWKS.close()


def test_valid_token_creates_then_reuses_account(srv):
    t = JWKS.token(CLIENT_ID, sub="g-100", email="Barrel.Racer@gmail.com")
    r = srv.post("/api/auth/google", {"token": t})
    assert r.status == 200, r
    d = r.json()
    assert d["user"]["email"] == "barrel.racer@gmail.com" and d["token_type"] == "bearer"
    assert srv.get("/api/auth/me", token=d["access_token"]).status == 200
    r2 = srv.post("/api/auth/google", {"token": JWKS.token(CLIENT_ID, sub="g-100", email="barrel.racer@gmail.com")})
    assert r2.json()["user"]["id"] == d["user"]["id"]
    # the original clients' query-parameter form
    r3 = srv.request("POST", "/api/auth/google?token=" + JWKS.token(CLIENT_ID, sub="g-100"))
    assert r3.status == 200 and r3.json()["user"]["id"] == d["user"]["id"]


def test_rejects_wrong_audience_issuer_expiry_and_unverified(srv):
    bad = [
        JWKS.token("someone-else", sub="g-2"),
        JWKS.token(CLIENT_ID, sub="g-2", iss="https://evil.example"),
        JWKS.token(CLIENT_ID, sub="g-2", exp_in=-10),
        JWKS.token(CLIENT_ID, sub="g-2", email_verified=False),
    ]
    for t in bad:
        check_error(srv.post("/api/auth/google", {"token": t}), 401, "invalid_google_token")


def test_rejects_forged_signature_and_unknown_key(srv):
    JWKS.add_key("rogue", publish=False)
    forged = JWKS.token(CLIENT_ID, sub="g-3", kid="k1", key_kid="rogue")
    check_error(srv.post("/api/auth/google", {"token": forged}), 401)
    unknown = JWKS.token(CLIENT_ID, sub="g-3", kid="rogue")
    check_error(srv.post("/api/auth/google", {"token": unknown}), 401)
    t = JWKS.token(CLIENT_ID, sub="g-3")
    h, p, s = t.split(".")
    check_error(srv.post("/api/auth/google", {"token": h + "." + p + "." + s[:-4] + "AAAA"}), 401)
    check_error(srv.post("/api/auth/google", {"token": "not.a.jwt"}), 401)
    check_error(srv.post("/api/auth/google", {"token": 17}), 422)
    check_error(srv.post("/api/auth/google", {}), 422)


def test_new_key_is_fetched_on_rotation(srv):
    JWKS.add_key("k2")            # Google rotates keys: a token with a new kid triggers a refetch
    time.sleep(2.1)               # (refetches are at most one per 2 s)
    r = srv.post("/api/auth/google", {"token": JWKS.token(CLIENT_ID, sub="g-4", email="new.key@gmail.com", kid="k2")})
    assert r.status == 200, r


def test_keys_are_cached(srv):
    before = JWKS.fetches
    for i in range(3):
        assert srv.post("/api/auth/google", {"token": JWKS.token(CLIENT_ID, sub="g-5", email="cache@gmail.com")}).status == 200
    assert JWKS.fetches == before


def test_existing_password_account_is_not_taken_over(srv):
    u = srv.register(email="owner@gmail.com")
    t = JWKS.token(CLIENT_ID, sub="g-attacker", email="owner@gmail.com")
    check_error(srv.post("/api/auth/google", {"token": t}), 409, "email_taken")
