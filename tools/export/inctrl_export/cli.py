"""python -m inctrl_export: export an InCTRL bundle (+ optional reference fixtures)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from . import checksums
from .model import log
from .optimize import OptimizeError

VERIFY_TOLERANCE = 1e-4


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m inctrl_export", description=__doc__)
    # Not an argparse exclusive group: --kind residual-heads combines --from-nsfwjs with --random-init/--heads.
    p.add_argument("--random-init", action="store_true", help="random weights (deterministic for --seed)")
    p.add_argument("--checkpoint", metavar="PATH", help="official InCTRL checkpoint (.pyth)")
    p.add_argument("--from-nsfwjs", metavar="TGZ_OR_DIR",
                   help="patch-residual bundle from the InceptionV3 in nsfwjs@4.4.0 (npm pack tarball or unpacked dir)")
    p.add_argument("--kind", choices=("inctrl", "patch-residual", "residual-heads"),
                   help="bundle kind (default: inctrl, or patch-residual with --from-nsfwjs)")
    p.add_argument("--heads", metavar="PT", help="--kind residual-heads: trained heads state dict (inctrl_train)")
    p.add_argument("--global-layer", metavar="NAME",
                   help="--kind residual-heads: block whose raw map is pooled into g (default Mixed_6c)")
    p.add_argument("--global-pool", choices=("avg", "max"), help="--kind residual-heads: pooling of g (default avg)")
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
    if args.kind == "residual-heads":
        if args.threads:
            torch.set_num_threads(args.threads)
        return _residual_heads(args, t_start=time.time())
    if args.heads or args.global_layer or args.global_pool:
        print("error: --heads/--global-layer/--global-pool apply to --kind residual-heads only", file=sys.stderr)
        return 2
    n_src = sum(bool(x) for x in (args.random_init, args.checkpoint, args.from_nsfwjs))
    if n_src != 1:
        print("error: give exactly one of --random-init, --checkpoint, --from-nsfwjs", file=sys.stderr)
        return 2
    if (args.kind == "inctrl" and args.from_nsfwjs) or (args.kind == "patch-residual" and not args.from_nsfwjs):
        print(f"error: --kind {args.kind} does not match the source", file=sys.stderr)
        return 2
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
        checksums.write(args.out, log)  # again: the fixtures are part of the bundle
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


def _residual_heads(args, t_start: float) -> int:
    from . import nsfwjs
    from . import residual_heads as rh
    if args.checkpoint:
        print("error: --checkpoint does not apply to --kind residual-heads", file=sys.stderr)
        return 2
    if bool(args.random_init) == bool(args.heads):
        print("error: --kind residual-heads needs exactly one of --random-init, --heads PT", file=sys.stderr)
        return 2
    if not args.tiny and not args.from_nsfwjs:
        print("error: --kind residual-heads needs --from-nsfwjs (or --tiny for a random test trunk)", file=sys.stderr)
        return 2
    if args.input_range not in (None, "pm1"):
        print("error: --kind residual-heads uses --input-range pm1 only", file=sys.stderr)
        return 2
    layers = args.layers or list(rh.TINY_LAYERS if args.tiny else rh.DEFAULT_LAYERS)
    torch.set_grad_enabled(False)
    try:
        bb = rh.load_backbone(None if args.tiny else args.from_nsfwjs, layers,
                              args.global_layer or rh.DEFAULT_GLOBAL_LAYER, args.global_pool or rh.DEFAULT_GLOBAL_POOL,
                              args.pooling or nsfwjs.DEFAULT_POOLING, tiny=args.tiny, seed=args.seed)
        if args.heads:
            heads = rh.load_heads(args.heads, bb.embed_dim, bb.grid[0] * bb.grid[1])
            meta_path = Path(args.heads).with_suffix(".json")
            meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
            weights = {"source": "trained", "seed": meta.get("seed"),
                       "description": meta.get("description") or f"InCTRL-style residual heads from {args.heads}",
                       "provenance": {"training": meta.get("training", {"heads_file": Path(args.heads).name})}}
            lic = meta.get("training_licence")
        else:
            heads = None
            weights = {"source": "random-init", "seed": args.seed,
                       "description": f"random-init heads seed={args.seed} over "
                                      + ("a random InceptionV3 trunk" if args.tiny else "ImageNet InceptionV3 features")
                                      + " (scores are meaningless)"}
            lic = None
        rh.export_bundle(None, args.out, heads=heads, weights=weights, tiny=args.tiny, seed=args.seed,
                         optimize=not args.no_optimize, fixtures_data=args.fixtures_data, backbone=bb,
                         pooling=args.pooling or nsfwjs.DEFAULT_POOLING, training_licence=lic, log=log)
    except (rh.ResidualHeadsError, nsfwjs.ConversionError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    log(f"done in {time.time() - t_start:.1f}s -> {args.out}")
    return 0
