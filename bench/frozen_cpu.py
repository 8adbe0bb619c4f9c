"""Frozen (and channels-last) CPU copy vs the portable vision.pt: per-call forward time, variants interleaved call
by call.

Usage: python bench/frozen_cpu.py BUNDLE/vision.pt IMAGE_SIZE ROUNDS 1,8 [--cl]   (wall best and process-CPU median:
the box is shared)
"""
import io
import statistics
import sys
import time

import torch

torch.set_num_threads(2)
torch.set_grad_enabled(False)
src, S, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
batches = [int(b) for b in sys.argv[4].split(",")]


def load():
    return torch.jit.load(src, map_location="cpu").eval()


def rt(m):
    """Save and reload: what a bundle file would hold."""
    b = io.BytesIO()
    torch.jit.save(m, b)
    b.seek(0)
    return torch.jit.load(b).eval()


v = {"portable": load(), "frozen": rt(torch.jit.freeze(load()))}
if "--cl" in sys.argv:
    v["frozen_cl"] = rt(torch.jit.freeze(load().to(memory_format=torch.channels_last)))
for b in batches:
    x = torch.randn(b, 3, S, S)
    ref = v["portable"](x)
    for k, m in v.items():
        out = m(x)
        m(x)
        d = max(float((p - q).abs().max()) for p, q in zip(ref, out, strict=True))
        print(f"b={b} {k}: max|d| vs portable = {d:.2e}", flush=True)
    wall = {k: [] for k in v}
    cpu = {k: [] for k in v}
    for _ in range(rounds):
        for k, m in v.items():
            s, c = time.perf_counter(), time.process_time()
            m(x)
            wall[k].append(time.perf_counter() - s)
            cpu[k].append(time.process_time() - c)
    for k in v:
        print(f"b={b} {k}: wall best {b / min(wall[k]):.2f} img/s, "
              f"wall median {b / statistics.median(wall[k]):.2f} img/s, "
              f"cpu-s/img median {statistics.median(cpu[k]) / b:.3f} (n={rounds})", flush=True)
