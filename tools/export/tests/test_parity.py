"""Exported TorchScript vs the plain-Python reference, batch semantics, fixtures and manifest layout."""
import json

import numpy as np
import pytest
import torch

from conftest import load_scripted
from inctrl_export import reference as ref
from inctrl_export.verify import serving_case, verify_bundle

TOL = 1e-5


@pytest.fixture(scope="module")
def mods(tiny_bundle):
    return load_scripted(tiny_bundle)


@pytest.fixture(scope="module")
def doc(tiny_bundle):
    return json.loads((tiny_bundle / "fixtures" / "fixtures.json").read_text())


def _npz(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def test_manifest(tiny_bundle):
    m = json.loads((tiny_bundle / "manifest.json").read_text())
    assert m["format_version"] == 1 and m["kind"] == "inctrl" and m["variant"] == "tiny"
    assert m["bundle_id"] == "inctrl-tiny-random-seed5"
    assert m["vision"] == {"embed_dim": 64, "width": 64, "grid": [15, 15], "tapped_blocks": [7, 9, 11]}
    assert m["text"] == {"context_length": 77, "vocab_size": 49408, "sot_token": 49406, "eot_token": 49407,
                         "temperature": 100.0}
    assert m["weights"]["source"] == "random-init" and m["weights"]["seed"] == 5
    assert m["weights"]["checkpoint_sha256"] is None
    for f in m["files"].values():
        assert (tiny_bundle / f).is_file()
    assert m["image"]["size"] == 240


def test_random_init_is_deterministic():
    from inctrl_export.model import make_random_model, official_state_dict

    a = official_state_dict(make_random_model("tiny", 7))
    b = official_state_dict(make_random_model("tiny", 7))
    c = official_state_dict(make_random_model("tiny", 8))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["visual.conv1.weight"], c["visual.conv1.weight"])
    assert a["diff_head.bn2.running_var"].std() > 0.05 and a["diff_head_ref.bn3.running_mean"].abs().max() > 0.05


def test_fixture_layout(tiny_bundle, doc, data_dir):
    fx = tiny_bundle / "fixtures"
    assert doc["bundle_id"] == "inctrl-tiny-random-seed5"
    assert 12 <= len(doc["images"]) <= 20
    for e in doc["images"]:
        assert (data_dir / e["path"]).is_file()
        z = _npz(fx / e["file"])
        assert z["pixels"].shape == (3, 240, 240) and z["g"].shape == (64,)
        for i in range(3):
            t = z[f"tap{i}"]
            assert t.shape == (225, 64) and t.dtype == np.float32
            np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5)
    cats = {c["category"] for c in doc["cases"]}
    assert {"bird", "Metal_Nut"} <= cats and len(cats) >= 5
    assert {1, 2, 4, 8} <= {len(c["shots"]) for c in doc["cases"]}
    for c in doc["cases"]:
        z = _npz(fx / c["file"])
        assert z["M"].shape == (225,)
        for k in ("s_p", "s_i", "s_a", "s_h", "score"):
            assert z[k].shape == (1,) and z[k].dtype == np.float32
        assert z["M"].min() >= -1e-6 and z["M"].max() <= 1.0
        assert z["s_p"][0] == pytest.approx(z["M"].max(), abs=1e-7)
        assert z["score"][0] == pytest.approx((z["s_h"][0] + z["s_p"][0]) / 2, abs=1e-6)
        assert 0 < z["score"][0] < 1
        if c["shots"] == [c["query"]]:
            assert z["M"].max() < 1e-5  # query as its own single prompt
    for p in doc["prompts"]:
        z = _npz(fx / p["file"])
        n = (1, 1) if p["category"] == "bird" else (154, 88)
        assert (len(p["normal"]), len(p["anomalous"])) == n
        assert z["ids"].shape == (sum(n), 77) and z["ids"].dtype == np.int64
        np.testing.assert_allclose([np.linalg.norm(z["t_n"]), np.linalg.norm(z["t_a"])], 1.0, atol=1e-6)
    metal = next(p for p in doc["prompts"] if p["category"] == "Metal_Nut")
    assert metal["normal"][0] == "a cropped photo of the Metal Nut."


