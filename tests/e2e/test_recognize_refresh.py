"""Missing catalog features recomputed by the server itself (src/recog/refresh.c).

A catalog is imported with `rodeo catalog import` (8 generated products with images), then
made to look like a data dir from before a FEATURES_VERSION bump: its feature rows are moved
to the previous collection names, and one stored photo is corrupted. The server starts at
once, recomputes the features from the stored photos in the background (one item every
300 ms here, so the test sees it running), reports progress on the admin endpoint
(running -> done, the corrupt photo counted as failed and skipped), and recognition then
finds the products again."""
import json
import os
import shutil
import subprocess
import tempfile
import time

import harness
from harness import check_error
from test_recognize import _admin, photo_of, recognize

HERE = os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp(prefix="rodeo-e2e-refresh-")
OWN_SERVER = True
N = 8


def setup_module():
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "..", "tools", "recog_make_benchmark.py"), TMP,
                    "--products", str(N), "--queries", "1"], check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(TMP, "products.csv"), encoding="utf-8") as f:
        rows = [line.strip().split(",") for line in f.readlines()[1:]]
    with open(os.path.join(TMP, "import.csv"), "w", encoding="utf-8") as f:
        f.write("sku,brand,model,category,description,msrp,image,keywords\n")
        for pid, cat, path in rows:
            f.write("RF-%s,Brand%s,Model %s,%s,Generated product %s,%d.00,%s,gen\n" % (pid, pid, pid, cat, pid,
                                                                                      20 + int(pid), path))
        # a product whose only image is a remote URL: recorded, never fetched, so the server has
        # nothing to compute for it and it must not count as missing or failed
        f.write("RF-URL,BrandU,Model U,boots,Generated remote product,99.00,https://images.example.invalid/u.jpg,gen\n")


def teardown_module():
    shutil.rmtree(TMP, ignore_errors=True)


def _server(name, env=None):
    """A server of the test's own: on SQLite a data dir of its own, on PostgreSQL also a
    database of its own (each test stages its catalog from scratch)."""
    db = harness.fresh_database(harness.DATABASE_URL, "refresh_" + name) if harness.DATABASE_URL else None
    return harness.Server(env=env, database_url=db)


