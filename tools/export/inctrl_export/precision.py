"""Reduced-precision variants of a bundle's serving modules (docs/bundle-format.md, "Precision variants").

    python -m inctrl_export.precision --bundle DIR --precisions bf16 int8 --image-set DATA [--calibration DIR]

Works on an exported bundle (any kind) from its own fp32 TorchScript files, so adding variants to a bundle costs
minutes, not a re-export. Every variant takes and returns fp32 tensors (the casts are inside the module; no
autocast), so the server feeds it exactly what it feeds fp32. Only the expensive towers get variants: `vision`
(all kinds) and `text` (kind inctrl); the heads stay fp32. Each variant is measured against fp32 on a fixed image
set with the server's own scoring math, and the manifest records max |Δ| per output and a parity bound derived from
it (per score-level output: 2x its largest deviation, vs fp32 or batched vs one by one, rounded up to 1/2/5 x 10^k),
which the Java parity tier asserts.

- bf16: weights and activations bfloat16 (oneDNN kernels on CPUs with avx512_bf16/AMX), tap tokens re-normalised in
  fp32 after the cast back. ViT: a portable file (`vision.bf16.pt`, any device) and `text.bf16.pt`; InceptionV3 kinds:
  a frozen channels-last CPU copy (`vision.bf16.cpu.pt`), as their fp32 CPU copy.
- int8: post-training quantization, CPU only (quantized kernels exist on CPU only):
  InceptionV3 (patch-residual, residual-heads): static, FX graph mode, x86 backend, per-channel symmetric int8
  weights, uint8 activations over the full 8-bit range (HistogramObserver, reduce_range=False), calibrated on
  normal images. The full range needs VNNI (without it the u8*s8 pairs saturate int16 accumulators), so the variant
  records `cpu_flags_any` and the server refuses it on CPUs without one of them.
  ViT (inctrl): dynamic per-channel int8 Linear layers (`quantize_dynamic_jit`); measured slower and further from
  fp32 than bf16 on this architecture (tools/export/README.md), so the test assets do not ship it.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import checksums

PRECISIONS = ("bf16", "int8")
VNNI_FLAGS = ["avx512_vnni", "avx_vnni", "amx_int8"]
IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
# Score-level outputs (values in [0, 1]) the parity bound covers; feature-level ones are recorded for information.
SCORE_KEYS = ("score", "s_p", "s_i", "s_a", "s_h", "map")
BOUND_FACTOR = 2.0
BOUND_FLOOR = 1e-4  # the fp32 tier's own tolerance: no variant is held to less
PARITY_BATCH = 8  # the server's default max batch size


class PrecisionError(Exception):
    pass


def log(msg: str) -> None:
    print(f"[inctrl-precision] {msg}", file=sys.stderr, flush=True)


def variant_file_name(portable: str, precision: str, cpu: bool) -> str:
    """vision.pt -> vision.bf16.pt / vision.bf16.cpu.pt"""
    stem, dot, ext = portable.rpartition(".")
    base = stem if dot else portable
    return f"{base}.{precision}{'.cpu' if cpu else ''}.{ext if dot else 'pt'}"


def _private_copy(module: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    buf = io.BytesIO()
    torch.jit.save(module, buf)
    buf.seek(0)
    return torch.jit.load(buf, map_location="cpu").eval()


def _as_tuple(out) -> tuple:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


# ---------------------------------------------------------------------------------------------------------
# bf16: cast wrappers (TorchScript needs a statically sized tuple, hence one class per output count)

class _Bf16Vision(nn.Module):
    def __init__(self, inner: torch.jit.ScriptModule, first_tap: int):
        super().__init__()
        self.inner = inner
        self.first_tap = first_tap

    def _out(self, t: torch.Tensor, i: int) -> torch.Tensor:
        t = t.float()
        # bf16 rounding leaves tokens off unit length by ~2^-9; the residual assumes unit norm
        return F.normalize(t, p=2.0, dim=-1, eps=1e-12) if i >= self.first_tap else t


class _Bf16Vision1(_Bf16Vision):
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor]:
        o = self.inner(images.to(torch.bfloat16))
        return (self._out(o[0], 0),)


class _Bf16Vision2(_Bf16Vision):
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        o = self.inner(images.to(torch.bfloat16))
        return (self._out(o[0], 0), self._out(o[1], 1))


class _Bf16Vision3(_Bf16Vision):
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        o = self.inner(images.to(torch.bfloat16))
        return (self._out(o[0], 0), self._out(o[1], 1), self._out(o[2], 2))


class _Bf16Vision4(_Bf16Vision):
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        o = self.inner(images.to(torch.bfloat16))
        return (self._out(o[0], 0), self._out(o[1], 1), self._out(o[2], 2), self._out(o[3], 3))


_BF16_VISION = {1: _Bf16Vision1, 2: _Bf16Vision2, 3: _Bf16Vision3, 4: _Bf16Vision4}


class _Bf16Text(nn.Module):
    def __init__(self, inner: torch.jit.ScriptModule):
        super().__init__()
        self.inner = inner

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.inner(token_ids).float()


def bf16_vision(module, n_out: int, first_tap: int, cpu_copy: bool, channels_last: bool):
    """Portable bf16 wrapper of a vision module, or (cpu_copy) its frozen CPU copy."""
    inner = _private_copy(module).to(torch.bfloat16)
    if cpu_copy and channels_last:
        inner = inner.to(memory_format=torch.channels_last)
    sm = torch.jit.script(_BF16_VISION[n_out](inner, first_tap)).eval()
    return torch.jit.freeze(sm) if cpu_copy else sm


def bf16_text(module):
    return torch.jit.script(_Bf16Text(_private_copy(module).to(torch.bfloat16))).eval()


# ---------------------------------------------------------------------------------------------------------
# int8

def _eager_inception(manifest: dict, scripted) -> nn.Module:
    """The eager InceptionV3 serving module with the bundle's weights (FX quantization needs eager modules)."""
    from . import nsfwjs
    from . import residual_heads as rh
    v = manifest["vision"]
    taps = list(v["tapped_layers"])
    pool_k = nsfwjs.POOLINGS[v.get("token_pooling", "none")]
    if manifest["kind"] == "patch-residual":
        trunk = nsfwjs.InceptionTrunk(taps[-1]).eval()
        module = nsfwjs._BY_COUNT[len(taps)](trunk, taps, pool_k)
    else:
        glob = v["global"]
        last = max(taps + [glob["layer"]], key=nsfwjs.BLOCKS.index)
        bb = rh.Backbone(nsfwjs.InceptionTrunk(last).eval(), taps, pool_k, glob["layer"], glob["pool"],
                         int(manifest["image"]["size"]), tuple(v["grid"]), int(v["width"]), int(v["embed_dim"]), "")
        module = rh.vision_module(bb)
    module.load_state_dict(scripted.state_dict(), strict=True)
    return module.eval()


