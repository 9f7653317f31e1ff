"""Billing configuration: no webhook secret means webhooks are refused, a missing or wrong
Stripe key never leaks and never pretends to work, and the operator's plans file
(RODEO_PLANS_FILE) is applied, or stops start-up when it is malformed."""
import json
import os
import tempfile

from harness import Server, check_error
from stripe_peer import FakeStripe, event, sign

OWN_SERVER = True
WRONG_KEY = "sk_test_WrongKeyThatMustNeverAppearInResponses"


def test_webhook_refused_without_secret(_):
    srv = Server(env={"STRIPE_WEBHOOK_SECRET": ""}).start()
    try:
        body = event("evt_nosecret", "payment_intent.succeeded", {"id": "pi_1"})
        r = srv.request("POST", "/api/webhooks/stripe", body=body,
                        headers={"Stripe-Signature": sign("whsec_anything", body)})
        check_error(r, 503, "webhook_not_configured")
        # and without a Stripe key, payments say so instead of failing obscurely
        tok = srv.token()
        check_error(srv.post("/api/payments/create-intent", {"amount": 5, "description": "x"}, token=tok),
                    503, "payments_not_configured")
        # plans are still listed
        assert srv.get("/api/subscription/plans").status == 200
    finally:
        srv.cleanup()


def test_wrong_stripe_key_is_not_leaked(_):
    fake = FakeStripe()
    srv = Server(env={"STRIPE_SECRET_KEY": WRONG_KEY, "STRIPE_API_BASE": fake.base}).start()
    try:
        tok = srv.token()
        r = srv.post("/api/payments/create-intent", {"amount": 5, "description": "x"}, token=tok)
        check_error(r, 502, "payment_provider_error")
        assert "WrongKey" not in r.text
        r = srv.post("/api/payments/create-subscription", {"plan": "pro"}, token=tok)
        check_error(r, 502)
        assert "WrongKey" not in r.text
        assert "WrongKey" not in srv.read_log()       # nor in our logs
        # the fake really was asked with the key (the refusal is Stripe's, not ours)
        assert fake.requests("/v1/customers")
    finally:
        srv.cleanup()
        fake.stop()


def test_operator_plans_file(_):
    d = tempfile.mkdtemp(prefix="rodeo-plans-")
    path = os.path.join(d, "plans.json")
    with open(path, "w") as f:
        json.dump({"plans": [{"id": "pro", "price": "24.50", "features": ["Team roping video reviews"],
                              "quotas": {"chat_messages_day": 300}},
                             {"id": "gold", "name": "Gold", "price": 99, "price_id": "price_gold"}]}, f)
    srv = Server(env={"RODEO_PLANS_FILE": path}).start()
    try:
        plans = srv.get("/api/subscription/plans").json()["plans"]
        by = {p["name"]: p for p in plans}
        assert by["Pro"]["price"] == 24.5 and by["Pro"]["quotas"]["chat_messages_day"] == 300
        assert "300 chat messages per day" in by["Pro"]["features"]
        assert "Team roping video reviews" in by["Pro"]["features"]
        assert by["Gold"]["price"] == 99 and by["Gold"]["price_id"] == "price_gold"
    finally:
        srv.cleanup()
    with open(path, "w") as f:
        f.write('{"plans": [{"id": "pro", "price": "19.999"}]}')
    bad = Server(env={"RODEO_PLANS_FILE": path})
    try:
        try:
            bad.start()
            started = True
        except RuntimeError:
            started = False
        assert not started, "a malformed plans file must stop start-up"
        assert "plans file" in bad.read_log()
    finally:
        bad.cleanup()
