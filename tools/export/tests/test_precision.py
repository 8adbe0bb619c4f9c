"""Precision variants (inctrl_export.precision): fp32 in and out, no autocast, measured bounds, the AUROC gate."""
import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch

from inctrl_export import precision as P
from inctrl_export import precision_eval

REPO = Path(__file__).resolve().parents[3]
DEFAULT_BUNDLE = REPO / "models" / "nsfwjs-inception-v3"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _copy(bundle: Path, tmp_path: Path) -> Path:
    out = tmp_path / bundle.name
    shutil.copytree(bundle, out)
    return out


def _graph_text(module) -> str:
    parts = [str(module.graph)]
    for _, sub in module.named_modules():
        try:
            parts.append(str(sub.graph))
        except (AttributeError, RuntimeError):  # a scripted submodule without forward has no graph
            continue
    return "\n".join(parts)


def test_nice_ceil_rounds_up_to_1_2_5():
    assert P.nice_ceil(0.0012) == 0.002
    assert P.nice_ceil(0.002) == 0.002
    assert P.nice_ceil(0.0031) == 0.005
    assert P.nice_ceil(0.0072) == 0.01
    assert P.nice_ceil(0.0) == 0.0


def test_bf16_variant_of_the_tiny_inctrl_bundle(tiny_bundle, tmp_path):
    b = _copy(tiny_bundle, tmp_path)
    before = {f: _sha(b / f) for f in ("vision.pt", "vision.cpu.pt", "text.pt")}
    m = P.write_variants(b, ["bf16"], None)  # the fixture cases only
    v = m["variants"]["bf16"]
    assert set(v["files"]) == {"vision", "text"}  # ViT: portable files, serving CPUs and GPUs
    assert {f: _sha(b / f) for f in before} == before  # fp32 files untouched
    assert json.loads((b / "manifest.json").read_text())["variants"]["bf16"] == v
    vision = torch.jit.load(str(b / v["files"]["vision"])).eval()
    ref = torch.jit.load(str(b / "vision.pt")).eval()
    assert "autocast" not in _graph_text(vision)
    x = torch.randn(3, 3, 240, 240, generator=torch.Generator().manual_seed(1))
    got, want = vision(x), ref(x)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == torch.float32 and g.shape == w.shape
    assert 1e-4 < float((got[1] - want[1]).abs().max()) < 0.1  # really bf16, and close
    assert torch.allclose(got[1].norm(dim=-1), torch.ones(3, 225), atol=1e-5)  # taps re-normalised in fp32
    ids = torch.tensor([[49406, 320, 1125, 49407] + [0] * 73] * 2)
    t = torch.jit.load(str(b / v["files"]["text"])).eval()(ids)
    assert t.dtype == torch.float32 and t.shape == (2, 64)
    for k in ("score", "s_p", "s_i", "s_a", "s_h", "map"):
        assert v["parity_bound"][k] >= max(v["max_abs_diff"][k], v["batched_max_abs_diff"][k], 1e-4)
    assert "fixture cases" in v["image_set"] and v["cases"] == 9


def test_int8_for_a_vit_bundle_needs_its_flag(tiny_bundle, tmp_path):
    b = _copy(tiny_bundle, tmp_path)
    with pytest.raises(P.PrecisionError, match="slower and less accurate than bf16"):
        P.write_variants(b, ["int8"], None)
    assert "variants" not in json.loads((b / "manifest.json").read_text())


@pytest.fixture(scope="module")
def residual_heads_bundle(tmp_path_factory, data_dir):
    from inctrl_export.cli import main
    out = tmp_path_factory.mktemp("rh") / "rh"
    assert main(["--kind", "residual-heads", "--tiny", "--random-init", "--seed", "3", "--no-optimize",
                 "--out", str(out), "--fixtures-data", str(data_dir)]) == 0
    return out


def test_int8_and_bf16_of_an_inception_bundle(residual_heads_bundle, tmp_path, data_dir):
    b = _copy(residual_heads_bundle, tmp_path)
    m = P.write_variants(b, ["bf16", "int8"], None, calibration_dir=data_dir, calibration_count=8)
    v8, v16 = m["variants"]["int8"], m["variants"]["bf16"]
    assert v8["files"] == {"vision_cpu": "vision.int8.cpu.pt"}  # quantized kernels: CPU only
    assert v16["files"] == {"vision_cpu": "vision.bf16.cpu.pt"}
    assert set(v8["cpu_flags_any"]) >= {"avx512_vnni", "avx_vnni"}
    assert "8 normal images" in v8["calibration"]
    q = torch.jit.load(str(b / v8["files"]["vision_cpu"])).eval()
    assert "quantized::" in _graph_text(q)
    size = m["image"]["size"]
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(2))
    out = q(x)
    ref = torch.jit.load(str(b / "vision.pt")).eval()(x)
    assert len(out) == len(ref) == 3  # g, tap Mixed_6b, tap Mixed_6c
    for o, r in zip(out, ref, strict=True):
        assert o.dtype == torch.float32 and o.shape == r.shape
    for tap in out[1:]:
        assert torch.allclose(tap.norm(dim=-1), torch.ones(tap.shape[:2]), atol=1e-4)
    # static activation ranges: a query's result does not depend on the other images in its batch
    assert v8["batched_max_abs_diff"]["score"] <= 1e-6
    for k in ("score", "s_p", "s_i", "s_h", "map"):
        assert v8["parity_bound"][k] >= v8["max_abs_diff"][k]
    assert "s_a" not in v8["max_abs_diff"]


def test_int8_of_an_inception_bundle_needs_calibration(residual_heads_bundle, tmp_path):
    with pytest.raises(P.PrecisionError, match="--calibration"):
        P.write_variants(_copy(residual_heads_bundle, tmp_path), ["int8"], None)


def test_default_bundle_lists_its_variants_with_files_and_bounds():
    m = json.loads((DEFAULT_BUNDLE / "manifest.json").read_text())
    assert set(m["variants"]) == {"bf16", "int8"}
    for name, v in m["variants"].items():
        for f in v["files"].values():
            assert (DEFAULT_BUNDLE / f).is_file(), f
        for k in ("score", "s_p", "map"):
            assert v["parity_bound"][k] >= v["max_abs_diff"][k] > 0, (name, k)


def test_default_bundle_auroc_at_every_precision_within_0_005_of_fp32(data_dir, capsys):
    """The variants' quality gate: mean image AUROC over the categories of shared/data at K = 2, 4, 8."""
    means, failures = precision_eval.compare(DEFAULT_BUNDLE, data_dir, [2, 4, 8], ["bf16", "int8"], threads=2,
                                             max_change=0.005)
    print(capsys.readouterr().out)
    assert not failures, failures
    assert set(means) == {"fp32", "bf16", "int8"}
