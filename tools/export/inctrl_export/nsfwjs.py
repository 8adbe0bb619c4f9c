"""Convert the TF.js InceptionV3 shipped in the npm package nsfwjs@4.4.0 into a "patch-residual" bundle.

Only the layers that still hold the unmodified ImageNet weights are used (stem .. Mixed_6c at most; nsfwjs
fine-tuned from the first conv of Mixed_6d on). Recipe: /work/shared/notes/backbone-nsfwjs.md.
"""
from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import io
import json
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import __version__, checksums
from .optimize import OptimizeError, cpu_file_name, image_input, manifest_entry, write_cpu_copy

PACKAGE = "nsfwjs"
PACKAGE_VERSION = "4.4.0"
MODEL_SUBDIR = "dist/models/inception_v3"
IMAGE_SIZE = 299

# torchvision block name -> Keras (TF.js) layer name of the same output. Ends at Mixed_6c: ImageNet weights only.
BLOCKS = ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c")
KERAS_NAME = {"Mixed_5b": "mixed0", "Mixed_5c": "mixed1", "Mixed_5d": "mixed2",
              "Mixed_6a": "mixed3", "Mixed_6b": "mixed4", "Mixed_6c": "mixed5"}
# Convs (Keras conv2d_1..N) that exist up to and including each block, in creation order.
CONVS_UPTO = {"Mixed_5b": 12, "Mixed_5c": 19, "Mixed_5d": 26, "Mixed_6a": 30, "Mixed_6b": 40, "Mixed_6c": 50}
LAST_IMAGENET_CONV = 50  # conv2d_51.. belong to Mixed_6d, whose tail (conv2d_56+) nsfwjs fine-tuned

# Chosen by measurement on shared/data (mean K=8 image AUROC, tools/export/README.md).
DEFAULT_LAYERS = ("Mixed_6b",)
DEFAULT_POOLING = "none"
DEFAULT_INPUT_RANGE = "pm1"
# Input scaling as manifest mean/std on x/255: "pm1" = Keras ImageNet preprocessing x/127.5-1 (how these ImageNet
# layers were trained); "unit" = x/255 as nsfwjs feeds its fine-tuned classifier.
INPUT_RANGES = {"pm1": (0.5, 0.5), "unit": (0.0, 1.0)}
# vision.cpu.pt layout, by measurement (tools/export/README.md, "Optimised CPU copies").
CHANNELS_LAST = True


class ConversionError(Exception):
    pass


# ---------------------------------------------------------------------------------------------------------
# Reading the package: browserify-wrapped model.json (a JS object literal) and base64 shards.

class _JsLiteral:
    """Tiny recursive-descent reader for the JS object literal in model.min.js (unquoted keys, !0/!1, .5)."""

    _num = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
    _ident = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")

    def __init__(self, text: str, pos: int):
        self.s, self.i = text, pos

    def value(self):
        s, i = self.s, self.i
        c = s[i]
        if c == "{":
            return self._object()
        if c == "[":
            return self._array()
        if c in "\"'":
            return self._string()
        if s.startswith("!0", i):
            self.i += 2
            return True
        if s.startswith("!1", i):
            self.i += 2
            return False
        for word, val in (("null", None), ("true", True), ("false", False), ("void 0", None)):
            if s.startswith(word, i):
                self.i += len(word)
                return val
        m = self._num.match(s, i)
        if not m:
            raise ConversionError(f"unexpected JS token at {i}: {s[i:i + 40]!r}")
        self.i = m.end()
        t = m.group(0)
        return float(t) if any(ch in t for ch in ".eE") else int(t)

    def _string(self):
        q, s = self.s[self.i], self.s
        j, out = self.i + 1, []
        while s[j] != q:
            if s[j] == "\\":
                out.append(json.loads('"' + s[j:j + 2] + '"') if s[j + 1] != "u" else chr(int(s[j + 2:j + 6], 16)))
                j += 6 if s[j + 1] == "u" else 2
            else:
                out.append(s[j])
                j += 1
        self.i = j + 1
        return "".join(out)

    def _object(self):
        self.i += 1
        out = {}
        while self.s[self.i] != "}":
            if self.s[self.i] in "\"'":
                key = self._string()
            else:
                m = self._ident.match(self.s, self.i) or self._num.match(self.s, self.i)
                if not m:
                    raise ConversionError(f"bad JS object key at {self.i}: {self.s[self.i:self.i + 40]!r}")
                key, self.i = m.group(0), m.end()
            if self.s[self.i] != ":":
                raise ConversionError(f"expected ':' at {self.i}")
            self.i += 1
            out[key] = self.value()
            if self.s[self.i] == ",":
                self.i += 1
        self.i += 1
        return out

    def _array(self):
        self.i += 1
        out = []
        while self.s[self.i] != "]":
            out.append(self.value())
            if self.s[self.i] == ",":
                self.i += 1
        self.i += 1
        return out


