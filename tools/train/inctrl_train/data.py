"""Auxiliary training data (manifest.csv), seeded splits and seeded synthetic anomalies."""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

# Licence of each auxiliary dataset (shared/train/README.md): only "clear" ones may back committed weights.
LICENCES = {
    "deeppcb": ("MIT (tangsanli5201/DeepPCB LICENSE, (c) 2018 tangsanli5201)", "clear"),
    "battery_weld": ("Apache-2.0 repository licence, CC BY-SA 4.0 README badge", "unclear"),
    "mtd": ("no licence stated", "unknown"),
    "leather_defect": ("licence unknown", "unknown"),
    "brick_crack": ("licence unknown", "unknown"),
}


@dataclass(frozen=True)
class Record:
    dataset: str
    category: str
    path: str      # relative to the data root
    label: int     # 0 normal, 1 anomalous
    synthetic: str = ""  # "" real, else "<kind>:<index>" generated from `path`


def read_manifest(root: Path, datasets: list[str] | None = None) -> list[Record]:
    out = []
    with open(Path(root) / "manifest.csv", newline="") as f:
        for row in csv.DictReader(f):
            if datasets and row["dataset"] not in datasets and row["category"] not in datasets:
                continue
            out.append(Record(row["dataset"], row["category"], row["path"], int(row["label"])))
    if not out:
        raise SystemExit(f"no images for {datasets} in {root}/manifest.csv")
    return sorted(out, key=lambda r: r.path)


def split(records: list[Record], val_frac: float, seed: int) -> tuple[list[Record], list[Record]]:
    """Per (category, label) a seeded val_frac hold-out; deterministic given the manifest and seed."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    groups: dict = {}
    for r in records:
        groups.setdefault((r.category, r.label), []).append(r)
    for key in sorted(groups):
        g = groups[key]
        perm = rng.permutation(len(g))
        n_val = int(round(val_frac * len(g)))
        val += [g[i] for i in perm[:n_val]]
        train += [g[i] for i in perm[n_val:]]
    return train, val


def split_by_category(records: list[Record], val_categories: list[str]) -> tuple[list[Record], list[Record]]:
    """Held-out categories (dataset or category names): every image of them validates, none trains, so selection
    measures transfer to categories the heads never saw (the paper's protocol), not recall of seen ones."""
    held = set(val_categories)
    val = [r for r in records if r.dataset in held or r.category in held]
    train = [r for r in records if not (r.dataset in held or r.category in held)]
    missing = sorted(h for h in held if not any(h in (r.dataset, r.category) for r in val))
    if missing:
        raise SystemExit(f"--val-categories: no images for {missing}")
    if not train:
        raise SystemExit("--val-categories holds out every category: nothing left to train on")
    return train, val


# ---------------------------------------------------------------------------------------------------------
# Synthetic anomalies on normal images (seeded per image and index, so the cache key is stable)

def _smooth_noise(h: int, w: int, rng: np.random.Generator, octaves: int = 4) -> np.ndarray:
    """Perlin-style fractal noise: bilinearly upsampled random lattices, halving amplitude per octave."""
    acc = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    base = int(rng.integers(2, 5))
    for o in range(octaves):
        n = base * (2 ** o)
        lattice = rng.random((n + 1, n + 1)).astype(np.float32)
        up = np.asarray(Image.fromarray(lattice, mode="F").resize((w, h), Image.BILINEAR))
        acc += amp * up
        total += amp
        amp *= 0.5
    return acc / total


def perlin_anomaly(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Blend a noise texture (or a jittered copy of the image) into the image under a thresholded noise mask."""
    rgb = np.asarray(img.convert("RGB"), np.float32) / 255.0
    h, w, _ = rgb.shape
    for _ in range(5):  # keep masks between ~1% and ~25% of the area
        mask = _smooth_noise(h, w, rng)
        thr = np.quantile(mask, 1.0 - rng.uniform(0.02, 0.2))
        m = (mask > thr).astype(np.float32)
        if 0.01 < m.mean() < 0.3:
            break
    if rng.random() < 0.5:
        tex = np.stack([_smooth_noise(h, w, rng, 3) for _ in range(3)], -1)
        tex = (tex - tex.min()) / max(1e-6, float(tex.max() - tex.min()))
    else:
        tex = 1.0 - rgb if rng.random() < 0.5 else np.roll(rgb, (int(rng.integers(h)), int(rng.integers(w))), (0, 1))
    beta = rng.uniform(0.2, 0.8)  # opacity of the foreign texture
    out = rgb * (1 - m[..., None] * (1 - beta)) + tex * m[..., None] * (1 - beta)
    return Image.fromarray((np.clip(out, 0, 1) * 255).astype(np.uint8))


def cutpaste_anomaly(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """CutPaste: a random rectangle (or thin scar), colour-jittered, pasted at another place of the same image."""
    im = img.convert("RGB")
    w, h = im.size
    scar = rng.random() < 0.5
    if scar:
        pw, ph = int(rng.integers(max(2, w // 60), max(3, w // 20))), int(rng.integers(h // 8, h // 3))
    else:
        area = rng.uniform(0.02, 0.12) * w * h
        ratio = np.exp(rng.uniform(np.log(0.3), np.log(3.3)))
        pw = int(min(w - 1, max(4, np.sqrt(area * ratio))))
        ph = int(min(h - 1, max(4, np.sqrt(area / ratio))))
    x0, y0 = int(rng.integers(0, w - pw)), int(rng.integers(0, h - ph))
    patch = im.crop((x0, y0, x0 + pw, y0 + ph))
    patch = ImageEnhance.Brightness(patch).enhance(rng.uniform(0.7, 1.3))
    patch = ImageEnhance.Contrast(patch).enhance(rng.uniform(0.7, 1.3))
    mask = Image.new("L", patch.size, 255)
    if scar:  # rotate patch and mask together; the corners added by expand stay transparent
        angle = float(rng.uniform(-45, 45))
        patch, mask = patch.rotate(angle, expand=True), mask.rotate(angle, expand=True)
    x1, y1 = int(rng.integers(0, max(1, w - patch.size[0]))), int(rng.integers(0, max(1, h - patch.size[1])))
    out = im.copy()
    out.paste(patch, (x1, y1), mask)
    return out


SYNTHS = {"cutpaste": cutpaste_anomaly, "perlin": perlin_anomaly}
# Part of the feature-cache key of synthetic images: bump when the generators change.
SYNTH_VERSION = 1


def synthetic_records(normals: list[Record], per_image: int) -> list[Record]:
    """per_image synthetic anomalies per normal, alternating the two kinds."""
    out = []
    kinds = sorted(SYNTHS)
    for r in normals:
        for i in range(per_image):
            out.append(Record(r.dataset, r.category, r.path, 1, f"{kinds[i % len(kinds)]}:{i}"))
    return out


def load_bytes(root: Path, r: Record, seed: int) -> bytes:
    """Image bytes of a record; synthetic ones are generated from the normal with a per-(image, index, seed) RNG."""
    raw = (Path(root) / r.path).read_bytes()
    if not r.synthetic:
        return raw
    kind, idx = r.synthetic.split(":")
    digest = np.frombuffer(hashlib.sha256(raw).digest()[:8], np.uint64)[0]
    rng = np.random.default_rng([int(digest), int(idx), seed])
    with Image.open(io.BytesIO(raw)) as im:
        im.load()
        out = SYNTHS[kind](im, rng)
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()
