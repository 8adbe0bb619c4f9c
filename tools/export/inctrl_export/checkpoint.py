"""Load an official InCTRL checkpoint (.pyth) onto the source model, strictly (spec §8)."""
from __future__ import annotations

import hashlib
import pickle
import re
from pathlib import Path

import torch

from .model import SourceModel, build_source_model, log

HEAD_PREFIXES = ("adapter.", "diff_head.", "diff_head_ref.")
# Present in some checkpoints but not used by the forward pass (spec §5, §7, §8).
IGNORED_KEY_PATTERNS = (
    re.compile(r"^diff_head(_ref)?\.bn1\."),
    re.compile(r"^logit_scale$"),
    re.compile(r"(^|\.)attn_mask$"),
)


class CheckpointError(Exception):
    def __init__(self, message: str, missing=(), unexpected=(), mismatched=()):
        self.missing = sorted(missing)
        self.unexpected = sorted(unexpected)
        self.mismatched = sorted(mismatched)
        lines = [message]
        for title, keys in (("missing", self.missing), ("unexpected", self.unexpected),
                            ("shape mismatch", self.mismatched)):
            if keys:
                lines.append(f"{title} keys ({len(keys)}):")
                lines.extend(f"  {k}" for k in keys)
        super().__init__("\n".join(lines))


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _Opaque(dict):
    """Stand-in for non-tensor objects in the container (e.g. the yacs `cfg`): accepts any state, runs no code."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.__dict__["_state"] = state


class _RestrictedUnpickler(pickle.Unpickler):
    _ALLOWED_ROOTS = ("torch", "collections", "numpy", "_codecs")
    _ALLOWED_BUILTINS = {"dict", "list", "tuple", "set", "frozenset", "int", "float", "str", "bytes",
                         "bool", "complex", "slice", "range", "bytearray"}

    def find_class(self, module, name):
        root = module.split(".")[0]
        if root in self._ALLOWED_ROOTS or (module == "builtins" and name in self._ALLOWED_BUILTINS):
            return super().find_class(module, name)
        return _Opaque


class _restricted_pickle:  # lower case: torch.load wants a module-like object (pickle_module=)
    Unpickler = _RestrictedUnpickler
    load = pickle.load
    __name__ = "inctrl_restricted_pickle"


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Both containers: {'model_state': sd, 'epoch', 'cfg'} and a bare state dict; leading `module.` stripped."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # The `save_checkpoint` container pickles a yacs CfgNode, which weights_only refuses;
        # fall back to an unpickler that replaces every non-torch class by an inert placeholder.
        log("checkpoint holds non-tensor objects (e.g. cfg); reading it with a restricted unpickler")
        obj = torch.load(path, map_location="cpu", weights_only=False, pickle_module=_restricted_pickle)
    if isinstance(obj, dict) and "model_state" in obj:
        obj = obj["model_state"]
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a state dict or {{'model_state': ...}}, got {type(obj).__name__}")
    sd = {}
    for k, v in obj.items():
        if not isinstance(v, torch.Tensor):
            raise CheckpointError(f"{path}: entry {k!r} is not a tensor ({type(v).__name__})")
        sd[k[len("module."):] if k.startswith("module.") else k] = v
    return sd


def _ignored(key: str) -> bool:
    return any(p.search(key) for p in IGNORED_KEY_PATTERNS)


def load_checkpoint_into(model: SourceModel, sd: dict[str, torch.Tensor]) -> None:
    """Strict mapping: every expected key present with the right shape, nothing unknown; never leaves random heads."""
    clip_sd = {k: v for k, v in model.clip.state_dict().items() if not _ignored(k)}
    head_sd = {k: v for k, v in model.heads.state_dict().items() if not _ignored(k)}
    expected = {**clip_sd, **head_sd}
    present = {k for k in sd if not _ignored(k)}
    missing = set(expected) - present
    unexpected = present - set(expected)
    mismatched = {f"{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(expected[k].shape)}"
                  for k in present & set(expected) if tuple(sd[k].shape) != tuple(expected[k].shape)}
    if missing or unexpected or mismatched:
        raise CheckpointError("checkpoint does not match the InCTRL key map (spec §8)", missing, unexpected, mismatched)
    with torch.no_grad():
        for module, keys in ((model.clip, clip_sd), (model.heads, head_sd)):
            targets = dict(module.named_parameters())
            targets.update(module.named_buffers())
            for k in keys:
                # fp32 throughout (spec §2); num_batches_tracked keeps its integer dtype.
                targets[k].copy_(sd[k].to(targets[k].dtype))


def load_model_from_checkpoint(path: str | Path, variant: str = "full") -> tuple[SourceModel, str]:
    log(f"reading checkpoint {path}")
    digest = sha256_file(path)
    sd = read_state_dict(path)
    log(f"checkpoint: {len(sd)} tensors, sha256={digest}")
    log(f"building {variant} model and mapping keys")
    model = build_source_model(variant)
    load_checkpoint_into(model, sd)
    return model.eval(), digest