def parse_model_js(text: str) -> dict:
    """model.min.js -> the standard TF.js model.json dict {modelTopology, weightsManifest}."""
    m = re.search(r"exports=\{modelTopology:", text)
    if not m:
        raise ConversionError("model.min.js: no 'exports={modelTopology:' found (not the nsfwjs 4.x layout?)")
    return _JsLiteral(text, m.start() + len("exports=")).value()


def decode_shard_js(text: str) -> bytes:
    """group1-shardNofM.min.js exports one string: base64 of the original binary shard."""
    m = re.search(r'exports="([A-Za-z0-9+/=]+)"', text)
    if not m:
        raise ConversionError("shard .min.js: no exported base64 string found")
    return base64.b64decode(m.group(1))


@dataclass
class NsfwjsSource:
    model_json: dict
    weight_data: bytes
    origin: str                 # what was read (tgz path or directory)
    tarball_sha1: str | None    # sha1 of the .tgz when converting from one (npm's dist.shasum)
    version: str | None         # package.json version when found
    license_text: str | None

    @property
    def weights_sha256(self) -> str:
        return hashlib.sha256(self.weight_data).hexdigest()


def _find_model_dir_files(names: list[str]) -> str:
    hits = [n[: -len("model.min.js")] for n in names if n.endswith(MODEL_SUBDIR + "/model.min.js")]
    if not hits:
        hits = [n[: -len("model.min.js")] for n in names if n.endswith("inception_v3/model.min.js")]
    if not hits:
        raise ConversionError(f"no {MODEL_SUBDIR}/model.min.js in the source")
    return min(hits, key=len)


def read_source(src: str | Path) -> NsfwjsSource:
    """Read nsfwjs from its npm tarball (.tgz) or an unpacked directory (package root, node_modules/nsfwjs,
    or the inception_v3 model folder itself)."""
    src = Path(src)
    if src.is_file():
        raw = src.read_bytes()
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tf:
            names = tf.getnames()
            prefix = _find_model_dir_files(names)
            read = lambda rel: tf.extractfile(prefix + rel).read().decode("utf-8")  # noqa: E731
            root = prefix[: -len(MODEL_SUBDIR + "/")] if prefix.endswith(MODEL_SUBDIR + "/") else None
            pkg = json.loads(tf.extractfile(root + "package.json").read()) if root is not None else {}
            lic = tf.extractfile(root + "LICENSE").read().decode() if root and root + "LICENSE" in names else None
            return _assemble(read, str(src), hashlib.sha1(raw).hexdigest(), pkg.get("version"), lic)
    if src.is_dir():
        mdir = src if (src / "model.min.js").exists() else src / MODEL_SUBDIR
        if not (mdir / "model.min.js").exists():
            raise ConversionError(f"{src}: neither model.min.js nor {MODEL_SUBDIR}/model.min.js")
        root = mdir.parents[2] if mdir.name == "inception_v3" else src
        pkg = json.loads((root / "package.json").read_text()) if (root / "package.json").exists() else {}
        lic = (root / "LICENSE").read_text() if (root / "LICENSE").exists() else None
        return _assemble(lambda rel: (mdir / rel).read_text(), str(src), None, pkg.get("version"), lic)
    raise ConversionError(f"{src}: no such file or directory")


