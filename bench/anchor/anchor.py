"""Outside CPU anchor: the bundle's vision forward in TorchScript, ONNX Runtime and OpenVINO.

Exports the bundle's `vision.pt` to ONNX (TorchScript-based exporter on the frozen ScriptModule, dynamic batch),
checks every output of every runtime against TorchScript on real preprocessed images, then times the raw forward
(img/s) at each batch size. Runtimes alternate inside each round (the machine is shared and noisy); per runtime
the result is the best, over batch sizes, of the median img/s of all timed calls at that batch size.

--precision bf16|int8 runs every runtime at that precision instead: TorchScript runs the bundle's variant file (what
the server runs on a CPU), OpenVINO the fp32 ONNX with its bf16 inference hint (bf16) or the int8 QDQ model below
(int8), ONNX Runtime the int8 QDQ model (static quantization by onnxruntime.quantization: per-channel int8 weights,
uint8 activations over the full range, calibrated on the same kind of normal images as the bundle's variant); ONNX
Runtime's CPU provider has no bf16 kernels for these graphs, so it is reported unavailable at bf16. Outputs are then
compared with fp32 TorchScript and the deviation reported (reduced precision is not "equal outputs").

Run through bench/anchor/run.sh, which provides the venv (torch from build/venv plus the pinned runtimes).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

TOLERANCE = 1e-4  # "equal outputs" of the issue: max |Δ| against TorchScript over every output element
ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", type=Path, required=True, help="bundle directory (manifest.json + vision.pt)")
    p.add_argument("--out", type=Path, required=True, help="JSON result file")
    p.add_argument("--batches", default="1,2,4,8,16", help="comma-separated batch sizes to time")
    p.add_argument("--seconds", type=float, default=5.0,
                   help="timed seconds per (runtime, batch) cell per round; at least --min-calls calls each")
    p.add_argument("--min-calls", type=int, default=1)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--runtimes", default="torchscript,torchscript:1,torchscript-opt,onnxruntime,openvino",
                   help="comma-separated NAME[:THREADS] from torchscript, torchscript-opt, onnxruntime, openvino; "
                        "the first entry must be plain torchscript (the reference of the output check)")
    p.add_argument("--torch-threads", type=int, default=2,
                   help="libtorch intra-op threads (the server runs DJL's default: one per core, 2 here)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="ONNX Runtime / OpenVINO threads")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                   help="folder with manifest.csv (path column) of real images for the output check")
    p.add_argument("--check-images", type=int, default=4)
    p.add_argument("--keep-onnx", type=Path, default=None, help="also keep the exported ONNX file here")
    p.add_argument("--precision", choices=("fp32", "bf16", "int8"), default="fp32",
                   help="run every runtime at this precision (TorchScript: the bundle's variant of it)")
    p.add_argument("--calibration", type=Path, default=ROOT.parent / "shared" / "train",
                   help="--precision int8: normal images the ONNX model's activation ranges are calibrated on")
    p.add_argument("--calibration-count", type=int, default=40)
    return p.parse_args(argv)


# ---------------------------------------------------------------- inputs

def load_images(manifest: dict, data: Path, count: int) -> tuple[np.ndarray, str]:
    """Real images preprocessed as the server does (spec §3); random normal inputs when none are found."""
    size = int(manifest["image"]["size"])
    listing = data / "manifest.csv"
    if listing.is_file():
        from PIL import Image

        sys.path.insert(0, str(ROOT / "tools" / "export"))  # the spec's transform, as every tool uses it
        from inctrl_export.spec import manifest_transform

        tf = manifest_transform(manifest["image"])
        with listing.open() as f:
            rows = list(csv.DictReader(f))
        # Spread the picks over the datasets/categories rather than taking the first rows of one folder.
        step = max(1, len(rows) // max(1, count))
        paths = [data / rows[i]["path"] for i in range(0, len(rows), step)][:count]
        tensors = []
        for path in paths:
            with Image.open(path) as im:
                tensors.append(tf(im))
        if tensors:
            names = ", ".join(str(p.relative_to(data)) for p in paths)
            return torch.stack(tensors).numpy(), f"real: {len(tensors)} images from {data.name}/ ({names})"
    gen = np.random.default_rng(0)
    return gen.standard_normal((count, 3, size, size), dtype=np.float32), "random normal (no data folder found)"


def batch_of(images: np.ndarray, b: int) -> np.ndarray:
    reps = -(-b // len(images))
    return np.ascontiguousarray(np.concatenate([images] * reps)[:b])


# ---------------------------------------------------------------- runtimes

class TorchScriptRunner:
    """The bundle's vision.pt as loaded (not frozen), no grad: what DJL's PyTorch engine runs.

    With optimized=True the module is frozen and passed through torch.jit.optimize_for_inference (conv/BN folding,
    MKL-DNN weights): a CPU-only rewrite the server does not do today, timed to show what graph-level work is worth.
    """

    def __init__(self, path: Path, threads: int, optimized: bool = False):
        self.threads = threads
        self.name = "torchscript-opt" if optimized else "torchscript"
        module = torch.jit.load(str(path), map_location="cpu").eval()
        self.module = torch.jit.optimize_for_inference(torch.jit.freeze(module)) if optimized else module

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        torch.set_num_threads(self.threads)  # process-wide; variants with other counts alternate in one process
        with torch.no_grad():
            return [o.numpy() for o in self.module(torch.from_numpy(x))]


class OnnxRuntimeRunner:
    name = "onnxruntime"

    def __init__(self, onnx_path: Path, threads: int):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.threads = threads
        self.session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {"images": x})


class OpenVinoRunner:
    name = "openvino"

    def __init__(self, onnx_path: Path, threads: int, precision: str = "f32"):
        import openvino as ov

        core = ov.Core()
        # f32 explicitly: on CPUs with bf16 support OpenVINO would otherwise infer in bf16 (not "equal outputs");
        # bf16 when the anchor runs at bf16. An int8 (QDQ) model keeps f32 for what is not quantized, as ours does.
        config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": precision,
                  "PERFORMANCE_HINT": "LATENCY"}
        self.threads = threads
        self.compiled = core.compile_model(ov.convert_model(str(onnx_path)), "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.outputs = len(self.compiled.outputs)

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        self.request.infer({0: x})
        return [self.request.get_output_tensor(i).data.copy() for i in range(self.outputs)]


def quantize_onnx(fp32_path: Path, out: Path, calibration: np.ndarray) -> float:
    """Static int8 QDQ model (onnxruntime.quantization), the ONNX counterpart of the bundle's int8 variant."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"images": calibration[i:i + 1]} for i in range(len(calibration))])

        def get_next(self):
            return next(self.items, None)

    start = time.perf_counter()
    quantize_static(str(fp32_path), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, reduce_range=False)
    return time.perf_counter() - start


