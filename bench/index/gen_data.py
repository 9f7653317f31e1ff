#!/usr/bin/python3
"""gen_data.py — clustered benchmark data for the vector index: N unit vectors of dimension D
from a mixture of C Gaussian clusters, Q queries from the same mixture (not in the base set),
and the exact top-100 by inner product (= cosine) as ground truth.
Writes OUT/base.fvecs, OUT/query.fvecs, OUT/gt.ivecs (TEXMEX formats).
usage: gen_data.py OUT [N=100000] [D=512] [C=1000] [Q=1000] [SIGMA=0.6]"""
import sys, os, numpy as np

def write_vecs(path, a):
    a = np.ascontiguousarray(a)
    n, d = a.shape
    out = np.empty((n, d + 1), dtype=np.int32)
    out[:, 0] = d
    out[:, 1:] = a.view(np.int32)
    out.tofile(path)

def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    d = int(sys.argv[3]) if len(sys.argv) > 3 else 512
    c = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    q = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
    sigma = float(sys.argv[6]) if len(sys.argv) > 6 else 0.6
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(12345)
    centres = rng.standard_normal((c, d)).astype(np.float32)
    def draw(m):
        x = centres[rng.integers(0, c, m)] + sigma * rng.standard_normal((m, d)).astype(np.float32)
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    base = draw(n)
    queries = draw(q)
    gt = np.empty((q, 100), dtype=np.int32)
    for i in range(0, q, 100):
        s = queries[i:i + 100] @ base.T
        idx = np.argpartition(-s, 100, axis=1)[:, :100]
        order = np.argsort(-np.take_along_axis(s, idx, 1), axis=1)
        gt[i:i + 100] = np.take_along_axis(idx, order, 1)
    write_vecs(os.path.join(out, "base.fvecs"), base)
    write_vecs(os.path.join(out, "query.fvecs"), queries)
    write_vecs(os.path.join(out, "gt.ivecs"), gt.view(np.float32))
    print(f"wrote {n} x {d} base, {q} queries, gt top-100 to {out}")

main()
