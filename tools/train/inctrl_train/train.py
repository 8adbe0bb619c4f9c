"""python -m inctrl_train: train InCTRL's heads (ψ, η, φ) on auxiliary data over a frozen backbone, export a bundle.

Episodes (spec §11): each query gets K prompts drawn from the normal training pool of ITS OWN category; a batch is
half normal, half anomalous queries; loss = FL(final) + FL(s_i) with a focal loss on probabilities (γ = 2);
AdamW lr 1e-3, weight decay 0.01. The backbone is frozen and its features are cached on disk.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from inctrl_export.evaluate import auprc, auroc
from inctrl_export.model import InCTRLHeads
from inctrl_export.spec import patch_distances

from . import __version__
from .data import (
    LICENCES,
    SYNTH_VERSION,
    Record,
    load_bytes,
    read_manifest,
    split,
    split_by_category,
    synthetic_records,
)
from .features import FeatureCache, file_digest, log, open_image

REPO = Path(__file__).resolve().parents[3]
DEFAULT_TRAIN = REPO.parent / "shared" / "train"


@dataclass
class Config:
    backbone: str = "inception"          # inception | clip
    tiny: bool = False                   # tiny backbone (random trunk / tiny CLIP): tests
    nsfwjs: str | None = None            # nsfwjs source for the InceptionV3
    data: str = str(DEFAULT_TRAIN)
    datasets: list = field(default_factory=lambda: ["deeppcb"])
    limit: int = 0                       # per (category, label) cap on real images (0 = all); tests
    val_frac: float = 0.2
    val_categories: list = field(default_factory=list)  # held-out categories validate instead of an image split
    synthetic: int = 0                   # synthetic anomalies per training normal (0 = off)
    synthetic_only: bool = False         # train on normals + synthetic anomalies only (real anomalies: validation)
    taps: list = field(default_factory=lambda: ["Mixed_6b"])
    global_layer: str = "Mixed_6c"
    global_pool: str = "avg"
    shots: list = field(default_factory=lambda: [2, 4, 8])  # K drawn per step
    steps: int = 1000
    batch: int = 16
    lr: float = 1e-3
    weight_decay: float = 0.01
    gamma: float = 2.0
    val_every: int = 100
    seed: int = 0
    official_pairing: bool = False
    official_focal: bool = False
    cache: str = str(REPO / "build" / "train-cache")
    clip_seed: int = 7                   # --backbone clip: random CLIP weights' seed (no checkpoint here)
    clip_checkpoint: str | None = None


# ---------------------------------------------------------------------------------------------------------
# Features in memory

class FeatureSet:
    """Stacked tensors for a list of records: taps [N,T,P,C] fp16, g [N,D] fp32, s_a [N] (inctrl only)."""

    def __init__(self, records: list[Record], feats: list[dict], tap_keys: list[str], g_key: str,
                 s_a: torch.Tensor | None = None):
        self.records = records
        self.taps = torch.stack([torch.stack([f["tok"][k] for k in tap_keys]) for f in feats])
        self.g = torch.stack([f["g"][g_key].float() for f in feats])
        self.labels = torch.tensor([r.label for r in records], dtype=torch.float32)
        self.cats = [r.category for r in records]
        self.s_a = s_a


def focal_loss(p: torch.Tensor, y: torch.Tensor, gamma: float, official: bool = False) -> torch.Tensor:
    """Binary focal loss on probabilities, α = 1, mean. official=True reproduces the released code's quirk of
    feeding probabilities to a BCE-with-logits (p is squashed again by a sigmoid)."""
    if official:
        p = torch.sigmoid(p)
    p = p.clamp(1e-6, 1 - 1e-6)
    pt = torch.where(y > 0.5, p, 1 - p)
    return (-(1 - pt) ** gamma * torch.log(pt)).mean()


def residual_map(q_taps: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
    """q_taps [B,T,P,C], bank [B,T,KP,C] (unit tokens) -> M [B,P]: mean over taps of min ½(1−cos) over the bank."""
    B, T, P, C = q_taps.shape
    d = patch_distances(q_taps.reshape(B * T, P, C), bank.reshape(B * T, -1, C))
    return d.reshape(B, T, P).mean(dim=1)


def forward_episodes(heads: InCTRLHeads, q_taps, q_g, s_taps, s_g, s_a=None, official_pairing=False) -> dict:
    """q_taps [B,T,P,C], q_g [B,D], s_taps [B,K,T,P,C], s_g [B,K,D] -> every score for each query.

    official_pairing: emulate the released code's reshape-instead-of-permute at batch B (spec §9): prompt stacks
    built as [K,B,...] and query tap stacks as [T,B,...] are reshaped to [B,K,...] / [B,T,...]."""
    B, K = s_g.shape[:2]
    T = q_taps.shape[1]
    if official_pairing:
        s_g = s_g.transpose(0, 1).reshape(B, K, -1)
        s_taps = s_taps.transpose(0, 1).reshape(s_taps.shape)
        q_taps = q_taps.transpose(0, 1).reshape(q_taps.shape)
    with torch.no_grad():  # M has no trainable part
        bank = s_taps.transpose(1, 2).reshape(B, T, -1, s_taps.shape[-1])  # [B,T,K*P,C], shots pooled
        M = residual_map(q_taps.float(), bank.float())
    s_p = M.max(dim=1).values
    psi_s = heads.adapter(s_g.reshape(B * K, -1)).reshape(B, K, -1)
    r = psi_s.mean(dim=1) - heads.adapter(q_g)  # prototype minus query (spec §5)
    s_i = heads.diff_head_ref(r)[:, 0]
    m_plus = M + s_i[:, None]
    if s_a is not None:
        m_plus = m_plus + s_a[:, None]
    s_h = heads.diff_head(m_plus)[:, 0]
    return {"M": M, "s_p": s_p, "s_i": s_i, "s_h": s_h, "final": (s_h + s_p) / 2}


# ---------------------------------------------------------------------------------------------------------

class Episodes:
    """Seeded episode sampler: K prompts of the query's own category from the training normal pool (never the
    query itself), balanced normal/anomalous batches from endlessly reshuffled index streams."""

    def __init__(self, fs: FeatureSet, rng: np.random.Generator, prompt_pool: FeatureSet | None = None):
        self.fs, self.rng = fs, rng
        self.pool = prompt_pool or fs
        self.normals = [i for i, r in enumerate(fs.records) if r.label == 0]
        self.anoms = [i for i, r in enumerate(fs.records) if r.label == 1]
        self.by_cat: dict = {}
        for i, r in enumerate(self.pool.records):
            if r.label == 0 and not r.synthetic:
                self.by_cat.setdefault(r.category, []).append(i)
        self._streams = {"n": [], "a": []}

    def _next(self, key: str, src: list, n: int) -> list:
        s = self._streams[key]
        while len(s) < n:
            s += [src[i] for i in self.rng.permutation(len(src))]
        out, self._streams[key] = s[:n], s[n:]
        return out

    def prompts(self, q: int, k: int) -> list:
        rec = self.fs.records[q]
        cand = [i for i in self.by_cat[rec.category]
                if not (self.pool is self.fs and i == q) and self.pool.records[i].path != rec.path]
        return [cand[j] for j in self.rng.choice(len(cand), size=min(k, len(cand)), replace=False)]

    def batch(self, b: int) -> list:
        return self._next("n", self.normals, b // 2) + self._next("a", self.anoms, b - b // 2)

    def tensors(self, queries: list, k: int):
        prompts = [self.prompts(q, k) for q in queries]
        q_taps = self.fs.taps[queries]
        s_taps = torch.stack([self.pool.taps[p] for p in prompts])
        s_g = torch.stack([self.pool.g[p] for p in prompts])
        s_a = self.fs.s_a[queries] if self.fs.s_a is not None else None
        return q_taps, self.fs.g[queries], s_taps, s_g, s_a, self.fs.labels[queries]


def val_prompt_pool(cfg: Config, tr: FeatureSet, va: FeatureSet) -> FeatureSet:
    """Prompts for validation queries: the training normals of their category, or, for held-out categories (no
    training images), the other validation normals of the same category (never the query itself)."""
    return va if cfg.val_categories else tr


def fixed_val_episodes(val: FeatureSet, pool: FeatureSet, shots: list, seed: int) -> list:
    """One seeded prompt set per (val query, K); prompts from the training normals of the same category."""
    ep = Episodes(val, np.random.default_rng(seed + 1000), pool)
    return [(k, list(range(len(val.records))), [ep.prompts(q, k) for q in range(len(val.records))]) for k in shots]


@torch.no_grad()
def validate(heads: InCTRLHeads, val: FeatureSet, pool: FeatureSet, episodes: list, chunk: int = 32) -> dict:
    heads.eval()
    res: dict = {}
    for k, queries, prompts in episodes:
        scores = {"final": [], "s_p": [], "s_i": []}
        for n in range(0, len(queries), chunk):
            qs, ps = queries[n:n + chunk], prompts[n:n + chunk]
            out = forward_episodes(heads, val.taps[qs], val.g[qs], torch.stack([pool.taps[p] for p in ps]),
                                   torch.stack([pool.g[p] for p in ps]),
                                   val.s_a[qs] if val.s_a is not None else None)
            for key in scores:
                scores[key].append(out[key])
        scores = {key: torch.cat(v).numpy() for key, v in scores.items()}
        labels = val.labels.numpy().astype(np.int64)
        cats = np.array(val.cats)
        for cat in sorted(set(val.cats)):
            m = cats == cat
            for key, s in scores.items():
                res.setdefault(f"k{k}", {}).setdefault(cat, {})[key] = {
                    "auroc": auroc(labels[m], s[m]), "auprc": auprc(labels[m], s[m])}
    for per_cat in res.values():
        for key in ("final", "s_p", "s_i"):
            per_cat.setdefault("_mean", {})[key] = {
                "auroc": float(np.mean([v[key]["auroc"] for c, v in per_cat.items() if c != "_mean"]))}
    res["mean_final_auroc"] = float(np.mean([res[f"k{k}"]["_mean"]["final"]["auroc"] for k, _, _ in episodes]))
    heads.train()
    return res


# ---------------------------------------------------------------------------------------------------------

def build_extractor(cfg: Config):
    if cfg.backbone == "inception":
        from .features import InceptionExtractor
        return InceptionExtractor(cfg.nsfwjs, tiny=cfg.tiny, seed=cfg.seed if cfg.tiny else 0)
    from inctrl_export.model import make_random_model

    from .features import ClipExtractor
    variant = "tiny" if cfg.tiny else "full"
    if cfg.clip_checkpoint:
        from inctrl_export.checkpoint import load_model_from_checkpoint
        model, digest = load_model_from_checkpoint(cfg.clip_checkpoint, variant)
        return ClipExtractor(model, f"clip-{variant}-ckpt-{digest[:16]}")
    return ClipExtractor(make_random_model(variant, cfg.clip_seed), f"clip-{variant}-random-seed{cfg.clip_seed}")


def keys_for(cfg: Config, ext) -> tuple[list, str]:
    if ext.kind == "inctrl":
        return ["block7", "block9", "block11"], "cls"
    return list(cfg.taps), f"{cfg.global_layer}:{cfg.global_pool}"


def load_features(cfg: Config, ext, records: list[Record], what: str) -> list[dict]:
    cache = FeatureCache(Path(cfg.cache), ext)
    root = Path(cfg.data)
    items = []
    for r in records:
        key = file_digest((root / r.path).read_bytes())
        if r.synthetic:
            key += f"-{r.synthetic.replace(':', '')}-v{SYNTH_VERSION}-s{cfg.seed}"
        items.append((key, (lambda r=r: open_image(load_bytes(root, r, cfg.seed)))))
    t0 = time.time()
    feats = cache.get_many(items, progress=what)
    log(f"{what}: {len(records)} images ({cache.hits} cached, {cache.misses} extracted, {time.time() - t0:.1f}s)")
    return feats


def text_priors(ext, records: list[Record], feats: list[dict]) -> torch.Tensor:
    """inctrl kind only: s_a per image from its category's text prototypes (fixed; the text tower is frozen)."""
    from inctrl_export import reference as ref
    protos = {}
    out = []
    for r, f in zip(records, feats, strict=True):
        if r.category not in protos:
            _, t_n, t_a = ref.text_embeddings(ext.model, r.category.replace("_", " "))
            protos[r.category] = (t_n, t_a)
        t_n, t_a = protos[r.category]
        g = f["g"]["cls"].float()
        g = g / g.norm()
        out.append(torch.softmax(ref.TEMPERATURE * torch.stack([g @ t_n, g @ t_a]), 0)[1])
    return torch.stack(out)