def test_scripted_matches_reference_on_real_images(mods, tiny_model, data_dir, doc):
    """Independent recomputation (not the stored fixtures) on real images, full chain to the score."""
    case = next(c for c in doc["cases"] if len(c["shots"]) == 2 and c["category"] not in ("bird", "Metal_Nut"))
    paths = [case["query"], *case["shots"]]
    feats_ref, feats_ts = {}, {}
    for p in paths:
        px = ref.preprocess(data_dir / p)
        f = ref.image_features(tiny_model, px)
        g, t0, t1, t2 = mods["vision"](px.unsqueeze(0))
        torch.testing.assert_close(g[0], f.g, atol=TOL, rtol=0)
        for t, r in zip((t0, t1, t2), f.taps, strict=True):
            torch.testing.assert_close(t[0], ref.unit(r), atol=TOL, rtol=0)
        feats_ref[p], feats_ts[p] = f, ([t0[0], t1[0], t2[0]], g[0])
    ids, t_n, t_a = ref.text_embeddings(tiny_model, case["category"])
    e = mods["text"](ids)
    e = e / e.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(ref.unit(e[:154].mean(0)), t_n, atol=TOL, rtol=0)
    torch.testing.assert_close(ref.unit(e[154:].mean(0)), t_a, atol=TOL, rtol=0)
    want = ref.score_case(tiny_model, feats_ref[paths[0]], [feats_ref[p] for p in paths[1:]], t_n, t_a)
    q = feats_ts[paths[0]]
    got = serving_case(mods, q[0], q[1], [feats_ts[p] for p in paths[1:]], t_n, t_a)
    for k, v in got.items():
        torch.testing.assert_close(v, getattr(want, k), atol=TOL, rtol=0, msg=k)


def test_all_fixtures_reproduced_by_bundle(tiny_bundle):
    assert verify_bundle(tiny_bundle, text_categories=5) <= TOL


def test_batch_equals_single(mods, tiny_bundle, doc):
    fx = tiny_bundle / "fixtures"
    px = torch.stack([torch.from_numpy(_npz(fx / e["file"])["pixels"]) for e in doc["images"][:4]])
    batched = mods["vision"](px)
    for b in range(px.shape[0]):
        single = mods["vision"](px[b:b + 1])
        for x, y in zip(batched, single, strict=True):
            torch.testing.assert_close(x[b], y[0], atol=TOL, rtol=0)
    ids = torch.from_numpy(_npz(fx / "prompts" / "mono.npz")["ids"][:5])
    te = mods["text"](ids)
    for b in range(5):
        torch.testing.assert_close(te[b], mods["text"](ids[b:b + 1])[0], atol=TOL, rtol=0)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(6, 64, generator=gen)
    m = torch.rand(6, 225, generator=gen)
    for name, inp in (("adapter", x), ("image_head", x), ("holistic_head", m)):
        out = mods[name](inp)
        assert out.shape[0] == 6 and (out.dim() == 1) == (name != "adapter")
        for b in range(6):
            torch.testing.assert_close(out[b], mods[name](inp[b:b + 1])[0], atol=1e-6, rtol=0)


def test_shorter_token_sequences_are_equivalent(mods, tiny_bundle):
    """Causal mask: dropping trailing padding must not change the EOT embedding."""
    ids = torch.from_numpy(_npz(tiny_bundle / "fixtures" / "prompts" / "bird.npz")["ids"])
    n = int((ids != 0).sum(dim=1).max())
    torch.testing.assert_close(mods["text"](ids[:, :n]), mods["text"](ids), atol=TOL, rtol=0)


def test_prompt_order_invariance(mods, tiny_bundle, doc):
    fx = tiny_bundle / "fixtures"
    case = next(c for c in doc["cases"] if len(c["shots"]) == 8)
    files = {e["path"]: e["file"] for e in doc["images"]}

    def feats(p):
        z = _npz(fx / files[p])
        return ([torch.from_numpy(z[f"tap{i}"]) for i in range(3)], torch.from_numpy(z["g"]))

    c = _npz(fx / case["file"])
    t_n, t_a = torch.from_numpy(c["t_n"]), torch.from_numpy(c["t_a"])
    q = feats(case["query"])
    shots = [feats(p) for p in case["shots"]]
    a = serving_case(mods, q[0], q[1], shots, t_n, t_a)
    b = serving_case(mods, q[0], q[1], shots[::-1], t_n, t_a)
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-6, rtol=0)


def test_grayscale_is_converted_after_crop(data_dir):
    from PIL import Image

    p = data_dir / "elpv" / "mono" / "shots" / "cell0449.png"
    assert Image.open(p).mode == "L"
    px = ref.preprocess(p)
    # Same 8-bit value in all channels, normalised per channel.
    raw = [px[c] * ref.STD[c] + ref.MEAN[c] for c in range(3)]
    torch.testing.assert_close(raw[0], raw[1], atol=1e-6, rtol=0)
    torch.testing.assert_close(raw[0], raw[2], atol=1e-6, rtol=0)
