#!/usr/bin/python3
"""summarise.py — turns the JSON lines of run.sh into markdown tables (printed): build time
and memory per engine, the recall/QPS curve per engine (median QPS over rounds), the best
single-thread QPS at recall@10 >= 0.95 and its ratio to native hnswlib, exact and filtered
search figures, snapshot save/load."""
import sys, json, statistics as st
from collections import defaultdict

rows, cpu = [], ""
for line in open(sys.argv[1]):
    if line.startswith("#"):
        cpu = line[1:].strip(); continue
    line = line.strip()
    if line.startswith("{"):
        rows.append(json.loads(line))

print(f"CPU: {cpu}\n")
print("| engine | n | build s | threads | memory MB (RSS delta) |\n|---|---|---|---|---|")
for r in rows:
    if "build_seconds" in r:
        print(f"| {r['engine']} | {r['n']} | {r['build_seconds']} | {r['threads']} | {r['memory_bytes']/1e6:.0f} |")
curve = defaultdict(lambda: defaultdict(list))
rec = {}
for r in rows:
    if "ef" in r and "qps" in r:
        curve[r["engine"]][r["ef"]].append(r["qps"])
        rec[(r["engine"], r["ef"])] = r["recall"]
print("\n| engine | ef | recall@10 | QPS (median of rounds) | rounds |\n|---|---|---|---|---|")
best = {}
for e in curve:
    for ef in sorted(curve[e]):
        q = st.median(curve[e][ef])
        print(f"| {e} | {ef} | {rec[(e, ef)]:.4f} | {q:.0f} | {len(curve[e][ef])} |")
        if rec[(e, ef)] >= 0.95 and q > best.get(e, (0, 0))[0]:
            best[e] = (q, ef)
print("\n| engine | best QPS at recall >= 0.95 | at ef | ratio vs hnswlib-native |\n|---|---|---|---|")
ref = best.get("hnswlib-native", (0, 0))[0]
for e, (q, ef) in best.items():
    print(f"| {e} | {q:.0f} | {ef} | {q / ref:.2f}x |" if ref else f"| {e} | {q:.0f} | {ef} | - |")
print()
for r in rows:
    if "exact" in r or "filter" in r or "load_seconds" in r:
        print("- " + json.dumps(r))
