"""inctrl_train: loss, episode pairing, a small seeded end-to-end training run, export and evaluation."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from inctrl_export.model import InCTRLHeads
from inctrl_train import train as T
from inctrl_train.data import read_manifest, split, split_by_category, synthetic_records


def test_focal_loss_values():
    p = torch.tensor([0.9, 0.2, 0.6])
    y = torch.tensor([1.0, 0.0, 0.0])
    want = -np.mean([(0.1 ** 2) * np.log(0.9), (0.2 ** 2) * np.log(0.8), (0.6 ** 2) * np.log(0.4)])
    assert abs(float(T.focal_loss(p, y, 2.0)) - want) < 1e-6
    # gamma 0 is plain BCE on probabilities
    bce = torch.nn.functional.binary_cross_entropy(p, y)
    assert abs(float(T.focal_loss(p, y, 0.0)) - float(bce)) < 1e-6
    # the official quirk squashes probabilities again: a different (much flatter) loss
    q = torch.sigmoid(p).numpy()
    quirk = -np.mean([(1 - q[0]) ** 2 * np.log(q[0]), q[1] ** 2 * np.log(1 - q[1]), q[2] ** 2 * np.log(1 - q[2])])
    assert abs(float(T.focal_loss(p, y, 2.0, official=True)) - float(quirk)) < 1e-6


def _random_batch(B=16, K=2, Tn=1, P=9, C=8, D=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    unit = lambda *s: torch.nn.functional.normalize(torch.randn(*s, generator=g), dim=-1)  # noqa: E731
    return unit(B, Tn, P, C), torch.randn(B, D, generator=g), unit(B, K, Tn, P, C), torch.randn(B, K, D, generator=g)


def test_correct_pairing_is_per_query_and_official_is_scrambled():
    torch.manual_seed(0)
    heads = InCTRLHeads(12, 9).eval()
    q_taps, q_g, s_taps, s_g = _random_batch()
    out = T.forward_episodes(heads, q_taps, q_g, s_taps, s_g)
    # per query, alone: identical (batch independence of the correct pairing)
    for b in (0, 5, 13):
        one = T.forward_episodes(heads, q_taps[b:b + 1], q_g[b:b + 1], s_taps[b:b + 1], s_g[b:b + 1])
        assert torch.allclose(one["final"][0], out["final"][b], atol=1e-6)
        bank = s_taps[b, :, 0].reshape(-1, 8)
        M = 0.5 * (1 - (q_taps[b, 0] @ bank.T).max(dim=1).values)
        assert torch.allclose(M, out["M"][b], atol=1e-6)
    off = T.forward_episodes(heads, q_taps, q_g, s_taps, s_g, official_pairing=True)
    assert not torch.allclose(off["s_i"], out["s_i"])
    # spec §9 at b=16, K=2: query r's prototype = prompt #0 (r<8) / #1 (r>=8) of queries 2r mod 16 and 2r+1 mod 16
    for r in (0, 3, 9, 15):
        k = 0 if r < 8 else 1
        shots = torch.stack([s_g[(2 * r) % 16, k], s_g[(2 * r + 1) % 16, k]])
        proto = heads.adapter(shots).mean(0)
        s_i = heads.diff_head_ref((proto - heads.adapter(q_g[r:r + 1])[0])[None])[0, 0]
        assert torch.allclose(s_i, off["s_i"][r], atol=1e-6)


def test_episodes_same_category_never_self(train_dir):
    recs = read_manifest(train_dir, ["deeppcb", "battery_weld"])
    recs = [r for i, r in enumerate(recs) if i % 10 == 0]
    fs = T.FeatureSet.__new__(T.FeatureSet)
    fs.records, fs.s_a = recs, None
    ep = T.Episodes(fs, np.random.default_rng(0))
    for q in range(len(recs)):
        for p in ep.prompts(q, 4):
            assert recs[p].category == recs[q].category and recs[p].label == 0 and p != q
    b = ep.batch(16)
    assert sum(recs[i].label for i in b) == 8


def test_split_and_synthetic_are_seeded(train_dir):
    recs = read_manifest(train_dir, ["deeppcb"])
    a, b = split(recs, 0.2, 3), split(recs, 0.2, 3)
    assert a == b and not set(x.path for x in a[0]) & set(x.path for x in a[1])
    assert len(a[1]) == 120
    syn = synthetic_records([r for r in a[0] if r.label == 0][:3], 2)
    assert len(syn) == 6 and all(s.label == 1 and s.synthetic for s in syn)


@pytest.fixture(scope="module")
def small_run(train_dir, tmp_path_factory):
    """Seeded small run on the tiny random InceptionV3 trunk: 40+40 deeppcb images, half held out."""
    cache = tmp_path_factory.mktemp("cache")
    cfg = T.Config(tiny=True, data=str(train_dir), datasets=["deeppcb"], limit=40, val_frac=0.5, synthetic=1,
                   steps=150, val_every=50, seed=0, cache=str(cache), shots=[2, 4])
    ext, tr, va = T.prepare(cfg)
    heads, hist = T.train_heads(cfg, tr, va, progress=lambda m: None)
    return cfg, ext, tr, va, heads, hist


def test_training_beats_random_init(small_run):
    cfg, ext, tr, va, heads, hist = small_run
    init, last = hist["val"][0], hist["val"][-1]
    assert last["step"] == cfg.steps
    # the last step itself (not the selected checkpoint, which is >= init by construction) must beat the init
    assert last["mean_final_auroc"] > init["mean_final_auroc"] + 0.03, (init["mean_final_auroc"],
                                                                       last["mean_final_auroc"])
    assert hist["loss"][-1]["loss"] < hist["loss"][0]["loss"] - 0.05
    assert hist["selected_val_auroc"] >= last["mean_final_auroc"]


def test_training_is_deterministic(small_run):
    cfg, ext, tr, va, heads, hist = small_run
    short = replace(cfg, steps=20, val_every=20)
    h1, _ = T.train_heads(short, tr, va, progress=lambda m: None)
    h2, _ = T.train_heads(short, tr, va, progress=lambda m: None)
    for k, v in h1.state_dict().items():
        assert torch.equal(v, h2.state_dict()[k]), k
    h3, _ = T.train_heads(replace(short, seed=1), tr, va, progress=lambda m: None)
    assert not torch.equal(h1.adapter.fc[0].weight, h3.adapter.fc[0].weight)


def test_export_and_evaluate_match_python(small_run, tmp_path):
    from inctrl_train.evaluate import BundleScorer
    cfg, ext, tr, va, heads, hist = small_run
    out = tmp_path / "bundle"
    m = T.export(cfg, ext, heads, hist, out, optimize=False)
    assert m["kind"] == "residual-heads" and m["weights"]["source"] == "trained"
    assert m["weights"]["provenance"]["training"]["datasets"] == ["deeppcb"]
    assert "meaningless" in m["weights"]["description"]  # tiny = random trunk
    rep = json.loads((out / "report.json").read_text())
    assert rep["history"]["selected_step"] == hist["selected_step"] and (out / "report.md").exists()
    assert "deeppcb" in (out / "LICENSE").read_text()
    # the bundle's TorchScript gives the python training forward's scores on real images
    sc = BundleScorer(out)
    root = Path(cfg.data)
    q, shots = va.records[0], [r for r in tr.records if r.label == 0 and not r.synthetic][:2]
    got = sc.score(root / q.path, [root / s.path for s in shots])
    idx = [tr.records.index(s) for s in shots]
    want = T.forward_episodes(heads.eval(), va.taps[[0]], va.g[[0]], tr.taps[idx][None], tr.g[idx][None])
    assert abs(got["final"] - float(want["final"][0])) < 2e-3  # fp16 feature cache vs fp32 TorchScript
    assert abs(got["s_p"] - float(want["s_p"][0])) < 2e-3


def test_clip_kind_end_to_end(train_dir, tmp_path):
    """The CLIP InCTRL path (kind inctrl) with the tiny random CLIP: trains, exports a loadable bundle."""
    cfg = T.Config(backbone="clip", tiny=True, data=str(train_dir), datasets=["deeppcb"], limit=6, val_frac=0.5,
                   steps=6, val_every=3, seed=0, cache=str(tmp_path / "cache"), shots=[2])
    ext, tr, va = T.prepare(cfg)
    assert tr.s_a is not None and tr.taps.shape[1:] == (3, 225, 64)
    heads, hist = T.train_heads(cfg, tr, va, progress=lambda m: None)
    m = T.export(cfg, ext, heads, hist, tmp_path / "b", optimize=False)
    assert m["kind"] == "inctrl" and m["weights"]["source"] == "random-init"
    eta = torch.jit.load(str(tmp_path / "b" / "image_head.pt"))
    x = torch.randn(3, 64)
    assert torch.allclose(eta(x), heads.eval().diff_head_ref(x)[:, 0], atol=1e-5)


def test_held_out_categories_validate_on_their_own_normals(train_dir, tmp_path):
    """--val-categories: the named categories never train; their queries are prompted by their own other normals."""
    recs = read_manifest(train_dir, ["deeppcb", "brick_crack"])
    tr, va = split_by_category(recs, ["brick_wall"])
    assert {r.category for r in va} == {"brick_wall"} and "brick_wall" not in {r.category for r in tr}
    with pytest.raises(SystemExit):
        split_by_category(recs, ["no_such_category"])
    with pytest.raises(SystemExit):
        split_by_category(recs, ["pcb", "brick_wall"])
    cfg = T.Config(tiny=True, data=str(train_dir), datasets=["deeppcb"], val_categories=["brick_crack"], limit=8,
                   steps=4, val_every=2, seed=0, cache=str(tmp_path / "cache"), shots=[2])
    ext, tr, va = T.prepare(cfg)
    assert {r.category for r in va.records} == {"brick_wall"} and {r.category for r in tr.records} == {"pcb"}
    pool = T.val_prompt_pool(cfg, tr, va)
    (k, queries, prompts), = T.fixed_val_episodes(va, pool, cfg.shots, cfg.seed)
    for q, ps in zip(queries, prompts, strict=True):
        assert len(ps) == 2 and q not in ps
        assert all(pool.records[p].category == "brick_wall" and pool.records[p].label == 0 for p in ps)
    heads, hist = T.train_heads(cfg, tr, va, progress=lambda m: None)
    assert set(hist["val"][-1]["k2"]) == {"brick_wall", "_mean"}