def calibration_images(manifest: dict, folder: Path, count: int) -> tuple[np.ndarray, str]:
    """The exporter's own selection and preprocessing (inctrl_export.precision.calibration_images)."""
    sys.path.insert(0, str(ROOT / "tools" / "export"))
    from inctrl_export.precision import calibration_images as pick
    images, note = pick(manifest, folder, count)
    return images.numpy(), note


def export_onnx(vision: Path, size: int, path: Path) -> tuple[int, float]:
    """TorchScript-based exporter on the frozen module (freezing folds the tap-selection branches)."""
    module = torch.jit.freeze(torch.jit.load(str(vision), map_location="cpu").eval())
    x = torch.zeros(2, 3, size, size)
    with torch.no_grad():
        outputs = len(module(x))
    names = [f"out{i}" for i in range(outputs)]
    axes = {"images": {0: "batch"}, **{n: {0: "batch"} for n in names}}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), str(path), input_names=["images"], output_names=names,
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    return outputs, time.perf_counter() - start


# ---------------------------------------------------------------- check and timing

def max_abs_diff(got: list[np.ndarray], ref: list[np.ndarray]) -> list[float]:
    if len(got) != len(ref):
        raise SystemExit(f"output count differs: {len(got)} vs {len(ref)}")
    diffs = []
    for g, r in zip(got, ref, strict=True):  # lengths checked above
        if g.shape != r.shape:
            raise SystemExit(f"output shape differs: {g.shape} vs {r.shape}")
        diffs.append(float(np.abs(g.astype(np.float64) - r.astype(np.float64)).max()))
    return diffs


