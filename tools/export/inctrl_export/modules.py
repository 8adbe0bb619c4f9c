"""Serving modules exported as TorchScript (bundle-format.md).

Deliberately a separate implementation from open_clip's forward (explicit attention, plain ops only): the
fixtures come from open_clip itself, so agreement between the two is a real check. Every forward is
batch-independent per row (no cross-sample reshapes; spec §9).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .model import TAPPED_BLOCKS, ScoreHead, SourceModel

LN_EPS = 1e-5
BN_EPS = 1e-5


def _param(t: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(t.detach().clone().float(), requires_grad=False)


def _layer_norm(src: nn.LayerNorm) -> nn.LayerNorm:
    ln = nn.LayerNorm(src.normalized_shape, eps=LN_EPS)
    ln.weight = _param(src.weight)
    ln.bias = _param(src.bias)
    return ln


def _linear(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Linear:
    lin = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    lin.weight = _param(weight)
    if bias is not None:
        lin.bias = _param(bias)
    return lin


class Block(nn.Module):
    """Pre-LN residual block: x + MHA(LN1 x), then x + MLP(LN2 x) with exact GELU."""

    def __init__(self, src, heads: int):
        super().__init__()
        width = src.ln_1.normalized_shape[0]
        self.heads = heads
        self.head_dim = width // heads
        self.scale = float(self.head_dim) ** -0.5
        self.ln_1 = _layer_norm(src.ln_1)
        self.qkv = _linear(src.attn.in_proj_weight, src.attn.in_proj_bias)
        self.out = _linear(src.attn.out_proj.weight, src.attn.out_proj.bias)
        self.ln_2 = _layer_norm(src.ln_2)
        self.fc = _linear(src.mlp.c_fc.weight, src.mlp.c_fc.bias)
        self.proj = _linear(src.mlp.c_proj.weight, src.mlp.c_proj.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, n, w = x.shape
        qkv = self.qkv(self.ln_1(x)).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # [B, H, N, hd]
        att = torch.matmul(q * self.scale, k.transpose(-2, -1))
        if mask is not None:
            att = att + mask
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, n, w)
        x = x + self.out(y)
        return x + self.proj(F.gelu(self.fc(self.ln_2(x))))


class VisionModule(nn.Module):
    """images [B,3,S,S] -> (g [B,D], tap0/1/2 [B,P,C] unit-norm tokens of blocks 7, 9, 11, CLS dropped)."""

    def __init__(self, model: SourceModel):
        super().__init__()
        v = model.clip.visual
        self.patch = int(v.conv1.kernel_size[0])
        self.conv_weight = _param(v.conv1.weight)
        self.class_embedding = _param(v.class_embedding)
        self.positional_embedding = _param(v.positional_embedding)
        self.ln_pre = _layer_norm(v.ln_pre)
        heads = v.transformer.resblocks[0].attn.num_heads
        self.blocks = nn.ModuleList([Block(b, heads) for b in v.transformer.resblocks])
        self.ln_post = _layer_norm(v.ln_post)
        self.proj = _param(v.proj)
        self.tap0 = TAPPED_BLOCKS[0] - 1
        self.tap1 = TAPPED_BLOCKS[1] - 1
        self.tap2 = TAPPED_BLOCKS[2] - 1

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        x = F.conv2d(images, self.conv_weight, None, [self.patch, self.patch])  # [B, C, h, w]
        b = x.shape[0]
        x = x.flatten(2).transpose(1, 2)  # row-major patches
        cls = self.class_embedding.reshape(1, 1, -1).expand(b, 1, -1)
        x = self.ln_pre(torch.cat([cls, x], dim=1) + self.positional_embedding)
        taps: list[torch.Tensor] = []
        for i, blk in enumerate(self.blocks):
            x = blk(x, None)
            if i == self.tap0 or i == self.tap1 or i == self.tap2:
                taps.append(F.normalize(x[:, 1:, :], p=2.0, dim=-1))
        g = torch.matmul(self.ln_post(x[:, 0, :]), self.proj)
        return g, taps[0], taps[1], taps[2]


class TextModule(nn.Module):
    """token ids [N,L<=77] -> raw projected EOT embedding [N,D] (EOT = argmax id)."""

    def __init__(self, model: SourceModel):
        super().__init__()
        c = model.clip
        self.token_embedding = nn.Embedding(c.token_embedding.num_embeddings, c.token_embedding.embedding_dim)
        self.token_embedding.weight = _param(c.token_embedding.weight)
        self.positional_embedding = _param(c.positional_embedding)
        heads = c.transformer.resblocks[0].attn.num_heads
        self.blocks = nn.ModuleList([Block(b, heads) for b in c.transformer.resblocks])
        self.ln_final = _layer_norm(c.ln_final)
        self.text_projection = _param(c.text_projection)
        ctx = c.positional_embedding.shape[0]
        # Rebuilt rather than read from the checkpoint: it is a non-persistent buffer there (spec §8).
        self.register_buffer("attn_mask", torch.full((ctx, ctx), float("-inf")).triu(1))

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        n = token_ids.shape[1]
        x = self.token_embedding(token_ids) + self.positional_embedding[:n]
        mask = self.attn_mask[:n, :n]
        for blk in self.blocks:
            x = blk(x, mask)
        x = self.ln_final(x)
        eot = token_ids.argmax(dim=-1)
        rows = torch.arange(x.shape[0], device=x.device)
        return torch.matmul(x[rows, eot], self.text_projection)


class AdapterModule(nn.Module):
    """psi: [B,D] -> [B,D]."""

    def __init__(self, model: SourceModel):
        super().__init__()
        fc = model.heads.adapter.fc
        self.down = _linear(fc[0].weight, None)
        self.up = _linear(fc[2].weight, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.up(torch.relu(self.down(x))))


class HeadModule(nn.Module):
    """eta or phi: [B,F] -> [B] probability; BN in inference form (running stats), bn1 omitted as in the original."""

    def __init__(self, head: ScoreHead):
        super().__init__()
        self.l1 = _linear(head.projection1.weight, head.projection1.bias)
        self.l2 = _linear(head.projection2.weight, head.projection2.bias)
        self.l3 = _linear(head.projection3.weight, head.projection3.bias)
        self.eps = BN_EPS
        for name, bn in (("bn2", head.bn2), ("bn3", head.bn3)):
            self.register_buffer(f"{name}_mean", bn.running_mean.detach().clone().float())
            self.register_buffer(f"{name}_var", bn.running_var.detach().clone().float())
            self.register_buffer(f"{name}_weight", bn.weight.detach().clone().float())
            self.register_buffer(f"{name}_bias", bn.bias.detach().clone().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.l1(x))
        x = (x - self.bn2_mean) * torch.rsqrt(self.bn2_var + self.eps) * self.bn2_weight + self.bn2_bias
        x = torch.relu(self.l2(x))
        x = (x - self.bn3_mean) * torch.rsqrt(self.bn3_var + self.eps) * self.bn3_weight + self.bn3_bias
        return torch.sigmoid(self.l3(x)).squeeze(-1)


def build_export_modules(model: SourceModel) -> dict[str, nn.Module]:
    mods = {
        "vision": VisionModule(model),
        "text": TextModule(model),
        "adapter": AdapterModule(model),
        "image_head": HeadModule(model.heads.diff_head_ref),
        "holistic_head": HeadModule(model.heads.diff_head),
    }
    for m in mods.values():
        m.eval()
    return mods


def script_modules(mods: dict[str, nn.Module]) -> dict[str, torch.jit.ScriptModule]:
    return {name: torch.jit.script(m) for name, m in mods.items()}
