"""store_summary.py — reads bench/store/run.sh output on stdin and prints a markdown table: per
operation the median over rounds (wall time, or thread CPU time with --cpu) of the C store's µs/op, of each Python peer's, and the median
of the per-round ratios (peer / ours; > 1 means we are faster). Ratios are taken within a
round because the machine is shared and noisy."""
import re, statistics, sys
from collections import defaultdict

CPU = "--cpu" in sys.argv        # thread CPU time instead of wall time
rounds, cur, pg = [], None, {}
for line in sys.stdin:
    if line.startswith("--- round"):
        cur = {}
        rounds.append(cur)
        continue
    if line.startswith("--- postgres"):
        cur = pg
        continue
    m = re.match(r"(?:(orm|sqlite3)\s+)?(\w+)\s+median\s+([\d.]+) us/op.*?cpu\s+([\d.]+) us/op", line)
    if m and cur is not None:
        cur[(m.group(1) or "c", m.group(2))] = float(m.group(4 if CPU else 3))

ops = ["user_principal", "user_get", "conversation_list_20", "conversation_get_10",
       "conversation_search", "conversation_create", "message_add"]
print(f"{'CPU' if CPU else 'wall'} time per call:\n")
print("| operation | rodeo C (µs/op) | Python sqlite3 (µs/op) | SQLAlchemy ORM (µs/op) | vs sqlite3 | vs ORM | PostgreSQL C (µs/op) |")
print("|---|---|---|---|---|---|---|")
for op in ops:
    def med(kind):
        v = [r[(kind, op)] for r in rounds if (kind, op) in r]
        return statistics.median(v) if v else None
    def ratio(kind):
        v = [r[(kind, op)] / r[("c", op)] for r in rounds if (kind, op) in r and ("c", op) in r]
        return f"{statistics.median(v):.1f}x" if v else "–"
    f = lambda x: f"{x:.1f}" if x is not None else "–"
    print(f"| {op} | {f(med('c'))} | {f(med('sqlite3'))} | {f(med('orm'))} | {ratio('sqlite3')} | {ratio('orm')} | {f(pg.get(('c', op)))} |")
print(f"\n{len(rounds)} interleaved rounds.")
