"""Conversations: CRUD, ownership (IDOR), search, paging, archived filter, feedback."""
from harness import check_error


def _conv(srv, tok, title=None):
    body = {} if title is None else {"title": title}
    r = srv.post("/api/conversations", body, token=tok)
    assert r.status == 200, r
    return r.json()


def test_create_defaults_and_get(srv):
    tok = srv.token()
    c = _conv(srv, tok)
    assert c["title"] == "New Chat" and c["model"] == "gpt-4o-mini" and c["id"] > 0
    assert c["created_at"].endswith("Z")
    g = srv.get("/api/conversations/%d" % c["id"], token=tok).json()
    assert g["id"] == c["id"] and g["messages"] == []
    c2 = srv.post("/api/conversations", {"title": "Heeling drills", "model": "gpt-4o"}, token=tok).json()
    assert c2["title"] == "Heeling drills" and c2["model"] == "gpt-4o"
    # a body-less POST works too
    assert srv.request("POST", "/api/conversations", token=tok).status == 200


def test_requires_auth(srv):
    check_error(srv.get("/api/conversations"), 401)
    check_error(srv.post("/api/conversations", {}), 401)
    check_error(srv.get("/api/conversations/1"), 401)


def test_other_users_conversation_is_404_everywhere(srv):
    a, b = srv.token(), srv.token()
    c = _conv(srv, a, "private roping notes")
    p = "/api/conversations/%d" % c["id"]
    check_error(srv.get(p, token=b), 404, "not_found")
    check_error(srv.patch(p, {"title": "mine now"}, token=b), 404)
    check_error(srv.delete(p, token=b), 404)
    check_error(srv.get(p + "/export/text", token=b), 404)
    assert srv.get("/api/conversations", token=b).json() == []
    assert srv.get("/api/conversations/search?q=roping", token=b).json() == []
    assert srv.get(p, token=a).json()["title"] == "private roping notes"


def test_list_paging_order_and_limits(srv):
    tok = srv.token()
    ids = [_conv(srv, tok, "c%d" % i)["id"] for i in range(7)]
    got = srv.get("/api/conversations", token=tok).json()
    assert [x["id"] for x in got] == ids[::-1]              # newest first
    assert set(got[0]) >= {"id", "title", "model", "created_at", "updated_at", "message_count"}
    page = srv.get("/api/conversations?limit=3&offset=2", token=tok).json()
    assert [x["id"] for x in page] == ids[::-1][2:5]
    for q in ["limit=0", "limit=101", "limit=abc", "offset=-1", "limit=1e3", "archived=maybe"]:
        check_error(srv.get("/api/conversations?" + q, token=tok), 422)


def test_patch_archive_filter_and_delete(srv):
    tok = srv.token()
    c1, c2 = _conv(srv, tok, "keep"), _conv(srv, tok, "archive me")
    r = srv.patch("/api/conversations/%d" % c2["id"], {"is_archived": True, "title": "archived"}, token=tok)
    assert r.status == 200 and r.json() == {"status": "success"}
    assert [x["id"] for x in srv.get("/api/conversations", token=tok).json()] == [c1["id"]]
    assert [x["id"] for x in srv.get("/api/conversations?archived=true", token=tok).json()] == [c2["id"]]
    assert len(srv.get("/api/conversations?archived=all", token=tok).json()) == 2
    check_error(srv.patch("/api/conversations/%d" % c1["id"], {"is_archived": "yes"}, token=tok), 422)
    check_error(srv.patch("/api/conversations/%d" % c1["id"], {"title": ["x"]}, token=tok), 422)
    check_error(srv.patch("/api/conversations/%d" % c1["id"], {"title": "x" * 501}, token=tok), 422)
    assert srv.delete("/api/conversations/%d" % c1["id"], token=tok).status == 200
    check_error(srv.get("/api/conversations/%d" % c1["id"], token=tok), 404)
    check_error(srv.delete("/api/conversations/%d" % c1["id"], token=tok), 404)


