"""TorchScript executor modes under the batch-size mix the dynamic batcher emits (same libtorch 2.7.1 as DJL).

usage: build/venv/bin/python bench/graph_executor.py BUNDLE_DIR MODE SECONDS
  MODE: default  = profiling executor on, warm-up at batch 1 twice (the server before inctrl.model.graph-optimizer)
        warm-all = profiling executor on, warm-up over every batch size 1..8 twice
        off      = graph executor optimisation off (torch._C._set_graph_executor_optimize(False); DJL's
                   ai.djl.pytorch.graph_optimizer=false does the same per forward)
        append "+cpu" to load the bundle's CPU copy (manifest files.vision_cpu) instead of vision.pt
Prints one JSON line: img/s over the mix, median img/s of the batch-8 calls and of the batch-1 calls.
Run modes alternately in fresh processes (executor state is per process); see bench/README.md.
"""
import json
import random
import sys
import time

import torch

bundle, mode, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
torch.set_num_threads(2)
man = json.load(open(f"{bundle}/manifest.json"))
size = man["image"]["size"]
vision = man["files"].get("vision_cpu") if mode.endswith("+cpu") else None
m = torch.jit.load(f"{bundle}/{vision or man['files']['vision']}").eval()
mode = mode.replace("+cpu", "")
if mode == "off":
    torch._C._set_graph_executor_optimize(False)
x = {b: torch.randn(b, 3, size, size) for b in range(1, 9)}
with torch.inference_mode():
    if mode == "warm-all":
        for _ in range(2):
            for b in range(1, 9):
                m(x[b])
    else:  # what the server did: batch 1, twice
        m(x[1])
        m(x[1])
    rng = random.Random(7)
    mix = [8, 8, 8, 3, 5, 8, 1, 8, 2, 7, 4, 8, 6]  # mostly full batches, some partial ones
    n = imgs = 0
    t0 = time.perf_counter()
    per = {}
    while time.perf_counter() - t0 < seconds:
        b = mix[n % len(mix)]
        t = time.perf_counter()
        m(x[b])
        dt = time.perf_counter() - t
        per.setdefault(b, []).append(b / dt)
        n += 1
        imgs += b
    wall = time.perf_counter() - t0
print(json.dumps({"bundle": bundle.split("/")[-1], "mode": mode, "img_per_s": round(imgs / wall, 2), "batches": n,
                  "b8_median": round(sorted(per[8])[len(per[8]) // 2], 2),
                  "b1": round(sorted(per.get(1, [0]))[len(per.get(1, [0])) // 2], 2)}))