def prepare(cfg: Config, ext=None):
    """(extractor, train FeatureSet, val FeatureSet, prompt pool = train real normals)."""
    ext = ext or build_extractor(cfg)
    recs = read_manifest(Path(cfg.data), cfg.datasets + cfg.val_categories)
    if cfg.limit:
        capped, seen = [], {}
        for r in recs:
            n = seen.get((r.category, r.label), 0)
            if n < cfg.limit:
                capped.append(r)
                seen[(r.category, r.label)] = n + 1
        recs = capped
    train, val = (split_by_category(recs, cfg.val_categories) if cfg.val_categories
                  else split(recs, cfg.val_frac, cfg.seed))
    if cfg.synthetic_only:
        if not cfg.synthetic:
            raise SystemExit("--synthetic-only needs --synthetic N")
        train = [r for r in train if r.label == 0]
    if cfg.synthetic:
        train = train + synthetic_records([r for r in train if r.label == 0], cfg.synthetic)
    tap_keys, g_key = keys_for(cfg, ext)
    sets = []
    for name, rs in (("train", train), ("val", val)):
        feats = load_features(cfg, ext, rs, name)
        s_a = text_priors(ext, rs, feats) if ext.kind == "inctrl" else None
        sets.append(FeatureSet(rs, feats, tap_keys, g_key, s_a))
    return ext, sets[0], sets[1]


