"""python -m inctrl_export: export an InCTRL bundle (+ optional reference fixtures)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from .model import log
from .optimize import OptimizeError

VERIFY_TOLERANCE = 1e-4


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m inctrl_export", description=__doc__)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--random-init", action="store_true", help="random weights (deterministic for --seed)")
    src.add_argument("--checkpoint", metavar="PATH", help="official InCTRL checkpoint (.pyth)")
    src.add_argument("--from-nsfwjs", metavar="TGZ_OR_DIR",
                     help="patch-residual bundle from the InceptionV3 in nsfwjs@4.4.0 (npm pack tarball or unpacked dir)")
    p.add_argument("--layers", nargs="+", metavar="NAME",
                   help="--from-nsfwjs: tapped ImageNet layers, one stage (default Mixed_6b; up to Mixed_6c)")
    p.add_argument("--pooling", choices=("none", "avg3"),
                   help="--from-nsfwjs: 3x3 local mean of the features before normalising (default none)")
    p.add_argument("--input-range", choices=("pm1", "unit"),
                   help="--from-nsfwjs: pm1 = x/127.5-1, the ImageNet training input (default); unit = x/255 as nsfwjs")
    p.add_argument("--seed", type=int, default=0, help="seed for --random-init (default 0)")
    p.add_argument("--tiny", action="store_true", help="same topology, small widths (tests only)")
    p.add_argument("--out", required=True, metavar="DIR", help="bundle directory to write")
    p.add_argument("--fixtures-data", metavar="DIR", help="also write <out>/fixtures/ from this data dir")
    p.add_argument("--no-verify", action="store_true",
                   help="skip re-checking the written TorchScript against the fixtures")
    p.add_argument("--no-optimize", action="store_true",
                   help="do not write the CPU-optimised copy (vision.cpu.pt, a frozen TorchScript) beside vision.pt")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    t_start = time.time()
    variant = "tiny" if args.tiny else "full"
    if args.from_nsfwjs:
        return _from_nsfwjs(args, t_start)
    if args.layers or args.pooling or args.input_range:
        print("error: --layers/--pooling/--input-range apply to --from-nsfwjs only", file=sys.stderr)
        return 2
    from .bundle import make_manifest, write_bundle

    if args.checkpoint:
        from .checkpoint import CheckpointError, load_model_from_checkpoint
        try:
            model, digest = load_model_from_checkpoint(args.checkpoint, variant)
        except CheckpointError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        manifest = make_manifest(model, source="checkpoint", seed=None, sha256=digest,
                                 checkpoint_name=Path(args.checkpoint).name)
    else:
        from .model import make_random_model
        model = make_random_model(variant, args.seed)
        manifest = make_manifest(model, source="random-init", seed=args.seed, sha256=None)

    torch.set_grad_enabled(False)
    try:
        write_bundle(model, args.out, manifest, optimize=not args.no_optimize)
    except OptimizeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    if args.fixtures_data:
        from .fixtures import write_fixtures
        write_fixtures(model, args.fixtures_data, args.out, manifest["bundle_id"])
        if not args.no_verify:
            from .verify import verify_bundle
            worst = verify_bundle(args.out)
            log(f"verify: exported TorchScript vs reference, max|diff| = {worst:.2e} (tolerance {VERIFY_TOLERANCE})")
            if worst > VERIFY_TOLERANCE:
                print(f"error: exported modules disagree with the reference by {worst:.2e}", file=sys.stderr)
                return 3
    log(f"done in {time.time() - t_start:.1f}s -> {args.out}")
    return 0


def _from_nsfwjs(args, t_start: float) -> int:
    from . import nsfwjs
    if args.tiny or args.fixtures_data:
        print("error: --tiny/--fixtures-data do not apply to --from-nsfwjs", file=sys.stderr)
        return 2
    torch.set_grad_enabled(False)
    try:
        nsfwjs.export_bundle(args.from_nsfwjs, args.out, layers=args.layers or list(nsfwjs.DEFAULT_LAYERS),
                             pooling=args.pooling or nsfwjs.DEFAULT_POOLING,
                             input_range=args.input_range or nsfwjs.DEFAULT_INPUT_RANGE, log=log,
                             optimize=not args.no_optimize)
    except nsfwjs.ConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    log(f"done in {time.time() - t_start:.1f}s -> {args.out}")
    return 0
