"""The server's inspection modes in Python (docs/registry.md "Inspection mode"; Java: image.ImagePreprocessor.views,
image.FrameTiling): how a frame becomes the model's S x S input(s). [-1, 1] bundles (x/127.5 − 1) only.

- center-crop: spec §3 (shorter side to S, PIL bicubic in the image's own mode, centre crop, RGB).
- resize: longer side to S (S·short/long truncated, as Java's fittedSize), centred on an S x S canvas of zeros.
- tiles: shorter side to S (torchvision's int(S·long/short)), then per axis the fewest evenly spread S x S tiles that
  overlap by at least S/4, row-major.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

MODES = ("center-crop", "resize", "tiles")


def _tensor(im: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.float32)).permute(2, 0, 1) / 127.5 - 1.0


def fitted_size(w: int, h: int, size: int) -> tuple[int, int]:
    short = max(1, int(size * min(w, h) / max(w, h)))
    return (short, size) if w <= h else (size, short)


def resized_size(w: int, h: int, size: int) -> tuple[int, int]:
    long = int(size * max(w, h) / min(w, h))
    return (size, long) if w <= h else (long, size)


def tile_offsets(dim: int, size: int) -> list[int]:
    if dim <= size:
        return [0]
    n = math.ceil((dim - size) / (size - size // 4)) + 1
    return [int(math.floor(i * (dim - size) / (n - 1) + 0.5)) for i in range(n)]  # Java Math.round


def views(im: Image.Image, size: int, mode: str) -> list[torch.Tensor]:
    w, h = im.size
    if mode == "center-crop":
        from inctrl_export import residual_heads as rh
        return [rh.image_transform(size)(im)]
    if mode == "resize":
        fw, fh = fitted_size(w, h, size)
        x = torch.zeros(3, size, size)  # border = 0 in the normalised tensor (the mean colour)
        x[:, (size - fh) // 2:(size - fh) // 2 + fh, (size - fw) // 2:(size - fw) // 2 + fw] = _tensor(
            im.resize((fw, fh), Image.BICUBIC))
        return [x]
    if mode == "tiles":
        rw, rh_ = resized_size(w, h, size)
        frame = im.resize((rw, rh_), Image.BICUBIC)
        return [_tensor(frame.crop((x, y, x + size, y + size)))
                for y in tile_offsets(rh_, size) for x in tile_offsets(rw, size)]
    raise ValueError(f"inspection {mode!r}: one of {MODES}")