def _import(srv):
    """The generated catalog into srv's store with `rodeo catalog import` (server not running)."""
    r = subprocess.run([harness.BINARY, "catalog", "import", os.path.join(TMP, "import.csv"), "--images", TMP],
                       env=dict(srv.env), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def _status(srv, token):
    r = srv.get("/api/admin/recognition/features", token=token)
    assert r.status == 200, r
    return r.json()


def test_stale_features_recomputed_in_background(srv):
    srv = _server("stale", {"RECOG_REFRESH_BATCH": "1", "RECOG_REFRESH_PAUSE_MS": "300"})
    try:
        _import(srv)
        moved = 0
        for name in ("features", "templates"):
            moved += srv.sql("UPDATE vectors SET collection = 'product_%s_v2' WHERE collection = 'product_%s_v3'"
                             % (name, name))[1]
        assert moved == 2 * N
        # one stored photo becomes undecodable (same name, garbage bytes)
        bad_sku = "RF-3"
        key = srv.sql("SELECT pi.blob_key FROM product_images pi JOIN products p ON p.id = pi.product_id "
                      "WHERE p.sku = '%s'" % bad_sku)[0][0][0]
        blob = os.path.join(srv.env["RODEO_DATA_DIR"], "blobs", key[:2], key[2:4], key)
        with open(blob, "wb") as f:
            f.write(b"this is not a photo any more")

        srv.start()
        adm = _admin(srv)
        check_error(srv.get("/api/admin/recognition/features"), 401)
        check_error(srv.get("/api/admin/recognition/features", token=srv.token()), 403)
        seen_running = False
        deadline = time.time() + 90
        while time.time() < deadline:
            s = _status(srv, adm)
            assert s["features_version"] == 3 and s["state"] in ("idle", "running", "done"), s
            if s["state"] == "running" and s["total"] == N and s["done"] + s["failed"] < N:
                seen_running = True
            if s["state"] == "done":
                break
            time.sleep(0.1)
        assert seen_running, s
        assert s == {"features_version": 3, "state": "done", "done": N - 1, "total": N, "failed": 1}, s
        assert "skipped" in srv.read_log()
        # recognition finds the recomputed products (their photos, shot anew)
        hits = 0
        for i in range(N):
            if "RF-%d" % i == bad_sku:
                continue
            p = srv.get("/api/products?q=RF-%d" % i).json()["items"][0]
            r = recognize(srv, photo_of(srv, p, seed=40 + i), {"include_prices": "false"})
            assert r.status == 200, r
            d = r.json()
            assert d["method"] == "classic"
            hits += d["matches"] and d["matches"][0]["product_id"] == p["id"]
        assert hits >= N - 2, hits
        assert srv.stop() == 0
        # a failed photo keeps the old rows (the new ones are not complete)
        n_old = int(srv.sql("SELECT count(*) FROM vectors WHERE collection = 'product_features_v2'")[0][0][0])
        n_new = int(srv.sql("SELECT count(*) FROM vectors WHERE collection = 'product_features_v3'")[0][0][0])
        assert (n_old, n_new) == (N, N - 1)
    finally:
        srv.cleanup()


def test_complete_refresh_drops_old_rows_and_restart_is_idle_work(srv):
    """Without a bad photo the run completes, the old version's rows are deleted, and the next
    start finds nothing to do (total 0)."""
    srv = _server("complete")
    try:
        _import(srv)
        # templates of the previous version only (features current): the images are incomplete
        srv.sql("UPDATE vectors SET collection = 'product_templates_v2' WHERE collection = 'product_templates_v3'")
        srv.start()
        adm = _admin(srv)
        deadline = time.time() + 60
        while time.time() < deadline and _status(srv, adm)["state"] != "done":
            time.sleep(0.1)
        assert _status(srv, adm) == {"features_version": 3, "state": "done", "done": N, "total": N, "failed": 0}
        assert srv.stop() == 0
        counts = {c: int(n) for c, n in srv.sql("SELECT collection, count(*) FROM vectors GROUP BY collection")[0]}
        assert counts.get("product_templates_v3") == N and counts.get("product_features_v3") == N, counts
        assert "product_templates_v2" not in counts, counts
        srv.start()
        adm = _admin(srv)
        deadline = time.time() + 30
        while time.time() < deadline and _status(srv, adm)["state"] != "done":
            time.sleep(0.05)
        assert _status(srv, adm) == {"features_version": 3, "state": "done", "done": 0, "total": 0, "failed": 0}
        assert srv.stop() == 0
    finally:
        srv.cleanup()


def test_stop_during_refresh_is_prompt_and_clean(srv):
    """SIGTERM while the refresh runs (a long pause between items here): the server stops
    at once with exit code 0, and the next start finishes the rest."""
    srv = _server("stop", {"RECOG_REFRESH_BATCH": "1", "RECOG_REFRESH_PAUSE_MS": "20000"})
    try:
        _import(srv)
        srv.sql("UPDATE vectors SET collection = 'product_features_v2' WHERE collection = 'product_features_v3'")
        srv.start()
        adm = _admin(srv)
        deadline = time.time() + 30
        while time.time() < deadline and _status(srv, adm)["done"] < 1:
            time.sleep(0.05)
        s = _status(srv, adm)
        assert s["state"] == "running" and s["done"] == 1 and s["total"] == N, s
        t0 = time.time()
        assert srv.stop() == 0
        assert time.time() - t0 < 5, time.time() - t0
        srv.env["RECOG_REFRESH_PAUSE_MS"] = "0"
        srv.start()
        adm = _admin(srv)
        deadline = time.time() + 60
        while time.time() < deadline and _status(srv, adm)["state"] != "done":
            time.sleep(0.05)
        assert _status(srv, adm) == {"features_version": 3, "state": "done", "done": N - 1, "total": N - 1,
                                     "failed": 0}
        assert srv.stop() == 0
    finally:
        srv.cleanup()
