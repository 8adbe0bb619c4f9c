"""Source model: OpenCLIP ViT-B-16-plus-240 plus the three InCTRL heads, with the official key layout.

The module/attribute names of `InCTRLHeads` mirror the official InCTRL state dict (spec §8), so a
checkpoint maps onto `clip.state_dict()` + `heads.state_dict()` without renaming.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import open_clip
import torch
from torch import nn

ARCH = "ViT-B-16-plus-240"
TAPPED_BLOCKS = (7, 9, 11)  # 1-based, as in the spec; zero-based 6, 8, 10

# Same topology as the full model (12 vision blocks, 240/16 -> 15x15, ctx 77, vocab 49408), small widths.
# Text width 32 keeps the 49408-row token embedding (the bulk of text.pt) at ~6 MB.
TINY_CFG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 240, "layers": 12, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 4},
}


def log(msg: str) -> None:
    print(f"[inctrl-export] {msg}", file=sys.stderr, flush=True)


class Adapter(nn.Module):
    """psi: D -> D/4 -> D, ReLU after both, no bias, no skip (official `adapter.fc.{0,2}`)."""

    def __init__(self, dim: int, reduction: int = 4):
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(dim, dim // reduction, bias=False),
            nn.ReLU(),
            nn.Linear(dim // reduction, dim, bias=False),
            nn.ReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class ScoreHead(nn.Module):
    """eta / phi: Linear-ReLU-BN-Linear-ReLU-BN-Linear-sigmoid. `bn1` exists in checkpoints but is never used."""

    def __init__(self, dim_in: int):
        super().__init__()
        self.projection1 = nn.Linear(dim_in, 128)
        self.projection2 = nn.Linear(128, 64)
        self.projection3 = nn.Linear(64, 1)
        self.bn1 = nn.BatchNorm1d(dim_in)
        self.bn2 = nn.BatchNorm1d(128)
        self.bn3 = nn.BatchNorm1d(64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn2(torch.relu(self.projection1(x)))
        x = self.bn3(torch.relu(self.projection2(x)))
        return torch.sigmoid(self.projection3(x))  # [B, 1]


class InCTRLHeads(nn.Module):
    def __init__(self, embed_dim: int, num_patches: int):
        super().__init__()
        self.adapter = Adapter(embed_dim, 4)
        self.diff_head = ScoreHead(num_patches)
        self.diff_head_ref = ScoreHead(embed_dim)


@dataclass
class SourceModel:
    clip: open_clip.CLIP
    heads: InCTRLHeads
    variant: str  # "full" | "tiny"

    @property
    def embed_dim(self) -> int:
        return int(self.clip.visual.proj.shape[1])

    @property
    def width(self) -> int:
        return int(self.clip.visual.proj.shape[0])

    @property
    def grid(self) -> tuple[int, int]:
        return tuple(int(g) for g in self.clip.visual.grid_size)

    @property
    def num_patches(self) -> int:
        h, w = self.grid
        return h * w

    def eval(self) -> SourceModel:
        self.clip.eval()
        self.heads.eval()
        return self


def build_clip(variant: str) -> open_clip.CLIP:
    if variant == "full":
        model = open_clip.create_model(ARCH, pretrained=None)
    elif variant == "tiny":
        # Built from open_clip's own CLIP class so the tiny model runs exactly the same code paths.
        model = open_clip.CLIP(**TINY_CFG)
    else:
        raise ValueError(f"unknown variant {variant!r}")
    return model.float().eval()


def build_source_model(variant: str) -> SourceModel:
    clip = build_clip(variant)
    h, w = clip.visual.grid_size
    heads = InCTRLHeads(int(clip.visual.proj.shape[1]), int(h * w))
    return SourceModel(clip, heads, variant).eval()


@torch.no_grad()
def randomize_(model: SourceModel, seed: int) -> SourceModel:
    """Deterministic non-trivial weights: open_clip's init leaves LN at 1/0, MHA biases at 0 and BN stats at 0/1,
    which would let parity tests pass even if those parameters were dropped or misplaced."""
    g = torch.Generator().manual_seed(seed)

    def randn_like(t: torch.Tensor) -> torch.Tensor:
        return torch.randn(t.shape, generator=g, dtype=t.dtype)

    def rand_like(t: torch.Tensor) -> torch.Tensor:
        return torch.rand(t.shape, generator=g, dtype=t.dtype)

    # Every parameter is overwritten from `g`, so the result depends on the seed only.
    for name, p in list(model.clip.named_parameters()) + list(model.heads.named_parameters()):
        if name == "logit_scale":
            continue
        if name.endswith("class_embedding") or name.endswith("positional_embedding"):
            p.copy_(randn_like(p) * (p.shape[-1] ** -0.5))
        elif name in ("visual.proj", "text_projection"):
            p.copy_(randn_like(p) * (p.shape[0] ** -0.5))  # used as x @ proj
        elif p.dim() >= 2:  # Linear / in_proj [out, in], conv [out, in, kh, kw], embedding [V, W]
            fan_in = p[0].numel()
            p.copy_(randn_like(p) * (fan_in ** -0.5))
        elif name.endswith("weight"):  # LayerNorm / BatchNorm scales
            p.copy_(1.0 + 0.1 * randn_like(p))
        else:  # biases
            p.copy_(0.05 * randn_like(p))
    for name, b in model.heads.named_buffers():
        if name.endswith("running_mean"):
            b.copy_(0.2 * randn_like(b))
        elif name.endswith("running_var"):
            b.copy_(0.5 + rand_like(b))
        elif name.endswith("num_batches_tracked"):
            b.fill_(1000)
    return model


def make_random_model(variant: str, seed: int) -> SourceModel:
    log(f"building {variant} model ({ARCH} topology) with random weights, seed={seed}")
    torch.manual_seed(seed)
    model = build_source_model(variant)
    randomize_(model, seed)
    return model.eval()


def official_state_dict(model: SourceModel) -> dict[str, torch.Tensor]:
    """The model's weights under official InCTRL checkpoint key names (no `logit_scale`, no `attn_mask`)."""
    sd = {k: v for k, v in model.clip.state_dict().items() if k != "logit_scale"}
    sd.update(model.heads.state_dict())
    return sd
