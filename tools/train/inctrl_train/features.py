"""Frozen backbones and the on-disk feature cache.

The backbone never trains, so every image's taps and global embedding are computed once and stored, keyed by the
backbone identity and the sha256 of the image bytes (synthetic images: of the generated pixels).
"""
from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from inctrl_export import residual_heads as rh

# Candidate blocks cached for InceptionV3 (layer selection picks among them without re-extracting).
CANDIDATE_TAPS = ("Mixed_5d", "Mixed_6b", "Mixed_6c")
CANDIDATE_GLOBALS = ("Mixed_6b", "Mixed_6c")


def log(msg: str) -> None:
    print(f"[inctrl-train] {msg}", file=sys.stderr, flush=True)


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class InceptionExtractor:
    """nsfwjs ImageNet InceptionV3 (or the seeded random trunk with tiny=True); caches every candidate block."""

    kind = "residual-heads"

    def __init__(self, src, tiny: bool = False, seed: int = 0):
        # Trunk up to Mixed_6c: the last ImageNet block, needed by the candidates anyway.
        self.bb = rh.load_backbone(src, ["Mixed_6c"], "Mixed_6c", "avg", tiny=tiny, seed=seed)
        self.tiny, self.seed, self.src = tiny, seed, src
        self.identity = self.bb.identity + "-none-pm1"
        self.size = self.bb.size
        self.transform = rh.image_transform(self.size)

    @torch.no_grad()
    def extract(self, pixels: torch.Tensor) -> list[dict]:
        outs = self.bb.trunk.forward_all(pixels)
        res = []
        for i in range(pixels.shape[0]):
            tok = {}
            for b in CANDIDATE_TAPS:
                t = outs[b][i].flatten(1).T  # [P, C] row-major
                tok[b] = F.normalize(t, dim=-1, eps=1e-12).half()
            g = {}
            for b in CANDIDATE_GLOBALS:
                g[f"{b}:avg"] = outs[b][i].mean(dim=(1, 2)).clone()
                g[f"{b}:max"] = outs[b][i].amax(dim=(1, 2)).clone()
            res.append({"tok": tok, "g": g})
        return res


class ClipExtractor:
    """CLIP ViT of kind inctrl (random weights or an official checkpoint); taps 7/9/11 and g = proj(ln_post(CLS))."""

    kind = "inctrl"

    def __init__(self, model, identity: str):
        from inctrl_export import reference as ref
        from inctrl_export.modules import VisionModule
        self.model = model
        self.vision = VisionModule(model).eval()
        self.identity = identity
        self.size = ref.IMAGE_SIZE
        self.transform = ref.TRANSFORM

    @torch.no_grad()
    def extract(self, pixels: torch.Tensor) -> list[dict]:
        g, *taps = self.vision(pixels)
        return [{"tok": {f"block{b}": taps[j][i].half() for j, b in enumerate((7, 9, 11))},
                 "g": {"cls": g[i].clone()}} for i in range(pixels.shape[0])]


class BundleExtractor:
    """A bundle's own vision module (vision.cpu.pt, what the server runs) with one of the server's inspection modes
    (docs/registry.md "Inspection mode"); taps only, float32 unit tokens. Every view of an image (one, or one per
    tile) is stored: {"tok": {"tap<i>": [V, P, C]}}."""

    kind = "bundle"

    def __init__(self, bundle: Path, mode: str = "center-crop"):
        import json
        self.dir = Path(bundle)
        self.manifest = json.loads((self.dir / "manifest.json").read_text())
        img = self.manifest["image"]
        if img["mean"] != [0.5] * 3 or img["std"] != [0.5] * 3:
            raise SystemExit(f"{bundle}: only [-1,1] input bundles (the default's) are supported here")
        f = self.manifest["files"]
        self.vision = torch.jit.load(str(self.dir / f.get("vision_cpu", f["vision"]))).eval()
        self.offset = 0 if self.manifest["kind"] == "patch-residual" else 1  # others return g first
        self.size = int(img["size"])
        self.mode = mode
        self.identity = f"{self.manifest['bundle_id']}:{mode}:fp32"

    def views(self, im: Image.Image) -> list[torch.Tensor]:
        from .views import views
        return views(im, self.size, self.mode)

    @torch.no_grad()
    def extract(self, pixels: torch.Tensor) -> list[torch.Tensor]:
        out = self.vision(pixels)
        taps = out[self.offset:] if isinstance(out, (tuple, list)) else [out]
        return [torch.stack([t[i] for t in taps]) for i in range(pixels.shape[0])]  # [T, P, C] per view


class FeatureCache:
    """<root>/<sha256(identity)[:16]>/<key[:2]>/<key>.pt, one small dict per image."""

    def __init__(self, root: Path, extractor, batch: int = 8):
        self.ext = extractor
        self.dir = Path(root) / hashlib.sha256(extractor.identity.encode()).hexdigest()[:16]
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "IDENTITY").write_text(extractor.identity + "\n")
        self.batch = batch
        self.hits = self.misses = 0

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.pt"

    def get_many(self, items: list[tuple[str, callable]], progress: str = "") -> list[dict]:
        """items: (key, loader returning a PIL image). Missing entries are computed in batches and stored."""
        out: list = [None] * len(items)
        todo = []
        for i, (key, _) in enumerate(items):
            p = self._path(key)
            if p.exists():
                out[i] = torch.load(p, weights_only=True)
                self.hits += 1
            else:
                todo.append(i)
        if hasattr(self.ext, "views"):  # several views per image (tiles): batch views, store [T, V, P, C]
            self._get_views(items, todo, out, progress)
            return out
        for n in range(0, len(todo), self.batch):
            idx = todo[n:n + self.batch]
            pixels = torch.stack([self.ext.transform(items[i][1]()) for i in idx])
            for i, f in zip(idx, self.ext.extract(pixels), strict=True):
                p = self._path(items[i][0])
                p.parent.mkdir(exist_ok=True)
                tmp = p.with_suffix(".tmp")
                torch.save(f, tmp)
                tmp.replace(p)
                out[i] = f
                self.misses += 1
            if progress and (n // self.batch) % 10 == 0:
                log(f"{progress}: extracted {min(n + self.batch, len(todo))}/{len(todo)} "
                    f"(cached {len(items) - len(todo)})")
        return out


    def _get_views(self, items, todo, out, progress):
        for n, i in enumerate(todo):
            vs = self.ext.views(items[i][1]())
            per_view = [t for b in range(0, len(vs), self.batch)
                        for t in self.ext.extract(torch.stack(vs[b:b + self.batch]))]
            f = {"tok": torch.stack(per_view, dim=1)}  # [T, V, P, C]
            p = self._path(items[i][0])
            p.parent.mkdir(exist_ok=True)
            tmp = p.with_suffix(".tmp")
            torch.save(f, tmp)
            tmp.replace(p)
            out[i] = f
            self.misses += 1
            if progress and n % 50 == 0:
                log(f"{progress}: extracted {n + 1}/{len(todo)} (cached {len(items) - len(todo)})")


def open_image(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im
