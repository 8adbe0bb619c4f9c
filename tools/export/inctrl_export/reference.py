"""Plain-Python reference of the method at batch size 1, straight from the spec / the official forward.

Independent of `modules.py`: it runs open_clip's own towers and the official per-patch loops, and never
touches the exported TorchScript. Fixtures are produced from here.
"""
from __future__ import annotations

from dataclasses import dataclass

import open_clip
import torch
from PIL import Image

from .model import TAPPED_BLOCKS, SourceModel
from .prompts import sentences
from .spec import CLIP_MEAN as MEAN
from .spec import CLIP_STD as STD
from .spec import image_transform, patch_distances, unit

IMAGE_SIZE = 240
TEMPERATURE = 100.0

TRANSFORM = image_transform(IMAGE_SIZE, MEAN, STD)  # spec §3


def preprocess(path) -> torch.Tensor:
    with Image.open(path) as im:
        return TRANSFORM(im)  # [3, 240, 240]


@dataclass
class ImageFeatures:
    g: torch.Tensor  # [D], ln_post(CLS) @ proj, not normalised
    taps: list  # 3 x [P, C], raw hidden states of blocks 7/9/11 without CLS (NOT normalised)


@torch.no_grad()
def image_features(model: SourceModel, pixels: torch.Tensor) -> ImageFeatures:
    out = model.clip.visual.forward_intermediates(
        pixels.unsqueeze(0), indices=[b - 1 for b in TAPPED_BLOCKS], output_fmt="NLC")
    taps = [t[0] for t in out["image_intermediates"]]  # open_clip already drops the CLS prefix token
    return ImageFeatures(g=out["image_features"][0], taps=taps)


@torch.no_grad()
def residual_map(query: ImageFeatures, shots: list[ImageFeatures]) -> torch.Tensor:
    """M [P]: per layer, per query patch, min over all K*P prompt patches of 0.5*(1-cos); mean over layers."""
    per_layer = []
    for layer in range(len(TAPPED_BLOCKS)):
        bank = unit(torch.cat([s.taps[layer] for s in shots], dim=0))  # [K*P, C]
        q = query.taps[layer]
        d = []
        for j in range(q.shape[0]):  # the official per-patch loop
            qj = unit(q[j].unsqueeze(0))
            d.append(patch_distances(qj, bank))
        per_layer.append(torch.cat(d))
    return torch.stack(per_layer).mean(dim=0)


@torch.no_grad()
def text_embeddings(model: SourceModel, category: str, batch: int = 32, progress=None):
    """(ids [N,77] int64, t_n [D], t_a [D]) with the WinCLIP-style ensemble: normalise, average, renormalise."""
    normal, anomalous = sentences(category)
    ids = open_clip.tokenize(normal + anomalous)
    embs = []
    for i in range(0, ids.shape[0], batch):
        if progress:
            progress(f"text '{category}': sentences {i + 1}-{min(i + batch, ids.shape[0])} of {ids.shape[0]}")
        embs.append(model.clip.encode_text(ids[i:i + batch]))
    e = unit(torch.cat(embs))
    t_n = unit(e[:len(normal)].mean(dim=0))
    t_a = unit(e[len(normal):].mean(dim=0))
    return ids, t_n, t_a


@dataclass
class CaseResult:
    M: torch.Tensor
    s_p: torch.Tensor
    s_i: torch.Tensor
    s_a: torch.Tensor
    s_h: torch.Tensor
    score: torch.Tensor
    proto: torch.Tensor


@torch.no_grad()
def score_case(model: SourceModel, query: ImageFeatures, shots: list[ImageFeatures],
               t_n: torch.Tensor, t_a: torch.Tensor) -> CaseResult:
    heads = model.heads
    M = residual_map(query, shots)
    s_p = M.max()
    # psi before averaging; sign is prototype minus query (spec §5).
    adapted = heads.adapter(torch.stack([s.g for s in shots]))
    proto = adapted.mean(dim=0)
    r = proto - heads.adapter(query.g.unsqueeze(0))[0]
    s_i = heads.diff_head_ref(r.unsqueeze(0))[0, 0]
    g_hat = unit(query.g)
    logits = TEMPERATURE * torch.stack([g_hat @ t_n, g_hat @ t_a])
    s_a = logits.softmax(dim=0)[1]
    s_h = heads.diff_head((M + s_i + s_a).unsqueeze(0))[0, 0]
    score = (s_h + s_p) / 2
    return CaseResult(M=M, s_p=s_p, s_i=s_i, s_a=s_a, s_h=s_h, score=score, proto=proto)
