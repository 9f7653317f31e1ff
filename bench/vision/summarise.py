#!/usr/bin/python3
"""summarise.py SAMPLES.jsonl — medians per image and method, and the median over
iterations of the paired ratio peer_time / rodeo_time (same iteration, back to back), for
wall time and for thread CPU time (the steadier one on a shared machine)."""
import json, statistics, sys
from collections import defaultdict

t = defaultdict(list)                 # (img, method) -> [us]
cpu = defaultdict(list)               # (img, method) -> [thread CPU us]
paired = defaultdict(dict)            # (img, round, iter) -> {method: us}
paired_cpu = defaultdict(dict)        # (img, round, iter) -> {method: cpu us}
stages = defaultdict(lambda: defaultdict(list))
mem = {}
for line in open(sys.argv[1]):
    s = json.loads(line)
    img, m = s["image"], s["method"]
    if m == "mem":
        mem[img] = s
    elif m == "stages":
        for k, v in s.items():
            if k not in ("image", "method"):
                stages[img][k].append(v)
    else:
        t[(img, m)].append(s["us"])
        if "cpu_us" in s:
            cpu[(img, m)].append(s["cpu_us"])
        paired[(img, s["round"], s["iter"])][m] = s["us"]
        if "cpu_us" in s:
            paired_cpu[(img, s["round"], s["iter"])][m] = s["cpu_us"]


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


for img in ("photo_12mp", "photo_1mp"):
    print(f"\n### {img}\n")
    print("| method | median ms | p10 ms | p90 ms | n | median paired ratio peer/rodeo | median CPU ms "
          "| median paired CPU ratio peer/rodeo |")
    print("|---|---|---|---|---|---|---|---|")
    for m in ("rodeo", "pil", "pil_draft", "cv2", "cv2_reduced"):
        xs = t[(img, m)]
        if not xs:
            continue
        ratios = [v[m] / v["rodeo"] for k, v in paired.items() if k[0] == img and m in v and "rodeo" in v]
        c = f"{statistics.median(cpu[(img, m)])/1000:.1f}" if cpu[(img, m)] else "-"
        cr = [v[m] / v["rodeo"] for k, v in paired_cpu.items()
              if k[0] == img and m in v and v.get("rodeo")]
        crs = f"{statistics.median(cr):.2f}x" if cr else "-"
        print(f"| {m} | {statistics.median(xs)/1000:.1f} | {pct(xs, .1)/1000:.1f} | "
              f"{pct(xs, .9)/1000:.1f} | {len(xs)} | {statistics.median(ratios):.2f}x | {c} | {crs} |")
    if stages[img]:
        print("\nrodeo stage medians, ms (separate runs): " + ", ".join(
            f"{k} {statistics.median(v)/1000:.2f}" for k, v in stages[img].items()))
    if img in mem:
        m = mem[img]
        print(f"\npeak heap per intake: {m['peak_heap']/1e6:.2f} MB; reduced decode {m['decode']} "
              f"(1/{m['scale']}) = {m['decoded_bytes']/1e6:.2f} MB RGB; ratio {m['ratio']:.2f}x")