def time_cell(run, x: np.ndarray, seconds: float, min_calls: int) -> list[float]:
    rates = []
    start = time.perf_counter()
    while len(rates) < min_calls or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        run(x)
        rates.append(len(x) / (time.perf_counter() - t0))
    return rates


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def log(msg: str):
    print(msg, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    specs = []
    for entry in (r.strip() for r in args.runtimes.split(",") if r.strip()):
        kind, _, count = entry.partition(":")
        if kind not in ("torchscript", "torchscript-opt", "onnxruntime", "openvino"):
            raise SystemExit(f"unknown runtime {kind!r}")
        default = args.torch_threads if kind.startswith("torchscript") else args.threads
        specs.append((entry, kind, int(count) if count else default))
    if not specs or specs[0][1] != "torchscript":
        raise SystemExit("--runtimes must start with plain torchscript (the reference)")
    bundle = args.bundle.resolve()
    manifest = json.loads((bundle / "manifest.json").read_text())
    size = int(manifest["image"]["size"])
    vision = bundle / manifest["files"]["vision"]
    precision = args.precision
    if precision == "fp32":
        timed_vision = vision
    else:
        files = ((manifest.get("variants") or {}).get(precision) or {}).get("files")
        if not files:
            raise SystemExit(f"bundle {manifest['bundle_id']} has no {precision} variant (inctrl_export.precision)")
        timed_vision = bundle / (files.get("vision_cpu") or files["vision"])
    batches = [int(b) for b in args.batches.split(",")]
    load_before = os.getloadavg()

    images, inputs_note = load_images(manifest, args.data, args.check_images)
    log(f"check inputs: {inputs_note}")
    runners, failures = {}, {}
    with tempfile.TemporaryDirectory(prefix="inctrl-anchor-") as tmp:
        onnx_path = Path(tmp) / "vision.onnx"
        outputs, export_s = export_onnx(vision, size, onnx_path)
        log(f"exported {outputs} outputs to ONNX in {export_s:.1f}s ({onnx_path.stat().st_size / 2**20:.0f} MiB)")
        if args.keep_onnx:
            args.keep_onnx.write_bytes(onnx_path.read_bytes())
        ort_path, ov_path, ov_hint, calib_note = onnx_path, onnx_path, "f32", None
        if precision == "int8":
            calib, calib_note = calibration_images(manifest, args.calibration, args.calibration_count)
            ort_path = ov_path = Path(tmp) / "vision.int8.onnx"
            log(f"quantized the ONNX model to int8 (QDQ) in {quantize_onnx(onnx_path, ort_path, calib):.1f}s "
                f"on {calib_note}")
        elif precision == "bf16":
            ov_hint = "bf16"

        def no_bf16_ort(n):
            raise RuntimeError("ONNX Runtime's CPU execution provider has no bf16 kernels for this graph")

        makers = {"torchscript": lambda n: TorchScriptRunner(timed_vision, n),
                  "torchscript-opt": lambda n: TorchScriptRunner(timed_vision, n, optimized=True),
                  "onnxruntime": no_bf16_ort if precision == "bf16" else lambda n: OnnxRuntimeRunner(ort_path, n),
                  "openvino": lambda n: OpenVinoRunner(ov_path, n, ov_hint)}
        for entry, kind, count in specs:
            try:
                runners[entry] = makers[kind](count)
            except Exception as e:  # noqa: BLE001 - a runtime that does not install or convert is reported, not fatal
                failures[entry] = f"{type(e).__name__}: {e}"
                log(f"{entry} unavailable: {failures[entry]}")
        # the output check's reference: fp32 TorchScript (the timed torchscript entry itself at fp32)
        reference = runners[specs[0][0]] if precision == "fp32" else TorchScriptRunner(vision, args.torch_threads)

        # Output check at batch 1 and at the full check batch, every output, against TorchScript.
        ref = {b: reference(batch_of(images, b)) for b in sorted({1, len(images)})}
        shapes = [list(o.shape) for o in ref[len(images)]]
        diffs = {}
        for name, run in runners.items():
            per_output = [0.0] * outputs
            for b, r in ref.items():
                d_b = max_abs_diff(run(batch_of(images, b)), r)
                per_output = [max(a, d) for a, d in zip(per_output, d_b, strict=True)]
            diffs[name] = per_output
            log(f"{name}: max |Δ| per output vs TorchScript = {[f'{d:.2e}' for d in per_output]}")

        # Timing: runtimes rotate inside each batch size, the order rotates per round; warm-up calls per cell
        # once (two for TorchScript: its profiling executor specialises on the second call of a new shape).
        order = list(runners)
        samples = {n: {b: [] for b in batches} for n in order}
        for rnd in range(args.rounds):
            rot = order[rnd % len(order):] + order[:rnd % len(order)]
            for b in batches:
                x = batch_of(images, b)
                for name in rot:
                    if rnd == 0:
                        for _ in range(2 if name.startswith("torchscript") else 1):
                            runners[name](x)
                    rates = time_cell(runners[name], x, args.seconds, args.min_calls)
                    samples[name][b].extend(rates)
                    log(f"round {rnd + 1} batch {b:>3} {name:<17} {statistics.median(rates):8.2f} img/s "
                        f"({len(rates)} calls)")

    results = []
    for name in order:
        medians = {b: statistics.median(v) for b, v in samples[name].items()}
        best_batch = max(medians, key=medians.get)
        results.append({
            "runtime": name,
            "engine": name.partition(":")[0],
            "best_img_per_s": round(medians[best_batch], 4),
            "best_batch": best_batch,
            "max_abs_diff": max(diffs[name]),
            "max_abs_diff_per_output": diffs[name],
            # reduced precision is not "equal outputs": its deviation from fp32 is reported instead
            "outputs_equal": max(diffs[name]) <= TOLERANCE if precision == "fp32" else None,
            "threads": runners[name].threads,
            "per_batch": {str(b): {"median_img_per_s": round(m, 4), "calls": len(samples[name][b])}
                          for b, m in medians.items()},
        })
    equal = [r for r in results if r["outputs_equal"] or (precision != "fp32" and r["outputs_equal"] is None)]
    best = max(equal, key=lambda r: r["best_img_per_s"])
    outside = [r for r in equal if r["engine"] in ("onnxruntime", "openvino")]
    best_out = max(outside, key=lambda r: r["best_img_per_s"]) if outside else None
    ts = results[0]  # plain torchscript at --torch-threads: the served engine's configuration
    import onnxruntime
    import openvino
    report = {
        "bundle": str(bundle),
        "bundle_id": manifest["bundle_id"],
        "image_size": size,
        "outputs": {"count": outputs, "shapes_at_check_batch": shapes},
        "check_inputs": inputs_note,
        "precision": precision,
        "timed_torchscript_file": timed_vision.name,
        "calibration": calib_note,
        "tolerance": TOLERANCE,
        "runtimes": results,
        "unavailable": failures,
        "best_runtime": best["runtime"],
        "best_img_per_s": best["best_img_per_s"],
        "torchscript_over_best": round(ts["best_img_per_s"] / best["best_img_per_s"], 4),
        "best_outside_runtime": best_out["runtime"] if best_out else None,
        "best_outside_img_per_s": best_out["best_img_per_s"] if best_out else None,
        "torchscript_over_best_outside":
            round(ts["best_img_per_s"] / best_out["best_img_per_s"], 4) if best_out else None,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset: libgomp default, threads spin)"),
        "settings": {"batches": batches, "seconds_per_cell": args.seconds, "rounds": args.rounds,
                     "torch_threads": args.torch_threads, "threads": args.threads, "onnx_opset": 17,
                     "onnx_export_s": round(export_s, 1)},
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_model(), "loadavg_before": load_before,
                    "loadavg_after": os.getloadavg()},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "onnxruntime": onnxruntime.__version__, "openvino": openvino.__version__,
                     "numpy": np.__version__},
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")

    print(f"{manifest['bundle_id']} ({size}px) at {precision}, {report['machine']['cpus']} CPUs, load "
          f"{load_before[0]:.1f}->{report['machine']['loadavg_after'][0]:.1f}; check: {inputs_note.split(' (')[0]}")
    head = f"{'runtime':<17} {'threads':>7} " + " ".join(f"{'b=' + str(b):>9}" for b in batches)
    print(head + f" {'best img/s':>11} {'@batch':>6} {'max |Δ|':>9}")
    for r in results:
        cells = " ".join(f"{r['per_batch'][str(b)]['median_img_per_s']:9.2f}" for b in batches)
        print(f"{r['runtime']:<17} {r['threads']:>7} {cells} {r['best_img_per_s']:11.2f} {r['best_batch']:>6} "
              f"{r['max_abs_diff']:9.1e}{'' if r['outputs_equal'] in (True, None) else '  (NOT equal)'}")
    print(f"best at equal outputs: {best['runtime']} {best['best_img_per_s']:.2f} img/s; "
          f"served-config TorchScript / best = {report['torchscript_over_best']:.3f}")
    if best_out:
        print(f"best outside runtime: {best_out['runtime']} {best_out['best_img_per_s']:.2f} img/s; "
              f"served-config TorchScript / it = {report['torchscript_over_best_outside']:.3f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
