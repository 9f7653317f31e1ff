#!/usr/bin/env python3
"""fake_stripe.py — a loopback Stripe API peer for tests.

It checks what the real API checks for Rodeo's calls and answers with Stripe-shaped objects
and errors:
  * Authorization: Bearer <key> must equal --key (else 401 invalid_request_error; the
    message deliberately echoes the presented key, so tests can prove Rodeo never relays it).
  * POST bodies must be application/x-www-form-urlencoded; nested keys (items[0][price],
    metadata[user_id], expand[0]) are decoded into objects and lists the way Stripe does.
  * Every POST must carry an Idempotency-Key. Re-sending a key with the same parameters
    replays the stored response (header Idempotent-Replayed: true); with different
    parameters it is a 400 idempotency_error, as in Stripe.
Objects: customers, payment_intents, subscriptions (+ trial -> pending SetupIntent, cancel at
period end, cancel now), prices configured with --price id=cents.

Test control (not Stripe API):
  POST /_test/fail  {"path": "/v1/payment_intents", "count": 1, "status": 500,
                     "mode": "before" | "after" | "drop" | "slow", "delay": seconds}
       "before": answer status without processing; "after": process (and remember under the
       idempotency key), then answer status as if the response was lost; "drop": process,
       then close the connection without a response; "slow": sleep delay, then process.
  GET  /_test/requests   every request seen: method, path, idempotency_key, form, query
  GET  /_test/objects    counts of created objects
  GET|POST /_test/subscription/<id>  read / overwrite fields of a subscription (state changes
       that happen at Stripe without an API call, like the customer paying)
  POST /_test/reset

Run: fake_stripe.py --port 0 --key sk_test_x [--price price_pro=1999 ...]; prints "PORT <n>".
"""
import argparse
import json
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.RLock()
STATE = {}
ARGS = None


def reset():
    with LOCK:
        STATE.clear()
        STATE.update({"customers": {}, "payment_intents": {}, "subscriptions": {},
                      "setup_intents": {}, "idem": {}, "requests": [], "fail": []})


def new_id(prefix):
    return prefix + "_" + secrets.token_hex(8)


class StripeError(Exception):
    def __init__(self, status, type_, message, code=None, param=None):
        self.status, self.type, self.message, self.code, self.param = status, type_, message, code, param

    def body(self):
        e = {"type": self.type, "message": self.message}
        if self.code:
            e["code"] = self.code
        if self.param:
            e["param"] = self.param
        return {"error": e}


def decode_form(text):
    """Stripe-style nested form decoding: a[b][0][c]=v -> {"a": {"b": [{"c": v}]}}."""
    out = {}
    if not text:
        return out
    for pair in text.split("&"):
        if "=" not in pair:
            raise StripeError(400, "invalid_request_error", "Invalid form encoding: %r" % pair)
        k, v = pair.split("=", 1)
        k = urllib.parse.unquote_plus(k, errors="strict")
        v = urllib.parse.unquote_plus(v, errors="strict")
        parts = [k.split("[", 1)[0]]
        rest = k[len(parts[0]):]
        while rest:
            if not rest.startswith("[") or "]" not in rest:
                raise StripeError(400, "invalid_request_error", "Invalid parameter name: %s" % k)
            end = rest.index("]")
            parts.append(rest[1:end])
            rest = rest[end + 1:]
        cur = out
        for i, p in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                if isinstance(cur, list):
                    cur.append(v)
                else:
                    cur[p] = v
            else:
                nxt_is_list = parts[i + 1] == "" or parts[i + 1].isdigit()
                if isinstance(cur, list):
                    idx = int(p) if p.isdigit() else len(cur)
                    while len(cur) <= idx:
                        cur.append([] if nxt_is_list else {})
                    cur = cur[idx]
                else:
                    cur = cur.setdefault(p, [] if nxt_is_list else {})
    # Lists given as a[0]=x arrive as dicts keyed by digits in the loop above only when the
    # first index was not seen as a list; normalise them.
    return _normalise(out)


