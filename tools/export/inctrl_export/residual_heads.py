"""Kind "residual-heads": InCTRL's learned heads (ψ, η, φ) over a frozen ImageNet InceptionV3, no text prior.

vision.pt returns (g, tap_0, ..., tap_{T-1}): g is the global avg/max pool of the RAW output of block
`global.layer` (before any token pooling and before normalisation, like InCTRL's un-normalised g); the taps are
exactly those of kind patch-residual. Scoring: M (spec §4, T taps), s_p = max M, s_i = η(mean_k ψ(g_k) − ψ(g_x)),
s_h = φ(M + s_i), final = (s_h + s_p)/2; s_a is absent.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from . import __version__, checksums, nsfwjs, spec
from .model import InCTRLHeads
from .modules import AdapterModule, HeadModule
from .optimize import OptimizeError, cpu_file_name, image_input, manifest_entry, write_cpu_copy

KIND = "residual-heads"
FILES = {"vision": "vision.pt", "adapter": "adapter.pt", "image_head": "image_head.pt",
         "holistic_head": "holistic_head.pt"}
GLOBAL_POOLS = ("avg", "max")
DEFAULT_LAYERS = ("Mixed_6b",)
DEFAULT_GLOBAL_LAYER = "Mixed_6c"
DEFAULT_GLOBAL_POOL = "avg"
# Tiny test variant: the same trunk with random weights on a 139 px input (7x7 grid at Mixed_6b/6c), two taps.
TINY_SIZE = 139
TINY_LAYERS = ("Mixed_6b", "Mixed_6c")


class ResidualHeadsError(Exception):
    pass


# ---------------------------------------------------------------------------------------------------------
# Trunk: real (nsfwjs) or random

@torch.no_grad()
def random_trunk(last: str, seed: int) -> nsfwjs.InceptionTrunk:
    """Deterministic random trunk; He-scaled convs and non-trivial BN stats so nothing stays at an identity value."""
    g = torch.Generator().manual_seed(seed)
    trunk = nsfwjs.InceptionTrunk(last).eval()
    for m in trunk.convs_in_keras_order():
        w = m.conv.weight
        w.copy_(torch.randn(w.shape, generator=g) * (2.0 / w[0].numel()) ** 0.5)
        n = w.shape[0]
        m.bn.weight.copy_(1.0 + 0.1 * torch.randn(n, generator=g))
        m.bn.bias.copy_(0.1 * torch.randn(n, generator=g))
        m.bn.running_mean.copy_(0.1 * torch.randn(n, generator=g))
        m.bn.running_var.copy_(0.8 + 0.4 * torch.rand(n, generator=g))
    return trunk


@dataclass
class Backbone:
    trunk: nsfwjs.InceptionTrunk
    taps: list            # ordered tapped block names
    pool_k: int           # token pooling kernel (1 = none)
    global_layer: str
    global_pool: str
    size: int             # input side
    grid: tuple           # (h, w)
    width: int            # C
    embed_dim: int        # D
    identity: str         # stable string naming the weights (cache key for training)
    src: object = None    # nsfwjs.NsfwjsSource or None (random trunk)


def _check_layers(layers, global_layer, global_pool, pooling) -> list:
    for name in list(layers) + [global_layer]:
        if name not in nsfwjs.BLOCKS:
            raise ResidualHeadsError(f"layer {name!r} is not an ImageNet layer of nsfwjs InceptionV3; "
                                     f"choose from {', '.join(nsfwjs.BLOCKS)}")
    if global_pool not in GLOBAL_POOLS:
        raise ResidualHeadsError(f"global pool {global_pool!r}: choose from {', '.join(GLOBAL_POOLS)}")
    if pooling not in nsfwjs.POOLINGS:
        raise ResidualHeadsError(f"pooling {pooling!r}: choose from {', '.join(nsfwjs.POOLINGS)}")
    if not layers:
        raise ResidualHeadsError("no tapped layers")
    ordered = [b for b in nsfwjs.BLOCKS if b in layers]
    if len(ordered) > 3:
        raise ResidualHeadsError("1 to 3 taps supported")
    return ordered


def load_backbone(src_path, layers=DEFAULT_LAYERS, global_layer=DEFAULT_GLOBAL_LAYER,
                  global_pool=DEFAULT_GLOBAL_POOL, pooling="none", *, tiny=False, seed=0) -> Backbone:
    """The frozen feature extractor: nsfwjs' ImageNet layers (src_path) or, with tiny, a seeded random trunk."""
    ordered = _check_layers(layers, global_layer, global_pool, pooling)
    last = max(ordered + [global_layer], key=nsfwjs.BLOCKS.index)
    if tiny:
        trunk, src, size = random_trunk(last, seed), None, TINY_SIZE
        identity = f"random-inceptionv3-seed{seed}-{last}"
    else:
        if src_path is None:
            raise ResidualHeadsError("the nsfwjs source (--from-nsfwjs) is required unless --tiny")
        src = nsfwjs.read_source(src_path)
        nsfwjs.check_topology(src.model_json)
        trunk, size = nsfwjs.load_trunk(nsfwjs.dequantize(src), last), nsfwjs.IMAGE_SIZE
        identity = f"nsfwjs-inceptionv3-{src.weights_sha256[:16]}"
    with torch.no_grad():
        outs = trunk.forward_all(torch.zeros(1, 3, size, size))
    shapes = {(int(outs[b].shape[2]), int(outs[b].shape[3]), int(outs[b].shape[1])) for b in ordered}
    if len(shapes) != 1:
        raise ResidualHeadsError(f"taps {ordered} differ in grid or width {sorted(shapes)}; choose layers of one stage")
    h, w, c = shapes.pop()
    return Backbone(trunk.eval(), ordered, nsfwjs.POOLINGS[pooling], global_layer, global_pool, size, (h, w), c,
                    int(outs[global_layer].shape[1]), identity, src)


