"""python -m inctrl_train.evaluate: image AUROC / AUPRC per category at K = 2, 4, 8 of exported bundles.

Runs the bundle's own TorchScript files (vision + heads), so it also exercises what the server loads. Data layout
and shot choice as inctrl_export.evaluate (first K files of shots/ in sorted order; every file under test/ is a
query). Scores: "s_p" = patch residual (the final score of kind patch-residual), "final" = (s_h + s_p)/2 of kind
residual-heads. Reporting only: never train or select on this data.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from inctrl_export.evaluate import auprc, auroc, find_categories
from inctrl_export.residual import residual_map

from .features import log


class BundleScorer:
    def __init__(self, bundle: Path):
        from torchvision import transforms
        self.dir = Path(bundle)
        self.m = json.loads((self.dir / "manifest.json").read_text())
        self.kind = self.m["kind"]
        if self.kind not in ("residual-heads", "patch-residual"):
            raise SystemExit(f"{bundle}: kind {self.kind} not supported here (residual-heads, patch-residual)")
        img = self.m["image"]
        size = int(img["size"])
        self.tf = transforms.Compose([
            transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(size), transforms.Lambda(lambda im: im.convert("RGB")),
            transforms.ToTensor(), transforms.Normalize(img["mean"], img["std"])])
        f = self.m["files"]
        self.vision = torch.jit.load(str(self.dir / f.get("vision_cpu", f["vision"]))).eval()
        self.heads = {k: torch.jit.load(str(self.dir / f[k])).eval()
                      for k in ("adapter", "image_head", "holistic_head")} if self.kind == "residual-heads" else {}
        self.cache: dict = {}

    @property
    def name(self) -> str:
        return self.dir.name

    @torch.no_grad()
    def features(self, path: Path):
        if path not in self.cache:
            from PIL import Image
            with Image.open(path) as im:
                out = self.vision(self.tf(im)[None])
            if self.kind == "residual-heads":
                self.cache[path] = (out[0][0], [t[0] for t in out[1:]])
            else:
                self.cache[path] = (None, [t[0] for t in out])
        return self.cache[path]

    @torch.no_grad()
    def score(self, query: Path, shots: list[Path]) -> dict:
        q = self.features(query)
        s = [self.features(p) for p in shots]
        M = residual_map(q[1], [torch.cat([x[1][i] for x in s]) for i in range(len(q[1]))])  # spec §4
        s_p = float(M.max())
        if not self.heads:
            return {"s_p": s_p}
        proto = self.heads["adapter"](torch.stack([x[0] for x in s])).mean(0)
        s_i = self.heads["image_head"]((proto - self.heads["adapter"](q[0][None])[0])[None])[0]
        s_h = float(self.heads["holistic_head"]((M + s_i)[None])[0])
        return {"s_p": s_p, "s_i": float(s_i), "s_h": s_h, "final": (s_h + s_p) / 2}


def evaluate(bundles: list[Path], data: Path, shots: list[int]) -> dict:
    cats = find_categories(data)
    res: dict = {}
    for b in bundles:
        sc = BundleScorer(b)
        log(f"evaluating {sc.name} ({sc.kind}) on {len(cats)} categories, K={shots}")
        out = res.setdefault(sc.name, {"kind": sc.kind, "bundle_id": sc.m["bundle_id"], "results": {}})
        for c in cats:
            for k in shots:
                rows = [sc.score(q, c.shots[:k]) for q in c.queries]
                for key in rows[0]:  # s_i and s_h alone too (diagnostics; the table shows s_p and final)
                    s = np.array([r[key] for r in rows])
                    out["results"].setdefault(key, {}).setdefault(f"k{k}", {})[c.name] = {
                        "auroc": auroc(c.labels, s), "auprc": auprc(c.labels, s)}
        for key, per_k in out["results"].items():
            for kk, per_c in per_k.items():
                per_c["mean"] = {m: float(np.mean([v[m] for n, v in per_c.items() if n != "mean"]))
                                 for m in ("auroc", "auprc")}
    return res


def format_table(res: dict, shots: list[int]) -> str:
    cols = [(b, key) for b, r in res.items() for key in r["results"] if key in ("s_p", "final")]
    cats = list(next(iter(res.values()))["results"]["s_p"][f"k{shots[0]}"])
    head = "| K | category | " + " | ".join(f"{b} {key} AUROC / AUPRC" for b, key in cols) + " |"
    lines = [head, "|" + "---|" * (2 + len(cols))]
    for k in shots:
        for c in cats:
            vals = [res[b]["results"][key][f"k{k}"][c] for b, key in cols]
            lines.append(f"| {k} | {c} | " + " | ".join(f"{v['auroc']:.3f} / {v['auprc']:.3f}" for v in vals) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m inctrl_train.evaluate", description=__doc__)
    p.add_argument("--bundle", action="append", required=True, help="bundle dir (repeat to compare)")
    p.add_argument("--data", required=True, help="evaluation data (e.g. shared/data)")
    p.add_argument("--shots", nargs="+", type=int, default=[2, 4, 8])
    p.add_argument("--json", help="write the results here")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    res = evaluate([Path(b) for b in a.bundle], Path(a.data), a.shots)
    table = format_table(res, a.shots)
    print(table)
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
