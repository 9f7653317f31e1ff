"""Payments, subscriptions, plans and Stripe webhooks against a real `rodeo serve` and the
fake Stripe peer (tests/tools/fake_stripe.py) on loopback."""
import json
import threading
import time
import uuid

from harness import check_error
from stripe_peer import FakeStripe, event, sign

SECRET = "whsec_e2e_" + uuid.uuid4().hex
FAKE = None
SERVER_ENV = {"RATE_LIMIT": "0", "STRIPE_WEBHOOK_SECRET": SECRET,
              "STRIPE_PRO_PRICE_ID": "price_pro_e2e", "STRIPE_PREMIUM_PRICE_ID": "price_premium_e2e"}


def setup_module():
    global FAKE
    FAKE = FakeStripe()
    SERVER_ENV.update({"STRIPE_SECRET_KEY": FAKE.key, "STRIPE_API_BASE": FAKE.base})


def teardown_module():
    FAKE.stop()


def _user(srv):
    u = srv.register()
    return u["access_token"], u["user"]["id"]


def _hook(srv, body, header=None, secret=SECRET, t=None):
    h = {"Content-Type": "application/json"}
    h["Stripe-Signature"] = header if header is not None else sign(secret, body, t)
    return srv.request("POST", "/api/webhooks/stripe", body=body, headers=h)


def test_plans_listed_with_prices_and_price_ids(srv):
    r = srv.get("/api/subscription/plans")
    assert r.status == 200, r
    plans = r.json()["plans"]
    assert [p["name"] for p in plans] == ["Free", "Pro", "Premium"]
    assert [p["price"] for p in plans] == [0, 19.99, 49.99]
    assert "price_id" not in plans[0]
    assert plans[1]["price_id"] == "price_pro_e2e" and plans[2]["price_id"] == "price_premium_e2e"
    for p in plans:
        assert p["features"] and all(isinstance(f, str) for f in p["features"])
    # the feature list states the enforced limit
    assert "%d chat messages per day" % plans[0]["quotas"]["chat_messages_day"] in plans[0]["features"]
    assert plans[2]["quotas"]["recognitions_day"] is None


def test_payments_require_auth(srv):
    check_error(srv.post("/api/payments/create-intent", {"amount": 5, "description": "x"}), 401)
    check_error(srv.get("/api/payments/my-payments"), 401)
    check_error(srv.get("/api/payments/my-subscription"), 401)
    check_error(srv.post("/api/payments/create-subscription", {"plan": "pro"}), 401)
    check_error(srv.delete("/api/payments/cancel-subscription/1"), 401)


def test_create_intent_exact_cents_and_listed(srv):
    tok, uid = _user(srv)
    r = srv.post("/api/payments/create-intent",
                 {"amount": 19.99, "description": "Entry fee: tie-down", "metadata": {"rodeo": "Pendleton"}},
                 token=tok)
    assert r.status == 200, r
    d = r.json()
    assert d["amount"] == 1999 and d["currency"] == "usd"          # 19.99 -> 1999, never 1998
    assert d["client_secret"].startswith(d["payment_intent_id"] + "_secret_")
    sent = [q for q in FAKE.requests("/v1/payment_intents") if q["form"] and
            q["form"].get("metadata", {}).get("user_id") == str(uid)]
    assert len(sent) == 1
    form = sent[0]["form"]
    assert form["amount"] == "1999" and form["currency"] == "usd"
    assert form["metadata"]["rodeo"] == "Pendleton"
    assert form["automatic_payment_methods"] == {"enabled": "true"}
    assert sent[0]["idempotency_key"] and sent[0]["content_type"] == "application/x-www-form-urlencoded"
    # one customer, remembered: a second payment reuses it
    r2 = srv.post("/api/payments/create-intent", {"amount": "5.10", "description": "Stall"}, token=tok)
    assert r2.status == 200 and r2.json()["amount"] == 510
    custs = {q["form"]["customer"] for q in FAKE.requests("/v1/payment_intents")
             if q["form"] and q["form"].get("metadata", {}).get("user_id") == str(uid)}
    assert len(custs) == 1
    mine = srv.get("/api/payments/my-payments", token=tok).json()
    assert [p["amount"] for p in mine] == [5.1, 19.99]               # newest first
    assert mine[1]["id"] == d["payment_id"] and mine[1]["status"] == "requires_payment_method"
    assert mine[1]["description"] == "Entry fee: tie-down"
    # someone else sees none of it
    assert srv.get("/api/payments/my-payments", token=srv.token()).json() == []