def int8_static_inception(manifest: dict, scripted, calibration: torch.Tensor, batch: int = 8,
                          fp32_modules: tuple = ()):
    """Static PTQ (FX, x86 backend), calibrated on `calibration` [N,3,S,S]; traced and frozen for CPU.
    `fp32_modules` (module names, e.g. "trunk.blocks.Mixed_6b") stay fp32."""
    from torch.ao.quantization import HistogramObserver, PerChannelMinMaxObserver, QConfig, QConfigMapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    torch.backends.quantized.engine = "x86"
    # reduce_range=False: 8-bit activations (reduce_range halves their resolution; measured: mean token cosine to
    # fp32 0.984 with it, 0.996 without, on the default bundle). Needs VNNI, recorded in the manifest.
    qconfig = QConfig(activation=HistogramObserver.with_args(reduce_range=False),
                      weight=PerChannelMinMaxObserver.with_args(dtype=torch.qint8,
                                                                qscheme=torch.per_channel_symmetric))
    eager = _eager_inception(manifest, scripted)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mapping = QConfigMapping().set_global(qconfig)
        for name in fp32_modules:
            mapping.set_module_name(name, None)
        prepared = prepare_fx(eager, mapping, example_inputs=(calibration[:1],))
        for i in range(0, calibration.shape[0], batch):
            prepared(calibration[i:i + batch])
        quantized = convert_fx(prepared)
        traced = torch.jit.trace(quantized, (calibration[:2],), check_trace=False)
    return torch.jit.freeze(traced.eval())


