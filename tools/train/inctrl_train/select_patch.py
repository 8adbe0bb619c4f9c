"""python -m inctrl_train.select_patch: training-free choice of the patch-residual configuration on auxiliary data.

The zero-download default (kind patch-residual) has no weights to train, but it has choices: which ImageNet blocks
of the InceptionV3 to tap, the 3x3 token pooling, and how a frame is brought to the model's input (centre crop or
whole-frame resize). Those choices must be made on data other than the evaluation set, as the trained heads are:
here each auxiliary category of shared/train (real normals and real anomalies, disjoint from shared/data) is a
few-shot task of its own, and a configuration is ranked by its mean image AUROC over those categories and K = 2, 4, 8
(seeded episodes: K shots drawn from a pool of normals, queries = other normals + anomalies).
`--report-data` then scores the same configurations on an evaluation folder (shots = first K sorted, as
inctrl_export.evaluate) for reporting only; the selection never reads it. `--views-probe LAYER` instead measures
shot augmentation (flipped / rotated copies of each shot in the bank) for one tap.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from inctrl_export import nsfwjs
from inctrl_export.evaluate import auprc, auroc, find_categories
from inctrl_export.residual import nearest_distance

from .data import read_manifest
from .features import log
from .views import views

STAGE17 = ("Mixed_6a", "Mixed_6b", "Mixed_6c")   # 17x17 grid, 768 channels
STAGE35 = ("Mixed_5d",)  # 35x35: one stride-8 candidate; each costs ~18x a 17x17 tap in the residual, 5b/5c alike
TRANSFORMS = ("center-crop", "resize")


def candidate_layers() -> list[tuple[str, ...]]:
    out = [(b,) for b in STAGE17]
    out += [c for n in (2, 3) for c in itertools.combinations(STAGE17, n)]
    return out + [(b,) for b in STAGE35]


def to_tensor(im: Image.Image, size: int, mode: str) -> torch.Tensor:
    """The server's `center-crop` (spec §3) or `resize` inspection (`views`, one implementation). Results committed
    before 2026-12-07 rounded the resized short side; the server (and now this) truncates it: at most one pixel row."""
    return views(im, size, mode)[0]


class Extractor:
    def __init__(self, src: str):
        s = nsfwjs.read_source(src)
        nsfwjs.check_topology(s.model_json)
        self.trunk = nsfwjs.load_trunk(nsfwjs.dequantize(s), "Mixed_6c").eval()
        self.size = nsfwjs.IMAGE_SIZE

    def load(self, path: Path, mode: str) -> torch.Tensor:
        with Image.open(path) as im:
            im.load()
            return to_tensor(im, self.size, mode)

    @torch.no_grad()
    def tokens(self, paths: list[Path], mode: str, batch: int = 8) -> list[dict]:
        """Per image {(block, pooling): unit tokens [P, C]} for every candidate block."""
        res = []
        for n in range(0, len(paths), batch):
            xs = [self.load(p, mode) for p in paths[n:n + batch]]
            outs = self.trunk.forward_all(torch.stack(xs))
            for i in range(len(xs)):
                d = {}
                for b in STAGE17 + STAGE35:
                    f = outs[b][i:i + 1]
                    for pool, k in nsfwjs.POOLINGS.items():
                        g = F.avg_pool2d(f, k, 1, k // 2, count_include_pad=False) if k > 1 else f
                        d[(b, pool)] = F.normalize(g[0].flatten(1).T, dim=-1, eps=1e-12)
                res.append(d)
        return res


def distance_maps(query: dict, shots: list[dict]) -> dict:
    """Spec §4 per tap: every query token's ½(1 − max cos) to the K·P shot tokens, for every cached (block, pooling)."""
    return {key: nearest_distance(q, torch.cat([s[key] for s in shots])) for key, q in query.items()}


def s_p(maps: dict, layers, pool) -> float:
    """M = mean over the taps, s_p = max M."""
    return float(torch.stack([maps[(b, pool)] for b in layers]).mean(0).max())


def configs() -> list[tuple]:
    return [(layers, pool, mode) for mode in TRANSFORMS for layers in candidate_layers() for pool in nsfwjs.POOLINGS]


def name_of(cfg) -> str:
    layers, pool, mode = cfg
    return f"{'+'.join(b.replace('Mixed_', '') for b in layers)} {pool} {mode}"