def test_create_intent_rejects_bad_amounts(srv):
    tok, _ = _user(srv)
    before = len(FAKE.requests("/v1/payment_intents"))
    for amount in [0.001, 19.999, -5, 0, 0.49, "1e3", "abc", "19,99", " 5", True, None, [1], 1e9,
                   1000000, "-1"]:
        check_error(srv.post("/api/payments/create-intent", {"amount": amount, "description": "x"},
                             token=tok), 422, "validation_error")
    check_error(srv.post("/api/payments/create-intent", {"description": "no amount"}, token=tok), 422)
    check_error(srv.post("/api/payments/create-intent", {"amount": 5}, token=tok), 422)
    check_error(srv.post("/api/payments/create-intent", {"amount": 5, "description": "x",
                                                         "metadata": {"user_id": "1"}}, token=tok), 422)
    check_error(srv.post("/api/payments/create-intent", {"amount": 5, "description": "x",
                                                         "currency": "eur"}, token=tok), 422)
    check_error(srv.request("POST", "/api/payments/create-intent", body=b"{not json",
                            headers={"Content-Type": "application/json"}, token=tok), 400)
    assert len(FAKE.requests("/v1/payment_intents")) == before      # nothing reached Stripe


def test_client_idempotency_key_prevents_double_charge(srv):
    tok, uid = _user(srv)
    h = {"Idempotency-Key": "client-" + uuid.uuid4().hex}
    body = json.dumps({"amount": 42, "description": "Buckle"}).encode()
    r1 = srv.request("POST", "/api/payments/create-intent", body=body, token=tok,
                     headers=dict(h, **{"Content-Type": "application/json"}))
    r2 = srv.request("POST", "/api/payments/create-intent", body=body, token=tok,
                     headers=dict(h, **{"Content-Type": "application/json"}))
    assert r1.status == 200 and r2.status == 200, (r1, r2)
    assert r1.json()["payment_id"] == r2.json()["payment_id"]
    assert r1.json()["client_secret"] == r2.json()["client_secret"]
    assert len(srv.get("/api/payments/my-payments", token=tok).json()) == 1


def test_stripe_retry_after_lost_response_charges_once(srv):
    tok, uid = _user(srv)
    FAKE.fail("/v1/payment_intents", count=1, status=500, mode="after")
    r = srv.post("/api/payments/create-intent", {"amount": 12.5, "description": "Retry"}, token=tok)
    assert r.status == 200, r
    mine = [q for q in FAKE.requests("/v1/payment_intents")
            if q["form"] and q["form"].get("metadata", {}).get("user_id") == str(uid)]
    assert len(mine) == 2 and mine[0]["idempotency_key"] == mine[1]["idempotency_key"]
    assert len(srv.get("/api/payments/my-payments", token=tok).json()) == 1


def test_stripe_errors_become_json_errors(srv):
    tok, _ = _user(srv)
    # Stripe down (503 on every attempt): 502 after the retries, never a fake success
    FAKE.fail("/v1/payment_intents", count=3, status=503, mode="before")
    r = srv.post("/api/payments/create-intent", {"amount": 3, "description": "down"}, token=tok)
    check_error(r, 502, "payment_provider_unavailable")
    assert FAKE.key not in r.text
    # Stripe refusing the request (402 card error): 400 with Stripe's message, no retry
    n = len(FAKE.requests("/v1/payment_intents"))
    FAKE.fail("/v1/payment_intents", count=1, status=402, mode="before")
    r = srv.post("/api/payments/create-intent", {"amount": 3, "description": "declined"}, token=tok)
    d = check_error(r, 400, "payment_error")
    assert d["detail"].startswith("Payment intent creation failed: ") and "injected" in d["detail"]
    assert len(FAKE.requests("/v1/payment_intents")) == n + 1
    # a 2xx that is not a Stripe object is not taken for one
    FAKE.fail("/v1/payment_intents", count=1, mode="garbage")
    check_error(srv.post("/api/payments/create-intent", {"amount": 3, "description": "junk"}, token=tok), 502)
    assert srv.get("/api/payments/my-payments", token=tok).json() == []


