import os
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[1] / "export"))

_CANDIDATES = [HERE.parents[2] / "shared" / "train", HERE.parents[3] / "shared" / "train", Path("/work/shared/train")]
if os.environ.get("INCTRL_TRAIN_DIR"):
    _CANDIDATES.insert(0, Path(os.environ["INCTRL_TRAIN_DIR"]))
TRAIN_DIR = next((p.resolve() for p in _CANDIDATES if (p / "manifest.csv").exists()), _CANDIDATES[-1])


@pytest.fixture(scope="session")
def train_dir() -> Path:
    if not (TRAIN_DIR / "manifest.csv").exists():
        pytest.skip(f"auxiliary training data not found at {TRAIN_DIR} (set INCTRL_TRAIN_DIR)")
    return TRAIN_DIR


@pytest.fixture(scope="session", autouse=True)
def _threads():
    torch.set_num_threads(2)
    yield