def int8_dynamic_linear(scripted):
    """Dynamic per-channel int8 Linear layers of a TorchScript module (weights int8, activations quantized per call)."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic_jit
    torch.backends.quantized.engine = "x86"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic_jit(_private_copy(scripted), {"": per_channel_dynamic_qconfig}).eval()


# ---------------------------------------------------------------------------------------------------------
# Images, cases and the server's scoring math

def image_transform(manifest: dict):
    """Spec §3 (what the Java server does bit-exactly): shorter side -> S with PIL bicubic, centre crop, RGB, norm."""
    from torchvision import transforms
    img = manifest["image"]
    size = int(img["size"])
    return transforms.Compose([
        transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(size),
        transforms.Lambda(lambda im: im.convert("RGB")),
        transforms.ToTensor(),
        transforms.Normalize(img["mean"], img["std"]),
    ])


def _images_in(d: Path) -> list[Path]:
    return sorted(p for p in d.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXT)


@dataclass
class Case:
    name: str
    category: str
    query: str  # image key
    shots: list = field(default_factory=list)


@dataclass
class ImageSet:
    description: str
    pixels: dict  # key -> [3,S,S] fp32
    cases: list
    prompt_ids: dict  # category -> (ids [N,77] int64, n_normal)


def _tokenize(bundle: Path, manifest: dict, category: str):
    from tokenizers import Tokenizer

    from .prompts import sentences
    from .tokenizer import to_context
    normal, anomalous = sentences(category)
    tok = Tokenizer.from_file(str(bundle / manifest["files"]["tokenizer"]))
    ctx = int(manifest["text"]["context_length"])
    ids = [to_context(e.ids, ctx) for e in tok.encode_batch(normal + anomalous)]
    return torch.tensor(ids, dtype=torch.int64), len(normal)


def load_image_set(bundle: Path, manifest: dict, data: Path | None, ks=(2, 8), max_queries: int = 0) -> ImageSet:
    """Cases from a shared/data-like folder (per category: first K shots, test images as queries) plus the bundle's
    fixture cases (the Java parity tier checks exactly those, so the bound must cover them)."""
    tf = image_transform(manifest)
    pixels, cases, prompt_ids, parts = {}, [], {}, []
    text = manifest["kind"] == "inctrl"
    if data is not None:
        from PIL import Image
        n_q = 0
        for shots_dir in sorted(data.glob("*/*/shots")):
            root = shots_dir.parent
            if not (root / "test").is_dir():
                continue
            name = f"{root.parent.name}/{root.name}"
            shots = _images_in(shots_dir)
            queries = _images_in(root / "test")
            if max_queries and len(queries) > max_queries:  # evenly spaced: good and defective alike
                queries = [queries[round(i * (len(queries) - 1) / (max_queries - 1))] for i in range(max_queries)]
            for p in shots + queries:
                key = str(p.relative_to(data))
                if key not in pixels:
                    with Image.open(p) as im:
                        pixels[key] = tf(im)
            for k in ks:
                if k > len(shots):
                    continue
                for q in queries:
                    cases.append(Case(f"{name}:k{k}:{q.name}", root.name, str(q.relative_to(data)),
                                      [str(s.relative_to(data)) for s in shots[:k]]))
            if text:
                prompt_ids[root.name] = _tokenize(bundle, manifest, root.name)
            n_q += len(queries)
        if cases:
            parts.append(f"{data.name}: {len({c.category for c in cases})} categories, K={'/'.join(map(str, ks))}, "
                         f"{n_q} queries")
    fx = bundle / "fixtures" / "fixtures.json"
    if fx.is_file():
        doc = json.loads(fx.read_text())
        for e in doc["images"]:
            with np.load(bundle / "fixtures" / e["file"]) as z:
                pixels["fixture:" + e["path"]] = torch.from_numpy(z["pixels"])
        for c in doc["cases"]:
            cases.append(Case("fixture:" + c["name"], c["category"], "fixture:" + c["query"],
                              ["fixture:" + s for s in c["shots"]]))
        for p in doc.get("prompts", []):
            with np.load(bundle / "fixtures" / p["file"]) as z:
                prompt_ids[p["category"]] = (torch.from_numpy(z["ids"]).to(torch.int64), len(p["normal"]))
        parts.append(f"the bundle's {len(doc['cases'])} fixture cases")
    if not cases:
        raise PrecisionError("no image set: give --image-set (a shared/data-like folder) or a bundle with fixtures/")
    return ImageSet("; ".join(parts), pixels, cases, prompt_ids)


def calibration_images(manifest: dict, folder: Path, count: int) -> tuple[torch.Tensor, str]:
    """`count` normal images spread evenly over the folder, sorted: files under a `good/` or `shots/` folder and never
    under a `test/` one (a shared/data-like folder gives its shots only, never the images it is evaluated on)."""
    from PIL import Image
    paths = [p for p in _images_in(folder)
             if {"good", "shots"} & set(p.relative_to(folder).parts[:-1])
             and "test" not in p.relative_to(folder).parts[:-1]]
    if not paths:
        raise PrecisionError(f"no normal images (under a good/ or shots/ folder, not under test/) in {folder}")
    if len(paths) > count:
        paths = [paths[round(i * (len(paths) - 1) / (count - 1))] for i in range(count)]
    tf = image_transform(manifest)
    out = []
    for p in paths:
        with Image.open(p) as im:
            out.append(tf(im))
    cats = sorted({p.relative_to(folder).parts[0] for p in paths})
    return torch.stack(out), f"{len(paths)} normal images of {folder.name}/ ({', '.join(cats)})"


@dataclass
class Towers:
    """The modules one precision runs: vision (and text), plus the fp32 heads every precision shares."""
    vision: object
    text: object = None


class Scorer:
    """The server's math (InctrlEngine/InctrlHeads/NoHeads) in Python over given vision features."""

    def __init__(self, bundle: Path, manifest: dict):
        self.kind = manifest["kind"]
        self.heads = self.kind in ("inctrl", "residual-heads")
        self.text = self.kind == "inctrl"
        self.temperature = float(manifest["text"]["temperature"]) if self.text else 0.0
        files = manifest["files"]
        if self.heads:
            self.adapter = torch.jit.load(str(bundle / files["adapter"])).eval()
            self.image_head = torch.jit.load(str(bundle / files["image_head"])).eval()
            self.holistic_head = torch.jit.load(str(bundle / files["holistic_head"])).eval()

    @torch.no_grad()
    def features(self, vision, pixels: list[torch.Tensor], batch: int) -> list[tuple]:
        """[(g or None, [taps])] per image, computed in batches of `batch`."""
        out = []
        for i in range(0, len(pixels), batch):
            o = _as_tuple(vision(torch.stack(pixels[i:i + batch])))
            off = 1 if self.heads else 0
            for r in range(o[0].shape[0]):
                out.append((o[0][r] if self.heads else None, [t[r] for t in o[off:]]))
        return out

    @torch.no_grad()
    def prior(self, text, ids: torch.Tensor, n_normal: int) -> tuple[torch.Tensor, torch.Tensor]:
        e = torch.cat([text(ids[i:i + 64]) for i in range(0, ids.shape[0], 64)]).double()
        e = e / e.norm(dim=-1, keepdim=True)
        t_n, t_a = e[:n_normal].mean(0), e[n_normal:].mean(0)
        return (t_n / t_n.norm()).float(), (t_a / t_a.norm()).float()

    @torch.no_grad()
    def score(self, query: tuple, shots: list[tuple], prior) -> dict:
        g_q, taps_q = query
        m = None
        for layer, q in enumerate(taps_q):
            bank = torch.cat([s[1][layer] for s in shots], 0)
            d = (1.0 - (q @ bank.T).max(dim=1).values) / 2.0
            m = d if m is None else m + d
        m = (m / len(taps_q)).clamp(0.0, 1.0)
        s_p = m.max()
        out = {"map": m, "s_p": s_p, "score": s_p}
        if self.heads:
            proto = self.adapter(torch.stack([s[0] for s in shots])).mean(0)
            s_i = self.image_head((proto - self.adapter(g_q.unsqueeze(0))[0]).unsqueeze(0))[0]
            m_plus = m + s_i
            out["s_i"] = s_i
            if self.text:
                t_n, t_a = prior
                g_hat = g_q.double() / g_q.double().norm()
                s_a = torch.sigmoid(self.temperature * (g_hat @ t_a.double() - g_hat @ t_n.double())).float()
                m_plus = m_plus + s_a
                out["s_a"] = s_a
            s_h = self.holistic_head(m_plus.unsqueeze(0))[0]
            out["s_h"] = s_h
            out["score"] = (s_h + s_p) / 2
        return out