def _assemble(read, origin, sha1, version, lic) -> NsfwjsSource:
    model_json = parse_model_js(read("model.min.js"))
    groups = model_json["weightsManifest"]
    data = b"".join(decode_shard_js(read(p + ".min.js")) for g in groups for p in g["paths"])
    return NsfwjsSource(model_json, data, origin, sha1, version, lic)


def dequantize(src: NsfwjsSource) -> dict[str, np.ndarray]:
    """uint8 affine per tensor: value = q * scale + min (tfjs-core io_utils.decodeWeights)."""
    out, off = {}, 0
    buf = src.weight_data
    for group in src.model_json["weightsManifest"]:
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q is None:
                if w["dtype"] != "float32":
                    raise ConversionError(f"{w['name']}: unsupported dtype {w['dtype']}")
                arr = np.frombuffer(buf, np.float32, n, off)
                off += 4 * n
            elif q["dtype"] == "uint8":
                arr = np.frombuffer(buf, np.uint8, n, off).astype(np.float64) * q["scale"] + q["min"]
                off += n
            else:
                raise ConversionError(f"{w['name']}: unsupported quantization {q['dtype']}")
            out[w["name"]] = arr.astype(np.float32).reshape(w["shape"])
    if off != len(buf):
        raise ConversionError(f"weight bytes: manifest accounts for {off}, shards hold {len(buf)}")
    return out


# ---------------------------------------------------------------------------------------------------------
# The network (torchvision Inception3 layout; Keras semantics for BN eps and the branch average pool).

