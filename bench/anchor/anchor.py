"""Outside CPU anchor: the bundle's vision forward in TorchScript, ONNX Runtime and OpenVINO.

Exports the bundle's `vision.pt` to ONNX (TorchScript-based exporter on the frozen ScriptModule, dynamic batch),
checks every output of every runtime against TorchScript on real preprocessed images, then times the raw forward
(img/s) at each batch size. Runtimes alternate inside each round (the machine is shared and noisy); per runtime
the result is the best, over batch sizes, of the median img/s of all timed calls at that batch size.

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

    def __init__(self, onnx_path: Path, threads: int):
        import openvino as ov

        core = ov.Core()
        # f32 explicitly: on CPUs with bf16 support OpenVINO would otherwise infer in bf16 (not "equal outputs").
        config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
        self.threads = threads
        self.compiled = core.compile_model(ov.convert_model(str(onnx_path)), "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.outputs = len(self.compiled.outputs)

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        self.request.infer({0: x})
        return [self.request.get_output_tensor(i).data.copy() for i in range(self.outputs)]


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
        makers = {"torchscript": lambda n: TorchScriptRunner(vision, n),
                  "torchscript-opt": lambda n: TorchScriptRunner(vision, n, optimized=True),
                  "onnxruntime": lambda n: OnnxRuntimeRunner(onnx_path, n),
                  "openvino": lambda n: OpenVinoRunner(onnx_path, n)}
        for entry, kind, count in specs:
            try:
                runners[entry] = makers[kind](count)
            except Exception as e:  # noqa: BLE001 - a runtime that does not install or convert is reported, not fatal
                failures[entry] = f"{type(e).__name__}: {e}"
                log(f"{entry} unavailable: {failures[entry]}")
        reference = runners[specs[0][0]]

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
            "outputs_equal": max(diffs[name]) <= TOLERANCE,
            "threads": runners[name].threads,
            "per_batch": {str(b): {"median_img_per_s": round(m, 4), "calls": len(samples[name][b])}
                          for b, m in medians.items()},
        })
    equal = [r for r in results if r["outputs_equal"]]
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

    print(f"{manifest['bundle_id']} ({size}px), {report['machine']['cpus']} CPUs, load "
          f"{load_before[0]:.1f}->{report['machine']['loadavg_after'][0]:.1f}; check: {inputs_note.split(' (')[0]}")
    head = f"{'runtime':<17} {'threads':>7} " + " ".join(f"{'b=' + str(b):>9}" for b in batches)
    print(head + f" {'best img/s':>11} {'@batch':>6} {'max |Δ|':>9}")
    for r in results:
        cells = " ".join(f"{r['per_batch'][str(b)]['median_img_per_s']:9.2f}" for b in batches)
        print(f"{r['runtime']:<17} {r['threads']:>7} {cells} {r['best_img_per_s']:11.2f} {r['best_batch']:>6} "
              f"{r['max_abs_diff']:9.1e}{'' if r['outputs_equal'] else '  (NOT equal)'}")
    print(f"best at equal outputs: {best['runtime']} {best['best_img_per_s']:.2f} img/s; "
          f"served-config TorchScript / best = {report['torchscript_over_best']:.3f}")
    if best_out:
        print(f"best outside runtime: {best_out['runtime']} {best_out['best_img_per_s']:.2f} img/s; "
              f"served-config TorchScript / it = {report['torchscript_over_best_outside']:.3f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
