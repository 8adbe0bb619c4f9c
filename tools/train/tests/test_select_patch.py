"""The training-free configuration search: preprocessing modes and the residual it ranks with."""
import numpy as np
import torch
from PIL import Image

from inctrl_train import select_patch as sp


def _image(w, h, seed):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def test_resize_equals_center_crop_on_square_frames_and_pads_wide_ones_with_zero():
    sq = _image(227, 227, 0)
    assert torch.equal(sp.to_tensor(sq, 299, "resize"), sp.to_tensor(sq, 299, "center-crop"))
    wide = sp.to_tensor(_image(400, 100, 1), 299, "resize")
    rows = wide.abs().sum(dim=(0, 2))
    assert (rows[:112] == 0).all() and (rows[186:] == 0).all()   # int(299·100/400) = 74 image rows, centred
    assert (rows[112:186] > 0).all()


def test_distance_maps_and_s_p_follow_the_spec_residual():
    g = torch.Generator().manual_seed(0)

    def unit(*s):
        return torch.nn.functional.normalize(torch.randn(*s, generator=g), dim=-1)

    keys = [("Mixed_6b", "none"), ("Mixed_6c", "none")]
    query = {k: unit(9, 4) for k in keys}
    shots = [{k: unit(9, 4) for k in keys} for _ in range(3)]
    maps = sp.distance_maps(query, shots)
    for k in keys:  # every query token against the 3·9 shot tokens
        bank = torch.cat([s[k] for s in shots])
        want = torch.tensor([0.5 * (1 - max(float(q @ b) for b in bank)) for q in query[k]])
        assert torch.allclose(maps[k], want, atol=1e-6)
    both = sp.s_p(maps, ("Mixed_6b", "Mixed_6c"), "none")
    assert abs(both - float(((maps[keys[0]] + maps[keys[1]]) / 2).max())) < 1e-7
    assert sp.s_p(maps, ("Mixed_6b",), "none") == float(maps[keys[0]].max())


def test_tasks_are_seeded_balanced_and_keep_shots_out_of_the_queries(train_dir):
    a = sp.auxiliary_tasks(train_dir, per_label=10, pool_size=8, seed=3)
    b = sp.auxiliary_tasks(train_dir, per_label=10, pool_size=8, seed=3)
    assert [t["queries"] for t in a] == [t["queries"] for t in b]
    for t in a:
        assert len(t["pool"]) == 8 and int(t["labels"].sum()) == 10 and len(t["queries"]) == 20
        assert not set(t["pool"]) & set(t["queries"])
