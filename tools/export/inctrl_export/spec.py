"""The spec's image transform (docs/inctrl-spec.md §3) and patch residual (§4), written once for every Python tool.

The exporter's reference and verification, its offline evaluator, the trainer, the benchmarks and the generator of
the Java preprocessing fixtures all import these; the Java server implements the same steps on its own and is
checked against fixtures made from here. Only torch, torchvision and Pillow are needed (no open_clip), so that
light venvs such as bench/anchor's can import this module.
"""
from __future__ import annotations

import torch
from torchvision import transforms

# OpenCLIP's normalisation of the CLIP InCTRL bundles (the InceptionV3 bundles use mean = std = 0.5).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def geometry(size: int) -> transforms.Compose:
    """§3 geometry, in the image's own mode: shorter side -> size with Pillow's antialiased bicubic, centre crop."""
    return transforms.Compose([
        transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(size),
    ])


def to_tensor(mean, std) -> transforms.Compose:
    """§3 tensor step of an RGB image: x/255, then (x - mean) / std per channel -> float32 [3, H, W]."""
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])


def image_transform(size: int, mean, std) -> transforms.Compose:
    """The whole §3 transform of a PIL image. Official order: resize and crop in the image's own mode, convert to
    RGB only afterwards (palette, grayscale and alpha images differ otherwise)."""
    return transforms.Compose([
        *geometry(size).transforms,
        transforms.Lambda(lambda im: im.convert("RGB")),
        *to_tensor(mean, std).transforms,
    ])


def manifest_transform(image: dict) -> transforms.Compose:
    """The §3 transform a bundle's manifest asks for (its `image` object: size, mean, std)."""
    return image_transform(int(image["size"]), image["mean"], image["std"])


def unit(x: torch.Tensor) -> torch.Tensor:
    """Each row scaled to unit L2 norm (tokens are compared by cosine)."""
    return x / x.norm(dim=-1, keepdim=True)


def patch_distances(query: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
    """§4 for one tap: each query token's distance ½(1 − cos) to its nearest bank token.

    query [..., P, C] and bank [..., N, C] hold unit-norm tokens (leading dimensions batch); returns [..., P].
    Computed as ½(1 − max cos): rounding is monotone, so this equals the official min over ½(1 − cos) bit for bit.
    """
    return 0.5 * (1.0 - torch.matmul(query, bank.transpose(-1, -2)).max(dim=-1).values)


def residual_map(query_taps, shots_taps) -> torch.Tensor:
    """§4 residual map M [P]: per tap, every query token against the K·P tokens of all shots pooled; mean over taps.

    query_taps: one [P, C] tensor per tap; shots_taps: per shot, one [P, C] tensor per tap (all unit-norm)."""
    per_tap = [patch_distances(q, torch.cat([s[i] for s in shots_taps], dim=0)) for i, q in enumerate(query_taps)]
    return torch.stack(per_tap).mean(dim=0)