def _max_abs(a: dict, b: dict, into: dict) -> None:
    for k, v in a.items():
        d = float((v.reshape(-1).double() - b[k].reshape(-1).double()).abs().max())
        into[k] = max(into.get(k, 0.0), d)


def nice_ceil(x: float) -> float:
    """Smallest of 1, 2, 5 x 10^k that is >= x (a bound that reads as chosen, not fitted)."""
    if x <= 0:
        return 0.0
    e = math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * 10 ** e >= x * (1 - 1e-12):
            return float(f"{m * 10 ** e:.0e}")
    return float(f"{10 ** (e + 1):.0e}")


def measure(scorer: Scorer, ref: Towers, var: Towers, images: ImageSet, batch: int = PARITY_BATCH) -> dict:
    """max |Δ| of every output vs fp32; batched vs one by one; fp32 shots with this precision's queries."""
    keys = sorted(images.pixels)
    px = [images.pixels[k] for k in keys]
    t0 = time.time()
    f_ref = dict(zip(keys, scorer.features(ref.vision, px, batch), strict=True))
    f_one = dict(zip(keys, scorer.features(var.vision, px, 1), strict=True))
    f_bat = dict(zip(keys, scorer.features(var.vision, px, batch), strict=True))
    log(f"  features of {len(keys)} images: fp32 (batch {batch}), variant at batch 1 and {batch} "
        f"({time.time() - t0:.0f}s)")
    features: dict = {}
    for k in keys:
        if f_ref[k][0] is not None:
            _max_abs({"g": f_one[k][0]}, {"g": f_ref[k][0]}, features)
        _max_abs({"taps": torch.stack(f_one[k][1])}, {"taps": torch.stack(f_ref[k][1])}, features)
    priors_ref, priors_var = {}, {}
    if scorer.text:
        t0 = time.time()
        for cat in sorted({c.category for c in images.cases}):
            ids, n = images.prompt_ids[cat]
            priors_ref[cat] = scorer.prior(ref.text, ids, n)
            priors_var[cat] = scorer.prior(var.text, ids, n)
            _max_abs({"t_n": priors_var[cat][0], "t_a": priors_var[cat][1]},
                     {"t_n": priors_ref[cat][0], "t_a": priors_ref[cat][1]}, features)
        log(f"  text priors of {len(priors_ref)} categories, fp32 and variant ({time.time() - t0:.0f}s)")
    vs_fp32, batched, mixed = {}, {}, {}
    for c in images.cases:
        want = scorer.score(f_ref[c.query], [f_ref[s] for s in c.shots], priors_ref.get(c.category))
        got = scorer.score(f_one[c.query], [f_one[s] for s in c.shots], priors_var.get(c.category))
        got_b = scorer.score(f_bat[c.query], [f_bat[s] for s in c.shots], priors_var.get(c.category))
        got_m = scorer.score(f_one[c.query], [f_ref[s] for s in c.shots], priors_var.get(c.category))
        _max_abs(got, want, vs_fp32)
        _max_abs(got_b, got, batched)
        _max_abs(got_m, want, mixed)
    # One bound per score-level output: s_a (temperature 100 on a cosine difference) moves ~20x more than the score.
    bound = {k: max(BOUND_FLOOR, nice_ceil(BOUND_FACTOR * max(vs_fp32[k], batched[k])))
             for k in SCORE_KEYS if k in vs_fp32}
    rnd = lambda d: {k: float(f"{v:.3g}") for k, v in d.items()}  # noqa: E731
    return {"max_abs_diff": rnd({**vs_fp32, **features}),
            "batched_max_abs_diff": rnd(batched),
            "fp32_shots_max_abs_diff": rnd(mixed),
            "parity_bound": bound,
            "cases": len(images.cases)}


