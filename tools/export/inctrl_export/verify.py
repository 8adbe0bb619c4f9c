"""Check the exported TorchScript modules against the reference fixtures (what the Java server will compute)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .model import log
from .spec import residual_map


def _load(path: Path) -> dict:
    with np.load(path) as z:
        return {k: torch.from_numpy(z[k]) for k in z.files}


@torch.no_grad()
def serving_case(mods: dict, taps_q, g_q, shots: list, t_n, t_a) -> dict:
    """The server's cached formulation: matmul against the pooled unit-norm prompt bank, max cos -> min distance."""
    M = residual_map(taps_q, [s[0] for s in shots])  # the bank of each tap: [K*P, C], already unit-norm
    proto = mods["adapter"](torch.stack([s[1] for s in shots])).mean(dim=0)
    s_i = mods["image_head"]((proto - mods["adapter"](g_q.unsqueeze(0))[0]).unsqueeze(0))[0]
    g_hat = g_q / g_q.norm()
    s_a = torch.sigmoid(100.0 * (g_hat @ t_a - g_hat @ t_n))
    s_h = mods["holistic_head"]((M + s_i + s_a).unsqueeze(0))[0]
    return {"M": M, "s_p": M.max(), "s_i": s_i, "s_a": s_a, "s_h": s_h, "score": (s_h + M.max()) / 2,
            "proto": proto}


@torch.no_grad()
def verify_bundle(bundle: str | Path, text_categories: int = 1) -> float:
    """Max abs difference over every fixture quantity; text re-encoded for the smallest `text_categories` sets."""
    bundle = Path(bundle)
    fx = bundle / "fixtures"
    doc = json.loads((fx / "fixtures.json").read_text())
    mods = {n: torch.jit.load(str(bundle / f"{n}.pt")).eval()
            for n in ("vision", "text", "adapter", "image_head", "holistic_head")}
    worst = 0.0

    def diff(name, a, b):
        nonlocal worst
        d = float((a.reshape(-1) - b.reshape(-1)).abs().max())
        worst = max(worst, d)
        return d

    feats = {}
    for e in doc["images"]:
        z = _load(fx / e["file"])
        g, t0, t1, t2 = mods["vision"](z["pixels"].unsqueeze(0))
        ds = [diff("g", g[0], z["g"])] + [diff(f"tap{i}", t[0], z[f"tap{i}"]) for i, t in enumerate((t0, t1, t2))]
        feats[e["path"]] = ([t0[0], t1[0], t2[0]], g[0])
        log(f"verify image {e['path']}: max|diff| g={ds[0]:.2e} taps={max(ds[1:]):.2e}")
    prompts = sorted(doc["prompts"], key=lambda p: len(p["normal"]) + len(p["anomalous"]))
    for p in prompts[:text_categories]:
        z = _load(fx / p["file"])
        e = mods["text"](z["ids"])
        e = e / e.norm(dim=-1, keepdim=True)
        n = len(p["normal"])
        t_n = e[:n].mean(0)
        t_a = e[n:].mean(0)
        d = max(diff("t_n", t_n / t_n.norm(), z["t_n"]), diff("t_a", t_a / t_a.norm(), z["t_a"]))
        log(f"verify text '{p['category']}': max|diff| {d:.2e}")
    for c in doc["cases"]:
        z = _load(fx / c["file"])
        q = feats[c["query"]]
        r = serving_case(mods, q[0], q[1], [feats[s] for s in c["shots"]], z["t_n"], z["t_a"])
        d = max(diff(k, v, z[k]) for k, v in r.items())
        log(f"verify case {c['name']}: max|diff| {d:.2e}")
    return worst