def train_heads(cfg: Config, tr: FeatureSet, va: FeatureSet, progress=log) -> tuple[InCTRLHeads, dict]:
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    D, P = tr.g.shape[1], tr.taps.shape[2]
    heads = InCTRLHeads(D, P)
    init_state = {k: v.clone() for k, v in heads.state_dict().items()}
    opt = torch.optim.AdamW(heads.parameters(), lr=cfg.lr, betas=(0.9, 0.999), weight_decay=cfg.weight_decay)
    eps = Episodes(tr, rng)
    pool = val_prompt_pool(cfg, tr, va)
    val_eps = fixed_val_episodes(va, pool, cfg.shots, cfg.seed)
    history = {"loss": [], "val": []}
    v0 = validate(heads, va, pool, val_eps)
    history["val"].append({"step": 0, **v0})
    best = (v0["mean_final_auroc"], 0, init_state)
    progress(f"step 0: val mean AUROC (final) {v0['mean_final_auroc']:.4f} (random init)")
    heads.train()
    t0, run = time.time(), []
    for step in range(1, cfg.steps + 1):
        k = int(rng.choice(cfg.shots))
        q_taps, q_g, s_taps, s_g, s_a, y = eps.tensors(eps.batch(cfg.batch), k)
        out = forward_episodes(heads, q_taps, q_g, s_taps, s_g, s_a, cfg.official_pairing)
        loss = focal_loss(out["final"], y, cfg.gamma, cfg.official_focal) + \
            focal_loss(out["s_i"], y, cfg.gamma, cfg.official_focal)
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.append(float(loss))
        if run and (step % 10 == 0 or step % cfg.val_every == 0 or step == cfg.steps):
            history["loss"].append({"step": step, "loss": float(np.mean(run))})
            run = []
        if step % cfg.val_every == 0 or step == cfg.steps:
            v = validate(heads, va, pool, val_eps)
            history["val"].append({"step": step, **v})
            if v["mean_final_auroc"] > best[0]:
                best = (v["mean_final_auroc"], step, {k2: t.clone() for k2, t in heads.state_dict().items()})
            progress(f"step {step}/{cfg.steps}: loss {history['loss'][-1]['loss']:.4f}, val mean AUROC (final) "
                     f"{v['mean_final_auroc']:.4f}, {time.time() - t0:.0f}s")
    heads.load_state_dict(best[2])
    heads.eval()
    history["selected_step"] = best[1]
    history["selected_val_auroc"] = best[0]
    history["train_seconds"] = time.time() - t0
    return heads, history


