"""python -m inctrl_train.select: compare tap / global-embedding choices on the validation split (auxiliary data
only). Each candidate trains with the same seed and steps from the shared feature cache; prints a table."""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import torch

from . import train as T
from .features import log

# Taps must share one grid (the residual map averages taps location by location): Mixed_5d (35x35) cannot pair
# with Mixed_6b/6c (17x17).
CANDIDATES = [
    (["Mixed_6b"], "Mixed_6c", "avg"),
    (["Mixed_6b"], "Mixed_6c", "max"),
    (["Mixed_6b"], "Mixed_6b", "avg"),
    (["Mixed_6b", "Mixed_6c"], "Mixed_6c", "avg"),
    (["Mixed_6c"], "Mixed_6c", "avg"),
]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m inctrl_train.select", description=__doc__)
    p.add_argument("--from-nsfwjs", dest="nsfwjs", required=True)
    p.add_argument("--datasets", nargs="+", default=["deeppcb"])
    p.add_argument("--synthetic", type=int, default=2)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--val-every", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", type=int, nargs="+", help="candidate indices to run")
    p.add_argument("--json", required=True)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    base = T.Config(nsfwjs=a.nsfwjs, datasets=a.datasets, synthetic=a.synthetic, steps=a.steps,
                    val_every=a.val_every, seed=a.seed)
    ext = T.build_extractor(base)
    results = json.loads(Path(a.json).read_text()) if Path(a.json).exists() else []
    for i, (taps, gl, gp) in enumerate(CANDIDATES):
        if a.only and i not in a.only:
            continue
        cfg = replace(base, taps=taps, global_layer=gl, global_pool=gp)
        _, tr, va = T.prepare(cfg, ext)
        heads, hist = T.train_heads(cfg, tr, va)
        sel = next(v for v in hist["val"] if v["step"] == hist["selected_step"])
        row = {"taps": taps, "global": f"{gl}:{gp}", "steps": cfg.steps, "selected_step": hist["selected_step"],
               "val_mean_final_auroc": hist["selected_val_auroc"],
               "val_last_final_auroc": hist["val"][-1]["mean_final_auroc"],
               "val_s_p_auroc": {kk: sel[kk]["_mean"]["s_p"]["auroc"] for kk in sel if kk.startswith("k")},
               "val_final_auroc": {kk: sel[kk]["_mean"]["final"]["auroc"] for kk in sel if kk.startswith("k")},
               "datasets": cfg.datasets, "synthetic": cfg.synthetic, "seed": cfg.seed}
        results = [r for r in results if (r["taps"], r["global"]) != (taps, row["global"])] + [row]
        Path(a.json).write_text(json.dumps(results, indent=2) + "\n")
        log(f"candidate {taps} g={gl}:{gp}: val mean AUROC {row['val_mean_final_auroc']:.4f} "
            f"(step {row['selected_step']}), s_p {row['val_s_p_auroc']}")
    print("| taps | g | selected step | val AUROC final (mean K) | last step | s_p per K |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {'+'.join(r['taps'])} | {r['global']} | {r['selected_step']} | {r['val_mean_final_auroc']:.4f} | "
              f"{r['val_last_final_auroc']:.4f} | " + ", ".join(f"{k}: {v:.3f}" for k, v in r['val_s_p_auroc'].items())
              + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