# ---------------------------------------------------------------------------------------------------------
# Serving module

class GlobalPatchFeatures(nn.Module):
    """forward(images) -> (g [B,D], tap_0 [B,P,C], ...); per-row computation only (batch-independent)."""

    def __init__(self, bb: Backbone):
        super().__init__()
        self.trunk = bb.trunk
        self.taps = list(bb.taps)
        self.pool_k = bb.pool_k
        self.global_layer = bb.global_layer
        self.global_max = bb.global_pool == "max"
        # Only the blocks up to the last one needed run; the trunk holds exactly those.

    def features(self, images: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.trunk.stem(images)
        feats: list[torch.Tensor] = []
        g = torch.zeros(0)
        for name, blk in self.trunk.blocks.items():
            x = blk(x)
            if name == self.global_layer:
                g = torch.amax(x, dim=[2, 3]) if self.global_max else torch.mean(x, dim=[2, 3])
            if name in self.taps:
                f = x
                if self.pool_k > 1:
                    f = F.avg_pool2d(f, self.pool_k, 1, self.pool_k // 2, count_include_pad=False)
                f = f.flatten(2).transpose(1, 2)
                feats.append(F.normalize(f, dim=-1, eps=1e-12))
        return g, feats


class GlobalPatchFeatures1(GlobalPatchFeatures):
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g, t = self.features(images)
        return (g, t[0])


class GlobalPatchFeatures2(GlobalPatchFeatures):
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        g, t = self.features(images)
        return (g, t[0], t[1])


class GlobalPatchFeatures3(GlobalPatchFeatures):
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        g, t = self.features(images)
        return (g, t[0], t[1], t[2])


_BY_COUNT = {1: GlobalPatchFeatures1, 2: GlobalPatchFeatures2, 3: GlobalPatchFeatures3}


def vision_module(bb: Backbone) -> GlobalPatchFeatures:
    return _BY_COUNT[len(bb.taps)](bb).eval()


def head_modules(heads: InCTRLHeads) -> dict[str, nn.Module]:
    holder = SimpleNamespace(heads=heads)  # AdapterModule reads model.heads.adapter
    return {"adapter": AdapterModule(holder).eval(), "image_head": HeadModule(heads.diff_head_ref).eval(),
            "holistic_head": HeadModule(heads.diff_head).eval()}


# ---------------------------------------------------------------------------------------------------------
# Plain reference (eager trunk + eager heads; never touches the TorchScript)

@torch.no_grad()
def reference_features(bb: Backbone, pixels: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """pixels [3,S,S] -> (g [D], taps T x [P,C] unit-norm), from the trunk's forward_all at batch 1."""
    outs = bb.trunk.forward_all(pixels.unsqueeze(0))
    raw = outs[bb.global_layer][0]
    g = raw.amax(dim=(1, 2)) if bb.global_pool == "max" else raw.mean(dim=(1, 2))
    taps = []
    for name in bb.taps:
        f = outs[name]
        if bb.pool_k > 1:
            f = F.avg_pool2d(f, bb.pool_k, 1, bb.pool_k // 2, count_include_pad=False)
        t = f[0].reshape(f.shape[1], -1).T  # [P, C] row-major
        taps.append(t / t.norm(dim=-1, keepdim=True))
    return g, taps


@torch.no_grad()
def reference_score(heads: InCTRLHeads, query: tuple, shots: list[tuple]) -> dict:
    """query/shots: (g, taps). Returns every intermediate as tensors."""
    heads.eval()
    M = spec.residual_map(query[1], [s[1] for s in shots])  # all K*P shot locations pooled per tap
    s_p = M.max()
    psi_shots = heads.adapter(torch.stack([s[0] for s in shots]))
    proto = psi_shots.mean(dim=0)
    psi_x = heads.adapter(query[0].unsqueeze(0))[0]
    r = proto - psi_x  # prototype minus query (spec §5)
    s_i = heads.diff_head_ref(r.unsqueeze(0))[0, 0]
    s_h = heads.diff_head((M + s_i).unsqueeze(0))[0, 0]
    return {"M": M, "s_p": s_p, "proto": proto, "psi_x": psi_x, "r": r, "s_i": s_i, "s_h": s_h,
            "score": (s_h + s_p) / 2}


# ---------------------------------------------------------------------------------------------------------
# Bundle

def image_spec(size: int) -> dict:
    mean, std = nsfwjs.INPUT_RANGES["pm1"]
    return {"size": size, "resize": "shorter-side-pil-bicubic", "crop": "center", "color": "rgb",
            "scale": "x/255", "mean": [mean] * 3, "std": [std] * 3, "range": "[-1,1]"}


def image_transform(size: int):
    return spec.manifest_transform(image_spec(size))


def heads_digest(heads: InCTRLHeads) -> str:
    h = hashlib.sha256()
    for k, v in sorted(heads.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def make_manifest(bb: Backbone, heads: InCTRLHeads, weights: dict, pooling: str, tiny: bool) -> dict:
    h, w = bb.grid
    wsrc = weights.get("source")
    if wsrc not in ("trained", "random-init"):
        raise ResidualHeadsError(f"weights.source must be 'trained' or 'random-init', got {wsrc!r}")
    if not weights.get("description"):
        raise ResidualHeadsError("weights.description is required (what was trained on what)")
    tag = "-".join(n.lower().replace("_", "") for n in bb.taps) + f"-g{bb.global_layer.lower().replace('_', '')}" \
        + bb.global_pool + ("" if pooling == "none" else f"-{pooling}")
    heads_id = heads_digest(heads)[:12]
    if tiny:
        arch = f"InceptionV3 topology up to {bb.taps[-1]}, random trunk (tests only)"
        backbone = {"trunk": f"random InceptionV3 trunk ({bb.identity})", "licence": "none needed (random weights)"}
    else:
        src = bb.src
        version = src.version or nsfwjs.PACKAGE_VERSION
        arch = f"InceptionV3 ({nsfwjs.PACKAGE}@{version}, ImageNet layers up to " \
               f"{max(bb.taps + [bb.global_layer], key=nsfwjs.BLOCKS.index)}) + InCTRL-style heads"
        backbone = {"package": f"{nsfwjs.PACKAGE}@{version}", "registry": "npm",
                    "path": f"package/{nsfwjs.MODEL_SUBDIR}/ (TF.js layers model, uint8-quantized)",
                    "tarball_sha1": src.tarball_sha1, "weights_sha256": src.weights_sha256,
                    "licence": "MIT (Copyright (c) 2019 Infinite Red, Inc.); see LICENSE in this bundle",
                    "upstream": "Keras InceptionV3(weights='imagenet') layers before nsfwjs' fine-tuning"}
    provenance = {**backbone, **(weights.get("provenance") or {})}
    return {
        "format_version": 1,
        "kind": KIND,
        "bundle_id": f"{'tiny-' if tiny else ''}inceptionv3-heads-{tag}-{wsrc}-{heads_id}",
        "arch": arch,
        "variant": "tiny" if tiny else "full",
        "image": image_spec(bb.size),
        "vision": {"embed_dim": bb.embed_dim, "width": bb.width, "grid": [h, w], "tapped_layers": list(bb.taps),
                   "tapped_blocks": [nsfwjs.BLOCKS.index(n) + 1 for n in bb.taps], "token_pooling": pooling,
                   "normalized": True, "global": {"layer": bb.global_layer, "pool": bb.global_pool}},
        "weights": {"source": wsrc, "seed": weights.get("seed"), "checkpoint_sha256": None,
                    "heads_sha256": heads_digest(heads), "description": weights["description"],
                    "provenance": provenance},
        "files": dict(FILES),
        "exporter": {"version": __version__, "torch": torch.__version__.split("+")[0],
                     "created_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


LICENSE_TEXT = """This bundle ("{bundle_id}", kind residual-heads) has two parts.

1. Backbone: {backbone}
2. Heads (adapter.pt, image_head.pt, holistic_head.pt): {heads}

{description}
{extra}"""


def _license(bb: Backbone, manifest: dict, training_licence: str | None) -> str:
    w = manifest["weights"]
    if bb.src is None:
        backbone = "a seeded random InceptionV3 trunk (no pretrained weights; tests only)."
        extra = ""
    else:
        backbone = (f"ImageNet InceptionV3 layers converted from the npm package {w['provenance']['package']} "
                    f"(package/{nsfwjs.MODEL_SUBDIR}/, tarball sha1 {bb.src.tarball_sha1 or 'n/a'}), "
                    "MIT licence below.")
        extra = ("\n" + "-" * 100 + "\n" + (bb.src.license_text or
                 "MIT License, Copyright (c) 2019 Infinite Red, Inc. (LICENSE not found in source)"))
    if w["source"] == "random-init":
        heads = f"random initialisation, seed {w['seed']}; no training data. Scores are meaningless."
    else:
        heads = training_licence or "trained; see weights.provenance.training in manifest.json."
    return LICENSE_TEXT.format(bundle_id=manifest["bundle_id"], backbone=backbone, heads=heads,
                               description=w["description"], extra=extra)


def _save_script(sm, path: Path) -> None:
    tmp = path.with_suffix(".pt.tmp")
    sm.save(str(tmp))
    os.replace(tmp, path)


def export_bundle(src, out, *, layers=DEFAULT_LAYERS, global_layer=DEFAULT_GLOBAL_LAYER,
                  global_pool=DEFAULT_GLOBAL_POOL, pooling="none", heads: InCTRLHeads | None = None,
                  weights: dict, tiny: bool = False, seed: int = 0, optimize: bool = True,
                  fixtures_data=None, backbone: Backbone | None = None, training_licence: str | None = None,
                  log=print) -> dict:
    """Write a residual-heads bundle. `heads` None = random heads from `seed` (weights.source random-init).
    `backbone` may be passed (already loaded) to skip re-reading the source."""
    with torch.no_grad():
        bb = backbone or load_backbone(src, layers, global_layer, global_pool, pooling, tiny=tiny, seed=seed)
        if heads is None:
            heads = random_heads(bb.embed_dim, bb.grid[0] * bb.grid[1], seed)
        heads = heads.eval()
        if heads.adapter.fc[0].in_features != bb.embed_dim or heads.diff_head.projection1.in_features != \
                bb.grid[0] * bb.grid[1]:
            raise ResidualHeadsError(f"heads do not fit the backbone (D={bb.embed_dim}, P={bb.grid[0] * bb.grid[1]})")
        manifest = make_manifest(bb, heads, weights, pooling, tiny)
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "manifest.json").unlink(missing_ok=True)  # a manifest vouches for complete files: write it last
        scripted = {"vision": torch.jit.script(vision_module(bb))}
        scripted.update({k: torch.jit.script(m) for k, m in head_modules(heads).items()})
        for k, sm in scripted.items():
            _save_script(sm, out / FILES[k])
            log(f"wrote {out / FILES[k]} ({(out / FILES[k]).stat().st_size / 1e6:.1f} MB)")
        (out / cpu_file_name(FILES["vision"])).unlink(missing_ok=True)
        if optimize:
            try:
                name, _ = write_cpu_copy(scripted["vision"], out, FILES["vision"], image_input(bb.size),
                                         nsfwjs.CHANNELS_LAST, log)
            except OptimizeError as e:
                raise ResidualHeadsError(str(e)) from e
            manifest["files"]["vision_cpu"] = name
            manifest["optimized"] = manifest_entry(nsfwjs.CHANNELS_LAST, ["vision"])
        (out / "LICENSE").write_text(_license(bb, manifest, training_licence))
        if fixtures_data is not None:
            write_fixtures(bb, heads, fixtures_data, out, manifest["bundle_id"], log)
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        log(f"wrote {out / 'manifest.json'} (bundle_id={manifest['bundle_id']})")
        checksums.write(out, log)
    return manifest


@torch.no_grad()
def random_heads(embed_dim: int, num_patches: int, seed: int) -> InCTRLHeads:
    """Seeded heads with non-trivial BN statistics (so parity covers every buffer)."""
    g = torch.Generator().manual_seed(seed + 1)
    heads = InCTRLHeads(embed_dim, num_patches)
    for name, p in heads.named_parameters():
        if p.dim() >= 2:
            p.copy_(torch.randn(p.shape, generator=g) * p.shape[1] ** -0.5)
        elif name.endswith("weight"):
            p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
        else:
            p.copy_(0.05 * torch.randn(p.shape, generator=g))
    for name, b in heads.named_buffers():
        if name.endswith("running_mean"):
            b.copy_(0.2 * torch.randn(b.shape, generator=g))
        elif name.endswith("running_var"):
            b.copy_(0.5 + torch.rand(b.shape, generator=g))
    return heads.eval()


# ---------------------------------------------------------------------------------------------------------
# Fixtures (same layout as fixtures.py; cases carry no s_a / t_n / t_a and prompts is empty)

def plan_cases(data_dir: Path) -> list[dict]:
    """Per category: a good query with K=2 and a defective one with K=8 (the first category also the reverse)."""
    from .fixtures import _by_category
    cats = _by_category(data_dir)
    cases = []
    for i, key in enumerate(sorted(cats)):
        c = cats[key]
        defect = sorted(c["defects"])[0]
        dq = c["defects"][defect][0]
        plan = [("good", c["good"][0], 2), (defect, dq, 8)]
        if i == 0:
            plan += [("good", c["good"][1], 8), (defect, c["defects"][defect][1], 2)]
        for label, q, k in plan:
            cases.append({"name": f"{key[1]}_{label}_{Path(q).stem}_k{k}", "category": key[1], "query": q,
                          "shots": c["shots"][:k]})
    return cases


def write_fixtures(bb: Backbone, heads: InCTRLHeads, data_dir, out_dir, bundle_id: str, log=print) -> dict:
    from PIL import Image

    from .fixtures import _f32, _save_npz
    data_dir, fx = Path(data_dir), Path(out_dir) / "fixtures"
    cases = plan_cases(data_dir)
    images = sorted({p for c in cases for p in [c["query"], *c["shots"]]})
    tf = image_transform(bb.size)
    feats, entries = {}, []
    for i, p in enumerate(images):
        with Image.open(data_dir / p) as im:
            pixels = tf(im)
        g, taps = reference_features(bb, pixels)
        feats[p] = (g, taps)
        rel = f"images/{i:03d}.npz"
        psi = heads.adapter(g.unsqueeze(0))[0]
        _save_npz(fx / rel, pixels=_f32(pixels), g=_f32(g), psi=_f32(psi),
                  **{f"tap{j}": _f32(t) for j, t in enumerate(taps)})
        entries.append({"path": p, "file": rel})
    case_entries = []
    for c in cases:
        r = reference_score(heads, feats[c["query"]], [feats[s] for s in c["shots"]])
        rel = f"cases/{c['name']}.npz"
        _save_npz(fx / rel, **{k: _f32(v) for k, v in r.items()})
        case_entries.append({**c, "file": rel})
        log(f"fixture case {c['name']}: K={len(c['shots'])} s_p={r['s_p']:.5f} s_i={r['s_i']:.5f} "
            f"s_h={r['s_h']:.5f} score={r['score']:.5f}")
    doc = {"bundle_id": bundle_id, "kind": KIND, "data_dir_note": "paths are relative to shared/data",
           "reference": "inctrl_export.residual_heads (eager trunk forward_all + eager heads), batch size 1, fp32; "
                        "s_a absent",
           "images": entries, "cases": case_entries, "prompts": []}
    (fx / "fixtures.json").write_text(json.dumps(doc, indent=2) + "\n")
    log(f"wrote {fx / 'fixtures.json'} ({len(images)} images, {len(cases)} cases)")
    return doc


def load_heads(path, embed_dim: int, num_patches: int) -> InCTRLHeads:
    """A heads state dict (InCTRLHeads key names) as saved by the trainer; strict."""
    sd = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(sd, dict) and "heads" in sd and isinstance(sd["heads"], dict):
        sd = sd["heads"]
    heads = InCTRLHeads(embed_dim, num_patches)
    try:
        heads.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise ResidualHeadsError(f"{path}: heads do not match D={embed_dim}, P={num_patches}: {e}") from e
    return heads.eval()
