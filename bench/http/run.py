#!/usr/bin/env python3
"""Drives the HTTP benchmark and writes bench/results/http.md.
Env: USERS (1000) CONVS (50) MSGS (10) DURATION (10 s) SKIP_PG (unset)."""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
USERS, CONVS, MSGS = (int(os.environ.get(k, d)) for k, d in (("USERS", 1000), ("CONVS", 50), ("MSGS", 10)))
DUR = os.environ.get("DURATION", "10")
# PostgreSQL is seeded through the same store calls, one transaction each (~1 ms per message
# insert on this machine), so it gets fewer users by default.
PG_USERS = int(os.environ.get("PG_USERS", 100))


def free_port():
    import socket
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def wrk(url, script=None, env=None):
    cmd = ["wrk", "-t2", "-c64", "-d" + DUR + "s", "--latency"]
    if script:
        cmd += ["-s", os.path.join(ROOT, "bench/http", script)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, env=dict(os.environ, **(env or {}))).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p99_ms": float(p99.group(1)) * scale, "errors": int(non2xx.group(1)) if non2xx else 0}


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def req(port, method, path, body=None, token=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    return r.status, r.read()


def run_rodeo(label, database_url=None, users=USERS):
    d = tempfile.mkdtemp(prefix="rodeo-bench-")
    seed = [os.path.join(ROOT, "build/bench-http/seed"), d, str(users), str(CONVS), str(MSGS)]
    if database_url:
        seed.append(database_url)
    t0 = time.time()
    subprocess.run(seed, check=True)
    seed_s = time.time() - t0
    port = free_port()
    env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", RODEO_DATA_DIR=d, RATE_LIMIT="0",
               LOG_LEVEL="warn", JWT_SECRET="bench-secret-bench-secret-bench-secret")
    if database_url:
        env["DATABASE_URL"] = database_url
    t0 = time.time()
    p = subprocess.Popen([os.path.join(ROOT, "build/rodeo"), "serve"], env=env)
    while True:
        try:
            if req(port, "GET", "/health")[0] == 200:
                break
        except OSError:
            time.sleep(0.002)
    start_ms = (time.time() - t0) * 1000
    time.sleep(0.5)
    idle = rss_mb(p.pid)
    st, body = req(port, "POST", "/api/auth/login", {"email": "bench0@example.com", "password": "bench password 123"})
    tok = json.loads(body)["access_token"]
    convs = json.loads(req(port, "GET", "/api/conversations?limit=1", token=tok)[1])
    cid = convs[0]["id"]
    base = "http://127.0.0.1:%d" % port
    res = {"seed_s": seed_s, "start_ms": start_ms, "idle_rss_mb": idle,
           "health": wrk(base + "/health", "lat.lua"),
           "list": wrk(base + "/api/conversations?limit=20", "get.lua", {"TOKEN": tok}),
           "get": wrk(base + "/api/conversations/%d" % cid, "get.lua", {"TOKEN": tok}),
           "create": wrk(base + "/api/conversations", "post.lua", {"TOKEN": tok})}
    res["loaded_rss_mb"] = rss_mb(p.pid)
    p.terminate(); p.wait(30)
    shutil.rmtree(d, ignore_errors=True)
    print(label, json.dumps(res), flush=True)
    return res


def run_fastapi():
    port = free_port()
    p = subprocess.Popen(["/usr/bin/python3", "-m", "uvicorn", "fastapi_hello:app", "--port", str(port),
                          "--workers", "1", "--log-level", "warning"], cwd=os.path.join(ROOT, "bench/http"))
    while True:
        try:
            if req(port, "GET", "/health")[0] == 200:
                break
        except OSError:
            time.sleep(0.05)
    r = wrk("http://127.0.0.1:%d/health" % port, "lat.lua")
    p.terminate(); p.wait(30)
    print("fastapi", json.dumps(r), flush=True)
    return r


def main():
    fa = run_fastapi()
    sq = run_rodeo("sqlite")
    pg = None
    if not os.environ.get("SKIP_PG"):
        env = subprocess.run([os.path.join(ROOT, "scripts/pg.sh"), "start"], capture_output=True, text=True, check=True).stdout
        vals = dict(kv.split("=", 1) for kv in env.replace("export ", "").split())
        try:
            pg = run_rodeo("postgres", vals["PG_TEST_URL"], PG_USERS)
        finally:
            subprocess.run([os.path.join(ROOT, "scripts/pg.sh"), "stop", vals["PG_TEST_DIR"]])
    cpu = subprocess.run("lscpu | grep 'Model name' | sed 's/.*: *//'", shell=True, capture_output=True, text=True).stdout.strip()
    rows = [("GET /health", "health", 50000), ("GET /api/conversations?limit=20", "list", 15000),
            ("GET /api/conversations/{id} (10 messages)", "get", 10000), ("POST /api/conversations", "create", 3000)]
    out = ["## HTTP API (issue 2)", "",
           "wrk -t2 -c64 -d%ss on loopback, %d users x %d conversations x %d messages, rate limits off, "
           "same 2-core machine (%s). FastAPI = Debian python3-fastapi + uvicorn, 1 worker, hello-world /health." % (DUR, USERS, CONVS, MSGS, cpu), "",
           "| endpoint | target | Rodeo SQLite req/s (p99 ms) | Rodeo PostgreSQL req/s (p99 ms) | vs FastAPI hello |",
           "|---|---|---|---|---|"]
    for name, key, target in rows:
        s = sq[key]
        p = pg[key] if pg else None
        out.append("| %s | >= %d | %.0f (%.2f)%s | %s | %.1fx |" % (
            name, target, s["rps"], s["p99_ms"], " errors=%d" % s["errors"] if s["errors"] else "",
            "%.0f (%.2f)" % (p["rps"], p["p99_ms"]) if p else "n/a", s["rps"] / fa["rps"]))
    out += ["", "FastAPI hello world GET /health: %.0f req/s (p99 %.2f ms)." % (fa["rps"], fa["p99_ms"]),
            "Rodeo SQLite: start to first 200 %.0f ms (target < 100), idle RSS %.1f MB (target < 20), "
            "RSS after load %.1f MB; seeding took %.0f s." % (sq["start_ms"], sq["idle_rss_mb"], sq["loaded_rss_mb"], sq["seed_s"])]
    if pg:
        out.append("PostgreSQL was seeded with %d users x %d x %d (seeding goes through the API's store calls, one transaction each)." % (PG_USERS, CONVS, MSGS))
        out.append("Rodeo PostgreSQL: start %.0f ms, idle RSS %.1f MB, after load %.1f MB." % (pg["start_ms"], pg["idle_rss_mb"], pg["loaded_rss_mb"]))
    os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench/results/http.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