def auxiliary_tasks(train: Path, per_label: int, pool_size: int, seed: int) -> list[dict]:
    records = read_manifest(train)
    rng = np.random.default_rng(seed)
    tasks = []
    for cat in sorted({r.category for r in records}):
        normals, anomalies = (sorted(train / r.path for r in records if r.category == cat and r.label == lab)
                              for lab in (0, 1))
        normals = [normals[i] for i in rng.permutation(len(normals))]
        anomalies = [anomalies[i] for i in rng.permutation(len(anomalies))]
        n_q = min(per_label, len(normals) - pool_size, len(anomalies))
        tasks.append({"name": cat, "pool": normals[:pool_size],
                      "queries": normals[pool_size:pool_size + n_q] + anomalies[:n_q],
                      "labels": np.array([0] * n_q + [1] * n_q)})
    return tasks


def evaluate_aux(ext: Extractor, tasks, shots, episodes: int, seed: int) -> dict:
    res: dict = {}
    for mode in TRANSFORMS:
        for t in tasks:
            log(f"{t['name']} ({mode}): extracting {len(t['pool']) + len(t['queries'])} images")
            pool, qs = ext.tokens(t["pool"], mode), ext.tokens(t["queries"], mode)
            cfgs = [c for c in configs() if c[2] == mode]
            for k in shots:
                per_cfg = {name_of(c): [] for c in cfgs}
                for e in range(episodes):
                    rng = np.random.default_rng([seed, k, e])
                    chosen = [pool[i] for i in rng.choice(len(pool), k, replace=False)]
                    maps = [distance_maps(q, chosen) for q in qs]
                    for c in cfgs:
                        scores = np.array([s_p(m, c[0], c[1]) for m in maps])
                        per_cfg[name_of(c)].append(auroc(t["labels"], scores))
                for n, vals in per_cfg.items():
                    res.setdefault(n, {}).setdefault(f"k{k}", {})[t["name"]] = float(np.mean(vals))
    return res


def evaluate_data(ext: Extractor, data: Path, shots) -> dict:
    res: dict = {}
    for mode in TRANSFORMS:
        for c in find_categories(data):
            log(f"{c.name} ({mode}): extracting")
            sh, qs = ext.tokens(c.shots[:max(shots)], mode), ext.tokens(c.queries, mode)
            for k in shots:
                maps = [distance_maps(q, sh[:k]) for q in qs]
                for cfg in (x for x in configs() if x[2] == mode):
                    scores = np.array([s_p(m, cfg[0], cfg[1]) for m in maps])
                    res.setdefault(name_of(cfg), {}).setdefault(f"k{k}", {})[c.name] = {
                        "auroc": auroc(c.labels, scores), "auprc": auprc(c.labels, scores)}
    return res


# Shot augmentation probe: the same residual with flipped/rotated copies of every shot added to the bank (the query is
# never transformed). Evaluated for one configuration (the served default unless --probe-layer is given).
VIEWS = {"id": lambda x: x, "hflip": lambda x: x.flip(2), "vflip": lambda x: x.flip(1),
         "rot180": lambda x: x.flip(1).flip(2), "rot90": lambda x: x.rot90(1, (1, 2)),
         "rot270": lambda x: x.rot90(3, (1, 2))}
VIEW_SETS = {"none": ("id",), "flips": ("id", "hflip", "vflip", "rot180"),
             "flips+rot90": ("id", "hflip", "vflip", "rot180", "rot90", "rot270")}


@torch.no_grad()
def view_tokens(ext: Extractor, paths: list[Path], layer: str, views, mode: str = "center-crop") -> list[list]:
    out = []
    for p in paths:
        x = ext.load(p, mode)
        f = ext.trunk.forward_all(torch.stack([VIEWS[v](x) for v in views]))[layer]
        out.append([F.normalize(f[i].flatten(1).T, dim=-1, eps=1e-12) for i in range(len(views))])
    return out


def probe_views(ext: Extractor, tasks, data: Path | None, layer: str, shots, episodes: int, seed: int) -> dict:
    allv = VIEW_SETS["flips+rot90"]

    def score(q, chosen, vs):  # every view of every chosen shot joins the bank
        key = (layer, "none")
        bank = [{key: s[allv.index(v)]} for s in chosen for v in vs]
        return s_p(distance_maps({key: q}, bank), (layer,), "none")

    res: dict = {}
    for t in tasks:
        log(f"views probe: {t['name']}")
        pool = view_tokens(ext, t["pool"], layer, allv)
        qs = [v[0] for v in view_tokens(ext, t["queries"], layer, ("id",))]
        for k in shots:
            for name, vs in VIEW_SETS.items():
                vals = []
                for e in range(episodes):
                    rng = np.random.default_rng([seed, k, e])
                    chosen = [pool[i] for i in rng.choice(len(pool), k, replace=False)]
                    vals.append(auroc(t["labels"], np.array([score(q, chosen, vs) for q in qs])))
                res.setdefault("aux", {}).setdefault(name, {}).setdefault(f"k{k}", {})[t["name"]] = float(np.mean(vals))
    for c in find_categories(data) if data else []:
        log(f"views probe: {c.name}")
        sh = view_tokens(ext, c.shots[:max(shots)], layer, allv)
        qs = [v[0] for v in view_tokens(ext, c.queries, layer, ("id",))]
        for k in shots:
            for name, vs in VIEW_SETS.items():
                res.setdefault("report", {}).setdefault(name, {}).setdefault(f"k{k}", {})[c.name] = auroc(
                    c.labels, np.array([score(q, sh[:k], vs) for q in qs]))
    return res