# ---------------------------------------------------------------------------------------------------------

def licence_summary(datasets: list) -> tuple[str, bool]:
    parts, clear = [], True
    for d in datasets:
        text, status = LICENCES.get(d, ("unknown", "unknown"))
        parts.append(f"{d}: {text} [{status}]")
        clear &= status == "clear"
    return "; ".join(parts), clear


def write_report(out: Path, cfg: Config, hist: dict, meta: dict) -> None:
    report = {"config": asdict(cfg), "history": hist, **meta}
    (out / "report.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    lines = [f"# Training report: {out.name}", "", f"- {meta['description']}",
             f"- training data: {meta['training']['data']}", f"- licence of training data: {meta['training_licence']}",
             f"- committable as default weights: {'yes' if meta['committable'] else 'NO'}",
             f"- steps {cfg.steps}, batch {cfg.batch}, shots {cfg.shots}, seed {cfg.seed}, "
             f"selected step {hist['selected_step']} (val mean AUROC {hist['selected_val_auroc']:.4f}), "
             f"training time {hist['train_seconds']:.0f}s", "",
             "## Loss (mean of 10 steps)", "", "| step | loss |", "|---|---|"]
    lines += [f"| {e['step']} | {e['loss']:.4f} |" for e in hist["loss"][9::10] or hist["loss"]]
    lines += ["", "## Validation AUROC (held-out split of the training categories)", ""]
    for v in (hist["val"][0], next(x for x in hist["val"] if x["step"] == hist["selected_step"])):
        lines += [f"### step {v['step']}" + (" (random init)" if v["step"] == 0 else " (selected)"), "",
                  "| K | category | final | s_p (patch residual) | s_i |", "|---|---|---|---|---|"]
        for kk in sorted(k for k in v if k.startswith("k")):
            for cat, s in v[kk].items():
                lines.append(f"| {kk[1:]} | {cat} | {s['final']['auroc']:.4f} "
                             f"| {s['s_p'].get('auroc', float('nan')):.4f} | {s['s_i']['auroc']:.4f} |")
        lines.append("")
    lines += ["## Config", "", "```json", json.dumps(asdict(cfg), indent=2), "```", ""]
    (out / "report.md").write_text("\n".join(lines))


