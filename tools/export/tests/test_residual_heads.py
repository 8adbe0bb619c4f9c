"""Kind "residual-heads": exported TorchScript vs the plain reference (fixtures), batch independence, manifest."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from inctrl_export import residual_heads as rh

TOL = 1e-4
PARITY_DIR = Path(__file__).resolve().parents[1] / "nsfwjs_parity"


def _load(bundle: Path) -> dict:
    m = json.loads((bundle / "manifest.json").read_text())
    return {k: torch.jit.load(str(bundle / f)).eval() for k, f in m["files"].items()}


def _npz(bundle: Path, rel: str) -> dict:
    with np.load(bundle / "fixtures" / rel) as z:
        return {k: torch.from_numpy(z[k]) for k in z.files}


def _score_scripted(mods: dict, q: tuple, shots: list[tuple]) -> dict:
    """Scoring as the server does it: matmul + row-wise max of cosine over the pooled shot bank, heads batched."""
    per_tap = []
    for i in range(len(q[1])):
        bank = torch.cat([s[1][i] for s in shots])
        per_tap.append(0.5 * (1.0 - (q[1][i] @ bank.T).max(dim=1).values))
    M = torch.stack(per_tap).mean(0)
    s_p = M.max()
    proto = mods["adapter"](torch.stack([s[0] for s in shots])).mean(0)
    psi_x = mods["adapter"](q[0][None])[0]
    s_i = mods["image_head"]((proto - psi_x)[None])[0]
    s_h = mods["holistic_head"]((M + s_i)[None])[0]
    return {"M": M, "s_p": s_p, "proto": proto, "psi_x": psi_x, "s_i": s_i, "s_h": s_h, "score": (s_h + s_p) / 2}


@pytest.fixture(scope="module")
def tiny_rh(tmp_path_factory, data_dir) -> Path:
    from inctrl_export.cli import main
    out = tmp_path_factory.mktemp("rh_tiny")
    assert main(["--kind", "residual-heads", "--tiny", "--random-init", "--seed", "3", "--out", str(out),
                 "--fixtures-data", str(data_dir)]) == 0
    return out


def test_manifest_contract(tiny_rh):
    m = json.loads((tiny_rh / "manifest.json").read_text())
    assert m["kind"] == "residual-heads" and m["format_version"] == 1
    assert set(m["files"]) == {"vision", "adapter", "image_head", "holistic_head", "vision_cpu"}
    v = m["vision"]
    assert v["global"] == {"layer": "Mixed_6c", "pool": "avg"} and v["normalized"] is True
    assert v["tapped_layers"] == ["Mixed_6b", "Mixed_6c"] and v["tapped_blocks"] == [5, 6]
    assert v["embed_dim"] == 768 and v["width"] == 768 and v["grid"] == [7, 7]
    assert m["weights"]["source"] == "random-init" and m["weights"]["seed"] == 3
    assert "meaningless" in m["weights"]["description"]
    assert "random" in (tiny_rh / "LICENSE").read_text()
    from inctrl_export import checksums
    assert checksums.verify(tiny_rh) == []  # SHA256SUMS written last, fixtures/ included
    assert any(rel.startswith("fixtures/") for rel in checksums.parse((tiny_rh / "SHA256SUMS").read_text()))


def test_fixture_parity_every_intermediate(tiny_rh):
    mods = _load(tiny_rh)
    fx = json.loads((tiny_rh / "fixtures" / "fixtures.json").read_text())
    assert fx["prompts"] == [] and {len(c["shots"]) for c in fx["cases"]} == {2, 8}
    feats = {}
    for e in fx["images"]:
        a = _npz(tiny_rh, e["file"])
        for key in ("vision", "vision_cpu"):
            out = mods[key](a["pixels"][None])
            assert len(out) == 3  # g + 2 taps
            assert torch.allclose(out[0][0], a["g"], atol=TOL, rtol=TOL), (e["path"], key, "g")
            for j, t in enumerate(out[1:]):
                assert (t[0] - a[f"tap{j}"]).abs().max() <= TOL, (e["path"], key, j)
                assert torch.allclose(t[0].norm(dim=-1), torch.ones(t.shape[1]), atol=1e-5)
        assert (mods["adapter"](a["g"][None])[0] - a["psi"]).abs().max() <= TOL * max(1.0, a["psi"].abs().max())
        out = mods["vision"](a["pixels"][None])
        feats[e["path"]] = (out[0][0], [t[0] for t in out[1:]])
    for c in fx["cases"]:
        want = _npz(tiny_rh, c["file"])
        assert "s_a" not in want
        got = _score_scripted(mods, feats[c["query"]], [feats[s] for s in c["shots"]])
        for k, v in got.items():
            scale = max(1.0, float(want[k].abs().max()))
            assert (v.reshape(-1) - want[k].reshape(-1)).abs().max() <= TOL * scale, (c["name"], k)
        assert 0.0 < float(got["score"]) < 1.0


def test_batched_equals_one_by_one(tiny_rh):
    mods = _load(tiny_rh)
    torch.manual_seed(0)
    x = torch.randn(3, 3, 139, 139)
    for key in ("vision", "vision_cpu"):
        batched = mods[key](x)
        for i in range(3):
            single = mods[key](x[i:i + 1])
            for b, s in zip(batched, single, strict=True):
                assert (b[i] - s[0]).abs().max() <= 1e-5
    g = torch.randn(5, 768) * 3
    for key, inp in (("adapter", g), ("image_head", g), ("holistic_head", torch.rand(5, 49))):
        b = mods[key](inp)
        assert b.shape[0] == 5
        for i in range(5):
            assert (b[i] - mods[key](inp[i:i + 1])[0]).abs().max() <= 1e-5


def test_reference_detects_wrong_pairing(tiny_rh):
    """The reference is sensitive to what it checks: swapping query and prototype sign changes s_i."""
    bb = rh.load_backbone(None, rh.TINY_LAYERS, tiny=True, seed=3)
    heads = rh.random_heads(bb.embed_dim, 49, 3)
    torch.manual_seed(1)
    px = [torch.randn(3, 139, 139) for _ in range(3)]
    f = [rh.reference_features(bb, p) for p in px]
    r = rh.reference_score(heads, f[0], f[1:])
    flipped = heads.diff_head_ref((-r["r"])[None])[0, 0]
    assert abs(float(flipped) - float(r["s_i"])) > 1e-4
    self_shot = rh.reference_score(heads, f[0], [f[0]])
    assert float(self_shot["s_p"]) < 1e-5  # query as its own shot: M ~ 0


def test_global_max_pool_and_single_tap(tmp_path, data_dir):
    from inctrl_export.cli import main
    assert main(["--kind", "residual-heads", "--tiny", "--random-init", "--seed", "4", "--layers", "Mixed_6b",
                 "--global-layer", "Mixed_6b", "--global-pool", "max", "--no-optimize", "--out", str(tmp_path)]) == 0
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["vision"]["global"] == {"layer": "Mixed_6b", "pool": "max"} and "vision_cpu" not in m["files"]
    vis = torch.jit.load(str(tmp_path / "vision.pt"))
    x = torch.randn(1, 3, 139, 139)
    g, tap = vis(x)
    raw = rh.load_backbone(None, ["Mixed_6b"], "Mixed_6b", "max", tiny=True, seed=4).trunk.forward_all(x)["Mixed_6b"]
    assert torch.allclose(g, raw.amax(dim=(2, 3)), atol=1e-5)


def test_rejects_fine_tuned_layers_and_bad_args(tmp_path):
    from inctrl_export.cli import main
    with pytest.raises(SystemExit):
        main(["--kind", "residual-heads", "--tiny", "--random-init", "--global-pool", "sum", "--out", str(tmp_path)])
    assert main(["--kind", "residual-heads", "--tiny", "--random-init", "--global-layer", "Mixed_6d",
                 "--out", str(tmp_path)]) == 2
    assert main(["--kind", "residual-heads", "--random-init", "--out", str(tmp_path)]) == 2  # no source, not tiny
    assert not (tmp_path / "manifest.json").exists()


def test_trained_heads_roundtrip(tmp_path):
    """--heads: a saved state dict is loaded strictly and exported as source 'trained' with its metadata."""
    from inctrl_export.cli import main
    heads = rh.random_heads(768, 49, 11)
    torch.save(heads.state_dict(), tmp_path / "heads.pt")
    (tmp_path / "heads.json").write_text(json.dumps({"seed": 11, "description": "test heads trained on nothing",
                                                     "training": {"data": "none"}}))
    out = tmp_path / "b"
    assert main(["--kind", "residual-heads", "--tiny", "--heads", str(tmp_path / "heads.pt"), "--no-optimize",
                 "--out", str(out)]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["weights"]["source"] == "trained" and m["weights"]["provenance"]["training"] == {"data": "none"}
    assert m["weights"]["heads_sha256"] == rh.heads_digest(heads)
    eta = torch.jit.load(str(out / "image_head.pt"))
    x = torch.randn(4, 768)
    assert torch.allclose(eta(x), heads.eval().diff_head_ref(x)[:, 0], atol=1e-5)
    bad = rh.random_heads(64, 49, 1)
    torch.save(bad.state_dict(), tmp_path / "bad.pt")
    assert main(["--kind", "residual-heads", "--tiny", "--heads", str(tmp_path / "bad.pt"), "--no-optimize",
                 "--out", str(tmp_path / "c")]) != 0


def _nsfwjs_source():
    for p in (PARITY_DIR / "node_modules" / "nsfwjs", Path("/tmp/optimize/nsfwjs-4.4.0.tgz")):
        if (p / "dist/models/inception_v3/model.min.js").exists() or p.is_file():
            return p
    return None


@pytest.mark.slow
def test_real_trunk_export(tmp_path, data_dir):
    src = _nsfwjs_source()
    if src is None:
        pytest.skip(f"nsfwjs not installed (cd {PARITY_DIR} && npm ci)")
    from inctrl_export.cli import main
    assert main(["--kind", "residual-heads", "--from-nsfwjs", str(src), "--random-init", "--seed", "2",
                 "--no-optimize", "--out", str(tmp_path)]) == 0
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["image"]["size"] == 299 and m["vision"]["grid"] == [17, 17] and m["vision"]["embed_dim"] == 768
    assert m["weights"]["provenance"]["package"] == "nsfwjs@4.4.0"
    assert "MIT" in (tmp_path / "LICENSE").read_text()
