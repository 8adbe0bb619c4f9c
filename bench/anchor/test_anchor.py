"""Smoke test of the anchor on the tiny bundle: export, equal outputs, a well-formed JSON.

Run in the anchor venv (bench/anchor/run.sh builds it): build/venv-anchor/bin/python -m pytest bench/anchor
"""
import json
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("openvino")

import anchor

TINY = anchor.ROOT / "build" / "assets" / "tiny"


@pytest.mark.skipif(not (TINY / "vision.pt").is_file(), reason="build/assets/tiny not exported")
def test_tiny_bundle_all_runtimes_equal_and_reported(tmp_path: Path):
    out = tmp_path / "anchor.json"
    assert anchor.main(["--bundle", str(TINY), "--out", str(out), "--batches", "1,2", "--seconds", "0.05",
                        "--rounds", "1", "--runtimes", "torchscript,torchscript-opt,onnxruntime,openvino"]) == 0
    report = json.loads(out.read_text())
    rows = {r["runtime"]: r for r in report["runtimes"]}
    assert list(rows) == ["torchscript", "torchscript-opt", "onnxruntime", "openvino"]
    assert report["outputs"]["count"] == 4  # g + three taps (kind inctrl)
    for row in rows.values():
        assert row["outputs_equal"] and row["max_abs_diff"] <= anchor.TOLERANCE
        assert row["best_img_per_s"] > 0 and row["best_batch"] in (1, 2)
    assert rows["torchscript"]["max_abs_diff"] == 0.0
    assert report["best_outside_runtime"] in ("onnxruntime", "openvino")


def test_runtimes_must_start_with_the_reference(tmp_path: Path):
    with pytest.raises(SystemExit, match="must start with plain torchscript"):
        anchor.main(["--bundle", str(TINY), "--out", str(tmp_path / "x.json"), "--runtimes", "onnxruntime"])
