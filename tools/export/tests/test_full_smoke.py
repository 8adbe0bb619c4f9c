"""One quick full-size check: the real ViT-B-16-plus-240 shapes through the scripted vision module."""
import pytest
import torch

from inctrl_export import reference as ref
from inctrl_export.model import make_random_model
from inctrl_export.modules import HeadModule, VisionModule


@pytest.mark.slow
def test_full_size_vision_and_heads(data_dir):
    model = make_random_model("full", 7)
    n_params = sum(p.numel() for n, p in model.clip.named_parameters() if n != "logit_scale")
    assert n_params == 208_377_344  # spec §1
    heads = sum(p.numel() for p in model.heads.parameters())
    assert heads == 334_916  # spec §1 (counts the unused bn1 affine parameters too)
    vision = torch.jit.script(VisionModule(model))
    px = ref.preprocess(data_dir / "mvtec_ad" / "transistor" / "shots" / "013.png")
    g, t0, t1, t2 = vision(px.unsqueeze(0))
    assert g.shape == (1, 640) and t0.shape == t1.shape == t2.shape == (1, 225, 896)
    f = ref.image_features(model, px)
    torch.testing.assert_close(g[0], f.g, atol=1e-5, rtol=0)
    for t, r in zip((t0, t1, t2), f.taps, strict=True):
        torch.testing.assert_close(t[0], ref.unit(r), atol=1e-5, rtol=0)
    phi = torch.jit.script(HeadModule(model.heads.diff_head))
    m = torch.rand(3, 225)
    torch.testing.assert_close(phi(m), model.heads.diff_head(m)[:, 0], atol=1e-6, rtol=0)
