"""The embedded default: no LLM configured, the assistant still answers extractively (best
passages, sources, a note that no generative model is configured) in both stream formats;
and an LLM that cannot be reached gives a clean error, not an empty answer."""
import json
import socket

import harness
from harness import check_error

SERVER_ENV = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "CHAT_ANON_PER_MIN": "3"}


def test_extractive_answer_raw(srv):
    assert srv.get("/health").json()["openai_configured"] is False
    tok = srv.token()
    r = srv.post("/api/chat", {"messages": [{"role": "user", "content": "How long is the rope a goat is tied with?"}]},
                 token=tok)
    assert r.status == 200 and r.headers["content-type"].startswith("text/plain")
    t = r.text
    assert "ten feet" in t and "events/goat-tying.md" in t
    assert "no generative language model is configured" in t
    cid = int(r.headers["x-conversation-id"])
    msgs = srv.get("/api/conversations/%d" % cid, token=tok).json()["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant"]
    assert msgs[1]["content"] == t and msgs[1]["model"] == "extractive"


def test_extractive_answer_sse_and_no_match(srv):
    r = srv.post("/api/chat", {"messages": [{"role": "user", "content": "xyzzy plugh"}]},
                 headers={"Accept": "text/event-stream"})
    assert r.status == 200
    body = r.body.decode()
    events = [b for b in body.split("\n\n") if b.strip()]
    text = "".join(json.loads(e[6:])["delta"] for e in events if e.startswith("data: {\"delta\""))
    assert "could not find" in text and "no generative language model" in text
    final = json.loads(events[-2][6:])
    assert final["done"] is True and final["sources"] == [] and final["model"] == "extractive"
    assert events[-1] == "data: [DONE]"


def test_unreachable_llm_is_a_clean_error(_):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    srv = harness.Server(env={"OPENAI_BASE_URL": "http://127.0.0.1:%d/v1" % dead, "OPENAI_MAX_RETRIES": "1",
                              "OPENAI_BACKOFF_MS": "10"}).start()
    try:
        tok = srv.token()
        r = srv.post("/api/chat", {"messages": [{"role": "user", "content": "hello"}]}, token=tok,
                     headers={"Accept": "text/event-stream"})
        assert r.status == 200
        assert "event: error" in r.text and "upstream_unreachable" in r.text
        msgs = srv.get("/api/conversations/%s" % r.headers["x-conversation-id"], token=tok).json()["messages"]
        assert [m["role"] for m in msgs] == ["user"]
        check_error(srv.post("/api/chat", {"messages": []}, token=tok), 422)
    finally:
        srv.cleanup()



def test_anonymous_chat_is_limited_harder(srv):
    """CHAT_ANON_PER_MIN=3 here: anonymous callers get 429 with Retry-After after 3 chats a
    minute (one was spent above), signed-in callers keep the route's budget."""
    body = {"messages": [{"role": "user", "content": "barrel pattern"}]}
    codes = [srv.post("/api/chat", body).status for _ in range(4)]
    assert codes.count(429) >= 2 and codes[0] == 200, codes
    r = srv.post("/api/chat", body)
    d = check_error(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) >= 1 and "sign in" in d["detail"]
    assert srv.post("/api/chat", body, token=srv.token()).status == 200


def test_kb_cli_ingest_list_search(_):
    """`rodeo kb` against a data dir, then a server on the same dir serves what it ingested."""
    import os
    import subprocess
    import tempfile
    binary = os.environ.get("RODEO_BINARY", "build/rodeo")
    with tempfile.TemporaryDirectory() as d:
        docs = os.path.join(d, "docs")
        os.makedirs(os.path.join(docs, "sub"))
        with open(os.path.join(docs, "a.md"), "w") as f:
            f.write("---\ntitle: Wrangler knots\ntopic: gear\n---\nThe frobnitz knot holds a halter.\n")
        with open(os.path.join(docs, "sub", "b.txt"), "w") as f:
            f.write("Plain text about saddle pads.")
        with open(os.path.join(docs, "skip.bin"), "w") as f:
            f.write("not ingested")
        env = dict(os.environ, RODEO_DATA_DIR=os.path.join(d, "data"), LOG_LEVEL="warn")
        env.pop("DATABASE_URL", None)
        if harness.DATABASE_URL:
            env["DATABASE_URL"] = harness.DATABASE_URL
        run = lambda *a: subprocess.run([binary, "kb"] + list(a), env=env, capture_output=True, text=True)
        r = run("ingest", docs)
        assert r.returncode == 0 and "2 added" in r.stdout, r
        r = run("ingest", docs)
        assert r.returncode == 0 and "2 unchanged" in r.stdout, r
        r = run("list")
        assert "a.md" in r.stdout and "sub/b.txt" in r.stdout and "Wrangler knots" in r.stdout, r
        r = run("search", "frobnitz")
        assert r.returncode == 0 and r.stdout.startswith("1. a.md"), r
        assert run("search").returncode == 2
        assert run("bogus").returncode == 2
        assert run("ingest", os.path.join(d, "missing")).returncode == 1
        srv = harness.Server(env={"RODEO_DATA_DIR": os.path.join(d, "data"), "OPENAI_API_KEY": "",
                                  "OPENAI_BASE_URL": ""}).start()
        try:
            t = srv.post("/api/chat", {"messages": [{"role": "user", "content": "frobnitz knot"}]},
                         token=srv.token())
            assert "a.md" in t.text and "frobnitz" in t.text, t.text
        finally:
            srv.cleanup()
        r = run("remove", "a.md")
        assert r.returncode == 0 and run("remove", "a.md").returncode == 1