def export(cfg: Config, ext, heads: InCTRLHeads, hist: dict, out: Path, fixtures_data=None,
           optimize: bool = True) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    lic, clear = licence_summary(cfg.datasets)
    data = ", ".join(cfg.datasets) + (f" (+{cfg.synthetic} synthetic CutPaste/Perlin anomalies per training normal)"
                                      if cfg.synthetic else "")
    if cfg.synthetic_only:
        data = ", ".join(cfg.datasets) + f" normals with {cfg.synthetic} synthetic CutPaste/Perlin anomalies each" \
            " (no real anomalies in training)"
    training = {"data": data, "datasets": cfg.datasets, "root": "shared/train (manifest.csv)",
                "categories": sorted({r.category for r in read_manifest(Path(cfg.data), cfg.datasets)
                                      if not {r.dataset, r.category} & set(cfg.val_categories)}),
                "selected_on": ("held-out categories " + ", ".join(cfg.val_categories)) if cfg.val_categories
                else f"a seeded {cfg.val_frac:.0%} image hold-out of the training categories",
                "seed": cfg.seed, "steps": cfg.steps, "selected_step": hist["selected_step"],
                "val_mean_auroc": hist["selected_val_auroc"], "shots": cfg.shots, "batch": cfg.batch,
                "official_pairing": cfg.official_pairing, "official_focal": cfg.official_focal,
                "report": "report.json", "trainer": f"inctrl_train {__version__}"}
    random_backbone = cfg.tiny or (cfg.backbone == "clip" and not cfg.clip_checkpoint)
    if ext.kind == "residual-heads":
        backbone = "a random InceptionV3 trunk" if cfg.tiny else "ImageNet InceptionV3 features (nsfwjs@4.4.0)"
        desc = f"InCTRL-style residual heads trained on {data} over {backbone} — not the CLIP InCTRL checkpoint"
    else:
        desc = f"InCTRL heads trained on {data} over a {'random ' if random_backbone else ''}CLIP backbone"
    if random_backbone:
        desc += " (random backbone: scores are meaningless)"
    meta = {"description": desc, "training": training, "training_licence": lic, "committable": clear and not cfg.tiny}
    torch.save(heads.state_dict(), out / "heads.pt")
    (out / "heads.json").write_text(json.dumps({"seed": cfg.seed, "description": desc, "training": training,
                                                "training_licence": lic}, indent=2) + "\n")
    write_report(out, cfg, hist, meta)
    if ext.kind == "residual-heads":
        from inctrl_export import residual_heads as rh
        bb = rh.load_backbone(cfg.nsfwjs, cfg.taps, cfg.global_layer, cfg.global_pool, tiny=cfg.tiny,
                              seed=cfg.seed if cfg.tiny else 0)
        weights = {"source": "trained", "seed": cfg.seed, "description": desc, "provenance": {"training": training}}
        manifest = rh.export_bundle(None, out, heads=heads, weights=weights, tiny=cfg.tiny, backbone=bb,
                                    optimize=optimize, fixtures_data=fixtures_data,
                                    training_licence=f"trained by inctrl_train on {data}; data licence: {lic}",
                                    log=log)
    else:
        from inctrl_export.bundle import make_manifest, write_bundle
        model = ext.model
        model.heads.load_state_dict(heads.state_dict())
        source = "checkpoint" if cfg.clip_checkpoint else "random-init"
        manifest = make_manifest(model, source=source, seed=None if cfg.clip_checkpoint else cfg.clip_seed,
                                 sha256=None)
        manifest["bundle_id"] += f"-heads-{cfg.seed}"
        manifest["weights"]["description"] = desc
        manifest["weights"]["provenance"] = {"training": training}
        write_bundle(model, out, manifest, optimize=optimize)
        (out / "LICENSE").write_text(f"Heads trained by inctrl_train on {data}; data licence: {lic}\n")
    from inctrl_export import checksums
    checksums.write(out, log)  # last: heads.json, the report and LICENSE are part of the bundle too
    return manifest


