"""Plan quotas enforced by the server: exports and chat messages at the boundary, the JSON
error naming the quota, its limit and reset, 402 for a feature outside the plan, upgrades
lifting the limit, counters surviving a restart, and 50 parallel requests at a limit of 10
allowing exactly 10."""
import json
import os
import tempfile
import threading
import time
import uuid

from harness import Server, check_error
from stripe_peer import FakeStripe, event, sign

OWN_SERVER = True
SECRET = "whsec_quota_" + uuid.uuid4().hex
PLANS = {"plans": [
    {"id": "free", "quotas": {"exports_day": 10, "chat_messages_day": 3, "recognitions_day": 0}},
    {"id": "pro", "quotas": {"exports_day": 12}},
]}


def _server(plans_dir, plans=PLANS, env=None):
    path = os.path.join(plans_dir, "plans.json")
    with open(path, "w") as f:
        json.dump(plans, f)
    e = {"RODEO_PLANS_FILE": path, "RATE_LIMIT": "0", "STRIPE_WEBHOOK_SECRET": SECRET,
         "OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}
    e.update(env or {})
    return Server(env=e).start()


def _conv(srv, tok):
    r = srv.post("/api/conversations", {"title": "Barrel pattern"}, token=tok)
    assert r.status == 200, r
    return r.json()["id"]


def test_export_quota_boundary_and_restart(_):
    d = tempfile.mkdtemp(prefix="rodeo-quota-")
    srv = _server(d)
    data_dir = srv.env["RODEO_DATA_DIR"]
    try:
        tok = srv.token()
        cid = _conv(srv, tok)
        for i in range(10):
            r = srv.get("/api/conversations/%d/export/text" % cid, token=tok)
            assert r.status == 200, (i, r)
            assert r.headers["x-quota-limit"] == "10" and r.headers["x-quota-remaining"] == str(9 - i)
        r = srv.get("/api/conversations/%d/export/text" % cid, token=tok)
        d429 = check_error(r, 429, "quota_exceeded")
        assert d429["quota"] == "exports_day" and d429["limit"] == 10 and d429["used"] == 10
        assert d429["plan"] == "free" and d429["reset_at"].endswith("T00:00:00.000000Z")
        assert 0 < int(r.headers["retry-after"]) <= 86400
        # a 404 does not consume (and another user is unaffected)
        check_error(srv.get("/api/conversations/999999/export/text", token=tok), 404)
        other = srv.token()
        assert srv.get("/api/conversations/%d/export/text" % _conv(srv, other), token=other).status == 200
        usage = srv.get("/api/subscription/usage", token=tok).json()
        assert usage["quotas"]["exports_day"]["used"] == 10
        assert usage["quotas"]["exports_day"]["remaining"] == 0
        srv.stop()
        # counters live in the database: still exhausted after a restart
        srv2 = Server(env=dict(srv.env))
        srv2.env["PORT"] = str(__import__("harness").free_port())
        srv2.port = int(srv2.env["PORT"])
        srv2.start()
        try:
            check_error(srv2.get("/api/conversations/%d/export/text" % cid, token=tok), 429, "quota_exceeded")
        finally:
            srv2.cleanup()
    finally:
        srv.cleanup()


def test_fifty_parallel_requests_at_limit_ten_allow_ten(_):
    d = tempfile.mkdtemp(prefix="rodeo-quota-")
    srv = _server(d)
    try:
        tok = srv.token()
        cid = _conv(srv, tok)
        statuses = []
        lock = threading.Lock()
        start = threading.Event()

        def go():
            start.wait()
            r = srv.get("/api/conversations/%d/export/text" % cid, token=tok)
            with lock:
                statuses.append(r.status)
        th = [threading.Thread(target=go) for _ in range(50)]
        [t.start() for t in th]
        start.set()
        [t.join() for t in th]
        assert statuses.count(200) == 10, sorted(statuses)
        assert statuses.count(429) == 40, sorted(statuses)
    finally:
        srv.cleanup()


def test_chat_quota_and_upgrade_lifts_limit(_):
    d = tempfile.mkdtemp(prefix="rodeo-quota-")
    fake = FakeStripe(prices=("price_pro_monthly=1999", "price_premium_monthly=4999"))
    srv = _server(d, env={"STRIPE_SECRET_KEY": fake.key, "STRIPE_API_BASE": fake.base})
    try:
        u = srv.register()
        tok, uid = u["access_token"], u["user"]["id"]
        msg = {"messages": [{"role": "user", "content": "How do I keep my barrel horse from dropping its shoulder?"}]}
        for i in range(3):
            r = srv.post("/api/chat", msg, token=tok)
            assert r.status == 200, (i, r)
        r = srv.post("/api/chat", msg, token=tok)
        e = check_error(r, 429, "quota_exceeded")
        assert e["quota"] == "chat_messages_day" and e["limit"] == 3
        assert "chat" in e["detail"].lower()
        # the denied message was not stored: three conversations, one question each
        assert len(srv.get("/api/conversations", token=tok).json()) == 3
        # anonymous chat is not counted against anyone's plan (it has its own per-IP limit)
        assert srv.post("/api/chat", msg).status == 200
        # subscribe (incomplete until paid), then Stripe reports it active: pro limits apply
        r = srv.post("/api/payments/create-subscription", {"plan": "pro"}, token=tok)
        assert r.status == 200, r
        sid = r.json()["stripe_subscription_id"]
        sub = fake.subscription(sid, status="active")
        body = event("evt_q_%d" % uid, "customer.subscription.updated", sub)
        r = srv.request("POST", "/api/webhooks/stripe", body=body,
                        headers={"Stripe-Signature": sign(SECRET, body)})
        assert r.status == 200 and r.json()["applied"] is True, r
        usage = srv.get("/api/subscription/usage", token=tok).json()
        assert usage["plan"] == "pro" and usage["quotas"]["exports_day"]["limit"] == 12
        assert usage["quotas"]["chat_messages_day"]["limit"] == 200
        assert srv.post("/api/chat", msg, token=tok).status == 200     # the limit is lifted
    finally:
        srv.cleanup()
        fake.stop()


def test_feature_outside_plan_is_402(_):
    d = tempfile.mkdtemp(prefix="rodeo-quota-")
    srv = _server(d, plans={"plans": [{"id": "free", "quotas": {"exports_day": 0}}]})
    try:
        tok = srv.token()
        cid = _conv(srv, tok)
        r = srv.get("/api/conversations/%d/export/text" % cid, token=tok)
        e = check_error(r, 402, "plan_required")
        assert e["quota"] == "exports_day" and e["limit"] == 0 and "upgrade" in e["detail"]
        assert "retry-after" not in r.headers
        plans = srv.get("/api/subscription/plans").json()["plans"]
        assert not any("export" in f.lower() and "per day" in f for f in plans[0]["features"])
    finally:
        srv.cleanup()
