"""--checkpoint: both container variants, optional `module.` prefix, strict key checking."""
import hashlib
import json

import open_clip
import pytest
import torch

from conftest import load_scripted
from inctrl_export import reference as ref
from inctrl_export.cli import main
from inctrl_export.model import make_random_model, official_state_dict


class FakeCfgNode(dict):
    """Stands in for the yacs CfgNode that the official `save_checkpoint` pickles next to the weights."""


@pytest.fixture(scope="module")
def source():
    return make_random_model("tiny", 11)


def _save(path, sd, container, prefix):
    sd = {prefix + k: v for k, v in sd.items()}
    if container == "model_state":
        obj = {"epoch": 6, "model_state": sd, "cfg": FakeCfgNode(TEST={"BATCH_SIZE": 1})}
    else:
        obj = sd
    torch.save(obj, path)


def _export(tmp_path, ckpt):
    out = tmp_path / "bundle"
    rc = main(["--tiny", "--checkpoint", str(ckpt), "--out", str(out)])
    return rc, out


@pytest.mark.parametrize("container", ["bare", "model_state"])
@pytest.mark.parametrize("prefix", ["", "module."])
def test_roundtrip(tmp_path, source, container, prefix):
    ckpt = tmp_path / "checkpoint.pyth"
    _save(ckpt, official_state_dict(source), container, prefix)
    rc, out = _export(tmp_path, ckpt)
    assert rc == 0
    manifest = json.loads((out / "manifest.json").read_text())
    digest = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert manifest["weights"] == {**manifest["weights"], "source": "checkpoint", "checkpoint_sha256": digest,
                                   "seed": None}
    assert manifest["bundle_id"] == f"inctrl-tiny-ckpt-{digest[:12]}"

    mods = load_scripted(out)
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(2, 3, 240, 240, generator=gen)
    g, t0, t1, t2 = mods["vision"](images)
    for b in range(2):
        f = ref.image_features(source, images[b])
        torch.testing.assert_close(g[b], f.g, atol=1e-5, rtol=0)
        for t, r in zip((t0, t1, t2), f.taps, strict=True):
            torch.testing.assert_close(t[b], ref.unit(r), atol=1e-5, rtol=0)
    ids = open_clip.tokenize(["a photo of a candle.", "damaged metal nut"])
    torch.testing.assert_close(mods["text"](ids), source.clip.encode_text(ids), atol=1e-5, rtol=0)
    x = torch.randn(4, 64, generator=gen)
    torch.testing.assert_close(mods["adapter"](x), source.heads.adapter(x), atol=1e-6, rtol=0)
    torch.testing.assert_close(mods["image_head"](x), source.heads.diff_head_ref(x)[:, 0], atol=1e-6, rtol=0)
    m = torch.rand(4, 225, generator=gen)
    torch.testing.assert_close(mods["holistic_head"](m), source.heads.diff_head(m)[:, 0], atol=1e-6, rtol=0)


def test_known_unused_keys_are_tolerated(tmp_path, source):
    sd = official_state_dict(source)
    sd["logit_scale"] = torch.tensor(4.6)
    sd["attn_mask"] = torch.zeros(77, 77)
    sd.pop("diff_head.bn1.running_mean")  # bn1 is unused: absent or present, both fine
    ckpt = tmp_path / "c.pyth"
    _save(ckpt, sd, "bare", "module.")
    rc, out = _export(tmp_path, ckpt)
    assert rc == 0 and (out / "manifest.json").exists()


@pytest.mark.parametrize("mutation", ["missing_head", "missing_clip", "unexpected", "shape"])
def test_bad_checkpoint_fails_loudly(tmp_path, source, capsys, mutation):
    sd = official_state_dict(source)
    if mutation == "missing_head":
        sd.pop("diff_head.projection1.weight")
        key = "diff_head.projection1.weight"
    elif mutation == "missing_clip":
        sd.pop("visual.transformer.resblocks.8.attn.in_proj_weight")
        key = "visual.transformer.resblocks.8.attn.in_proj_weight"
    elif mutation == "unexpected":
        sd["prompt_learner.ctx"] = torch.zeros(4, 64)
        key = "prompt_learner.ctx"
    else:
        sd["adapter.fc.0.weight"] = torch.zeros(160, 640)
        key = "adapter.fc.0.weight"
    ckpt = tmp_path / "bad.pyth"
    _save(ckpt, sd, "model_state", "")
    rc, out = _export(tmp_path, ckpt)
    assert rc != 0
    err = capsys.readouterr().err
    assert key in err
    assert not (out / "manifest.json").exists()


def test_heads_only_checkpoint_is_rejected(tmp_path, source, capsys):
    """A heads-only file must not silently combine with random CLIP weights."""
    sd = {k: v for k, v in official_state_dict(source).items() if k.startswith(("adapter.", "diff_head"))}
    ckpt = tmp_path / "heads.pyth"
    _save(ckpt, sd, "bare", "")
    rc, _ = _export(tmp_path, ckpt)
    assert rc != 0
    assert "visual.conv1.weight" in capsys.readouterr().err
