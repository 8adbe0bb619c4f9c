"""Write a bundle directory per docs/bundle-format.md (version 1)."""
from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

import open_clip
import torch

from . import __version__, checksums
from .model import ARCH, TAPPED_BLOCKS, SourceModel, log
from .modules import build_export_modules
from .optimize import cpu_file_name, image_input, manifest_entry, write_cpu_copy
from .reference import IMAGE_SIZE, MEAN, STD, TEMPERATURE
from .tokenizer import EOT_ID, SOT_ID, write_tokenizer

FILES = {"vision": "vision.pt", "text": "text.pt", "adapter": "adapter.pt",
         "image_head": "image_head.pt", "holistic_head": "holistic_head.pt", "tokenizer": "tokenizer.json"}


def bundle_id(variant: str, source: str, seed: int | None, sha256: str | None) -> str:
    if source == "random-init":
        return f"inctrl-{variant}-random-seed{seed}"
    return f"inctrl-{variant}-ckpt-{sha256[:12]}"


def make_manifest(model: SourceModel, *, source: str, seed: int | None, sha256: str | None,
                  checkpoint_name: str | None = None) -> dict:
    if source == "random-init":
        desc = f"random-init seed={seed} (scores are meaningless)"
    else:
        desc = f"official InCTRL checkpoint {checkpoint_name}"
    return {
        "format_version": 1,
        "kind": "inctrl",
        "bundle_id": bundle_id(model.variant, source, seed, sha256),
        "arch": ARCH,
        "variant": model.variant,
        "image": {"size": IMAGE_SIZE, "resize": "shorter-side-pil-bicubic", "crop": "center",
                  "mean": list(MEAN), "std": list(STD)},
        "vision": {"embed_dim": model.embed_dim, "width": model.width, "grid": list(model.grid),
                   "tapped_blocks": list(TAPPED_BLOCKS)},
        "text": {"context_length": int(model.clip.context_length), "vocab_size": int(model.clip.vocab_size),
                 "sot_token": SOT_ID, "eot_token": EOT_ID, "temperature": TEMPERATURE},
        "weights": {"source": source, "seed": seed if source == "random-init" else None,
                    "checkpoint_sha256": sha256, "description": desc},
        "files": dict(FILES),
        "exporter": {"version": __version__, "torch": torch.__version__.split("+")[0],
                     "open_clip": open_clip.__version__,
                     "created_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


def write_bundle(model: SourceModel, out: str | Path, manifest: dict,
                 optimize: bool = True) -> dict[str, torch.jit.ScriptModule]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)  # an old manifest must not vouch for half-written files
    log("building serving modules")
    mods = build_export_modules(model)
    scripted = {}
    for name, mod in mods.items():
        log(f"scripting {name}")
        sm = torch.jit.script(mod)
        path = out / FILES[name]
        tmp = path.with_suffix(".pt.tmp")
        sm.save(str(tmp))
        os.replace(tmp, path)
        scripted[name] = sm
        log(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    # Only the vision forward gets a CPU copy: it dominates a request (measured, tools/export/README.md).
    (out / cpu_file_name(FILES["vision"])).unlink(missing_ok=True)
    if optimize:
        name, _ = write_cpu_copy(scripted["vision"], out, FILES["vision"], image_input(IMAGE_SIZE), False, log)
        manifest["files"]["vision_cpu"] = name
        manifest["optimized"] = manifest_entry(False, ["vision"])
    log("building tokenizer.json from open_clip's bpe_simple_vocab_16e6.txt.gz")
    write_tokenizer(out / FILES["tokenizer"])
    # Manifest last: a bundle with a manifest is complete.
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log(f"wrote {out / 'manifest.json'} (bundle_id={manifest['bundle_id']})")
    checksums.write(out, log)  # rewritten by callers that add files (fixtures, LICENSE)
    return scripted