def test_search_is_literal_and_distinct(srv):
    tok = srv.token()
    a = _conv(srv, tok, "Tie-down roping: 100% effort")
    b = _conv(srv, tok, "Barrel racing_patterns")
    _conv(srv, tok, "Bull riding")
    s = lambda q: [x["id"] for x in srv.get("/api/conversations/search?q=" + q, token=tok).json()]
    assert s("ROPING") == [a["id"]]
    assert s("100%25") == [a["id"]]                  # '%' is literal
    assert s("g_p") == [b["id"]]                     # '_' is literal
    assert s("%25") == [a["id"]]
    assert s("nothing-like-this") == []
    assert s("%27%3B%20DROP%20TABLE%20users%3B--") == []
    assert srv.get("/api/conversations", token=tok).status == 200    # still there
    check_error(srv.get("/api/conversations/search", token=tok), 422)
    check_error(srv.get("/api/conversations/search?q=", token=tok), 422)
    check_error(srv.get("/api/conversations/search?q=" + "x" * 201, token=tok), 422)
    check_error(srv.get("/api/conversations/search?q=%FF%FE", token=tok), 422)


def test_sql_metacharacters_and_unicode_round_trip(srv):
    tok = srv.token()
    for title in ["Robert'); DROP TABLE conversations;--", "\"quoted\" \\ back", "Café 🤠 rodéo",
                  "null", "<script>alert(1)</script>"]:
        c = _conv(srv, tok, title)
        assert srv.get("/api/conversations/%d" % c["id"], token=tok).json()["title"] == title


def test_bad_json_bodies(srv):
    tok = srv.token()
    h = {"Content-Type": "application/json"}
    for body in [b"{", b"[1,2]", b"\"str\"", b"{\"title\": }", b"\xff\xfe{}", b"{\"title\": \"\xc3\"}"]:
        r = srv.request("POST", "/api/conversations", body=body, headers=h, token=tok)
        assert r.status in (400, 422), r
        check_error(r, r.status)
    assert srv.get("/api/conversations", token=tok).json() == []     # nothing written
    check_error(srv.post("/api/conversations", {"title": 5}, token=tok), 422)
    # numbers beyond 64 bits, and absurd floats, are refused whole
    for raw in [b'{"feedback":"positive","message_id":123456789012345678901234567890}',
                b'{"feedback":"positive","message_id":1e400}', b'{"feedback":"positive","message_id":1.5}']:
        r = srv.request("POST", "/api/feedback", body=raw, headers=h, token=tok)
        assert r.status in (400, 422), r
        check_error(r, r.status)
    r = srv.post("/api/conversations", {"title": "a\u0000b"}, token=tok)
    check_error(r, 400 if r.status == 400 else 422)


def test_feedback_requires_owned_message(srv):
    tok = srv.token()
    check_error(srv.post("/api/feedback", {"feedback": "positive", "message_id": 999999999}, token=tok), 404)
    check_error(srv.post("/api/feedback", {"feedback": "meh", "message_id": 1}, token=tok), 422)
    check_error(srv.post("/api/feedback", {"feedback": "positive"}, token=tok), 422)
    check_error(srv.post("/api/feedback", {"feedback": "positive", "message_id": -3}, token=tok), 422)
    check_error(srv.post("/api/feedback", {"feedback": "positive", "message_id": 1}), 401)


def test_feedback_on_own_chat_message(srv):
    a, b = srv.token(), srv.token()
    r = srv.post("/api/chat", {"messages": [{"role": "user", "content": "How long is a bull ride?"}]}, token=a)
    assert r.status == 200 and r.body
    cid = int(r.headers["x-conversation-id"])
    msgs = srv.get("/api/conversations/%d" % cid, token=a).json()["messages"]
    answer = [m for m in msgs if m["role"] == "assistant"][-1]
    ok = srv.post("/api/feedback", {"feedback": "positive", "message_id": answer["id"], "comment": "spot on",
                                    "messageIndex": 3, "timestamp": 1732492800000}, token=a)
    assert ok.status == 200 and ok.json()["status"] == "success" and ok.json()["id"] > 0
    # someone else cannot rate it
    check_error(srv.post("/api/feedback", {"feedback": "negative", "message_id": answer["id"]}, token=b), 404)
