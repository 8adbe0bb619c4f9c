"""python -m inctrl_train.inspection_auto: measure the server's `auto` inspection rule on auxiliary data.

For each task (a category of shared/train, as it comes or built into wide strips) and each inspection mode the server
has (center-crop, resize, tiles; `inctrl_train.views`), K normal shots are drawn (seeded episodes) and the fixed
queries scored with the patch residual (s_p; tiles: max over the query's tiles against every tile of every shot).
Reported per task and mode: image AUROC, and what the registration of a set would see without any anomaly — the
shots' geometry and their leave-one-out (LOO) scores (each shot against the other K−1, as the server's calibration).
Then each candidate rule for `auto` is scored by the AUROC of the mode it picks, against the best mode in hindsight.

Strip tasks are honest constructions of wide frames from square patches: a strip is `--strip` patches of one
category side by side (leather, brick: 227x227 -> 908x227 for 4); a normal strip has normal patches only, an
anomalous strip exactly one anomalous patch at a seeded position. Nothing is tuned on shared/data.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from inctrl_export.evaluate import auroc
from inctrl_export.residual import nearest_distance

from .data import read_manifest
from .features import BundleExtractor, FeatureCache, log
from .kscale import DEFAULT_BUNDLE
from .views import MODES


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _strip(paths: list[Path]) -> Image.Image:
    ims = [Image.open(p).convert("RGB") for p in paths]
    h = min(i.height for i in ims)
    out = Image.new("RGB", (sum(i.width for i in ims), h))
    x = 0
    for i in ims:
        out.paste(i.crop((0, 0, i.width, h)), (x, 0))
        x += i.width
    return out


def tasks(train: Path, per_label: int, pool: int, strip: int, seed: int) -> list[dict]:
    """Each task: name, geometry note, items (key, loader) for pool + queries, labels."""
    records = read_manifest(train)
    by = {}
    for r in records:
        by.setdefault((r.category, r.label), []).append(train / r.path)
    out = []
    for ci, cat in enumerate(sorted({r.category for r in records})):
        rng = np.random.default_rng([seed, ci])
        normals = [by[(cat, 0)][i] for i in rng.permutation(len(by[(cat, 0)]))]
        anomalies = [by[(cat, 1)][i] for i in rng.permutation(len(by[(cat, 1)]))]
        n_q = min(per_label, len(anomalies), len(normals) - pool)

        def item(p):
            return (hashlib.sha256(p.read_bytes()).hexdigest(), lambda p=p: Image.open(p))

        out.append({"name": cat, "pool": [item(p) for p in normals[:pool]],
                    "queries": [item(p) for p in normals[pool:pool + n_q] + anomalies[:n_q]],
                    "labels": np.array([0] * n_q + [1] * n_q)})
        w, h = Image.open(normals[0]).size
        if strip > 1 and w == h and len(normals) >= strip * (pool + n_q) + n_q * (strip - 1):
            # strips of `strip` square patches; pool and normal queries from disjoint normals
            def strip_item(ps):
                im = _strip(ps)
                data = _png(im)
                return (hashlib.sha256(data).hexdigest(), lambda d=data: Image.open(io.BytesIO(d)))
            it = iter(normals)
            pool_s = [strip_item([next(it) for _ in range(strip)]) for _ in range(pool)]
            qn = [strip_item([next(it) for _ in range(strip)]) for _ in range(n_q)]
            qa = []
            for a in anomalies[:n_q]:
                ps = [next(it) for _ in range(strip - 1)]
                ps.insert(int(rng.integers(strip)), a)
                qa.append(strip_item(ps))
            out.append({"name": f"{cat} strip {strip}x1", "pool": pool_s, "queries": qn + qa,
                        "labels": np.array([0] * n_q + [1] * n_q)})
    return out


def geometry(items) -> list[float]:
    """Aspect ratio (long/short side) of each image."""
    out = []
    for _, load in items:
        w, h = load().size
        out.append(max(w, h) / min(w, h))
    return out


def score(q: torch.Tensor, bank: torch.Tensor) -> float:
    """q [T, V, P, C] views of one image; bank [T, N, C]: max over views of the mean-over-taps max residual."""
    per_view = []
    for v in range(q.shape[1]):
        m = torch.stack([nearest_distance(q[t, v], bank[t]) for t in range(q.shape[0])]).mean(0)
        per_view.append(float(m.max()))
    return max(per_view)


def bank_of(shots: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([s.flatten(1, 2) for s in shots], dim=1)  # [T, sum V·P, C]


def evaluate(bundle: Path, cache_root: Path, ts: list[dict], k: int, episodes: int, seed: int) -> dict:
    res = {}
    for mode in MODES:
        ext = BundleExtractor(bundle, mode)
        cache = FeatureCache(cache_root, ext)
        for t in ts:
            pool = [f["tok"].float() for f in cache.get_many(t["pool"], progress=f"{t['name']} {mode} pool")]
            qs = [f["tok"].float() for f in cache.get_many(t["queries"], progress=f"{t['name']} {mode} queries")]
            for e in range(episodes):
                chosen = np.random.default_rng([seed, e]).choice(len(pool), k, replace=False)
                shots = [pool[i] for i in chosen]
                bank = bank_of(shots)
                s = np.array([score(q, bank) for q in qs])
                loo = [score(shots[i], bank_of(shots[:i] + shots[i + 1:])) for i in range(k)]
                r = res.setdefault(t["name"], {}).setdefault(mode, {"auroc": [], "loo": []})
                r["auroc"].append(auroc(t["labels"], s))
                r["loo"].append(loo)
            log(f"{t['name']} {mode}: AUROC {np.mean(res[t['name']][mode]['auroc']):.3f}")
    return res


# The server's rule (io.inctrl.serve.image.InspectionChooser): geometry, then the lowest median LOO score among the
# modes that see the whole frame. The first measurement let all three modes compete in between; the centre crop then
# won the LOO comparison where it was worst (leather strips): a view that shows less of the frame has less to explain,
# so LOO scores only compare modes that see the same content ("--all-candidates" reproduces that variant).
NEAR_SQUARE, STRIP = 1.2, 8.0
ALL_CANDIDATES = False


def geometry_step(aspects: list[float]) -> tuple[str | None, list[str]]:
    if max(aspects) <= NEAR_SQUARE:
        return "center-crop", ["center-crop"]
    if min(aspects) >= STRIP:
        return "tiles", ["tiles"]
    return None, (["center-crop"] if ALL_CANDIDATES else []) + ["resize", "tiles"]


RULES = {
    "median LOO (served)": lambda loo: min(loo, key=lambda m: float(np.median(loo[m]))),
    "max LOO": lambda loo: min(loo, key=lambda m: float(np.max(loo[m]))),
    "mean LOO": lambda loo: min(loo, key=lambda m: float(np.mean(loo[m]))),
}


def analyse(out: dict) -> str:
    """Per task: AUROC of each fixed mode, of each rule's pick (per episode, with the shots of that episode), and of
    the best mode in hindsight (mean over episodes)."""
    lines = ["| task | aspect (median) | geometry | center-crop | resize | tiles | "
             + " | ".join(RULES) + " | picks (served rule) |", "|---" * (6 + len(RULES)) + "|"]
    totals: dict = {}
    for name, r in out["tasks"].items():
        modes = r["modes"]
        fixed = {m: float(np.mean(modes[m]["auroc"])) for m in MODES}
        episodes = len(modes[MODES[0]]["auroc"])
        cfg = out["config"]
        steps = []  # the geometry step on each episode's own shots (drawn as in evaluate)
        for e in range(episodes):
            chosen = np.random.default_rng([cfg["seed"], e]).choice(len(r["aspects"]), cfg["k"], replace=False)
            steps.append(geometry_step([r["aspects"][i] for i in chosen]))
        decided = steps[0][0] if all(st[0] == steps[0][0] for st in steps) else None
        cells, picks = [], []
        for rule, pick in RULES.items():
            got = []
            for e in range(episodes):
                dec, cands = steps[e]
                m = dec or pick({c: modes[c]["loo"][e] for c in cands})
                got.append(modes[m]["auroc"][e])
                if rule.startswith("median"):
                    picks.append(m)
            cells.append(float(np.mean(got)))
            totals.setdefault(rule, []).append(float(np.mean(got)))
        for m in MODES:
            totals.setdefault(m, []).append(fixed[m])
        totals.setdefault("best in hindsight", []).append(max(fixed.values()))
        lines.append(f"| {name} | {np.median(r['aspects']):.2f} | {decided or 'LOO'} | "
                     + " | ".join(f"{fixed[m]:.3f}" for m in MODES) + " | "
                     + " | ".join(f"{c:.3f}" for c in cells) + f" | {', '.join(picks)} |")
    lines.append("")
    lines.append("mean over tasks: " + ", ".join(f"{k} {np.mean(v):.3f}" for k, v in totals.items()))
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m inctrl_train.inspection_auto", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", default=str(DEFAULT_BUNDLE))
    p.add_argument("--train", default="../../../shared/train")
    p.add_argument("--cache", default="../../build/kscale-cache")
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--episodes", type=int, default=3)
    p.add_argument("--per-label", type=int, default=25)
    p.add_argument("--pool", type=int, default=24)
    p.add_argument("--strip", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", required=True, help="results (written; with --analyse: read)")
    p.add_argument("--analyse", action="store_true", help="only print the rule table of an earlier --json")
    p.add_argument("--all-candidates", action="store_true",
                   help="--analyse: let the centre crop compete in the LOO step (the rejected first rule)")
    a = p.parse_args(argv)
    global ALL_CANDIDATES
    ALL_CANDIDATES = a.all_candidates
    if a.analyse:
        print(analyse(json.loads(Path(a.json).read_text())))
        return 0
    torch.set_num_threads(a.threads)
    ts = tasks(Path(a.train), a.per_label, a.pool, a.strip, a.seed)
    t0 = time.time()
    res = evaluate(Path(a.bundle), Path(a.cache), ts, a.k, a.episodes, a.seed)
    out = {"config": vars(a), "tasks": {}}
    for t in ts:
        out["tasks"][t["name"]] = {"aspects": geometry(t["pool"]), "modes": res[t["name"]]}
    out["seconds"] = round(time.time() - t0)
    Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
    print(analyse(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