def _normalise(v):
    if isinstance(v, dict):
        if v and all(k.isdigit() for k in v):
            return [_normalise(v[k]) for k in sorted(v, key=int)]
        return {k: _normalise(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_normalise(x) for x in v]
    return v


def require(form, name):
    if name not in form or form[name] in ("", None):
        raise StripeError(400, "invalid_request_error", "Missing required param: %s." % name,
                          code="parameter_missing", param=name)
    return form[name]


def as_int(form, name):
    try:
        return int(form[name])
    except (KeyError, ValueError):
        raise StripeError(400, "invalid_request_error", "Invalid integer: %s" % form.get(name),
                          code="parameter_invalid_integer", param=name)


def expand_list(form):
    e = form.get("expand", [])
    return e if isinstance(e, list) else [e]


def create_customer(form):
    c = {"id": new_id("cus"), "object": "customer", "created": int(time.time()),
         "email": form.get("email"), "name": form.get("name"), "metadata": form.get("metadata", {}),
         "livemode": False}
    STATE["customers"][c["id"]] = c
    return c


def create_payment_intent(form):
    amount = as_int(form, "amount")
    if amount < 50:
        raise StripeError(400, "invalid_request_error", "Amount must be at least $0.50 usd",
                          code="amount_too_small", param="amount")
    if amount > 99999999:
        raise StripeError(400, "invalid_request_error", "Amount must be no more than $999,999.99",
                          code="amount_too_large", param="amount")
    currency = require(form, "currency")
    if currency != "usd":
        raise StripeError(400, "invalid_request_error", "Invalid currency: %s" % currency,
                          param="currency")
    cust = form.get("customer")
    if cust and cust not in STATE["customers"]:
        raise StripeError(400, "invalid_request_error", "No such customer: '%s'" % cust,
                          code="resource_missing", param="customer")
    pid = new_id("pi")
    pi = {"id": pid, "object": "payment_intent", "amount": amount, "currency": currency,
          "customer": cust, "description": form.get("description"),
          "metadata": form.get("metadata", {}), "status": "requires_payment_method",
          "client_secret": pid + "_secret_" + secrets.token_hex(8), "created": int(time.time()),
          "automatic_payment_methods": form.get("automatic_payment_methods"), "livemode": False}
    STATE["payment_intents"][pid] = pi
    return pi


def create_subscription(form):
    cust = require(form, "customer")
    if cust not in STATE["customers"]:
        raise StripeError(400, "invalid_request_error", "No such customer: '%s'" % cust,
                          code="resource_missing", param="customer")
    items = form.get("items")
    if not isinstance(items, list) or not items or not isinstance(items[0], dict) \
            or "price" not in items[0]:
        raise StripeError(400, "invalid_request_error", "Missing required param: items.",
                          code="parameter_missing", param="items")
    price = items[0]["price"]
    if price not in ARGS.prices:
        raise StripeError(400, "invalid_request_error", "No such price: '%s'" % price,
                          code="resource_missing", param="items[0][price]")
    now = int(time.time())
    trial = int(form["trial_period_days"]) if form.get("trial_period_days") else 0
    sid = new_id("sub")
    expand = expand_list(form)
    sub = {"id": sid, "object": "subscription", "customer": cust, "created": now,
           "metadata": form.get("metadata", {}), "cancel_at_period_end": False,
           "current_period_start": now, "current_period_end": now + (trial or 30) * 86400,
           "items": {"object": "list", "data": [{"id": new_id("si"), "price": {
               "id": price, "unit_amount": ARGS.prices[price], "currency": "usd",
               "recurring": {"interval": "month"}}}]},
           "trial_end": now + trial * 86400 if trial else None, "livemode": False}
    inv_id = new_id("in")
    if trial:
        sub["status"] = "trialing"
        seti = {"id": new_id("seti"), "object": "setup_intent", "status": "requires_payment_method"}
        seti["client_secret"] = seti["id"] + "_secret_" + secrets.token_hex(8)
        STATE["setup_intents"][seti["id"]] = seti
        sub["pending_setup_intent"] = seti if "pending_setup_intent" in expand else seti["id"]
        invoice = {"id": inv_id, "object": "invoice", "amount_due": 0, "payment_intent": None,
                   "status": "paid"}
    else:
        if form.get("payment_behavior") != "default_incomplete":
            raise StripeError(402, "card_error", "This customer has no attached payment source",
                              code="resource_missing")
        sub["status"] = "incomplete"
        sub["pending_setup_intent"] = None
        pid = new_id("pi")
        pi = {"id": pid, "object": "payment_intent", "amount": ARGS.prices[price],
              "currency": "usd", "status": "requires_payment_method", "customer": cust,
              "client_secret": pid + "_secret_" + secrets.token_hex(8), "metadata": {}}
        STATE["payment_intents"][pid] = pi
        invoice = {"id": inv_id, "object": "invoice", "amount_due": ARGS.prices[price],
                   "status": "open",
                   "payment_intent": pi if "latest_invoice.payment_intent" in expand else pid}
    sub["latest_invoice"] = invoice if any(e.startswith("latest_invoice") for e in expand) else inv_id
    STATE["subscriptions"][sid] = sub
    return sub


def get_sub(sid):
    sub = STATE["subscriptions"].get(sid)
    if not sub:
        raise StripeError(404, "invalid_request_error", "No such subscription: '%s'" % sid,
                          code="resource_missing", param="id")
    return sub


def update_subscription(sid, form):
    sub = get_sub(sid)
    if sub["status"] == "canceled":
        raise StripeError(400, "invalid_request_error",
                          "A canceled subscription can only update its cancellation_details.")
    if "cancel_at_period_end" in form:
        sub["cancel_at_period_end"] = form["cancel_at_period_end"] == "true"
    if "metadata" in form:
        sub["metadata"].update(form["metadata"])
    return sub


def cancel_subscription(sid):
    sub = get_sub(sid)
    if sub["status"] == "canceled":
        raise StripeError(400, "invalid_request_error",
                          "No such subscription: '%s'; it has been canceled" % sid,
                          code="resource_missing")
    sub["status"] = "canceled"
    sub["canceled_at"] = int(time.time())
    sub["ended_at"] = sub["canceled_at"]
    return sub


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_json(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", "req_" + secrets.token_hex(6))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_hostile(self, mode):
        """Answers 200 with a body no Stripe client should accept."""
        if mode == "garbage":
            data = b"<html>502 Bad Gateway</html>"
        elif mode == "huge":
            data = b'{"id": "' + b"x" * (6 << 20) + b'"}'
        else:
            data = b'{"id": "pi_trunc'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data) + (50 if mode == "truncated" else 0)))
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(data)
            self.wfile.flush()
            if mode == "truncated":
                self.connection.shutdown(2)
        except OSError:
            pass        # the client gave up reading, as it should for "huge"

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def handle_control(self, method, path, raw):
        with LOCK:
            if path == "/_test/reset":
                reset()
                return self.send_json(200, {"ok": True})
            if path == "/_test/fail" and method == "POST":
                STATE["fail"].append(json.loads(raw or b"{}"))
                return self.send_json(200, {"ok": True})
            if path == "/_test/requests":
                return self.send_json(200, STATE["requests"])
            if path == "/_test/objects":
                return self.send_json(200, {k: len(STATE[k]) for k in
                                            ("customers", "payment_intents", "subscriptions")})
            if path.startswith("/_test/subscription/"):
                sub = STATE["subscriptions"].get(path.rsplit("/", 1)[1])
                if sub is not None and method == "POST":      # e.g. the customer paid
                    sub.update(json.loads(raw or b"{}"))
                return self.send_json(200, sub)
        self.send_json(404, {"error": "unknown control path"})

    def take_failure(self, path):
        for f in STATE["fail"]:
            if path.startswith(f.get("path", "")) and f.get("count", 1) > 0:
                f["count"] = f.get("count", 1) - 1
                return f
        return None

    def handle_any(self, method):
        raw = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path.startswith("/_test/"):
            return self.handle_control(method, path, raw)
        try:
            self.dispatch(method, path, url.query, raw)
        except StripeError as e:
            self.send_json(e.status, e.body())

    def dispatch(self, method, path, query, raw):
        auth = self.headers.get("Authorization", "")
        idem = self.headers.get("Idempotency-Key")
        ctype = self.headers.get("Content-Type", "")
        try:
            form_text = raw.decode("utf-8", "strict") if method == "POST" else query
        except UnicodeDecodeError:
            raise StripeError(400, "invalid_request_error", "Body is not UTF-8")
        with LOCK:
            failure = self.take_failure(path)
            STATE["requests"].append({"method": method, "path": path, "idempotency_key": idem,
                                      "content_type": ctype, "raw": form_text,
                                      "stripe_version": self.headers.get("Stripe-Version"),
                                      "form": None})
            record = STATE["requests"][-1]
        if not auth.startswith("Bearer ") or auth[7:] != ARGS.key:
            raise StripeError(401, "invalid_request_error",
                              "Invalid API Key provided: %s" % auth[7:])
        if method == "POST" and ctype.split(";")[0].strip() != "application/x-www-form-urlencoded":
            raise StripeError(400, "invalid_request_error",
                              "Content-Type must be application/x-www-form-urlencoded")
        if method == "POST" and not idem:
            raise StripeError(400, "invalid_request_error",
                              "This fake requires an Idempotency-Key on every POST",
                              code="idempotency_key_missing")
        form = decode_form(form_text)
        record["form"] = form
        if failure and failure.get("mode") in ("garbage", "huge", "truncated"):
            self.send_hostile(failure["mode"])
            return
        if failure and failure.get("mode", "before") == "before":
            raise StripeError(failure.get("status", 500), "api_error",
                              "An unknown error occurred (injected)")
        if failure and failure.get("mode") == "slow":
            time.sleep(failure.get("delay", 1))
        with LOCK:
            if method == "POST":
                prev = STATE["idem"].get(idem)
                if prev is not None:
                    if prev["path"] != path or prev["raw"] != form_text:
                        raise StripeError(400, "idempotency_error",
                                          "Keys for idempotent requests can only be used with the "
                                          "same parameters they were first used with.")
                    status, body = prev["status"], prev["body"]
                    replayed = True
                else:
                    status, body = self.route(method, path, form)
                    STATE["idem"][idem] = {"path": path, "raw": form_text, "status": status,
                                           "body": body}
                    replayed = False
            else:
                status, body = self.route(method, path, form)
                replayed = False
        if failure and failure.get("mode") == "drop":
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        if failure and failure.get("mode") == "after":
            raise StripeError(failure.get("status", 500), "api_error",
                              "An unknown error occurred (injected after processing)")
        self.send_json(status, body, {"Idempotent-Replayed": "true"} if replayed else None)

    def route(self, method, path, form):
        try:
            parts = path.strip("/").split("/")
            if parts[:1] != ["v1"]:
                raise StripeError(404, "invalid_request_error", "Unrecognized request URL")
            res = parts[1:]
            if method == "POST" and res == ["customers"]:
                return 200, create_customer(form)
            if method == "POST" and res == ["payment_intents"]:
                return 200, create_payment_intent(form)
            if method == "GET" and len(res) == 2 and res[0] == "payment_intents":
                pi = STATE["payment_intents"].get(res[1])
                if not pi:
                    raise StripeError(404, "invalid_request_error", "No such payment_intent",
                                      code="resource_missing")
                return 200, pi
            if method == "POST" and res == ["subscriptions"]:
                return 200, create_subscription(form)
            if len(res) == 2 and res[0] == "subscriptions":
                if method == "GET":
                    return 200, get_sub(res[1])
                if method == "POST":
                    return 200, update_subscription(res[1], form)
                if method == "DELETE":
                    return 200, cancel_subscription(res[1])
            raise StripeError(404, "invalid_request_error",
                              "Unrecognized request URL (%s: %s)" % (method, path))
        except StripeError as e:
            return e.status, e.body()


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--key", default="sk_test_rodeo")
    ap.add_argument("--price", action="append", default=[])
    ARGS = ap.parse_args()
    ARGS.prices = {}
    for p in ARGS.price or ["price_pro_monthly=1999", "price_premium_monthly=4999"]:
        k, v = p.split("=")
        ARGS.prices[k] = int(v)
    reset()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
