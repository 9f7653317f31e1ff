#!/usr/bin/python3
"""ab_summary.py — medians of per-round paired ratios from ab.sh output: for each Rodeo binary
and ef, qps / hnswlib qps in the same round (wall and CPU time), median [min-max] over rounds.
usage: ab_summary.py AB.jsonl"""
import sys, json, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
h = {(r["r"], r["ef"]): r for r in rows if r["engine"] == "hnswlib-native" and "ef" in r}
out = {}
for r in rows:
    if "bin" not in r or (r["r"], r["ef"]) not in h: continue
    p = h[(r["r"], r["ef"])]
    o = out.setdefault((r["bin"], r["ef"]), {"w": [], "c": [], "qc": [], "hc": [], "rec": r["recall"], "hrec": p["recall"]})
    o["w"].append(r["qps"] / p["qps"]); o["c"].append(r["qps_cpu"] / p["qps_cpu"])
    o["qc"].append(r["qps_cpu"]); o["hc"].append(p["qps_cpu"])
print("| binary | ef | recall h / r | rounds | hnswlib QPS (cpu) | rodeo QPS (cpu) | ratio cpu | ratio wall |")
print("|---|---|---|---|---|---|---|---|")
for (b, ef), o in sorted(out.items()):
    f = lambda xs: f"{st.median(xs):.2f}x [{min(xs):.2f}-{max(xs):.2f}]"
    print(f"| {b} | {ef} | {o['hrec']:.3f} / {o['rec']:.3f} | {len(o['c'])} | {st.median(o['hc']):,.0f} | "
          f"{st.median(o['qc']):,.0f} | {f(o['c'])} | {f(o['w'])} |")
