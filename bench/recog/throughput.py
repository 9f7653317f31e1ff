#!/usr/bin/python3
"""throughput.py — sustained recognition throughput of `rodeo serve` over HTTP.

For each configuration (precision, batching) and each concurrency level C: a fresh copy of
the seeded data dir (N products with CLIP image vectors, throughput_seed.c), `rodeo serve`
started on it with the full-size CLIP, two warm-up photos (the first computes the zero-shot
label embeddings), then C client threads upload distinct 12 MP photos (throughput_photos.py;
every request a photo the server has not seen, so no cache answers) as fast as answers come
back. Reported: recognitions/s (completed / wall time of the measured window), client-side
p50/p99 latency, the server's CPU time per recognition (/proc, utime+stime), the batches the
server formed (from its log), and the load average. Every answer must be 200, method "clip",
cached false; anything else is counted as an error and reported.

  --cached: instead, the byte-identical re-upload path: one photo recognised, then the same
  bytes again R times; client-side (http.client and curl) and server-side
  (metadata.processing_time_ms) times, and the floor: the same upload refused at once (422).
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def multipart(data, fields=None):
    b = "----rodeobench" + uuid.uuid4().hex
    head = b""
    for k, v in (fields or {}).items():
        head += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (b, k, v)).encode()
    head += ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.jpg\"\r\n"
             "Content-Type: image/jpeg\r\n\r\n" % b).encode()
    return head + data + ("\r\n--%s--\r\n" % b).encode(), "multipart/form-data; boundary=" + b


class Server:
    def __init__(self, binary, seed_dir, env):
        self.dir = seed_dir + ".run"
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.copytree(seed_dir, self.dir)
        self.port = free_port()
        e = dict(os.environ)
        e.update({"PORT": str(self.port), "HOST": "127.0.0.1", "RODEO_DATA_DIR": self.dir, "LOG_LEVEL": "info",
                  "JWT_SECRET": "bench-" + uuid.uuid4().hex, "RATE_LIMIT": "0", "RODEO_STARTER_CATALOG": "0"})
        e.update(env)
        self.log_path = self.dir + ".log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary, "serve"], env=e, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 180
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + open(self.log_path).read()[-2000:])
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    # ready only once the catalog is loaded (the log says how many)
                    if "recognition:" in open(self.log_path, errors="replace").read():
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not start")

    def cpu_s(self, which="both"):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            parts = f.read().rsplit(")", 1)[1].split()
        user, system = int(parts[11]), int(parts[12])
        return {"both": user + system, "sys": system}[which] / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def recognize(port, data, fields=None, timeout=120):
    body, ct = multipart(data, fields)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.perf_counter()
    c.request("POST", "/api/recognize-product", body=body, headers={"Content-Type": ct})
    r = c.getresponse()
    payload = r.read()
    dt = time.perf_counter() - t0
    c.close()
    return r.status, payload, dt


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else float("nan")


def run_level(args, photos, env, conc):
    srv = Server(args.binary, args.seed_dir, env)
    try:
        for p in photos[-2:]:       # warm-up: label embeddings, page cache, scratch buffers
            st, body, _ = recognize(srv.port, p, {"include_prices": "false"})
            assert st == 200, body[:300]
        todo = list(range(min(args.requests, len(photos) - 2)))
        lock = threading.Lock()
        lat, errors, server_ms = [], [], []
        stages = {"intake_ms": [], "features_ms": [], "search_ms": [], "response_ms": []}

        def client():
            while True:
                with lock:
                    if not todo:
                        return
                    i = todo.pop(0)
                st, body, dt = recognize(srv.port, photos[i], {"include_prices": "false"})
                with lock:
                    try:
                        d = json.loads(body)
                    except ValueError:
                        d = {}
                    if st != 200 or d.get("method") != "clip" or d.get("cached") is not False:
                        errors.append((st, body[:200]))
                    else:
                        lat.append(dt)
                        server_ms.append(d["metadata"]["processing_time_ms"])
                        for k in stages:
                            stages[k].append(d["timings"].get(k, 0))

        n = len(todo)
        load0 = os.getloadavg()[0]
        cpu0, sys0, t0 = srv.cpu_s(), srv.cpu_s("sys"), time.perf_counter()
        th = [threading.Thread(target=client) for _ in range(conc)]
        for t in th:
            t.start()
        for t in th:
            t.join()
        wall, cpu, sys_s = time.perf_counter() - t0, srv.cpu_s() - cpu0, srv.cpu_s("sys") - sys0
        load1 = os.getloadavg()[0]
    finally:
        srv.stop()
    batches = []
    for line in open(srv.log_path, errors="replace"):
        if "recognition: batches" in line:
            batches.append(line.strip().split("recognition: ", 1)[1])
    return {"concurrency": conc, "requests": n, "ok": len(lat), "errors": len(errors), "first_error": errors[:1],
            "rps": len(lat) / wall, "p50_ms": 1000 * pct(lat, 50), "p99_ms": 1000 * pct(lat, 99),
            "server_p50_ms": pct(server_ms, 50), "cpu_ms_per_rec": 1000 * cpu / max(1, len(lat)),
            "sys_ms_per_rec": 1000 * sys_s / max(1, len(lat)),
            "load": (round(load0, 2), round(load1, 2)), "batches": batches[-1] if batches else "",
            "stage_p50_ms": {k: round(pct(v, 50), 1) for k, v in stages.items()}}


def run_cached(args, photos, env):
    srv = Server(args.binary, args.seed_dir, env)
    out = {}
    try:
        data = photos[0]
        st, body, first = recognize(srv.port, data)
        assert st == 200 and json.loads(body)["cached"] is False, body[:300]
        client, server = [], []
        for _ in range(args.repeat):
            st, body, dt = recognize(srv.port, data)
            d = json.loads(body)
            assert st == 200 and d["cached"] is True, body[:300]
            client.append(1000 * dt)
            server.append(d["metadata"]["processing_time_ms"])
        # the floor: the same upload answered at once (an unknown form field is refused, 422,
        # after the body was received, parsed into its temp file and hashed)
        floor = []
        for _ in range(args.repeat):
            st, body, dt = recognize(srv.port, data, {"bogus": "1"})
            assert st == 422, body[:200]
            floor.append(1000 * dt)
        path = os.path.join(os.path.dirname(srv.dir), "cached-photo.jpg")
        with open(path, "wb") as f:
            f.write(data)
        curl = []
        for _ in range(args.repeat):
            r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
                                "-F", "file=@%s;type=image/jpeg" % path, "-F", "include_prices=true",
                                "http://127.0.0.1:%d/api/recognize-product" % srv.port],
                               capture_output=True, text=True)
            code, t = r.stdout.split()
            assert code == "200", r.stdout
            curl.append(1000 * float(t))
        os.unlink(path)
        out = {"bytes": len(data), "first_ms": 1000 * first,
               "server_p50_ms": pct(server, 50), "server_p90_ms": pct(server, 90), "server_max_ms": max(server),
               "client_p50_ms": pct(client, 50), "client_p90_ms": pct(client, 90),
               "upload_only_p50_ms": pct(floor, 50), "upload_only_p90_ms": pct(floor, 90),
               "curl_p50_ms": pct(curl, 50), "curl_p90_ms": pct(curl, 90), "load": round(os.getloadavg()[0], 2)}
    finally:
        srv.stop()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/rodeo")
    ap.add_argument("--seed-dir", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--photos", required=True)
    ap.add_argument("--concurrency", default="1,2,4,8")
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    ap.add_argument("--cached", action="store_true")
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    names = sorted(f for f in os.listdir(args.photos) if f.endswith(".jpg"))
    photos = []
    for f in names:
        with open(os.path.join(args.photos, f), "rb") as fh:
            photos.append(fh.read())
    env = {"CLIP_MODEL": args.model, "ML_PRECISION": args.precision}
    for kv in args.env:
        k, v = kv.split("=", 1)
        env[k] = v
    if args.cached:
        print(json.dumps({"cached": run_cached(args, photos, env), "env": env}), flush=True)
        return
    for c in [int(x) for x in args.concurrency.split(",")]:
        r = run_level(args, photos, env, c)
        r["env"] = {k: v for k, v in env.items() if k != "CLIP_MODEL"}
        print(json.dumps(r), flush=True)


main()
