"""Reference fixtures for the Java tests (<bundle>/fixtures/), computed by reference.py at batch size 1."""
from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import reference as ref
from .model import SourceModel, log
from .prompts import sentences


@dataclass
class Case:
    name: str
    category: str  # the category string given to the text prior (may differ from the data folder)
    query: str  # path relative to the data dir
    shots: list = field(default_factory=list)


def _by_category(data_dir: Path) -> dict:
    """{(dataset, category): {'shots': [...], 'good': [...], 'defects': {defect: [...]}}} from manifest.csv."""
    out: dict = {}
    with open(data_dir / "manifest.csv", newline="") as f:
        for row in csv.DictReader(f):
            p = row["path"]
            parts = p.split("/")
            entry = out.setdefault((parts[0], parts[1]), {"shots": [], "good": [], "defects": {}})
            if parts[2] == "shots":
                entry["shots"].append(p)
            elif parts[3] == "good":
                entry["good"].append(p)
            else:
                entry["defects"].setdefault(parts[3], []).append(p)
    for e in out.values():
        e["shots"].sort()
        e["good"].sort()
        for v in e["defects"].values():
            v.sort()
    return out


def plan_cases(data_dir: Path) -> list[Case]:
    """Deterministic case list: per category one good and one defective query, K in {1,2,4,8}, plus the
    self-shot (M~0), a CIFAR special-case name and an underscore/capitals name. ~18 unique images."""
    cats = _by_category(data_dir)
    if len(cats) < 3:
        raise SystemExit(f"{data_dir}: expected at least 3 categories in manifest.csv, found {len(cats)}")
    keys = sorted(cats)
    # The category with 8 shots and the most varied content carries the K=8 case.
    k8 = max(keys, key=lambda k: (len(cats[k]["shots"]), k[0] == "mvtec_ad"))
    others = [k for k in keys if k != k8][:2]
    cases: list[Case] = []

    def add(key, label, k, query):
        c = cats[key]
        cases.append(Case(f"{key[1]}_{label}_k{k}", key[1], query, c["shots"][:k]))

    def first_defect(key):
        name = sorted(cats[key]["defects"])[0]
        return name, cats[key]["defects"][name][0]

    d, q = first_defect(k8)
    add(k8, "good", 8, cats[k8]["good"][0])
    add(k8, d, 4, q)
    for key, (kg, kd) in zip(others, ((1, 2), (2, 1)), strict=True):  # others: two categories (checked above)
        add(key, "good", kg, cats[key]["good"][0])
        d, q = first_defect(key)
        add(key, d, kd, q)
    b = others[0]
    self_shot = cats[b]["shots"][0]
    cases.append(Case(f"{b[1]}_self_k1", b[1], self_shot, [self_shot]))
    c = others[1]
    cases.append(Case("bird_cifar_k2", "bird", cats[c]["good"][0], cats[c]["shots"][:2]))
    cases.append(Case("Metal_Nut_k2", "Metal_Nut", first_defect(k8)[1], cats[k8]["shots"][:2]))
    return cases


def _f32(x) -> np.ndarray:
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    a = np.ascontiguousarray(a, dtype=np.float32)
    return a.reshape(1) if a.ndim == 0 else a


def _save_npz(path: Path, **arrays) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Deflated entries: checked to decode with DJL 0.36 NDList.decode; pixels shrink ~3x.
    np.savez_compressed(path, **arrays)


def write_fixtures(model: SourceModel, data_dir: str | Path, out_dir: str | Path, bundle_id: str) -> dict:
    data_dir = Path(data_dir)
    fx = Path(out_dir) / "fixtures"
    cases = plan_cases(data_dir)
    images = sorted({p for c in cases for p in [c.query, *c.shots]})
    log(f"fixtures: {len(cases)} cases over {len(images)} unique images -> {fx}")

    feats, image_entries = {}, []
    for i, p in enumerate(images):
        t0 = time.time()
        pixels = ref.preprocess(data_dir / p)
        f = ref.image_features(model, pixels)
        feats[p] = f
        rel = f"images/{i:03d}.npz"
        _save_npz(fx / rel, pixels=_f32(pixels), g=_f32(f.g),
                  **{f"tap{j}": _f32(ref.unit(t)) for j, t in enumerate(f.taps)})
        image_entries.append({"path": p, "file": rel})
        log(f"fixture image {i + 1}/{len(images)} {p} ({time.time() - t0:.1f}s)")

    texts, prompt_entries = {}, []
    for cat in dict.fromkeys(c.category for c in cases):  # first-seen order, unique
        t0 = time.time()
        ids, t_n, t_a = ref.text_embeddings(model, cat, progress=log)
        texts[cat] = (t_n, t_a)
        normal, anomalous = sentences(cat)
        rel = f"prompts/{cat}.npz"
        _save_npz(fx / rel, ids=np.ascontiguousarray(ids.numpy(), dtype=np.int64), t_n=_f32(t_n), t_a=_f32(t_a))
        prompt_entries.append({"category": cat, "normal": normal, "anomalous": anomalous, "file": rel})
        log(f"fixture prompts '{cat}': {len(normal)}+{len(anomalous)} sentences ({time.time() - t0:.1f}s)")

    case_entries = []
    for c in cases:
        r = ref.score_case(model, feats[c.query], [feats[s] for s in c.shots], *texts[c.category])
        rel = f"cases/{c.name}.npz"
        t_n, t_a = texts[c.category]
        _save_npz(fx / rel, M=_f32(r.M), s_p=_f32(r.s_p), s_i=_f32(r.s_i), s_a=_f32(r.s_a), s_h=_f32(r.s_h),
                  score=_f32(r.score), t_n=_f32(t_n), t_a=_f32(t_a), proto=_f32(r.proto))
        case_entries.append({"name": c.name, "category": c.category, "query": c.query, "shots": list(c.shots),
                             "file": rel})
        log(f"fixture case {c.name}: K={len(c.shots)} s_p={r.s_p:.5f} s_i={r.s_i:.5f} s_a={r.s_a:.5f} "
            f"s_h={r.s_h:.5f} score={r.score:.5f}")

    doc = {
        "bundle_id": bundle_id,
        "data_dir_note": "paths are relative to shared/data",
        "reference": "inctrl_export.reference (open_clip towers, official per-patch loop), batch size 1, fp32",
        "images": image_entries,
        "cases": case_entries,
        "prompts": prompt_entries,
    }
    (fx / "fixtures.json").write_text(json.dumps(doc, indent=2) + "\n")
    log(f"wrote {fx / 'fixtures.json'}")
    return doc
