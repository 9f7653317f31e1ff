#!/usr/bin/python3
"""auth_burst.py — /health latency while a burst of logins runs (argon2 on the auth workers
vs on the HTTP threads, AUTH_WORKERS=0), A/B interleaved, one server each round.
usage: /usr/bin/python3 bench/http/auth_burst.py [ROUNDS] [LOGINS]   (build/rodeo)
Prints per-round health p50/p99 (ms), the burst's wall time and the server's CPU seconds,
then the medians per mode."""
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
import harness  # noqa: E402

harness.BINARY = os.path.abspath(os.path.join(HERE, "..", "..", "build", "rodeo"))


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def one(workers, logins):
    env = {"HTTP_THREADS": "4"}
    if workers is not None:
        env["AUTH_WORKERS"] = str(workers)
    srv = harness.Server(env=env).start()
    try:
        u = srv.register()
        c0 = cpu_s(srv.proc.pid)
        res, lat = [], []

        def go():
            res.append(srv.post("/api/auth/login", {"email": u["email"], "password": u["password"]}).status)
        ts = [threading.Thread(target=go) for _ in range(logins)]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        while any(t.is_alive() for t in ts):
            h0 = time.perf_counter()
            srv.get("/health")
            lat.append((time.perf_counter() - h0) * 1e3)
            time.sleep(0.002)   # a steady prober, not a CPU hog competing with the hashing
        for t in ts:
            t.join()
        wall = time.perf_counter() - t0
        cpu = cpu_s(srv.proc.pid) - c0
        assert res.count(200) == logins, res
        lat.sort()
        return lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))], wall * 1e3, cpu * 1e3 / logins, len(lat)
    finally:
        srv.cleanup()


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    logins = int(sys.argv[2]) if len(sys.argv) > 2 else 24
    print("load average:", open("/proc/loadavg").read().split()[:3])
    out = {"workers": [], "http threads": []}
    for r in range(rounds):
        modes = [("workers", None), ("http threads", 0)]
        if r % 2:
            modes.reverse()
        for name, w in modes:
            m = one(w, logins)
            out[name].append(m)
            print("%-12s health p50 %6.2f ms  p99 %7.2f ms  burst %6.0f ms  server CPU %5.1f ms/login  (%d probes)" % ((name,) + m))
    for name, v in out.items():
        print("median %-12s health p50 %6.2f  p99 %7.2f  burst %6.0f ms  CPU %5.1f ms/login" %
              ((name,) + tuple(statistics.median(x[i] for x in v) for i in range(4))))
    print("load average:", open("/proc/loadavg").read().split()[:3])


if __name__ == "__main__":
    main()
