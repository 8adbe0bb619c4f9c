import os
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from anywhere without installing the package

_CANDIDATES = [HERE.parents[2] / "shared" / "data", HERE.parents[3] / "shared" / "data", Path("/work/shared/data")]
if os.environ.get("INCTRL_DATA_DIR"):
    _CANDIDATES.insert(0, Path(os.environ["INCTRL_DATA_DIR"]))
DATA_DIR = next((p for p in _CANDIDATES if (p / "manifest.csv").exists()), _CANDIDATES[0])


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "manifest.csv").exists():
        pytest.skip(f"shared data not found at {DATA_DIR} (set INCTRL_DATA_DIR)")
    return DATA_DIR


@pytest.fixture(scope="session", autouse=True)
def _no_grad():
    torch.set_grad_enabled(False)
    yield


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory, data_dir):
    """Tiny random bundle + fixtures written through the real CLI entry point."""
    from inctrl_export.cli import main

    out = tmp_path_factory.mktemp("tiny_bundle")
    assert main(["--tiny", "--random-init", "--seed", "5", "--out", str(out), "--fixtures-data", str(data_dir)]) == 0
    return out


@pytest.fixture(scope="session")
def tiny_model():
    from inctrl_export.model import make_random_model

    return make_random_model("tiny", 5)


def load_scripted(bundle: Path) -> dict:
    return {n: torch.jit.load(str(bundle / f"{n}.pt")).eval()
            for n in ("vision", "text", "adapter", "image_head", "holistic_head")}