def mean_over(per_k: dict, key=None) -> dict:
    out = {}
    for kk, per_c in per_k.items():
        out[kk] = float(np.mean([v if key is None else v[key] for v in per_c.values()]))
    out["all"] = float(np.mean([out[kk] for kk in per_k]))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m inctrl_train.select_patch", description=__doc__)
    p.add_argument("--from-nsfwjs", required=True, metavar="TGZ_OR_DIR")
    p.add_argument("--train", default="../../../shared/train", help="auxiliary data with manifest.csv")
    p.add_argument("--per-label", type=int, default=40, help="query normals and anomalies per category")
    p.add_argument("--pool", type=int, default=16, help="normals per category that shots are drawn from")
    p.add_argument("--episodes", type=int, default=3)
    p.add_argument("--shots", nargs="+", type=int, default=[2, 4, 8])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report-data", metavar="DIR", help="also score every configuration here (reporting only)")
    p.add_argument("--views-probe", metavar="LAYER", help="instead: add flipped/rotated shot copies to the bank "
                   "for one tap (e.g. Mixed_6b, none pooling, centre crop) and compare")
    p.add_argument("--json", help="write all results here")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    ext = Extractor(a.from_nsfwjs)
    tasks = auxiliary_tasks(Path(a.train), a.per_label, a.pool, a.seed)
    if a.views_probe:
        res = probe_views(ext, tasks, Path(a.report_data) if a.report_data else None, a.views_probe, a.shots,
                          a.episodes, a.seed)
        print(f"## shot views, {a.views_probe} none center-crop: mean AUROC at K = {a.shots} (aux = selection data)")
        for split, per_set in res.items():
            for name, per_k in per_set.items():
                m = mean_over(per_k)
                print(f"| {split} | {name} | " + " | ".join(f"{m[f'k{k}']:.3f}" for k in a.shots)
                      + f" | {m['all']:.3f} |")
        if a.json:
            Path(a.json).write_text(json.dumps(res, indent=2) + "\n")
        return 0
    aux = evaluate_aux(ext, tasks, a.shots, a.episodes, a.seed)
    ranked = sorted(aux, key=lambda n: -mean_over(aux[n])["all"])
    out = {"selection": {"rule": "max mean image AUROC over auxiliary categories and K", "ranked": ranked,
                         "chosen": ranked[0], "aux": aux, "config": vars(a)}}
    cats = [t["name"] for t in tasks]
    print("## auxiliary categories (selection): mean AUROC per K, then per category (mean over K)")
    print("| config | " + " | ".join(f"K={k}" for k in a.shots) + " | mean | " + " | ".join(cats) + " |")
    print("|---" * (2 + len(a.shots) + len(cats)) + "|")
    for n in ranked:
        m = mean_over(aux[n])
        per_cat = [np.mean([aux[n][f"k{k}"][c] for k in a.shots]) for c in cats]
        print(f"| {n} | " + " | ".join(f"{m[f'k{k}']:.3f}" for k in a.shots) + f" | {m['all']:.3f} | "
              + " | ".join(f"{v:.3f}" for v in per_cat) + " |")
    if a.report_data:
        data = evaluate_data(ext, Path(a.report_data), a.shots)
        out["report"] = data
        print(f"\n## {a.report_data} (reporting only): mean image AUROC / AUPRC per K, in selection order")
        print("| config | " + " | ".join(f"K={k}" for k in a.shots) + " |")
        print("|---" * (1 + len(a.shots)) + "|")
        for n in ranked:
            r, q = mean_over(data[n], "auroc"), mean_over(data[n], "auprc")
            print(f"| {n} | " + " | ".join(f"{r[f'k{k}']:.3f} / {q[f'k{k}']:.3f}" for k in a.shots) + " |")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
