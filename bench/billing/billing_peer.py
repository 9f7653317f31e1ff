#!/usr/bin/env python3
"""billing_peer.py — the same work as billing_bench.c done the way the original service's
stack does it (Python, sqlite3 in WAL mode, hmac + json from the standard library, the
verification stripe-python's Webhook.construct_event performs), as the peer for the ratio.
Usage: billing_peer.py DIR QUOTA_ITERS WEBHOOK_EVENTS"""
import hashlib
import hmac
import json
import os
import sqlite3
import statistics
import sys
import time

d, iters, nevents = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
db = sqlite3.connect(os.path.join(d, "peer.db"), isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
db.executescript("""
CREATE TABLE users (id INTEGER PRIMARY KEY, plan TEXT NOT NULL DEFAULT 'free');
CREATE TABLE usage_counters (user_id BIGINT, quota TEXT, period TEXT, count BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, quota, period));
CREATE TABLE subscriptions (id INTEGER PRIMARY KEY, user_id BIGINT, stripe_subscription_id TEXT UNIQUE,
  plan TEXT, status TEXT, current_period_start BIGINT, current_period_end BIGINT,
  cancel_at_period_end INTEGER, latest_event_at BIGINT NOT NULL DEFAULT 0, updated_at BIGINT);
CREATE TABLE payments (id INTEGER PRIMARY KEY, stripe_payment_intent_id TEXT UNIQUE, status TEXT, updated_at BIGINT);
CREATE TABLE stripe_events (event_id TEXT PRIMARY KEY, type TEXT, received_at BIGINT);
INSERT INTO users (id, plan) VALUES (1, 'pro');
INSERT INTO subscriptions (user_id, stripe_subscription_id, plan, status) VALUES (1, 'sub_bench', 'pro', 'active');
""")
LIMITS = {"pro": 200}


def quota_consume(uid, period):
    plan = db.execute("SELECT plan FROM users WHERE id = ?", (uid,)).fetchone()[0]
    row = db.execute("INSERT INTO usage_counters (user_id, quota, period, count) VALUES (?, ?, ?, 1)"
                     " ON CONFLICT (user_id, quota, period) DO UPDATE SET count = count + 1"
                     " WHERE count < ? RETURNING count", (uid, "chat_messages_day", period, LIMITS[plan])).fetchone()
    return row is not None


samples = []
for b in range(iters // 500):
    t0 = time.perf_counter()
    for i in range(150):
        quota_consume(1, "day-%d" % b)
    samples.append((time.perf_counter() - t0) / 150 * 1e6)
print("quota_us %.2f" % statistics.median(samples))

secret = b"whsec_bench"
now = int(time.time())
events = []
for i in range(nevents):
    if i % 2:
        ev = {"id": "evt_b%d" % i, "object": "event", "type": "customer.subscription.updated",
              "created": now - nevents + i, "data": {"object": {
                  "id": "sub_bench", "object": "subscription", "customer": "cus_bench", "status": "active",
                  "cancel_at_period_end": False, "current_period_start": now, "current_period_end": now + 2592000,
                  "items": {"object": "list", "data": [{"id": "si_1", "price": {"id": "price_pro_monthly"}}]}}}}
    else:
        ev = {"id": "evt_b%d" % i, "object": "event", "type": "payment_intent.succeeded", "created": now,
              "data": {"object": {"id": "pi_b%d" % i, "object": "payment_intent", "status": "succeeded"}}}
    body = json.dumps(ev).encode()
    sig = hmac.new(secret, b"%d." % now + body, hashlib.sha256).hexdigest()
    events.append((body, "t=%d,v1=%s" % (now, sig)))


def handle(body, header):
    parts = dict(p.split("=", 1) for p in header.split(","))
    t = int(parts["t"])
    expected = hmac.new(secret, parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parts["v1"]) or abs(time.time() - t) > 300:
        return 400
    ev = json.loads(body)
    obj = ev["data"]["object"]
    db.execute("BEGIN IMMEDIATE")
    cur = db.execute("INSERT INTO stripe_events VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                     (ev["id"], ev["type"], int(time.time() * 1e6)))
    if cur.rowcount == 0:
        db.execute("ROLLBACK")
        return 200
    if ev["type"].startswith("customer.subscription."):
        db.execute("UPDATE subscriptions SET status = ?, current_period_start = ?, current_period_end = ?,"
                   " cancel_at_period_end = ?, latest_event_at = ?, updated_at = ?"
                   " WHERE stripe_subscription_id = ? AND latest_event_at <= ?",
                   (obj["status"], obj["current_period_start"] * 1000000, obj["current_period_end"] * 1000000,
                    int(obj["cancel_at_period_end"]), ev["created"] * 1000000, int(time.time() * 1e6),
                    obj["id"], ev["created"] * 1000000))
    else:
        db.execute("UPDATE payments SET status = ?, updated_at = ? WHERE stripe_payment_intent_id = ?"
                   " AND status NOT IN ('succeeded', 'canceled')", ("succeeded", int(time.time() * 1e6), obj["id"]))
    db.execute("COMMIT")
    return 200


t0 = time.perf_counter()
bad = sum(handle(b, h) != 200 for b, h in events)
print("webhooks_per_s %.0f (%d not 200)" % (nevents / (time.perf_counter() - t0), bad))