def test_subscription_trial_returns_setup_intent_secret(srv):
    tok, uid = _user(srv)
    r = srv.post("/api/payments/create-subscription", {"plan": "Pro", "trial_days": 7}, token=tok)
    assert r.status == 200, r
    d = r.json()
    assert d["client_secret"].startswith("seti_") and d["client_secret_type"] == "setup_intent"
    assert d["status"] == "trialing" and d["plan"] == "pro" and d["subscription_id"] > 0
    sent = [q for q in FAKE.requests("/v1/subscriptions") if q["form"] and
            q["form"].get("metadata", {}).get("user_id") == str(uid)][0]["form"]
    assert sent["items"] == [{"price": "price_pro_e2e"}] and sent["trial_period_days"] == "7"
    assert sent["payment_behavior"] == "default_incomplete"
    assert "pending_setup_intent" in sent["expand"]
    m = srv.get("/api/payments/my-subscription", token=tok).json()
    assert m["has_subscription"] is True and m["plan"] == "pro" and m["status"] == "trialing"
    assert m["price"] == 19.99 and m["features"] and m["id"] == d["subscription_id"]
    assert m["cancel_at_period_end"] is False and m["current_period_end"].endswith("Z")
    assert srv.get("/api/auth/me", token=tok).json().get("plan", "pro") == "pro"
    usage = srv.get("/api/subscription/usage", token=tok).json()
    assert usage["plan"] == "pro"


def test_one_active_subscription_per_user(srv):
    tok, uid = _user(srv)
    first = srv.post("/api/payments/create-subscription", {"plan": "pro", "trial_days": 3}, token=tok).json()
    check_error(srv.post("/api/payments/create-subscription", {"plan": "pro"}, token=tok), 409,
                "already_subscribed")
    up = srv.post("/api/payments/create-subscription", {"plan": "premium", "trial_days": 3}, token=tok)
    assert up.status == 200, up
    old = FAKE.subscription(first["stripe_subscription_id"])
    assert old["status"] == "canceled"                    # replaced at Stripe
    m = srv.get("/api/payments/my-subscription", token=tok).json()
    assert m["plan"] == "premium" and m["id"] == up.json()["subscription_id"]


def test_subscription_requires_known_paid_plan(srv):
    tok, _ = _user(srv)
    check_error(srv.post("/api/payments/create-subscription", {"plan": "free"}, token=tok), 400, "invalid_plan")
    check_error(srv.post("/api/payments/create-subscription", {"plan": "gold"}, token=tok), 400, "invalid_plan")
    check_error(srv.post("/api/payments/create-subscription", {}, token=tok), 422)
    check_error(srv.post("/api/payments/create-subscription", {"plan": "pro", "trial_days": -1}, token=tok), 422)
    check_error(srv.post("/api/payments/create-subscription", {"plan": "pro", "trial_days": "7"}, token=tok), 422)


def test_concurrent_subscribe_creates_one(srv):
    tok, uid = _user(srv)
    out = []

    def go():
        out.append(srv.post("/api/payments/create-subscription", {"plan": "premium", "trial_days": 2},
                            token=tok).status)
    th = [threading.Thread(target=go) for _ in range(5)]
    [t.start() for t in th]
    [t.join() for t in th]
    assert sorted(out) == [200, 409, 409, 409, 409], out


