"""CPU-optimised copies of serving modules (docs/bundle-format.md, "Optimised CPU copies").

The portable file stays as it is (it also serves GPUs); the copy is `torch.jit.freeze`d: weights become constants,
conv+BN are folded, dead code and attribute lookups go. `torch.jit.optimize_for_inference` is not used: the oneDNN
constants it bakes in (prim::ConstantMKLDNNTensor) cannot be saved and reloaded (torch 2.7.1: "required keyword
attribute 'value' is undefined" on load). Every copy is checked against its portable module before it is kept.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

PARITY_TOLERANCE = 1e-4
PARITY_BATCHES = (1, 3)
METHOD = "torch.jit.freeze"


class OptimizeError(Exception):
    pass


def cpu_file_name(portable: str) -> str:
    """vision.pt -> vision.cpu.pt"""
    stem, dot, ext = portable.rpartition(".")
    return f"{stem}.cpu.{ext}" if dot else f"{portable}.cpu"


def _as_tuple(out) -> tuple[torch.Tensor, ...]:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def freeze_for_cpu(module: torch.jit.ScriptModule, channels_last: bool = False) -> torch.jit.ScriptModule:
    """Frozen copy; channels_last stores 4-D weights NHWC so oneDNN convs skip a weight reorder per call."""
    m = torch.jit.load(_roundtrip(module), map_location="cpu").eval()  # a private copy: freezing mutates
    if channels_last:
        m = m.to(memory_format=torch.channels_last)
    return torch.jit.freeze(m)


def _roundtrip(module: torch.jit.ScriptModule):
    import io
    buf = io.BytesIO()
    torch.jit.save(module, buf)
    buf.seek(0)
    return buf


def max_divergence(portable, optimized, make_input: Callable[[int], Sequence[torch.Tensor]],
                   batches: Sequence[int] = PARITY_BATCHES) -> float:
    """Largest |Δ| over every output (every tap) of forward, on inputs of each batch size."""
    worst = 0.0
    with torch.no_grad():
        for b in batches:
            args = make_input(b)
            want, got = _as_tuple(portable(*args)), _as_tuple(optimized(*args))
            if len(want) != len(got):
                raise OptimizeError(f"optimised module returns {len(got)} outputs, portable {len(want)}")
            for i, (w, g) in enumerate(zip(want, got, strict=True)):
                if w.shape != g.shape:
                    raise OptimizeError(f"batch {b} output {i}: shape {tuple(g.shape)} != {tuple(w.shape)}")
                worst = max(worst, float((w - g).abs().max()))
    return worst


def write_cpu_copy(module: torch.jit.ScriptModule, out: Path, portable_name: str,
                   make_input: Callable[[int], Sequence[torch.Tensor]], channels_last: bool = False,
                   log=print) -> tuple[str, float]:
    """Freeze `module`, save it beside the portable file, reload the saved copy and check it; returns (name, max|Δ|).

    Raises OptimizeError (and leaves no file) when the reloaded copy diverges by more than PARITY_TOLERANCE.
    """
    name = cpu_file_name(portable_name)
    path = Path(out) / name
    tmp = path.with_name(path.name + ".tmp")
    freeze_for_cpu(module, channels_last).save(str(tmp))
    try:
        worst = max_divergence(module, torch.jit.load(str(tmp), map_location="cpu").eval(), make_input)
        if worst > PARITY_TOLERANCE:
            raise OptimizeError(f"{name}: optimised copy differs from {portable_name} by {worst:.2e} "
                                f"(tolerance {PARITY_TOLERANCE})")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    log(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB; frozen{', channels-last' if channels_last else ''}; "
        f"max|diff| vs {portable_name} = {worst:.2e} at batch {'/'.join(map(str, PARITY_BATCHES))})")
    return name, worst


def manifest_entry(channels_last: bool, modules: Sequence[str]) -> dict:
    """The manifest's "optimized" field: what the *_cpu files are and what made them."""
    return {"cpu": {"method": METHOD, "channels_last": channels_last, "modules": list(modules),
                    "torch": torch.__version__.split("+")[0], "max_abs_diff_tolerance": PARITY_TOLERANCE}}


def image_input(size: int, seed: int = 0) -> Callable[[int], tuple[torch.Tensor]]:
    """Deterministic normalised-image-like inputs for the parity check."""
    def make(b: int) -> tuple[torch.Tensor]:
        g = torch.Generator().manual_seed(seed + b)
        return (torch.randn(b, 3, size, size, generator=g),)
    return make
