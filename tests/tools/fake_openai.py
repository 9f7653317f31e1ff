#!/usr/bin/python3
"""fake_openai.py — a loopback OpenAI-compatible server for tests and benchmarks.

It speaks the real wire protocol: POST /v1/chat/completions with "stream": true answers
HTTP/1.1 200, Content-Type text/event-stream, chunked, one `data: {chat.completion.chunk}`
event per token, a final chunk with finish_reason, a usage chunk (when stream_options asks
for it) and `data: [DONE]`. POST /v1/embeddings returns a deterministic bag-of-words vector.

Behaviour is scripted per request through a queue of modes (POST /_control):
  ok            stream the reply (default: "Echo: <last user message>"), pace_ms per token
  401 | 429 | 500 | 503   error JSON with that status (429 sends Retry-After: 0)
  timeout       accept, send nothing, hold the connection open
  stall         send the first token, then nothing
  malformed     send a good token, then `data: {not json`
  cut           send two tokens, then close the connection without [DONE]
  error_event   send a token, then an in-stream {"error": {...}} event
Control API (JSON):
  POST /_control {"queue": ["500", "ok"], "default": "ok", "pace_ms": 20, "reply": "text",
                  "require_key": "sk-...", "stamp": true}   (fields optional; queue is appended;
                  stamp: each token is its send time in CLOCK_MONOTONIC ns, for latency benches)
  GET  /_requests   -> [request bodies received so far]; POST /_reset clears everything.
Usage: fake_openai.py [--port N] [--pace-ms N]   prints "PORT <n>" on stdout when ready.
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"queue": [], "default": "ok", "pace_ms": 0, "reply": None, "require_key": None,
         "requests": [], "active": 0, "max_active": 0, "embeddings": 0}
LOCK = threading.Lock()


def next_mode():
    with LOCK:
        if STATE["queue"]:
            return STATE["queue"].pop(0)
        return STATE["default"]


def tokens_of(text):
    """Splits text into word-ish tokens keeping spaces, like a BPE stream would."""
    out, cur = [], ""
    for ch in text:
        if ch == " " and cur:
            out.append(cur)
            cur = ch
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _json(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _event(self, obj):
        payload = obj if isinstance(obj, str) else json.dumps(obj)
        self._chunk(("data: %s\n\n" % payload).encode())

    def do_GET(self):
        if self.path == "/_requests":
            with LOCK:
                self._json(200, STATE["requests"])
            return
        if self.path == "/_stats":
            with LOCK:
                self._json(200, {"active": STATE["active"], "max_active": STATE["max_active"],
                                 "embeddings": STATE["embeddings"]})
            return
        self._json(404, {"error": {"message": "not found"}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._json(400, {"error": {"message": "bad json"}})
        if self.path == "/_control":
            with LOCK:
                STATE["queue"].extend(body.get("queue", []))
                for k in ("default", "pace_ms", "reply", "require_key", "stamp"):
                    if k in body:
                        STATE[k] = body[k]
            return self._json(200, {"ok": True})
        if self.path == "/_reset":
            with LOCK:
                STATE.update({"queue": [], "default": "ok", "pace_ms": 0, "reply": None, "stamp": False,
                              "require_key": None, "requests": [], "max_active": 0})
            return self._json(200, {"ok": True})
        key = STATE["require_key"]
        if key and self.headers.get("Authorization") != "Bearer " + key:
            return self._json(401, {"error": {"message": "Incorrect API key provided",
                                              "type": "invalid_request_error"}})
        if self.path == "/v1/embeddings":
            return self.embeddings(body)
        if self.path != "/v1/chat/completions":
            return self._json(404, {"error": {"message": "unknown path"}})
        with LOCK:
            STATE["requests"].append(body)
            STATE["active"] += 1
            STATE["max_active"] = max(STATE["max_active"], STATE["active"])
        try:
            self.chat(body, next_mode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client cancelled: exactly what cancellation tests look for
        finally:
            with LOCK:
                STATE["active"] -= 1

    def embeddings(self, body):
        with LOCK:
            STATE["embeddings"] += 1
        text = body.get("input", "")
        if isinstance(text, list):
            text = text[0] if text else ""
        vec = [0.0] * 64
        for w in str(text).lower().split():
            w = w.strip(".,?!:;'\"()")
            if w:
                vec[int(hashlib.md5(w.encode()).hexdigest(), 16) % 64] += 1.0
        self._json(200, {"object": "list", "model": body.get("model"),
                         "data": [{"object": "embedding", "index": 0, "embedding": vec}],
                         "usage": {"prompt_tokens": 1, "total_tokens": 1}})

    def chat(self, body, mode):
        if mode in ("401", "429", "500", "503"):
            extra = {"Retry-After": "0"} if mode == "429" else None
            return self._json(int(mode), {"error": {"message": "fake upstream says %s" % mode,
                                                    "type": "fake"}}, extra)
        msgs = body.get("messages") or [{}]
        last = msgs[-1].get("content", "") if isinstance(msgs[-1], dict) else ""
        reply = STATE["reply"] if STATE["reply"] is not None else "Echo: " + str(last)[:200]
        toks = tokens_of(reply)
        model = body.get("model", "fake")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if mode == "timeout":
            time.sleep(30)
            return
        pace = STATE["pace_ms"] / 1000.0
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": model}

        def delta(content, finish=None):
            d = dict(base)
            d["choices"] = [{"index": 0, "delta": {"content": content} if content is not None else {},
                             "finish_reason": finish}]
            return d

        first = dict(base)
        first["choices"] = [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
        self._event(first)
        stamp = STATE.get("stamp")
        for i, t in enumerate(toks):
            if pace:
                time.sleep(pace)
            if stamp:   # benchmarks: the token is its own send time (CLOCK_MONOTONIC, ns)
                t = "%d " % time.monotonic_ns()
            self._event(delta(t))
            if mode == "stall" and i == 0:
                time.sleep(30)
                return
            if mode == "malformed" and i == 0:
                self._chunk(b"data: {not json\n\n")
                time.sleep(0.5)
                return
            if mode == "error_event" and i == 0:
                self._event({"error": {"message": "fake mid-stream failure", "type": "server_error"}})
                time.sleep(0.5)
                return
            if mode == "cut" and i == 1:
                self.connection.shutdown(socket.SHUT_RDWR)
                self.connection.close()
                return
        self._event(delta(None, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            u = dict(base)
            u["choices"] = []
            u["usage"] = {"prompt_tokens": sum(len(str(m.get("content", "")).split()) for m in msgs),
                          "completion_tokens": len(toks), "total_tokens": 0}
            self._event(u)
        self._event("[DONE]")
        self._chunk(b"")


def start(pace_ms=0):
    """Starts the fake as a subprocess (for e2e tests): returns (process, port)."""
    import subprocess
    p = subprocess.Popen(["/usr/bin/python3", os.path.abspath(__file__), "--pace-ms", str(pace_ms)],
                         stdout=subprocess.PIPE)
    line = p.stdout.readline().decode()
    return p, int(line.split()[1])


def control(port, path="/_control", **body):
    """POSTs to the fake's control API; GET when body is None-like for /_requests."""
    import urllib.request
    if path in ("/_requests", "/_stats"):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
            return json.loads(r.read())
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--pace-ms", type=int, default=0)
    a = ap.parse_args()
    STATE["pace_ms"] = a.pace_ms
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 1024
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
