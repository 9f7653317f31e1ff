#!/usr/bin/python3
"""stream_bench.py — the chat relay under load, against the fake OpenAI upstream.

1. Relay latency: the fake stamps every token with its send time (CLOCK_MONOTONIC ns); the
   client records when each token arrives, (a) straight from the fake (the peer: no Rodeo in
   between) and (b) through `rodeo serve` (POST /api/chat, raw text stream). Runs alternate
   direct/rodeo. Rodeo's added latency = the difference of the two distributions.
2. Concurrency: N simultaneous chats (default 200) with the fake pacing tokens 20 ms apart;
   all must complete with the full answer while the server's thread count stays flat.
Usage: stream_bench.py --binary build/rodeo [--streams 200] [--rounds 6]
Prints human lines and one "RESULT k=v ..." line.
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "tools"))
import fake_openai  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def read_stamps(resp, sse):
    """Reads a streamed body; returns [(recv_ns, stamp_ns)] per token."""
    out, buf = [], b""
    while True:
        chunk = resp.read1(65536)
        now = time.monotonic_ns()
        if not chunk:
            break
        buf += chunk
        if sse:   # upstream SSE: data: {...delta content "NNN "...}
            while b"\n\n" in buf:
                ev, buf = buf.split(b"\n\n", 1)
                if not ev.startswith(b"data: {"):
                    continue
                c = json.loads(ev[6:])["choices"]
                t = c[0]["delta"].get("content") if c else None
                if t and t.strip():
                    out.append((now, int(t)))
        else:     # our raw text stream: "NNN NNN "
            while b" " in buf:
                tok, buf = buf.split(b" ", 1)
                if tok.strip():
                    out.append((now, int(tok)))
    return out


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def one_direct(fport, ntok):
    c = http.client.HTTPConnection("127.0.0.1", fport, timeout=30)
    body = json.dumps({"model": "m", "stream": True, "messages": [{"role": "user", "content": " ".join(["x"] * ntok)}]})
    c.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    s = read_stamps(r, True)
    c.close()
    return s


def one_rodeo(port, ntok):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"messages": [{"role": "user", "content": " ".join(["x"] * ntok)}]})
    c.request("POST", "/api/chat", body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    assert r.status == 200, r.status
    s = read_stamps(r, False)
    c.close()
    return s


def threads_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/rodeo")
    ap.add_argument("--streams", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--tokens", type=int, default=40)
    a = ap.parse_args()

    fproc, fport = fake_openai.start()
    d = tempfile.mkdtemp(prefix="rodeo-chat-bench-")
    port = free_port()
    env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", RODEO_DATA_DIR=d + "/data", LOG_LEVEL="warn",
               HTTP_THREADS="4", RATE_LIMIT="0", CHAT_ANON_PER_MIN="0", ANONYMOUS_HISTORY="1",
               JWT_SECRET="bench-secret-0123456789abcdef0123456789abcdef",
               OPENAI_BASE_URL="http://127.0.0.1:%d/v1" % fport, OPENAI_TIMEOUT_S="30")
    log = open(d + "/server.log", "wb")
    srv = subprocess.Popen([a.binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        # ---- 1. relay latency (tokens 5 ms apart so each is its own read) ----
        fake_openai.control(fport, stamp=True, pace_ms=5)
        direct, rodeo = [], []
        for _ in range(a.rounds):
            direct += [(r - s) / 1e6 for r, s in one_direct(fport, a.tokens)]
            rodeo += [(r - s) / 1e6 for r, s in one_rodeo(port, a.tokens)]
        dm, d99 = statistics.median(direct), pct(direct, 0.99)
        rm, r99 = statistics.median(rodeo), pct(rodeo, 0.99)
        print("relay    direct p50 %.3f ms p99 %.3f ms | via rodeo p50 %.3f ms p99 %.3f ms | added p50 %.3f ms p99 %.3f ms (%d tokens)"
              % (dm, d99, rm, r99, rm - dm, r99 - d99, len(rodeo)))

        # ---- 2. N concurrent streams, tokens 20 ms apart ----
        fake_openai.control(fport, "/_reset")
        reply = " ".join("t%d" % i for i in range(50))
        fake_openai.control(fport, pace_ms=20, reply=reply)
        t_before = threads_of(srv.pid)
        results, ttft = [], []
        lock = threading.Lock()
        start = threading.Barrier(a.streams + 1)

        def client():
            start.wait()
            t0 = time.monotonic()
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                c.request("POST", "/api/chat", body=json.dumps({"messages": [{"role": "user", "content": "go"}]}),
                          headers={"Content-Type": "application/json"})
                r = c.getresponse()
                first = r.read1(65536)
                t1 = time.monotonic()
                body = first + r.read()
                c.close()
                ok = r.status == 200 and body.decode() == reply
            except Exception as e:  # noqa: BLE001 - counted as a failure
                ok, t1 = False, time.monotonic()
                print("client error:", e)
            with lock:
                results.append(ok)
                ttft.append(t1 - t0)

        ts = [threading.Thread(target=client) for _ in range(a.streams)]
        for t in ts:
            t.start()
        peak = [0]

        def sampler():
            while any(t.is_alive() for t in ts):
                peak[0] = max(peak[0], threads_of(srv.pid))
                time.sleep(0.02)
        smp = threading.Thread(target=sampler)
        smp.start()
        t0 = time.monotonic()
        start.wait()
        for t in ts:
            t.join()
        wall = time.monotonic() - t0
        smp.join()
        stats = fake_openai.control(fport, "/_stats")
        ok = sum(results)
        print("streams  %d concurrent, %d/%d complete, wall %.2f s (one stream alone: %.2f s), "
              "server threads %d before / %d peak, upstream max in flight %d, time to first token p50 %.0f ms p99 %.0f ms"
              % (a.streams, ok, a.streams, wall, 50 * 0.020, t_before, peak[0], stats["max_active"],
                 statistics.median(ttft) * 1000, pct(ttft, 0.99) * 1000))
        print("RESULT relay_direct_p50=%.3f relay_direct_p99=%.3f relay_rodeo_p50=%.3f relay_rodeo_p99=%.3f "
              "added_p50=%.3f added_p99=%.3f streams=%d ok=%d wall=%.2f threads_before=%d threads_peak=%d "
              "upstream_max=%d" % (dm, d99, rm, r99, rm - dm, r99 - d99, a.streams, ok, wall, t_before, peak[0],
                                   stats["max_active"]))
    finally:
        srv.terminate()
        srv.wait(30)
        fproc.terminate()
        fproc.wait()
        log.close()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
