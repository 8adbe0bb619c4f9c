"""The precisions of one bench/run.sh run side by side, from the driver's PRECISION lines on stdin.

Each ratio in the last columns is a ratio of two measurements of this run (minutes apart, same machine): served
throughput at a precision ÷ served throughput at fp32 (a: 4 streams x window 4; b: the best of b's stream counts).
"""
import sys

ORDER = {"fp32": 0, "bf16": 1, "int8": 2}
rows = {}
for line in sys.stdin:
    if line.startswith("PRECISION "):
        parts = line.split()
        rows[parts[1]] = {k: float(v) for k, v in (kv.split("=", 1) for kv in parts[2:])}
if not rows:
    sys.exit(0)
base = rows.get("fp32", {})


def cell(r, key, fmt):
    return fmt % r[key] if key in r else "-"


def vs_fp32(r, key):
    return "%.2fx" % (r[key] / base[key]) if key in r and base.get(key) else "-"


print()
print("| precision | a) served q/s | a) served / official | b) served q/s (best) | b) served / raw | "
      "c) p99 / unloaded at 70 % | unloaded ms | a) served vs fp32 | b) served vs fp32 |")
print("|---|---|---|---|---|---|---|---|---|")
for p in sorted(rows, key=lambda p: ORDER.get(p, 9)):
    r = rows[p]
    print(f"| {p} | {cell(r, 'a_served_qps', '%.3f')} | {cell(r, 'a_ratio', '%.1fx')} | "
          f"{cell(r, 'b_served_qps', '%.3f')} | {cell(r, 'b_ratio', '%.2f')} | {cell(r, 'c_p99_70', '%.2f')} | "
          f"{cell(r, 'c_unloaded_ms', '%.0f')} | {vs_fp32(r, 'a_served_qps')} | {vs_fp32(r, 'b_served_qps')} |")
