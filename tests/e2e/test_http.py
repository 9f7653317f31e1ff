"""HTTP behaviour seen by clients: probes, error shape, routing, CORS, request ids, body cap,
rate limits (enabled in this module), keep-alive."""
import http.client
import json
from harness import check_error

SERVER_ENV = {"RATE_LIMIT": "1", "CORS_ORIGINS": "https://app.rodeo.example,https://admin.rodeo.example",
              "MAX_BODY_KB": "64"}


def test_root_health_ready(srv):
    assert srv.get("/").json() == {"status": "ok", "service": "RodeoAI Backend"}
    h = srv.get("/health").json()
    assert h["status"] == "ok" and h["openai_configured"] is False and h["version"]
    r = srv.get("/ready")
    assert r.status == 200 and r.json()["status"] == "ready"


def test_unknown_path_and_method_are_json(srv):
    check_error(srv.get("/nope"), 404, "not_found")
    r = srv.request("PUT", "/health")
    check_error(r, 405)
    assert "GET" in r.headers.get("allow", "")
    r = srv.request("DELETE", "/api/conversations")
    check_error(r, 405)


def test_trailing_slash_redirects(srv):
    r = srv.request("GET", "/health/")
    assert r.status == 307 and r.headers["location"].endswith("/health")


def test_request_id_echoed_or_generated(srv):
    r = srv.get("/health", headers={"X-Request-Id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r2 = srv.get("/health")
    assert len(r2.headers["x-request-id"]) >= 8
    r3 = srv.get("/health", headers={"X-Request-Id": "x" * 500})
    assert r3.headers["x-request-id"] != "x" * 500


def test_cors_listed_origin_and_preflight(srv):
    r = srv.get("/health", headers={"Origin": "https://app.rodeo.example"})
    assert r.headers["access-control-allow-origin"] == "https://app.rodeo.example"
    assert r.headers.get("access-control-allow-credentials") == "true"
    assert "X-Conversation-ID".lower() in r.headers["access-control-expose-headers"].lower()
    r = srv.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    r = srv.request("OPTIONS", "/api/conversations", headers={
        "Origin": "https://admin.rodeo.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status in (200, 204)
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "authorization" in r.headers["access-control-allow-headers"].lower()


def test_body_cap_is_413(srv):
    r = srv.request("POST", "/api/auth/login", body=b"{\"email\": \"" + b"a" * 70000 + b"\"}",
                    headers={"Content-Type": "application/json"})
    check_error(r, 413)


def test_rate_limit_headers_and_429(srv):
    # login allows 10 per minute per client address, in fixed one-minute windows: start the
    # burst early in a window so it cannot straddle a reset
    import time
    first = srv.get("/")
    reset = int(first.headers["x-ratelimit-reset"])
    if reset - time.time() < 10:
        time.sleep(max(0, reset - time.time()) + 0.2)
    statuses = []
    last = None
    for i in range(12):
        last = srv.post("/api/auth/login", {"email": "nobody@example.com", "password": "whatever 123"})
        statuses.append(last.status)
        if i == 0:
            assert last.headers["x-ratelimit-limit"] == "10"
            assert last.headers["x-ratelimit-remaining"] == "9"
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429], statuses
    d = check_error(last, 429, "rate_limited")
    assert "10 per 1 minute" in d["detail"]
    assert 0 < int(last.headers["retry-after"]) <= 60
    assert last.headers["x-ratelimit-remaining"] == "0"
    # other routes have their own budget
    assert srv.get("/").status == 200


def test_keep_alive_serves_many_requests_on_one_connection(srv):
    c = srv.conn()
    for _ in range(50):
        c.request("GET", "/health")
        r = c.getresponse()
        assert r.status == 200 and json.loads(r.read())["status"] == "ok"
    c.close()


def test_garbage_request_line_does_not_kill_server(srv):
    import socket
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"\x00\xff GARBAGE \r\n\r\n")
    s.settimeout(5)
    try:
        s.recv(1000)
    except OSError:
        pass
    s.close()
    assert srv.get("/health").status == 200
