#!/usr/bin/python3
"""py_peers.py — the Python peers as Debian ships them: python3-hnswlib and python3-faiss
(HNSW with the same M / ef_construction, inner product on unit vectors), plus exact
single-query latency of numpy (sgemv) and FAISS IndexFlatIP. One JSON line per figure.
usage: py_peers.py DATA_DIR [M=16] [EFC=200] [THREADS=2] [EFS=16,32,64] [ROUNDS=1]"""
import sys, os, time, json, numpy as np

def read_vecs(path, dtype):
    a = np.fromfile(path, dtype=np.int32)
    d = a[0]
    return a.reshape(-1, d + 1)[:, 1:].copy().view(dtype)

def rss():
    with open("/proc/self/status") as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1]) * 1024
    return 0

def recall(labels, gt):
    return float(np.mean([len(set(labels[i][:10]) & set(gt[i][:10])) / 10 for i in range(len(gt))]))

def emit(**kw):
    print(json.dumps(kw), flush=True)

def main():
    data = sys.argv[1]
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    efc = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    efs = [int(e) for e in (sys.argv[5] if len(sys.argv) > 5 else "16,32,64").split(",")]
    rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    which = sys.argv[7] if len(sys.argv) > 7 else "hnswlib,faiss,exact"
    x = read_vecs(os.path.join(data, "base.fvecs"), np.float32)
    q = read_vecs(os.path.join(data, "query.fvecs"), np.float32)
    gt = read_vecs(os.path.join(data, "gt.ivecs"), np.int32)
    n, d = x.shape
    if "hnswlib" in which:
        import hnswlib
        r0 = rss()
        p = hnswlib.Index(space="ip", dim=d)
        p.init_index(max_elements=n, ef_construction=efc, M=m)
        p.set_num_threads(threads)
        t = time.perf_counter(); p.add_items(x, np.arange(n)); b = time.perf_counter() - t
        emit(engine="python3-hnswlib", n=n, dim=d, m=m, ef_construction=efc, threads=threads,
             build_seconds=round(b, 2), memory_bytes=rss() - r0)
        p.set_num_threads(1)
        for r in range(rounds):
            for ef in efs:
                p.set_ef(ef)
                t = time.perf_counter(); l, _ = p.knn_query(q, k=10); s = time.perf_counter() - t
                emit(engine="python3-hnswlib", round=r, ef=ef, recall=round(recall(l, gt), 4), qps=round(len(q) / s, 1))
        del p
    if "faiss" in which:
        import faiss
        faiss.omp_set_num_threads(threads)
        r0 = rss()
        idx = faiss.IndexHNSWFlat(d, m, faiss.METRIC_INNER_PRODUCT)
        idx.hnsw.efConstruction = efc
        t = time.perf_counter(); idx.add(x); b = time.perf_counter() - t
        emit(engine="python3-faiss", n=n, dim=d, m=m, ef_construction=efc, threads=threads,
             build_seconds=round(b, 2), memory_bytes=rss() - r0)
        faiss.omp_set_num_threads(1)
        for r in range(rounds):
            for ef in efs:
                idx.hnsw.efSearch = ef
                t = time.perf_counter(); _, l = idx.search(q, 10); s = time.perf_counter() - t
                emit(engine="python3-faiss", round=r, ef=ef, recall=round(recall(l, gt), 4), qps=round(len(q) / s, 1))
        del idx
    if "exact" in which:
        import faiss
        faiss.omp_set_num_threads(1)
        import os as _os
        lat = []
        for i in range(50):
            t = time.perf_counter(); s = x @ q[i]; np.argpartition(-s, 10)[:10]; lat.append(time.perf_counter() - t)
        emit(engine="numpy", exact="sgemv", median_ms=round(float(np.median(lat)) * 1e3, 3),
             note="numpy threads as configured (OPENBLAS_NUM_THREADS)")
        flat = faiss.IndexFlatIP(d); flat.add(x)
        lat = []
        for i in range(50):
            t = time.perf_counter(); flat.search(q[i:i + 1], 10); lat.append(time.perf_counter() - t)
        emit(engine="python3-faiss", exact="IndexFlatIP", median_ms=round(float(np.median(lat)) * 1e3, 3))

main()