def parse_args(argv=None) -> Config:
    p = argparse.ArgumentParser(prog="python -m inctrl_train", description=__doc__)
    p.add_argument("--backbone", choices=("inception", "clip"), default="inception")
    p.add_argument("--from-nsfwjs", dest="nsfwjs", metavar="TGZ_OR_DIR", help="nsfwjs source (inception backbone)")
    p.add_argument("--tiny", action="store_true", help="tiny random backbone (tests)")
    p.add_argument("--data", default=str(DEFAULT_TRAIN), help="auxiliary data root with manifest.csv")
    p.add_argument("--datasets", nargs="+", default=["deeppcb"], help="datasets (or categories) to train on")
    p.add_argument("--limit", type=int, default=0, help="cap on real images per (category, label)")
    p.add_argument("--val-frac", type=float, default=0.2, help="seeded image hold-out per (category, label)")
    p.add_argument("--val-categories", nargs="+", default=[], metavar="NAME",
                   help="validate (select) on these whole datasets/categories instead, never trained on")
    p.add_argument("--synthetic", type=int, default=0, metavar="N", help="N synthetic anomalies per training normal")
    p.add_argument("--synthetic-only", action="store_true",
                   help="no real anomalies in training (they stay in the validation split)")
    p.add_argument("--taps", nargs="+", default=["Mixed_6b"])
    p.add_argument("--global-layer", default="Mixed_6c")
    p.add_argument("--global-pool", choices=("avg", "max"), default="avg")
    p.add_argument("--shots", nargs="+", type=int, default=[2, 4, 8])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--val-every", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--official-pairing", action="store_true",
                   help="reproduce the released code's scrambled b=16 pairing (spec §9); wrong, for reproduction only")
    p.add_argument("--official-focal", action="store_true",
                   help="reproduce the released focal loss quirk (BCE-with-logits on probabilities)")
    p.add_argument("--cache", default=str(REPO / "build" / "train-cache"))
    p.add_argument("--clip-seed", type=int, default=7)
    p.add_argument("--clip-checkpoint")
    p.add_argument("--out", required=True)
    p.add_argument("--fixtures-data", help="also write bundle fixtures from this dir (e.g. shared/data)")
    p.add_argument("--no-optimize", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    cfg = Config(**{k: v for k, v in vars(a).items() if k in Config.__dataclass_fields__})
    return cfg, a


def main(argv=None) -> int:
    cfg, a = parse_args(argv)
    torch.set_num_threads(a.threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if cfg.backbone == "inception" and not cfg.tiny and not cfg.nsfwjs:
        print("error: --from-nsfwjs is required for the InceptionV3 backbone (or --tiny)", file=sys.stderr)
        return 2
    t0 = time.time()
    ext, tr, va = prepare(cfg)
    log(f"train: {len(tr.records)} queries ({int(tr.labels.sum())} anomalous), val: {len(va.records)}")
    heads, hist = train_heads(cfg, tr, va)
    export(cfg, ext, heads, hist, Path(a.out), fixtures_data=a.fixtures_data, optimize=not a.no_optimize)
    log(f"done in {time.time() - t0:.0f}s -> {a.out} (report.md, report.json)")
    return 0
