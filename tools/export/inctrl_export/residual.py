"""The patch residual of spec §4 and the bounded memory bank, one implementation for every evaluator.

`nearest_distance` / `residual_map` are what the server computes per query (InctrlEngine.residualMaps);
`coreset` is the reference of the server's `io.inctrl.serve.model.Coreset` (same projection, same start, same
greedy order, same tie rule), so a bank reduced here is the bank the server stores. The plain per-patch loop of
`reference.residual_map` stays separate on purpose: it is the independent check of this code.
"""
from __future__ import annotations

import numpy as np
import torch

from .spec import patch_distances

# Greedy k-centre runs on a random projection of the tokens to this many dimensions when they are wider (PatchCore's
# default): each greedy step reads every candidate row once, so the width is the cost.
PROJECTION_DIMS = 128
PROJECTION_SEED = 0x1C7A1C0DE5E7  # fixed: a set's bank must not depend on anything but its tokens
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def nearest_distance(q: torch.Tensor, bank: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """q [P, C], bank [N, C], unit rows -> [P]: spec §4 (`spec.patch_distances`) over a bank of any size, in chunks
    of `chunk` rows (a 512-shot bank would not fit one matmul); the min over chunks is the min over the bank."""
    best = None
    for n in range(0, bank.shape[0], chunk):
        d = patch_distances(q, bank[n:n + chunk])
        best = d if best is None else torch.minimum(best, d)
    return best


def residual_map(q_taps: list, banks: list) -> torch.Tensor:
    """M [P] = mean over taps of nearest_distance (each tap against its own bank)."""
    return torch.stack([nearest_distance(q, b) for q, b in zip(q_taps, banks, strict=True)]).mean(0)


def s_p(q_taps: list, banks: list) -> float:
    """Image score of the patch residual: max M (the final score of kind patch-residual)."""
    return float(residual_map(q_taps, banks).max())


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64)
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))


def projection(width: int, dims: int = PROJECTION_DIMS, seed: int = PROJECTION_SEED) -> torch.Tensor:
    """[width, dims] Rademacher matrix ±1/√dims: entry i = (row · dims + col), sign = top bit of SplitMix64's
    finaliser of seed + (i + 1)·golden. Java: Coreset.projection (plain long arithmetic, same bits)."""
    with np.errstate(over="ignore"):
        idx = np.arange(width * dims, dtype=np.uint64) + np.uint64(1)
        z = _splitmix(np.uint64(seed) + idx * _GOLDEN)
    sign = np.where((z >> np.uint64(63)) == 1, -1.0, 1.0).astype(np.float32)
    return torch.from_numpy(sign.reshape(width, dims) / np.float32(np.sqrt(dims)))


def _sq_dist_to(z: torch.Tensor, sq: torch.Tensor, i: int) -> torch.Tensor:
    # ‖z_n − z_i‖² = ‖z_n‖² + ‖z_i‖² − 2 z_n·z_i, clamped at 0 (rounding); the server computes the same expression
    return (sq + sq[i] - 2.0 * (z @ z[i])).clamp_min(0.0)


@torch.no_grad()
def coreset_order(bank: torch.Tensor, budget: int, dims: int = PROJECTION_DIMS) -> torch.Tensor:
    """The first min(budget, N) rows of the greedy k-centre order (see `coreset`): the selection for every smaller
    budget is a prefix of it, so one run serves several budgets."""
    n, c = bank.shape
    budget = min(budget, n)
    if budget < 1:
        raise ValueError(f"budget must be >= 1, got {budget}")
    z = bank.float() @ projection(c, dims) if c > dims else bank.float()
    sq = (z * z).sum(dim=1)
    mean = z.mean(dim=0)
    first = int(torch.argmin(sq - 2.0 * (z @ mean)))  # ‖z − mean‖² up to the constant ‖mean‖²
    chosen = [first]
    dist = _sq_dist_to(z, sq, first)
    for _ in range(budget - 1):
        i = int(torch.argmax(dist))
        chosen.append(i)
        dist = torch.minimum(dist, _sq_dist_to(z, sq, i))
    return torch.tensor(chosen)


@torch.no_grad()
def coreset(bank: torch.Tensor, budget: int, dims: int = PROJECTION_DIMS) -> torch.Tensor:
    """Greedy k-centre (PatchCore) selection of `budget` rows of bank [N, C] (unit rows, float32).

    Returns the selected row indices in ascending order; all rows when budget >= N. Deterministic: tokens are
    projected by `projection` when C > dims; the first centre is the row nearest the mean (lowest index on ties), so
    the choice does not depend on the order of the shots; each further centre is the row farthest from the chosen ones
    (squared Euclidean distance in the projected space; first index on ties, as torch.argmax)."""
    if budget >= bank.shape[0]:
        return torch.arange(bank.shape[0])
    return torch.sort(coreset_order(bank, budget, dims)).values


def covering_radius(bank: torch.Tensor, selected: torch.Tensor) -> float:
    """max over bank rows of ½(1 − max cos) to the selected rows: the largest residual the reduction can add to a
    bank token itself (in the unprojected cosine metric the residual uses)."""
    return float(nearest_distance(bank, bank[selected]).max())


def reduce_bank(bank: torch.Tensor, budget: int) -> torch.Tensor:
    """The bank the server stores for a tap: exact below the budget, else the coreset rows."""
    return bank if bank.shape[0] <= budget else bank[coreset(bank, budget)]