# ---------------------------------------------------------------------------------------------------------
# Writing

def _save(sm, path: Path, check_input: torch.Tensor) -> float:
    """Save, reload from disk and run at batch 1 and 3 (a file that does not load back is never kept)."""
    tmp = path.with_name(path.name + ".tmp")
    sm.save(str(tmp))
    try:
        back = torch.jit.load(str(tmp), map_location="cpu").eval()
        with torch.no_grad():
            for b in (1, 3):
                for t in _as_tuple(back(check_input[:b])):
                    if t.dtype != torch.float32 or t.shape[0] != b:
                        raise PrecisionError(f"{path.name}: output {t.dtype} {tuple(t.shape)} at batch {b}")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path.stat().st_size / 1e6


def _vision_layout(manifest: dict) -> tuple[int, int]:
    first_tap = 1 if manifest["kind"] in ("inctrl", "residual-heads") else 0
    return first_tap + len(manifest["vision"]["tapped_blocks"]), first_tap


def _channels_last(manifest: dict) -> bool:
    return manifest["kind"] in ("patch-residual", "residual-heads")  # convnets (measured, README)


def build_variant(bundle: Path, manifest: dict, precision: str, calibration: torch.Tensor | None,
                  calibration_note: str | None, int8_vit: bool) -> tuple[dict, Towers, dict]:
    """Writes the variant's files; returns (manifest entry without measurements, towers to measure, file sizes)."""
    files = manifest["files"]
    size = int(manifest["image"]["size"])
    probe = torch.randn(3, 3, size, size, generator=torch.Generator().manual_seed(0))
    vision = torch.jit.load(str(bundle / files["vision"]), map_location="cpu").eval()
    n_out, first_tap = _vision_layout(manifest)
    entry: dict = {"files": {}}
    sizes = {}
    if precision == "bf16":
        # InceptionV3: only the frozen channels-last CPU copy (conv+BN folded; the fp32 portable file serves GPUs,
        # where this 3 GMAC network gains nothing from bf16), which keeps the committed default bundle small.
        # ViT: the portable file serves CPUs and GPUs alike (freezing measured no faster, README).
        cpu_only = _channels_last(manifest)
        name = variant_file_name(files["vision"], "bf16", cpu_only)
        sizes[name] = _save(bf16_vision(vision, n_out, first_tap, cpu_only, cpu_only), bundle / name, probe)
        entry["files"]["vision_cpu" if cpu_only else "vision"] = name
        towers = Towers(torch.jit.load(str(bundle / name)).eval())
        if manifest["kind"] == "inctrl":
            name = variant_file_name(files["text"], "bf16", False)
            ids = torch.tensor([[49406, 320, 1125, 539, 320, 4558, 269, 49407] + [0] * 69] * 3, dtype=torch.int64)
            sizes[name] = _save(bf16_text(torch.jit.load(str(bundle / files["text"])).eval()), bundle / name, ids)
            entry["files"]["text"] = name
            towers.text = torch.jit.load(str(bundle / name)).eval()
        entry["method"] = ("bfloat16 weights and activations (oneDNN), fp32 in and out; casts inside the module, "
                           "tap tokens re-normalised in fp32" + ("; vision_cpu: frozen, channels-last"
                                                                  if "vision_cpu" in entry["files"] else ""))
    elif precision == "int8":
        name = variant_file_name(files["vision"], "int8", True)
        if manifest["kind"] == "inctrl":
            if not int8_vit:
                raise PrecisionError("int8 for kind inctrl (ViT) is dynamic Linear quantization, measured slower and "
                                     "less accurate than bf16; pass --int8-vit to write it anyway")
            sm = int8_dynamic_linear(vision)
            entry["method"] = "dynamic int8: per-channel int8 Linear weights, activations quantized per call (x86)"
        else:
            if calibration is None:
                raise PrecisionError("int8 for InceptionV3 bundles is static: give --calibration DIR (normal images)")
            sm = int8_static_inception(manifest, vision, calibration)
            entry["method"] = ("static int8 (FX, x86 backend): per-channel symmetric int8 conv weights, uint8 "
                               "activations over the full 8-bit range, calibrated; tokens normalised in fp32")
            entry["calibration"] = calibration_note
            entry["cpu_flags_any"] = list(VNNI_FLAGS)
        sizes[name] = _save(sm, bundle / name, probe)
        entry["files"]["vision_cpu"] = name  # quantized kernels are CPU-only: no portable file
        towers = Towers(torch.jit.load(str(bundle / name)).eval())
        if manifest["kind"] == "inctrl":
            towers.text = torch.jit.load(str(bundle / files["text"])).eval()  # text stays fp32
    else:
        raise PrecisionError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    return entry, towers, sizes


