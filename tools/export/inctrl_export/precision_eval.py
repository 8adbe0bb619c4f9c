"""python -m inctrl_export.precision_eval: image AUROC of a bundle at fp32 and at its precision variants, offline.

    python -m inctrl_export.precision_eval --bundle ../../models/nsfwjs-inception-v3 --data ../../../shared/data \
        --k 2 4 8 [--precisions bf16 int8] [--max-auroc-change 0.005]

The evaluation of `inctrl_export.evaluate --bundle` (same cases, same metrics, the spec §4 patch residual: the final
score of a patch-residual bundle, s_p of the others), run once per precision with the vision file the server runs at
that precision on a CPU (the variant's `vision_cpu` when listed, else its portable file; fp32: the bundle's CPU copy).
The variants are batch-invariant (the manifest's batched_max_abs_diff), so scoring one query at a time here gives what
the server's batches give. Prints each table and the mean AUROC per K with its change vs fp32; with
--max-auroc-change X it exits 1 when any precision's mean moves by more than X at any K (the variants' CI gate).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from . import evaluate as ev

PRECISIONS = ("fp32", "bf16", "int8")


def vision_file(manifest: dict, precision: str = "fp32") -> str:
    """The vision file a CPU replica of the server runs at `precision` (docs/bundle-format.md)."""
    if precision == "fp32":
        files = manifest["files"]
    else:
        files = ((manifest.get("variants") or {}).get(precision) or {}).get("files")
    if not files:
        offered = ", ".join(["fp32", *(manifest.get("variants") or {})])
        raise SystemExit(f"error: bundle {manifest['bundle_id']} offers precisions {offered}; no {precision} variant")
    return files.get("vision_cpu") or files["vision"]


class PrecisionScorer(ev.OfflineScorer):
    """evaluate's offline scorer with the vision file of one precision."""

    def __init__(self, bundle: Path, threads: int = 1, precision: str = "fp32"):
        super().__init__(bundle, threads)
        self.precision = precision
        self.vision_file = vision_file(self.manifest, precision)
        self.vision = self.torch.jit.load(str(bundle / self.vision_file)).eval()

    def describe(self) -> str:
        return f"{super().describe()} precision={self.precision} ({self.vision_file})"


def compare(bundle: Path, data: Path, ks: list[int], precisions: list[str], threads: int = 1,
            max_change: float | None = None) -> tuple[dict, list[str]]:
    """({precision: {k: mean AUROC}}, failures beyond max_change)."""
    cats = ev.find_categories(data)
    means, failures = {}, []
    for p in ["fp32", *precisions]:
        scorer = PrecisionScorer(bundle, threads, p)
        ev.log(scorer.describe())
        results = ev.evaluate(scorer, cats, ks)
        print(f"# {scorer.describe()}")
        print(ev.format_table(results, ks))
        means[p] = {k: float(np.mean([r.auroc for r in results if r.k == k])) for k in ks}
    print("# mean image AUROC per K (change vs fp32)")
    print(f"{'precision':<10}" + "".join(f"{'K=' + str(k):>19}" for k in ks))
    for p, row in means.items():
        cells = []
        for k in ks:
            d = row[k] - means["fp32"][k]
            cells.append(f"{row[k]:>10.3f}" + (f" ({d:+.3f})" if p != "fp32" else " " * 9))
            if max_change is not None and p != "fp32" and abs(d) > max_change + 1e-9:
                failures.append(f"{p} mean AUROC at K={k} is {row[k]:.3f}, {d:+.3f} vs fp32 (allowed ±{max_change})")
        print(f"{p:<10}" + "".join(cells))
    return means, failures


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m inctrl_export.precision_eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True, metavar="DIR")
    p.add_argument("--data", required=True, metavar="DIR", help="folder laid out like shared/data")
    p.add_argument("--k", type=int, nargs="+", default=[2, 4, 8])
    p.add_argument("--precisions", nargs="+", choices=PRECISIONS[1:],
                   help="default: every variant the bundle's manifest lists")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-auroc-change", type=float, metavar="X")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    bundle = Path(args.bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    precisions = args.precisions or [v for v in PRECISIONS[1:] if v in (manifest.get("variants") or {})]
    means, failures = compare(bundle, Path(args.data), args.k, precisions, args.threads, args.max_auroc_change)
    if args.json:
        Path(args.json).write_text(json.dumps({"bundle_id": manifest["bundle_id"], "mean_auroc": means}, indent=1))
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    if args.max_auroc_change is not None and not failures:
        print(f"OK: every precision's mean AUROC within ±{args.max_auroc_change} of fp32 at K={args.k}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