class BasicConv(nn.Module):
    def __init__(self, cin: int, cout: int, k, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)  # Keras default eps; scale=False -> weight stays 1

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def _keras_avg3(x: torch.Tensor) -> torch.Tensor:
    # Keras AveragePooling2D(3, 1, 'same') divides by the in-image count; torchvision's includes the padding.
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv(cin, 64, 1)
        self.branch5x5_1 = BasicConv(cin, 48, 1)
        self.branch5x5_2 = BasicConv(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv(96, 96, 3, padding=1)
        self.branch_pool = BasicConv(cin, pool_features, 1)

    def forward(self, x):
        a = self.branch1x1(x)
        b = self.branch5x5_2(self.branch5x5_1(x))
        c = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        d = self.branch_pool(_keras_avg3(x))
        return torch.cat([a, b, c, d], 1)


class InceptionB(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = BasicConv(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv(96, 96, 3, stride=2)

    def forward(self, x):
        a = self.branch3x3(x)
        b = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([a, b, F.max_pool2d(x, 3, 2)], 1)


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int):
        super().__init__()
        self.branch1x1 = BasicConv(cin, 192, 1)
        self.branch7x7_1 = BasicConv(cin, c7, 1)
        self.branch7x7_2 = BasicConv(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv(cin, 192, 1)

    def forward(self, x):
        a = self.branch1x1(x)
        b = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        c = self.branch7x7dbl_5(self.branch7x7dbl_4(self.branch7x7dbl_3(self.branch7x7dbl_2(self.branch7x7dbl_1(x)))))
        d = self.branch_pool(_keras_avg3(x))
        return torch.cat([a, b, c, d], 1)


class InceptionTrunk(nn.Module):
    """torchvision Inception3 up to `last` (module names and registration order as torchvision)."""

    def __init__(self, last: str = "Mixed_6c"):
        super().__init__()
        if last not in BLOCKS:
            raise ConversionError(f"unknown or non-ImageNet layer {last!r}; choose from {', '.join(BLOCKS)}")
        self.Conv2d_1a_3x3 = BasicConv(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv(80, 192, 3)
        makers = {"Mixed_5b": lambda: InceptionA(192, 32), "Mixed_5c": lambda: InceptionA(256, 64),
                  "Mixed_5d": lambda: InceptionA(288, 64), "Mixed_6a": lambda: InceptionB(288),
                  "Mixed_6b": lambda: InceptionC(768, 128), "Mixed_6c": lambda: InceptionC(768, 160)}
        self.blocks = nn.ModuleDict()
        for name in BLOCKS[: BLOCKS.index(last) + 1]:
            self.blocks[name] = makers[name]()

    def stem(self, x):
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, 2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        return F.max_pool2d(x, 3, 2)

    def convs_in_keras_order(self) -> list[BasicConv]:
        return [m for m in self.modules() if isinstance(m, BasicConv)]

    def forward_all(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw NCHW activations after every block (for parity tests and layer selection)."""
        out = {}
        x = self.stem(x)
        for name, blk in self.blocks.items():
            x = blk(x)
            out[name] = x
        return out


def load_trunk(weights: dict[str, np.ndarray], last: str = "Mixed_6c") -> InceptionTrunk:
    """Keras conv2d_i / batch_normalization_i (creation order) -> i-th BasicConv in torchvision order."""
    trunk = InceptionTrunk(last).eval()
    convs = trunk.convs_in_keras_order()
    if len(convs) != CONVS_UPTO[last] or len(convs) > LAST_IMAGENET_CONV:
        raise ConversionError(f"internal: {len(convs)} convs up to {last}")
    with torch.no_grad():
        for i, mod in enumerate(convs, start=1):
            k = weights.get(f"conv2d_{i}/kernel")
            if k is None:
                raise ConversionError(f"missing conv2d_{i}/kernel")
            w = torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))  # HWIO -> OIHW
            if tuple(w.shape) != tuple(mod.conv.weight.shape):
                raise ConversionError(f"conv2d_{i}: shape {tuple(w.shape)} != torch {tuple(mod.conv.weight.shape)}")
            mod.conv.weight.copy_(w)
            bn = f"batch_normalization_{i}"
            if f"{bn}/gamma" in weights:
                mod.bn.weight.copy_(torch.from_numpy(weights[f"{bn}/gamma"]))
            else:
                mod.bn.weight.fill_(1.0)
            mod.bn.bias.copy_(torch.from_numpy(weights[f"{bn}/beta"]))
            mod.bn.running_mean.copy_(torch.from_numpy(weights[f"{bn}/moving_mean"]))
            mod.bn.running_var.copy_(torch.from_numpy(weights[f"{bn}/moving_variance"]))
    return trunk


def check_topology(model_json: dict) -> None:
    """Fail early if the package is not the expected Keras InceptionV3 (scale=False BN, eps 1e-3, 'same' avg pools)."""
    layers = model_json["modelTopology"]["model_config"]["config"]["layers"]
    by_name = {lay["name"]: lay for lay in layers}
    for i in range(1, LAST_IMAGENET_CONV + 1):
        bn = by_name.get(f"batch_normalization_{i}")
        if bn is None or abs(bn["config"].get("epsilon", 1e-3) - 1e-3) > 1e-9:
            raise ConversionError(f"batch_normalization_{i}: missing or eps != 1e-3")
        inbound = bn["inbound_nodes"][0][0][0]
        if inbound != f"conv2d_{i}":
            raise ConversionError(f"batch_normalization_{i} follows {inbound}, expected conv2d_{i}")
    for tv, keras in KERAS_NAME.items():
        if keras not in by_name:
            raise ConversionError(f"TF.js model has no layer {keras} (for {tv})")
    shape = by_name[layers[0]["name"]]["config"].get("batch_input_shape")
    if shape != [None, IMAGE_SIZE, IMAGE_SIZE, 3]:
        raise ConversionError(f"unexpected input shape {shape}")


# ---------------------------------------------------------------------------------------------------------
# The serving module: images -> tuple of unit-norm token maps.

class PatchFeatures(nn.Module):
    """forward(images f32[B,3,S,S]) -> tuple(tap f32[B,P,C]); tokens row-major, L2-normalised.

    pool_k > 1 applies PatchCore's k x k local mean (count_include_pad=False) before normalising.
    """

    def __init__(self, trunk: InceptionTrunk, taps: list[str], pool_k: int):
        super().__init__()
        self.trunk = trunk
        self.taps = taps
        self.pool_k = pool_k

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = self.trunk.stem(images)
        feats: list[torch.Tensor] = []
        for name, blk in self.trunk.blocks.items():
            x = blk(x)
            if name in self.taps:
                f = x
                if self.pool_k > 1:
                    f = F.avg_pool2d(f, self.pool_k, 1, self.pool_k // 2, count_include_pad=False)
                f = f.flatten(2).transpose(1, 2)  # [B,C,H,W] -> [B,H*W,C], row-major
                feats.append(F.normalize(f, dim=-1, eps=1e-12))
        return feats


# TorchScript needs a statically sized tuple, hence one forward per tap count.
class PatchFeatures1(PatchFeatures):
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor]:
        t = self.features(images)
        return (t[0],)


class PatchFeatures2(PatchFeatures):
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = self.features(images)
        return (t[0], t[1])


class PatchFeatures3(PatchFeatures):
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        t = self.features(images)
        return (t[0], t[1], t[2])


_BY_COUNT = {1: PatchFeatures1, 2: PatchFeatures2, 3: PatchFeatures3}


POOLINGS = {"none": 1, "avg3": 3}


def grid_of(layer: str, size: int = IMAGE_SIZE) -> tuple[int, int, int]:
    trunk = InceptionTrunk(layer).eval()
    with torch.no_grad():
        y = trunk.forward_all(torch.zeros(1, 3, size, size))[layer]
    return int(y.shape[2]), int(y.shape[3]), int(y.shape[1])


def build_patch_module(src: NsfwjsSource, layers: list[str], pooling: str) -> tuple[PatchFeatures, tuple]:
    if not layers:
        raise ConversionError("no layers chosen")
    for name in layers:
        if name not in BLOCKS:
            raise ConversionError(f"layer {name!r} is not an ImageNet layer of nsfwjs InceptionV3; "
                                  f"choose from {', '.join(BLOCKS)} (later layers were fine-tuned for NSFW)")
    if pooling not in POOLINGS:
        raise ConversionError(f"pooling {pooling!r}: choose from {', '.join(POOLINGS)}")
    ordered = [b for b in BLOCKS if b in layers]
    shapes = {grid_of(b) for b in ordered}
    if len(shapes) != 1:
        raise ConversionError(f"taps {ordered} differ in grid or width {sorted(shapes)}; the residual map "
                              "averages taps location by location, so choose layers of one stage")
    check_topology(src.model_json)
    trunk = load_trunk(dequantize(src), ordered[-1])
    if len(ordered) not in _BY_COUNT:
        raise ConversionError(f"{len(ordered)} taps: 1 to 3 supported")
    return _BY_COUNT[len(ordered)](trunk, ordered, POOLINGS[pooling]).eval(), shapes.pop()


def make_manifest(src: NsfwjsSource, layers: list[str], pooling: str, grid_width: tuple,
                  input_range: str = DEFAULT_INPUT_RANGE) -> dict:
    h, w, c = grid_width
    mean, std = INPUT_RANGES[input_range]
    tag = "-".join(n.lower().replace("_", "") for n in layers) + ("" if pooling == "none" else f"-{pooling}")
    tag += f"-{input_range}"
    wid = src.weights_sha256[:12]
    version = src.version or PACKAGE_VERSION
    return {
        "format_version": 1,
        "kind": "patch-residual",
        "bundle_id": f"nsfwjs-inception-v3-{tag}-{wid}",
        "arch": f"InceptionV3 ({PACKAGE}@{version}, ImageNet layers up to {layers[-1]})",
        "variant": "full",
        "image": {"size": IMAGE_SIZE, "resize": "shorter-side-pil-bicubic", "crop": "center",
                  "color": "rgb", "scale": "x/255", "mean": [mean] * 3, "std": [std] * 3,
                  "range": "[-1,1]" if input_range == "pm1" else "[0,1]"},
        "vision": {"embed_dim": 0, "width": c, "grid": [h, w], "tapped_layers": list(layers),
                   "tapped_blocks": [BLOCKS.index(n) + 1 for n in layers],
                   "token_pooling": pooling, "normalized": True},
        "weights": {
            "source": "pretrained", "seed": None, "checkpoint_sha256": None,
            "description": "generic ImageNet InceptionV3 patch residual — not InCTRL",
            "provenance": {
                "package": f"{PACKAGE}@{version}", "registry": "npm",
                "path": f"package/{MODEL_SUBDIR}/ (TF.js layers model, uint8-quantized)",
                "tarball_sha1": src.tarball_sha1,
                "weights_sha256": src.weights_sha256,
                "licence": "MIT (Copyright (c) 2019 Infinite Red, Inc.); see LICENSE in this bundle",
                "upstream": "Keras InceptionV3(weights='imagenet') layers before nsfwjs' fine-tuning",
            },
        },
        "files": {"vision": "vision.pt"},
        "exporter": {"version": __version__, "torch": torch.__version__.split("+")[0],
                     "created_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


NOTICE = """This bundle contains weights converted from the npm package {pkg}
(package/{subdir}/, tarball sha1 {sha1}),
licensed under the MIT License reproduced below. Only the layers up to {last} are used; they hold
Keras' ImageNet InceptionV3 weights as quantized (uint8) by nsfwjs. This is a generic CNN patch-kNN
anomaly detector, not InCTRL.

Regenerate:  cd tools/export && python -m inctrl_export --from-nsfwjs nsfwjs-4.4.0.tgz \\
               --layers {layers} --pooling {pooling} --input-range {input_range} --out <dir>
             (tarball: npm pack {pkg})

----------------------------------------------------------------------------------------------------
{licence}"""


def export_bundle(src_path: str | Path, out: str | Path, layers=DEFAULT_LAYERS, pooling=DEFAULT_POOLING,
                  input_range=DEFAULT_INPUT_RANGE, log=print, optimize: bool = True) -> dict:
    if input_range not in INPUT_RANGES:
        raise ConversionError(f"input range {input_range!r}: choose from {', '.join(INPUT_RANGES)}")
    src = read_source(src_path)
    log(f"read {src.origin}: {len(src.weight_data)} weight bytes, sha256 {src.weights_sha256[:12]}"
        + (f", tarball sha1 {src.tarball_sha1}" if src.tarball_sha1 else ""))
    layers = [b for b in BLOCKS if b in layers] if all(n in BLOCKS for n in layers) else list(layers)
    module, gw = build_patch_module(src, list(layers), pooling)
    manifest = make_manifest(src, module.taps, pooling, gw, input_range)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)  # a manifest vouches for complete files: write it last
    sm = torch.jit.script(module)
    tmp = out / "vision.pt.tmp"
    sm.save(str(tmp))
    os.replace(tmp, out / "vision.pt")
    log(f"wrote {out / 'vision.pt'} ({(out / 'vision.pt').stat().st_size / 1e6:.1f} MB)")
    (out / cpu_file_name("vision.pt")).unlink(missing_ok=True)  # never leave a copy of an older export behind
    if optimize:
        try:
            name, _ = write_cpu_copy(sm, out, "vision.pt", image_input(IMAGE_SIZE), CHANNELS_LAST, log)
        except OptimizeError as e:
            raise ConversionError(str(e)) from e
        manifest["files"]["vision_cpu"] = name
        manifest["optimized"] = manifest_entry(CHANNELS_LAST, ["vision"])
    (out / "LICENSE").write_text(NOTICE.format(
        pkg=f"{PACKAGE}@{src.version or PACKAGE_VERSION}", subdir=MODEL_SUBDIR, sha1=src.tarball_sha1 or "n/a",
        last=module.taps[-1], layers=" ".join(module.taps), pooling=pooling, input_range=input_range,
        licence=src.license_text or "MIT License, Copyright (c) 2019 Infinite Red, Inc. (LICENSE not found in source)"))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    log(f"wrote {out / 'manifest.json'} (bundle_id={manifest['bundle_id']})")
    checksums.write(out, log)
    return manifest