def fp32_towers(bundle: Path, manifest: dict) -> Towers:
    """What the server runs at fp32 on a CPU: the frozen CPU copy when listed."""
    files = manifest["files"]
    vision = torch.jit.load(str(bundle / files.get("vision_cpu", files["vision"]))).eval()
    text = torch.jit.load(str(bundle / files["text"])).eval() if manifest["kind"] == "inctrl" else None
    return Towers(vision, text)


def write_variants(bundle: Path, precisions: list[str], data: Path | None, calibration_dir: Path | None = None,
                   calibration_count: int = 40, ks=(2, 8), max_queries: int = 0, int8_vit: bool = False) -> dict:
    bundle = Path(bundle)
    mpath = bundle / "manifest.json"
    manifest = json.loads(mpath.read_text())
    for p in precisions:
        if p not in PRECISIONS:
            raise PrecisionError(f"unknown precision {p!r}; choose from {', '.join(PRECISIONS)}")
    calibration, note = None, None
    if "int8" in precisions and manifest["kind"] != "inctrl":
        if calibration_dir is None:
            raise PrecisionError("int8 for InceptionV3 bundles is static: give --calibration DIR (normal images)")
        calibration, note = calibration_images(manifest, Path(calibration_dir), calibration_count)
        log(f"calibration: {note}")
    images = load_image_set(bundle, manifest, Path(data) if data else None, ks, max_queries)
    log(f"image set: {images.description} ({len(images.cases)} cases, {len(images.pixels)} images)")
    scorer = Scorer(bundle, manifest)
    ref = fp32_towers(bundle, manifest)
    variants = dict(manifest.get("variants") or {})
    for p in precisions:
        t0 = time.time()
        log(f"{p}: building")
        entry, towers, sizes = build_variant(bundle, manifest, p, calibration, note, int8_vit)
        log(f"{p}: wrote {', '.join(f'{n} ({s:.1f} MB)' for n, s in sizes.items())}; measuring against fp32")
        entry.update(measure(scorer, ref, towers, images))
        entry["image_set"] = images.description
        entry["torch"] = torch.__version__.split("+")[0]
        variants[p] = entry
        d = entry["max_abs_diff"]
        log(f"{p}: max|diff| vs fp32 " + ", ".join(f"{k}={d[k]:.2e}" for k in SCORE_KEYS if k in d)
            + f"; batched vs one by one {max(entry['batched_max_abs_diff'].values()):.2e}"
            + f"; parity bound {entry['parity_bound']} ({time.time() - t0:.0f}s)")
    manifest["variants"] = variants
    tmp = mpath.with_name("manifest.json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, mpath)  # a new inode: a hard-linked copy of the bundle keeps its own manifest
    log(f"wrote {mpath} (variants: {', '.join(variants)})")
    checksums.write(bundle, log)  # the bundle's files changed: the model repository verifies against SHA256SUMS
    return manifest


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m inctrl_export.precision", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True, metavar="DIR", help="exported bundle (variants are added to it)")
    p.add_argument("--precisions", nargs="+", default=["bf16"], choices=PRECISIONS)
    p.add_argument("--image-set", metavar="DIR", help="shared/data-like folder the deviations are measured on "
                                                       "(the bundle's fixture cases are always added)")
    p.add_argument("--k", type=int, nargs="+", default=[2, 8], help="shot counts of the image-set cases")
    p.add_argument("--max-queries", type=int, default=0, help="queries per category (0 = every test image)")
    p.add_argument("--calibration", metavar="DIR", help="int8 (InceptionV3): normal images to calibrate on "
                                                          "(files under good/ or shots/ folders)")
    p.add_argument("--calibration-count", type=int, default=40)
    p.add_argument("--int8-vit", action="store_true", help="also write int8 for kind inctrl (dynamic Linear)")
    p.add_argument("--threads", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    try:
        write_variants(Path(args.bundle), args.precisions, Path(args.image_set) if args.image_set else None,
                       Path(args.calibration) if args.calibration else None, args.calibration_count,
                       tuple(args.k), args.max_queries, args.int8_vit)
    except PrecisionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
