"""Inference API end to end: GET /v1/models, POST /v1/embed/image (photos and pre-processed
tensors, several files in upload order), /v1/embed/text and /v1/classify on a tiny CLIP
with random weights, checked against the PyTorch reference of tests/tools/ml_make_models.py;
every bad request; 503 without a model; and an API server using that server as its remote
inference tier (INFERENCE_URL) giving the same answers."""
import io
import json
import os
import shutil
import struct
import subprocess
import tempfile
import uuid

import harness
from harness import check_error

HERE = os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp(prefix="rodeo-e2e-ml-")
SERVER_ENV = {}
OTHERS = {}


def setup_module():
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "..", "tools", "ml_make_models.py"), TMP, "--no-tok-cases"],
                   check=True)
    SERVER_ENV["CLIP_MODEL"] = os.path.join(TMP, "clip_tiny")
    SERVER_ENV["RODEO_THREADS"] = "1"


def teardown_module():
    for s in OTHERS.values():
        s.cleanup()
    shutil.rmtree(TMP, ignore_errors=True)


def floats(name):
    data = open(os.path.join(TMP, name), "rb").read()
    return list(struct.unpack("<%df" % (len(data) // 4), data))


def lines(name):
    return [json.loads(l) for l in open(os.path.join(TMP, name), encoding="utf-8")]


def multipart(fields, files):
    """fields: [(name, value)]; files: [(name, filename, bytes, content_type)]."""
    b = "----rodeo" + uuid.uuid4().hex
    out = io.BytesIO()
    for k, v in fields:
        out.write(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (b, k, v)).encode())
    for k, fn, data, ct in files:
        out.write(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\nContent-Type: %s\r\n\r\n"
                   % (b, k, fn, ct)).encode())
        out.write(data)
        out.write(b"\r\n")
    out.write(("--%s--\r\n" % b).encode())
    return out.getvalue(), "multipart/form-data; boundary=" + b


def post_multipart(srv, path, fields, files):
    body, ct = multipart(fields, files)
    return srv.request("POST", path, body=body, headers={"Content-Type": ct})


def tensor_parts():
    px = open(os.path.join(TMP, "clip_pixels.f32"), "rb").read()
    one = len(px) // 3
    return [("file", "t%d.f32" % i, px[i * one:(i + 1) * one], "application/x-rodeo-tensor") for i in range(3)]


def photo(seed=1, size=256):
    from PIL import Image
    import random
    rnd = random.Random(seed)
    img = Image.new("RGB", (size, size), (rnd.randint(0, 255), rnd.randint(0, 255), rnd.randint(0, 255)))
    for _ in range(30):
        x, y = rnd.randint(0, size - 40), rnd.randint(0, size - 40)
        img.paste((rnd.randint(0, 255), rnd.randint(0, 255), rnd.randint(0, 255)), (x, y, x + 40, y + 40))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def close(a, b, tol=1e-4):
    return len(a) == len(b) and max(abs(x - y) for x, y in zip(a, b)) < tol


def test_models_info(srv):
    r = srv.get("/v1/models")
    assert r.status == 200, r
    d = r.json()["clip"]
    assert d["loaded"] and d["dim"] == 24 and d["image_size"] == 32 and d["text"] and d["model"] == "clip_tiny", d
    assert d["precision"] == "fp32", d
    assert r.json()["vit"]["loaded"] is False


def test_embed_tensors_match_reference(srv):
    r = post_multipart(srv, "/v1/embed/image", [], tensor_parts())
    assert r.status == 200, r
    d = r.json()
    assert d["dim"] == 24 and d["model"] == "clip_tiny" and len(d["embeddings"]) == 3
    ref = floats("clip_image_ref.f32")
    for i in range(3):
        assert close(d["embeddings"][i], ref[i * 24:(i + 1) * 24]), i


def test_embed_photos_in_order(srv):
    a, b = photo(1), photo(2)
    ra = post_multipart(srv, "/v1/embed/image", [], [("file", "a.png", a, "image/png")]).json()["embeddings"][0]
    rb = post_multipart(srv, "/v1/embed/image", [], [("file", "b.png", b, "image/png")]).json()["embeddings"][0]
    both = post_multipart(srv, "/v1/embed/image", [], [("file", "b.png", b, "image/png"), ("file", "a.png", a, "image/png")])
    assert both.status == 200, both
    e = both.json()["embeddings"]
    assert close(e[0], rb, 1e-5) and close(e[1], ra, 1e-5)
    assert abs(sum(x * x for x in ra) - 1) < 1e-4
    assert not close(ra, rb, 1e-3)


def test_embed_text_matches_reference(srv):
    texts = lines("clip_texts.txt")
    r = srv.post("/v1/embed/text", {"texts": texts})
    assert r.status == 200, r
    d = r.json()
    ref = floats("clip_text_ref.f32")
    assert d["dim"] == 24 and len(d["embeddings"]) == len(texts)
    for i in range(len(texts)):
        assert close(d["embeddings"][i], ref[i * 24:(i + 1) * 24]), i


def test_classify(srv):
    labels = ["saddle", "cowboy hat", "boots", "belt buckle"]
    r = post_multipart(srv, "/v1/classify", [("labels", json.dumps(labels))], [("file", "a.png", photo(3), "image/png")])
    assert r.status == 200, r
    out = r.json()["labels"]
    assert sorted(x["label"] for x in out) == sorted(labels)
    scores = [x["score"] for x in out]
    assert scores == sorted(scores, reverse=True) and abs(sum(scores) - 1) < 1e-4


def test_bad_requests(srv):
    tp = tensor_parts()
    r = post_multipart(srv, "/v1/embed/image", [], [])            # an empty form: the HTTP layer says 400
    assert r.status in (400, 422), r
    check_error(post_multipart(srv, "/v1/embed/image", [("x", "1")], tp[:1]), 422, "validation_error")
    check_error(post_multipart(srv, "/v1/embed/image", [("file", "not a file")], []), 422, "validation_error")
    short = [("file", "t.f32", tp[0][2][:100], "application/x-rodeo-tensor")]
    check_error(post_multipart(srv, "/v1/embed/image", [], short), 422, "validation_error")
    nan = [("file", "t.f32", b"\x00\x00\xc0\x7f" * (len(tp[0][2]) // 4), "application/x-rodeo-tensor")]
    check_error(post_multipart(srv, "/v1/embed/image", [], nan), 422, "validation_error")
    r = post_multipart(srv, "/v1/embed/image", [], [("file", "x.jpg", b"\xff\xd8\xff garbage", "image/jpeg")])
    assert r.status in (400, 415), r
    assert "file 0" in r.json()["detail"]
    check_error(post_multipart(srv, "/v1/embed/image", [], tp * 11), 422, "validation_error")   # 33 images
    check_error(srv.post("/v1/embed/text", {"texts": "a photo"}), 422, "validation_error")
    check_error(srv.post("/v1/embed/text", {"texts": []}), 422, "validation_error")
    check_error(srv.post("/v1/embed/text", {"texts": [1]}), 422, "validation_error")
    check_error(srv.post("/v1/embed/text", {"texts": ["a"] * 257}), 422, "validation_error")
    check_error(srv.post("/v1/embed/text", {"texts": ["a"], "extra": 1}), 422, "validation_error")
    check_error(srv.request("POST", "/v1/embed/text", body="{", headers={"Content-Type": "application/json"}), 400)
    f = [("file", "a.png", photo(4), "image/png")]
    check_error(post_multipart(srv, "/v1/classify", [], f), 422, "validation_error")
    check_error(post_multipart(srv, "/v1/classify", [("labels", "saddle")], f), 422, "validation_error")
    check_error(post_multipart(srv, "/v1/classify", [("labels", "[]")], f), 422, "validation_error")
    check_error(post_multipart(srv, "/v1/classify", [("labels", "[\"\"]")], f), 422, "validation_error")
    check_error(post_multipart(srv, "/v1/classify", [("labels", json.dumps(["x"] * 101))], f), 422, "validation_error")
    check_error(post_multipart(srv, "/v1/classify", [("labels", "[\"a\"]")], []), 422, "validation_error")


def test_no_model_is_503(srv):
    s = OTHERS["none"] = harness.Server(env={"CLIP_MODEL": os.path.join(TMP, "does-not-exist")}).start()
    assert s.get("/v1/models").json()["clip"]["loaded"] is False
    d = check_error(s.post("/v1/embed/text", {"texts": ["a"]}), 503, "model_not_loaded")
    assert "rodeo models pull" in d["detail"]
    check_error(post_multipart(s, "/v1/embed/image", [], tensor_parts()[:1]), 503, "model_not_loaded")
    check_error(post_multipart(s, "/v1/classify", [("labels", "[\"a\"]")], [("file", "a.png", photo(5), "image/png")]),
                503, "model_not_loaded")
    assert "does-not-exist" in s.read_log()


def test_remote_inference_tier(srv):
    api = OTHERS["api"] = harness.Server(env={"INFERENCE_URL": "http://127.0.0.1:%d" % srv.port,
                                              "CLIP_MODEL": os.path.join(TMP, "does-not-exist")}).start()
    info = api.get("/v1/models").json()["clip"]
    assert info["loaded"] and info["remote"] and info["dim"] == 24 and info["image_size"] == 32, info
    texts = lines("clip_texts.txt")
    local = srv.post("/v1/embed/text", {"texts": texts}).json()
    remote = api.post("/v1/embed/text", {"texts": texts}).json()
    assert remote["dim"] == 24 and all(close(a, b, 1e-6) for a, b in zip(local["embeddings"], remote["embeddings"]))
    p = photo(6)
    local = post_multipart(srv, "/v1/embed/image", [], [("file", "a.png", p, "image/png")]).json()
    remote = post_multipart(api, "/v1/embed/image", [], [("file", "a.png", p, "image/png")]).json()
    assert close(local["embeddings"][0], remote["embeddings"][0], 1e-6)
    labels = ["saddle", "rope", "saddle"]
    lo = post_multipart(srv, "/v1/classify", [("labels", json.dumps(labels))], [("file", "a.png", p, "image/png")]).json()
    re_ = post_multipart(api, "/v1/classify", [("labels", json.dumps(labels))], [("file", "a.png", p, "image/png")]).json()
    assert [x["label"] for x in lo["labels"]] == [x["label"] for x in re_["labels"]]
    assert all(abs(a["score"] - b["score"]) < 1e-5 for a, b in zip(lo["labels"], re_["labels"]))
    # the tier going away is a clear 503, not a hang
    dead = OTHERS["dead"] = harness.Server(env={"INFERENCE_URL": "http://127.0.0.1:1",
                                               "CLIP_MODEL": os.path.join(TMP, "does-not-exist")}).start()
    check_error(dead.post("/v1/embed/text", {"texts": ["a"]}), 503)


def cpu_has(flag):
    with open("/proc/cpuinfo") as f:
        return any(flag in line.split() for line in f if line.startswith("flags"))


def test_reduced_precision_server(srv):
    """ML_PRECISION=int8: the model reports the path it runs (int8 where the CPU has VNNI,
    else fp32) and its embeddings stay within cosine 0.995 of the fp32 server's."""
    s = OTHERS["int8"] = harness.Server(env=dict(SERVER_ENV, ML_PRECISION="int8")).start()
    info = s.get("/v1/models").json()["clip"]
    assert info["precision"] == ("int8" if cpu_has("avx512_vnni") else "fp32"), info
    for seed in (1, 2):
        p = [("file", "a.png", photo(seed), "image/png")]
        a = post_multipart(srv, "/v1/embed/image", [], p).json()["embeddings"][0]
        b = post_multipart(s, "/v1/embed/image", [], p).json()["embeddings"][0]
        assert sum(x * y for x, y in zip(a, b)) >= 0.995
    texts = lines("clip_texts.txt")
    a = srv.post("/v1/embed/text", {"texts": texts}).json()["embeddings"]
    b = s.post("/v1/embed/text", {"texts": texts}).json()["embeddings"]
    assert all(sum(x * y for x, y in zip(u, v)) >= 0.995 for u, v in zip(a, b))


def start_inference_role(env):
    """harness.Server started as `rodeo serve --role inference`."""
    import subprocess as sp
    import time
    s = harness.Server(env=env)
    s.log = open(s.log_path, "wb")
    s.proc = sp.Popen([harness.BINARY, "serve", "--role", "inference"], env=s.env, stdout=s.log, stderr=sp.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        assert s.proc.poll() is None, s.read_log()
        try:
            if s.get("/health").status == 200:
                return s
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError("inference role did not start:\n" + s.read_log())


def test_inference_role(srv):
    s = OTHERS["role"] = start_inference_role({"CLIP_MODEL": os.path.join(TMP, "clip_tiny")})
    assert s.get("/ready").status == 200
    texts = lines("clip_texts.txt")
    d = s.post("/v1/embed/text", {"texts": texts}).json()
    ref = floats("clip_text_ref.f32")
    assert all(close(d["embeddings"][i], ref[i * 24:(i + 1) * 24]) for i in range(len(texts)))
    check_error(s.get("/api/products"), 404)                       # only the inference routes
    check_error(s.post("/api/auth/login", {"email": "a@b.c", "password": "x"}), 404)
    assert not os.path.exists(os.path.join(s.dir, "data", "rodeo.db"))
    assert s.stop() == 0
    none = OTHERS["role-none"] = start_inference_role({"CLIP_MODEL": os.path.join(TMP, "missing")})
    check_error(none.get("/ready"), 503, "model_not_loaded")
