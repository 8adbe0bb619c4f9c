"""The shared spec §4 residual and the coreset reference the server's Coreset must match."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from inctrl_export import reference as ref
from inctrl_export import residual as R

PARITY = Path(__file__).resolve().parents[3] / "server" / "src" / "test" / "resources" / "coreset" / "parity.json"


def fixture_rows(n: int, width: int, centres: int, seed: int) -> torch.Tensor:
    """Clustered rows from integer hashes only, so Java (CoresetTest.fixtureRows) builds the same float32 bits:
    u(e) = (splitmix(seed + (e + 1)·golden) >>> 40) / 2^24 − 0.5; row i = centre[i mod centres] + u(noise)/8."""
    def u(count: int, offset: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            idx = np.arange(count, dtype=np.uint64) + np.uint64(offset + 1)
            z = R._splitmix(np.uint64(seed) + idx * R._GOLDEN)
        return ((z >> np.uint64(40)).astype(np.float32) / np.float32(16777216.0)) - np.float32(0.5)
    c = u(centres * width, 0).reshape(centres, width)
    noise = u(n * width, centres * width).reshape(n, width) / np.float32(8.0)
    return torch.from_numpy(c[np.arange(n) % centres] + noise)


CASES = {"projected": dict(n=600, width=192, centres=7, seed=11, budget=80),
         "plain": dict(n=300, width=64, centres=5, seed=12, budget=40)}


def selections() -> dict:
    return {name: R.coreset_order(fixture_rows(c["n"], c["width"], c["centres"], c["seed"]), c["budget"]).tolist()
            for name, c in CASES.items()}


def test_java_parity_fixture_is_what_the_reference_selects():
    """server/src/test/resources/coreset/parity.json pins the greedy order both implementations must produce;
    regenerate with `python -c 'from tests.test_residual import write; write()'` (from tools/export)."""
    want = json.loads(PARITY.read_text())
    assert want["cases"] == CASES
    assert want["order"] == selections()


def write():
    PARITY.write_text(json.dumps({"cases": CASES, "order": selections()}) + "\n")


def _unit(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(*shape, generator=g), dim=-1)


def test_nearest_distance_is_the_spec_residual_in_chunks():
    q, bank = _unit(9, 16, seed=1), _unit(50, 16, seed=2)
    want = torch.tensor([0.5 * (1 - max(float(x @ b) for b in bank)) for x in q])
    assert torch.allclose(R.nearest_distance(q, bank, chunk=7), want, atol=1e-6)


def test_residual_map_matches_the_independent_reference_loop():
    q = ref.ImageFeatures(g=torch.zeros(4), taps=[_unit(9, 8, seed=s) for s in (3, 4, 5)])
    shots = [ref.ImageFeatures(g=torch.zeros(4), taps=[_unit(9, 8, seed=10 * k + s) for s in (3, 4, 5)])
             for k in range(3)]
    m = R.residual_map(q.taps, [torch.cat([s.taps[t] for s in shots]) for t in range(3)])
    assert torch.allclose(m, ref.residual_map(q, shots), atol=1e-6)


def test_coreset_prefix_radius_falls_and_budget_above_rows_is_exact():
    bank = _unit(500, 200, seed=7)
    order = R.coreset_order(bank, 120)
    assert len(set(order.tolist())) == 120
    radii = [R.covering_radius(bank, order[:b]) for b in (10, 30, 60, 120)]
    assert all(a >= b for a, b in zip(radii, radii[1:], strict=False)), radii
    assert R.covering_radius(bank, R.coreset(bank, 500)) == pytest.approx(0.0, abs=1e-6)
    assert torch.equal(R.coreset(bank, 10_000), torch.arange(500))
    # shot order does not matter: the same tokens permuted give the same set of rows
    perm = torch.randperm(500, generator=torch.Generator().manual_seed(1))
    again = perm[R.coreset(bank[perm], 120)]
    assert sorted(again.tolist()) == R.coreset(bank, 120).tolist()


def test_projection_is_rademacher_and_fixed():
    p = R.projection(300, 128)
    assert p.shape == (300, 128)
    assert set(np.unique(p.numpy() * np.sqrt(128)).round(5)) == {-1.0, 1.0}
    assert torch.equal(p, R.projection(300, 128))
    assert 0.45 < float((p > 0).float().mean()) < 0.55
