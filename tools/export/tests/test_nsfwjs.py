"""nsfwjs@4.4.0 InceptionV3 port: parity with the original TF.js model (run by node) on real images,
bundle format of kind "patch-residual", and the evaluate command (metrics, offline and gRPC paths)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inctrl_export import nsfwjs
from inctrl_export.evaluate import OfflineScorer, auprc, auroc, evaluate, find_categories, format_table

PARITY_DIR = Path(__file__).resolve().parents[1] / "nsfwjs_parity"
NSFWJS_DIR = PARITY_DIR / "node_modules" / "nsfwjs"
SETUP_HINT = f"cd {PARITY_DIR} && npm ci"

# Measured (12 real images, wasm backend vs torch CPU): max |Δ| ≤ 2.5e-5 on activations up to ~19, min cosine
# 0.99999976, tokens 6.4e-7; the tolerances leave headroom for other CPUs and BLAS builds.
RAW_ATOL = 1e-3       # raw block outputs, absolute
MIN_COSINE = 0.99999  # per image, flattened block output
TOKEN_ATOL = 1e-4     # unit-norm tokens from the exported vision.pt


@pytest.fixture(scope="session")
def nsfwjs_source_dir() -> Path:
    # Not a skip: the parity test is the point of this file, so a missing setup fails loudly with its fix.
    if shutil.which("node") is None:
        pytest.fail(f"node (>= 18) not on PATH; install Node.js, then: {SETUP_HINT}")
    if not (NSFWJS_DIR / "dist/models/inception_v3/model.min.js").exists() or \
            not (PARITY_DIR / "node_modules/@tensorflow/tfjs-backend-wasm").exists():
        pytest.fail(f"node dependencies for the TF.js parity test are missing; run: {SETUP_HINT}")
    return NSFWJS_DIR


@pytest.fixture(scope="session")
def parity_images(data_dir) -> list[Path]:
    cats = find_categories(data_dir)
    out = []
    for c in cats:  # one normal shot and one anomaly per category
        out += [c.shots[0], c.queries[int(np.argmax(c.labels))]]
    return out


@pytest.fixture(scope="session")
def bundles(tmp_path_factory, nsfwjs_source_dir):
    from inctrl_export.cli import main

    # "default": the CLI defaults (Mixed_6b, raw tokens, [-1,1] input); "alt": Mixed_5d, 3x3 mean, [0,1] input.
    out = {}
    for name, extra in (("default", []),
                        ("alt", ["--layers", "Mixed_5d", "--pooling", "avg3", "--input-range", "unit"])):
        d = tmp_path_factory.mktemp(f"nsfwjs_{name}")
        assert main(["--from-nsfwjs", str(nsfwjs_source_dir), *extra, "--out", str(d)]) == 0
        out[name] = d
    return out


@pytest.fixture(scope="session")
def pixels(bundles, parity_images) -> torch.Tensor:
    from PIL import Image
    xs = []
    for name in ("default", "alt"):  # each bundle's own preprocessing: first N rows [-1,1], last N [0,1]
        scorer = OfflineScorer(bundles[name])
        for p in parity_images:
            with Image.open(p) as im:
                xs.append(scorer.transform(im))
    return torch.stack(xs)  # [2N,3,299,299]


@pytest.fixture(scope="session")
def tfjs_activations(tmp_path_factory, pixels, nsfwjs_source_dir) -> dict[str, np.ndarray]:
    d = tmp_path_factory.mktemp("tfjs")
    pixels.permute(0, 2, 3, 1).contiguous().numpy().astype("<f4").tofile(d / "in.f32")
    names = [nsfwjs.KERAS_NAME[b] for b in nsfwjs.BLOCKS]
    cmd = ["node", str(PARITY_DIR / "activations.js"), str(d / "in.f32"), str(len(pixels)),
           str(nsfwjs.IMAGE_SIZE), ",".join(names), str(d / "out")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        pytest.fail(f"TF.js reference run failed ({' '.join(cmd)}):\n{r.stderr[-3000:]}\nsetup: {SETUP_HINT}")
    meta = json.loads((d / "out.json").read_text())
    assert meta["backend"] in ("wasm", "cpu")
    flat = np.fromfile(d / "out.f32", dtype="<f4")
    return {L["name"]: flat[L["offset"]:L["offset"] + int(np.prod(L["shape"]))].reshape(L["shape"])
            for L in meta["layers"]}


def test_port_matches_tfjs_at_every_imagenet_block(nsfwjs_source_dir, pixels, tfjs_activations):
    src = nsfwjs.read_source(nsfwjs_source_dir)
    trunk = nsfwjs.load_trunk(nsfwjs.dequantize(src), "Mixed_6c")
    with torch.no_grad():
        ours = trunk.forward_all(pixels)
    for block in nsfwjs.BLOCKS:
        ref = tfjs_activations[nsfwjs.KERAS_NAME[block]]
        got = ours[block].permute(0, 2, 3, 1).numpy()
        assert got.shape == ref.shape, block
        diff = np.abs(got - ref).max()
        cos = [float(np.dot(a.ravel(), b.ravel()) / np.linalg.norm(a) / np.linalg.norm(b))
               for a, b in zip(got, ref, strict=True)]
        assert diff <= RAW_ATOL, f"{block}: max|Δ| {diff:.2e} (max |x| {np.abs(ref).max():.2f})"
        assert min(cos) >= MIN_COSINE, f"{block}: min cosine {min(cos)}"


@pytest.mark.parametrize("name,layer,grid,width", [("default", "mixed4", 17, 768), ("alt", "mixed2", 35, 288)])
def test_exported_tokens_match_tfjs(bundles, pixels, tfjs_activations, name, layer, grid, width):
    half = len(pixels) // 2
    rows = slice(0, half) if name == "default" else slice(half, len(pixels))
    pooling = json.loads((bundles[name] / "manifest.json").read_text())["vision"]["token_pooling"]
    vision = torch.jit.load(str(bundles[name] / "vision.pt")).eval()
    with torch.no_grad():
        (tokens,) = vision(pixels[rows])
    ref = torch.from_numpy(tfjs_activations[layer][rows]).permute(0, 3, 1, 2)  # NHWC -> NCHW
    if pooling == "avg3":
        ref = F.avg_pool2d(ref, 3, 1, 1, count_include_pad=False)
    ref = F.normalize(ref.flatten(2).transpose(1, 2), dim=-1)  # row-major tokens
    assert tokens.shape == ref.shape == (half, grid * grid, width)
    assert float((tokens - ref).abs().max()) <= TOKEN_ATOL
    # batch rows are independent
    with torch.no_grad():
        (one,) = vision(pixels[rows][2:3])
    assert float((one[0] - tokens[2]).abs().max()) <= 1e-5


def test_manifest_patch_residual(bundles):
    m = json.loads((bundles["default"] / "manifest.json").read_text())
    assert m["format_version"] == 1 and m["kind"] == "patch-residual"
    assert m["files"] == {"vision": "vision.pt", "vision_cpu": "vision.cpu.pt"}
    assert m["optimized"]["cpu"]["modules"] == ["vision"]
    assert m["vision"] == {"embed_dim": 0, "width": 768, "grid": [17, 17], "tapped_layers": ["Mixed_6b"],
                           "tapped_blocks": [5], "token_pooling": "none", "normalized": True}
    assert m["image"]["size"] == 299 and m["image"]["mean"] == [0.5] * 3 and m["image"]["std"] == [0.5] * 3
    assert m["bundle_id"].startswith("nsfwjs-inception-v3-mixed6b-pm1-")
    alt = json.loads((bundles["alt"] / "manifest.json").read_text())
    assert alt["vision"]["grid"] == [35, 35] and alt["vision"]["token_pooling"] == "avg3"
    assert alt["image"]["mean"] == [0.0] * 3 and alt["image"]["std"] == [1.0] * 3
    assert m["weights"]["source"] == "pretrained"
    assert "not InCTRL" in m["weights"]["description"]
    assert m["weights"]["provenance"]["package"] == "nsfwjs@4.4.0"
    assert "MIT" in (bundles["default"] / "LICENSE").read_text()
    from inctrl_export import checksums
    assert checksums.verify(bundles["default"]) == []
    assert set(checksums.parse((bundles["default"] / "SHA256SUMS").read_text())) == {
        "manifest.json", "vision.pt", "vision.cpu.pt", "LICENSE"}


@pytest.mark.parametrize("name", ["default", "alt"])
def test_cpu_copy_matches_portable_on_real_images(bundles, pixels, name):
    half = len(pixels) // 2
    x = pixels[:half] if name == "default" else pixels[half:]
    portable = torch.jit.load(str(bundles[name] / "vision.pt")).eval()
    frozen = torch.jit.load(str(bundles[name] / "vision.cpu.pt")).eval()
    with torch.no_grad():
        for batch in (x[:1], x[:3], x):
            for want, got in zip(portable(batch), frozen(batch), strict=True):
                assert float((want - got).abs().max()) <= 1e-4


def test_refuses_fine_tuned_and_mixed_stage_layers(nsfwjs_source_dir, tmp_path):
    from inctrl_export.cli import main

    assert main(["--from-nsfwjs", str(nsfwjs_source_dir), "--layers", "Mixed_6d", "--out", str(tmp_path)]) == 2
    assert main(["--from-nsfwjs", str(nsfwjs_source_dir), "--layers", "Mixed_5d", "Mixed_6c",
                 "--out", str(tmp_path)]) == 2
    assert not (tmp_path / "manifest.json").exists()


def test_js_literal_and_shard_decoding():
    text = 'x;n.exports={modelTopology:{a:!0,b:!1,c:.5,d:-1e-3,e:"s\\"q",f:[1,2.25,null]},weightsManifest:[]}}'
    assert nsfwjs.parse_model_js(text) == {"modelTopology": {"a": True, "b": False, "c": 0.5, "d": -1e-3,
                                                             "e": 's"q', "f": [1, 2.25, None]},
                                           "weightsManifest": []}
    assert nsfwjs.decode_shard_js('{1:[function(a,b,c){b.exports="AAEC/w=="},{}]}') == bytes([0, 1, 2, 255])


def test_dequantize_affine_uint8():
    src = nsfwjs.NsfwjsSource(
        {"weightsManifest": [{"paths": [], "weights": [
            {"name": "a", "shape": [2, 2], "dtype": "float32",
             "quantization": {"dtype": "uint8", "min": -1.0, "scale": 0.5}},
            {"name": "b", "shape": [1], "dtype": "float32"}]}]},
        bytes([0, 1, 2, 255]) + np.float32(3.25).tobytes(), "mem", None, None, None)
    w = nsfwjs.dequantize(src)
    np.testing.assert_allclose(w["a"], [[-1.0, -0.5], [0.0, 126.5]])
    assert w["b"].tolist() == [3.25]
    src.weight_data += b"\0"
    with pytest.raises(nsfwjs.ConversionError):
        nsfwjs.dequantize(src)


def test_metrics():
    y = np.array([0, 0, 1, 1])
    assert auroc(y, np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert auroc(y, np.array([0.4, 0.3, 0.2, 0.1])) == 0.0
    assert auroc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5  # ties count half
    assert auroc(np.array([0, 1, 0, 1]), np.array([0.1, 0.2, 0.3, 0.4])) == 0.75
    # average precision (sklearn definition): ranks 1..4 = 1,0,1,0 -> (1 + 2/3) / 2
    assert abs(auprc(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1])) - (1 + 2 / 3) / 2) < 1e-12
    assert auprc(y, np.array([0.1, 0.2, 0.3, 0.4])) == 1.0


def test_evaluate_offline_self_shot_is_zero(bundles, data_dir):
    # A query that is one of its own shots has residual 0 everywhere (up to float error).
    scorer = OfflineScorer(bundles["default"])
    cat = find_categories(data_dir)[0]
    assert scorer.score(cat.shots[0], cat.shots[:2], cat.category) < 1e-5
    assert scorer.score(cat.queries[0], cat.shots[:2], cat.category) > 1e-3


def test_evaluate_through_grpc(tmp_path, data_dir):
    """The --server path against an in-process fake Scorer: stubs, inline shots, category, x-api-key."""
    grpc = pytest.importorskip("grpc", reason="grpcio not installed (pip install -r requirements.txt)")
    pytest.importorskip("grpc_tools", reason="grpcio-tools not installed (pip install -r requirements.txt)")
    from concurrent import futures

    from inctrl_export.evaluate import ServerScorer, _default_proto_dir, load_stubs

    pb2, pb2_grpc = load_stubs(_default_proto_dir())
    seen = []

    class FakeScorer(pb2_grpc.ScorerServicer):
        def Score(self, request, context):
            md = dict(context.invocation_metadata())
            seen.append((md.get("x-api-key"), request.inline.category, len(request.inline.shots)))
            return pb2.ScoreResponse(request_id=request.request_id, score=(len(request.image) % 1000) / 1000.0,
                                     s_p=0.0, bundle_id="fake")

        def GetModelInfo(self, request, context):
            return pb2.ModelInfo(bundle_id="fake", kind="patch-residual", arch="fake")

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb2_grpc.add_ScorerServicer_to_server(FakeScorer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        scorer = ServerScorer(f"127.0.0.1:{port}", "k-123", _default_proto_dir(), timeout_s=30)
        cats = find_categories(data_dir)[:1]
        results = evaluate(scorer, cats, [2, 4])
    finally:
        server.stop(0)
    c = cats[0]
    want = np.array([(p.stat().st_size % 1000) / 1000.0 for p in c.queries])
    assert results[0].scores == pytest.approx(want.tolist())
    assert results[0].auroc == pytest.approx(auroc(c.labels, want))
    assert {s[0] for s in seen} == {"k-123"} and {s[1] for s in seen} == {c.category}
    assert sorted({s[2] for s in seen}) == [2, 4]
    assert "mean" in format_table(results, [2, 4])


def test_evaluate_registry_through_grpc(data_dir):
    """--registry: shots registered as a set (first target at creation), queries scored by id, recall/FPR at the
    set's threshold and at max(LOO) + 0.02, further targets through SetThreshold, the set deleted afterwards."""
    grpc = pytest.importorskip("grpc", reason="grpcio not installed (pip install -r requirements.txt)")
    pytest.importorskip("grpc_tools", reason="grpcio-tools not installed (pip install -r requirements.txt)")
    import importlib
    from concurrent import futures

    from inctrl_export.evaluate import ServerScorer, _default_proto_dir, evaluate_registry, format_rates, load_stubs

    pb2, pb2_grpc = load_stubs(_default_proto_dir())
    reg = importlib.import_module("inctrl.v1.registry_pb2")
    reg_grpc = importlib.import_module("inctrl.v1.registry_pb2_grpc")
    log = []

    def calibrated(target):
        return reg.PromptSet(id="ps-1", calibration=reg.Calibration(
            shot_scores=[0.3, 0.4], threshold=0.5 - target, target_fpr=target, expected_fpr=target,
            method="logit-normal"))

    class FakeScorer(pb2_grpc.ScorerServicer):
        def Score(self, request, context):
            assert request.prompt_set_id == "ps-1"
            return pb2.ScoreResponse(request_id=request.request_id, score=(len(request.image) % 1000) / 1000.0)

        def GetModelInfo(self, request, context):
            return pb2.ModelInfo(bundle_id="fake", kind="patch-residual", arch="fake")

    class FakeRegistry(reg_grpc.PromptRegistryServicer):
        def CreatePromptSet(self, request, context):
            log.append(("create", len(request.shots), request.target_fpr if request.HasField("target_fpr") else None))
            return calibrated(request.target_fpr)

        def SetThreshold(self, request, context):
            log.append(("target", request.target_fpr, request.HasField("threshold")))
            return calibrated(request.target_fpr)

        def DeletePromptSet(self, request, context):
            log.append(("delete", request.id))
            return reg.DeletePromptSetResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb2_grpc.add_ScorerServicer_to_server(FakeScorer(), server)
    reg_grpc.add_PromptRegistryServicer_to_server(FakeRegistry(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        scorer = ServerScorer(f"127.0.0.1:{port}", "k", _default_proto_dir(), timeout_s=30)
        cat = find_categories(data_dir)[0]
        rows = evaluate_registry(scorer, [cat], [2], [0.05, 0.2])
    finally:
        server.stop(0)
    assert log == [("create", 2, pytest.approx(0.05)), ("target", pytest.approx(0.2), False), ("delete", "ps-1")]
    s = np.array([(p.stat().st_size % 1000) / 1000.0 for p in cat.queries])
    assert [r["rule"] for r in rows] == ["max+0.02", "logit-normal", "logit-normal"]
    for r, thr in zip(rows, [0.42, 0.45, 0.3], strict=True):
        assert r["threshold"] == pytest.approx(thr)
        assert r["recall"] == pytest.approx(float((s[cat.labels == 1] >= r["threshold"]).mean()))
        assert r["fpr"] == pytest.approx(float((s[cat.labels == 0] >= r["threshold"]).mean()))
    assert "logit-normal" in format_rates(rows)
