"""The CPU-optimised copy (vision.cpu.pt): listed in the manifest, numerically the portable module, refused when not."""
from __future__ import annotations

import json

import pytest
import torch

from inctrl_export import optimize
from inctrl_export.reference import IMAGE_SIZE


def _outputs(module, x):
    out = module(x)
    return out if isinstance(out, tuple) else (out,)


def test_manifest_lists_cpu_copy(tiny_bundle):
    m = json.loads((tiny_bundle / "manifest.json").read_text())
    assert m["files"]["vision_cpu"] == "vision.cpu.pt" and (tiny_bundle / "vision.cpu.pt").is_file()
    assert m["optimized"]["cpu"]["method"] == "torch.jit.freeze"
    assert m["optimized"]["cpu"]["modules"] == ["vision"]
    assert m["optimized"]["cpu"]["torch"] == torch.__version__.split("+")[0]


@pytest.mark.parametrize("batch", [1, 3, 8])
def test_cpu_copy_matches_portable_on_every_output(tiny_bundle, batch):
    portable = torch.jit.load(str(tiny_bundle / "vision.pt")).eval()
    frozen = torch.jit.load(str(tiny_bundle / "vision.cpu.pt")).eval()
    x = torch.randn(batch, 3, IMAGE_SIZE, IMAGE_SIZE, generator=torch.Generator().manual_seed(batch + 100))
    want, got = _outputs(portable, x), _outputs(frozen, x)
    assert len(want) == len(got) == 4  # g and the three taps
    for w, g in zip(want, got, strict=True):
        assert w.shape == g.shape
        assert float((w - g).abs().max()) <= optimize.PARITY_TOLERANCE


def test_cpu_copy_is_frozen(tiny_bundle):
    frozen = torch.jit.load(str(tiny_bundle / "vision.cpu.pt"))
    assert not list(frozen.named_parameters()), "weights should be inlined constants"
    assert list(torch.jit.load(str(tiny_bundle / "vision.pt")).named_parameters())


class _Skewed(torch.nn.Module):
    """A copy that drifts by 1e-3 on one tap: what the export must refuse."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor):
        g, a, b, c = self.inner(x)
        return g, a, b + 1e-3, c


def test_diverging_copy_fails_the_export(tiny_bundle, tmp_path, monkeypatch):
    portable = torch.jit.load(str(tiny_bundle / "vision.pt")).eval()
    monkeypatch.setattr(optimize, "freeze_for_cpu", lambda m, cl=False: torch.jit.script(_Skewed(m)))
    with pytest.raises(optimize.OptimizeError, match="differs"):
        optimize.write_cpu_copy(portable, tmp_path, "vision.pt", optimize.image_input(IMAGE_SIZE))
    assert not list(tmp_path.iterdir()), "no file may be left behind"


def test_no_optimize_writes_portable_files_only(tmp_path):
    from inctrl_export.cli import main

    assert main(["--tiny", "--random-init", "--seed", "5", "--no-optimize", "--out", str(tmp_path)]) == 0
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert "vision_cpu" not in m["files"] and "optimized" not in m
    assert not (tmp_path / "vision.cpu.pt").exists()