def test_incomplete_subscription_activated_by_webhook_then_canceled(srv):
    tok, uid = _user(srv)
    r = srv.post("/api/payments/create-subscription", {"plan": "pro"}, token=tok)
    assert r.status == 200, r
    d = r.json()
    assert d["status"] == "incomplete" and d["client_secret"].startswith("pi_")
    assert d["client_secret_type"] == "payment_intent"
    # incomplete grants nothing yet
    assert srv.get("/api/payments/my-subscription", token=tok).json() == {"has_subscription": False,
                                                                          "plan": "free"}
    sid = d["stripe_subscription_id"]
    sub = FAKE.subscription(sid, status="active")       # the customer paid at Stripe
    body = event("evt_" + uuid.uuid4().hex, "customer.subscription.updated", sub)
    r = _hook(srv, body)
    assert r.status == 200 and r.json()["applied"] is True, r
    m = srv.get("/api/payments/my-subscription", token=tok).json()
    assert m["has_subscription"] and m["status"] == "active" and m["plan"] == "pro"
    # cancel at period end: still active, flagged
    r = srv.delete("/api/payments/cancel-subscription/%d" % d["subscription_id"], token=tok)
    assert r.status == 200, r
    assert r.json()["status"] == "canceling_at_period_end" and r.json()["period_end"].endswith("Z")
    assert FAKE.subscription(sid)["cancel_at_period_end"] is True
    m = srv.get("/api/payments/my-subscription", token=tok).json()
    assert m["has_subscription"] and m["cancel_at_period_end"] is True
    # someone else cannot cancel it
    check_error(srv.delete("/api/payments/cancel-subscription/%d" % d["subscription_id"],
                           token=srv.token()), 404)
    check_error(srv.delete("/api/payments/cancel-subscription/abc", token=tok), 422)
    # now
    r = srv.delete("/api/payments/cancel-subscription/%d?at_period_end=false" % d["subscription_id"], token=tok)
    assert r.status == 200 and r.json()["status"] == "canceled", r
    assert FAKE.subscription(sid)["status"] == "canceled"
    assert srv.get("/api/payments/my-subscription", token=tok).json()["has_subscription"] is False
    check_error(srv.delete("/api/payments/cancel-subscription/%d" % d["subscription_id"], token=tok),
                400, "already_canceled")
    # a late "active" event cannot resurrect it
    sub["status"] = "active"
    r = _hook(srv, event("evt_" + uuid.uuid4().hex, "customer.subscription.updated", sub,
                         created=int(time.time()) + 5))
    assert r.status == 200 and r.json()["applied"] is False
    assert srv.get("/api/payments/my-subscription", token=tok).json()["has_subscription"] is False


def test_webhook_signature_checks(srv):
    body = event("evt_" + uuid.uuid4().hex, "charge.succeeded", {"id": "ch_1"})
    check_error(srv.request("POST", "/api/webhooks/stripe", body=body,
                            headers={"Content-Type": "application/json"}), 400, "missing_signature")
    check_error(_hook(srv, body, secret="whsec_wrong"), 400, "invalid_signature")
    check_error(_hook(srv, body, t=time.time() - 301), 400, "invalid_signature")     # replay window
    check_error(_hook(srv, body, t=time.time() + 400), 400, "invalid_signature")
    hdr = sign(SECRET, body)
    check_error(_hook(srv, body.replace(b"ch_1", b"ch_2"), header=hdr), 400, "invalid_signature")
    check_error(_hook(srv, body + b" ", header=hdr), 400, "invalid_signature")
    check_error(_hook(srv, body, header="t=abc,v1=00"), 400, "invalid_signature")
    check_error(_hook(srv, body, header="garbage"), 400)
    # several v1 (secret rotation): any may match
    t = int(time.time())
    good = sign(SECRET, body, t).split("v1=")[1]
    r = _hook(srv, body, header="t=%d,v1=%s,v1=%s" % (t, "0" * 64, good))
    assert r.status == 200 and r.json()["status"] == "success", r
    # exactly once: the same event again is acknowledged as a duplicate
    r = _hook(srv, body)
    assert r.status == 200 and r.json()["duplicate"] is True
    # signed, but not an event
    check_error(_hook(srv, b'{"hello": "world"}'), 400, "invalid_payload")
    check_error(_hook(srv, b"\xff\xfe not json"), 400, "invalid_payload")


def test_webhook_payment_status_and_out_of_order(srv):
    tok, uid = _user(srv)
    d = srv.post("/api/payments/create-intent", {"amount": 75, "description": "Entry"}, token=tok).json()
    pi = {"id": d["payment_intent_id"], "object": "payment_intent", "amount": 7500}
    now = int(time.time())
    ok = event("evt_" + uuid.uuid4().hex, "payment_intent.succeeded", dict(pi, status="succeeded"), now)
    late_fail = event("evt_" + uuid.uuid4().hex, "payment_intent.payment_failed", pi, now - 10)
    assert _hook(srv, ok).json()["applied"] is True
    assert _hook(srv, late_fail).json()["applied"] is False
    assert _hook(srv, ok).json()["duplicate"] is True
    p = srv.get("/api/payments/my-payments", token=tok).json()[0]
    assert p["status"] == "succeeded" and p["amount"] == 75


def test_webhook_throughput_smoke(srv):
    # 200 distinct signed events, sequentially, must all be accepted
    t0 = time.time()
    for i in range(200):
        body = event("evt_bulk_%s_%d" % (uuid.uuid4().hex[:8], i), "charge.succeeded", {"id": "ch_%d" % i})
        assert _hook(srv, body).status == 200
    assert time.time() - t0 < 30
