"""python -m inctrl_train.kscale: how detection scales with the number of normal shots K, exact vs coreset bank.

Issue 22 asks whether a prompt set that grows (more normal shots from production) detects better, and what a bounded
memory bank (greedy k-centre coreset of the patch tokens per tap, `inctrl_export.residual.coreset`, the reference of
the server's `Coreset`) costs. Measured on the auxiliary categories of shared/train that have >= --min-normals
normals (never on shared/data, which has 8 shots per category), with the bundle's own vision module (what the server
runs; default: the zero-download default bundle, centre crop).

Protocol, per category (seeded): --per-label normals and as many anomalies are the queries, fixed for every K and
episode; the other normals are the pool. Episode e draws a seeded order of the pool and the set of size K is its first
K shots (nested: each K grows the previous set, as adding shots through the API does). Score = s_p (max of the
residual map, spec §4) of each query against the bank: exact (all K·P tokens) or the coreset of --budgets tokens per
tap (exact when K·P <= budget). Reported: image AUROC / AUPRC per category, K and bank, mean over episodes, then the
mean over categories; the spread over episodes of that mean is the noise the direction test allows.
`--latency` also times the residual of one query at K = --latency-k (exact and coreset), the coreset's construction
and one vision forward, on this machine, in one run (ratios are what to read).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from inctrl_export.evaluate import auprc, auroc
from inctrl_export.residual import coreset_order, nearest_distance

from .data import read_manifest
from .features import BundleExtractor, FeatureCache, log, open_image

DEFAULT_BUNDLE = Path(__file__).resolve().parents[3] / "models" / "nsfwjs-inception-v3"


def tasks(train: Path, per_label: int, min_normals: int, seed: int, only: list[str] | None = None) -> list[dict]:
    """Per category with enough normals: fixed queries (per_label normals + per_label anomalies) and the shot pool."""
    records = read_manifest(train)
    out = []
    for ci, cat in enumerate(sorted({r.category for r in records})):
        normals, anomalies = (sorted(train / r.path for r in records if r.category == cat and r.label == lab)
                              for lab in (0, 1))
        if len(normals) < min_normals or (only and cat not in only):
            continue
        rng = np.random.default_rng([seed, ci])
        normals = [normals[i] for i in rng.permutation(len(normals))]
        anomalies = [anomalies[i] for i in rng.permutation(len(anomalies))]
        n_q = min(per_label, len(anomalies))
        out.append({"name": cat, "index": ci, "pool": normals[n_q:], "queries": normals[:n_q] + anomalies[:n_q],
                    "labels": np.array([0] * n_q + [1] * n_q)})
    if not out:
        raise SystemExit(f"no category of {train} has {min_normals} normals")
    return out


def load_tokens(cache: FeatureCache, paths: list[Path], what: str) -> list[torch.Tensor]:
    """Per image its taps [T, V·P, C] (all views pooled, as the server's bank and a tiles query)."""
    items = [(hashlib.sha256(p.read_bytes()).hexdigest(), (lambda p=p: open_image(p.read_bytes()))) for p in paths]
    feats = cache.get_many(items, progress=what)
    return [f["tok"].flatten(1, 2).float() if f["tok"].dim() == 4 else f["tok"].float() for f in feats]


def query_scores(q: list[torch.Tensor], bank: list[torch.Tensor]) -> np.ndarray:
    """s_p of every query (max over its views) against one bank per tap; queries stacked for one matmul per tap."""
    per_tap = [nearest_distance(torch.cat([x[t] for x in q]), bank[t]) for t in range(len(bank))]
    return _per_query_max(torch.stack(per_tap).mean(0), q)


def run_episode(q: list[torch.Tensor], pool: list[torch.Tensor], order: np.ndarray, ks: list[int],
                budgets: list[int], labels: np.ndarray) -> dict:
    """Exact scores for every K by a running max of cosines over the growing set; coreset scores per budget."""
    taps = q[0].shape[0]
    q_all = [torch.cat([x[t] for x in q]) for t in range(taps)]
    best = [torch.full((q_all[t].shape[0],), -2.0) for t in range(taps)]
    res: dict = {}
    added = 0
    for k in sorted(ks):
        for i in order[added:k]:
            for t in range(taps):
                best[t] = torch.maximum(best[t], (q_all[t] @ pool[i][t].T).max(dim=1).values)
        added = k
        m = torch.stack([0.5 * (1.0 - b) for b in best]).mean(0)
        s = _per_query_max(m, q)
        res[("exact", k)] = {"auroc": auroc(labels, s), "auprc": auprc(labels, s)}
        bank = [torch.cat([pool[i][t] for i in order[:k]]) for t in range(taps)]
        rows = bank[0].shape[0]
        reduce = [b for b in budgets if b < rows]
        if not reduce:
            for b in budgets:
                res[(f"coreset-{b}", k)] = res[("exact", k)]  # exact below the budget
            continue
        t0 = time.time()
        orders = [coreset_order(bank[t], max(reduce)) for t in range(taps)]
        log(f"  K={k}: coreset of {rows} rows to {max(reduce)} in {time.time() - t0:.1f}s")
        for b in budgets:
            if b >= rows:
                res[(f"coreset-{b}", k)] = res[("exact", k)]
                continue
            sub = [bank[t][orders[t][:b]] for t in range(taps)]
            s = query_scores(q, sub)
            res[(f"coreset-{b}", k)] = {"auroc": auroc(labels, s), "auprc": auprc(labels, s)}
    return res


def _per_query_max(m: torch.Tensor, q: list[torch.Tensor]) -> np.ndarray:
    out, at = [], 0
    for x in q:
        n = x.shape[1]
        out.append(float(m[at:at + n].max()))
        at += n
    return np.array(out)


def evaluate(ext: BundleExtractor, cache: FeatureCache, ts: list[dict], ks: list[int], budgets: list[int],
             episodes: int, seed: int) -> dict:
    """{bank: {k: {category: {"auroc": [per episode], "auprc": [...]}}}}"""
    res: dict = {}
    for t in ts:
        log(f"{t['name']}: {len(t['pool'])} pool normals, {len(t['queries'])} queries")
        q = load_tokens(cache, t["queries"], f"{t['name']} queries")
        orders = [np.random.default_rng([seed, t["index"], e]).permutation(len(t["pool"]))[:max(ks)]
                  for e in range(episodes)]
        needed = sorted({int(i) for o in orders for i in o})  # only the shots some episode draws are extracted
        loaded = dict(zip(needed, load_tokens(cache, [t["pool"][i] for i in needed], f"{t['name']} pool"), strict=True))
        pool = [loaded.get(i) for i in range(len(t["pool"]))]
        for e, order in enumerate(orders):
            t0 = time.time()
            r = run_episode(q, pool, order, ks, budgets, t["labels"])
            log(f"{t['name']} episode {e}: {time.time() - t0:.0f}s; exact AUROC "
                + " ".join(f"K={k}:{r[('exact', k)]['auroc']:.3f}" for k in ks))
            for (bank, k), v in r.items():
                cell = res.setdefault(bank, {}).setdefault(str(k), {}).setdefault(t["name"], {"auroc": [], "auprc": []})
                cell["auroc"].append(v["auroc"])
                cell["auprc"].append(v["auprc"])
    return res


def summary(res: dict, ks: list[int]) -> dict:
    """Per bank and K: mean over categories of the per-category mean over episodes, and the spread over episodes of
    the category mean (std of the per-episode means; the noise of one run)."""
    out: dict = {}
    for bank, per_k in res.items():
        for k in ks:
            cats = per_k.get(str(k))
            if not cats:
                continue
            row = {}
            for metric in ("auroc", "auprc"):
                per_ep = np.mean([c[metric] for c in cats.values()], axis=0)  # category mean, per episode
                row[metric] = float(per_ep.mean())
                row[metric + "_episode_std"] = float(per_ep.std(ddof=1)) if len(per_ep) > 1 else 0.0
                row[metric + "_per_category"] = {n: float(np.mean(c[metric])) for n, c in cats.items()}
            out.setdefault(bank, {})[str(k)] = row
    return out


@torch.no_grad()
def latency(ext: BundleExtractor, pool: list[torch.Tensor], ks: list[int], budgets: list[int], reps: int) -> dict:
    """Seconds per query of the residual (one query's taps against the bank: matmul + max, as the server) for exact
    and coreset banks built from real tokens, the coreset's construction time, and one vision forward (batch 1)."""
    taps, p, c = pool[0].shape
    q = pool[0]
    out = {"forward_s": None, "rows_per_shot": p, "width": c, "taps": taps, "k": {}}
    x = torch.zeros(1, 3, ext.size, ext.size)
    ext.extract(x)
    t0 = time.perf_counter()
    for _ in range(reps):
        ext.extract(x)
    out["forward_s"] = (time.perf_counter() - t0) / reps
    for k in ks:
        shots = [pool[i % len(pool)] for i in range(k)]
        bank = [torch.cat([s[t] for s in shots]) for t in range(taps)]
        row = {"rows": bank[0].shape[0]}

        def timed(b):  # the server keeps each bank transposed, [C, N] contiguous (PromptTensorCache)
            bt = [x.T.contiguous() for x in b]
            for t in range(taps):
                (q[t] @ bt[t]).max(dim=1)
            t0 = time.perf_counter()
            for _ in range(reps):
                for t in range(taps):
                    (q[t] @ bt[t]).max(dim=1)
            return (time.perf_counter() - t0) / reps

        row["exact_s"] = timed(bank)
        for budget in budgets:
            if budget >= bank[0].shape[0]:
                row[f"coreset-{budget}_s"] = row["exact_s"]
                continue
            t0 = time.perf_counter()
            sel = [coreset_order(bank[t], budget) for t in range(taps)]
            row[f"coreset-{budget}_build_s"] = time.perf_counter() - t0
            row[f"coreset-{budget}_s"] = timed([bank[t][sel[t]] for t in range(taps)])
        log(f"latency K={k}: " + ", ".join(f"{n} {v:.4g}" for n, v in row.items()))
        out["k"][str(k)] = row
    return out


def format_table(summ: dict, ks: list[int], budgets: list[int]) -> str:
    banks = ["exact"] + [f"coreset-{b}" for b in budgets]
    lines = ["| bank | " + " | ".join(f"K={k}" for k in ks) + " |", "|---" * (1 + len(ks)) + "|"]
    for bank in banks:
        cells = []
        for k in ks:
            r = summ.get(bank, {}).get(str(k))
            cells.append("-" if r is None else f"{r['auroc']:.3f} / {r['auprc']:.3f} (±{r['auroc_episode_std']:.3f})")
        lines.append(f"| {bank} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_latency(lat: dict, budgets: list[int]) -> str:
    lines = [f"vision forward (batch 1): {lat['forward_s'] * 1e3:.1f} ms; rows per shot {lat['rows_per_shot']}, "
             f"width {lat['width']}, taps {lat['taps']}",
             "| K | rows | exact residual ms | " + " | ".join(f"coreset-{b} ms (build s)" for b in budgets) + " |",
             "|---" * (3 + len(budgets)) + "|"]
    for k, r in lat["k"].items():
        cells = []
        for b in budgets:
            build = r.get(f"coreset-{b}_build_s")
            cells.append(f"{r[f'coreset-{b}_s'] * 1e3:.2f}" + (f" ({build:.1f})" if build is not None else " (exact)"))
        lines.append(f"| {k} | {r['rows']} | {r['exact_s'] * 1e3:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m inctrl_train.kscale", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", default=str(DEFAULT_BUNDLE), help="bundle dir (default: the default bundle)")
    p.add_argument("--train", default="../../../shared/train", help="auxiliary data with manifest.csv")
    p.add_argument("--cache", default="../../build/kscale-cache", help="feature cache root")
    p.add_argument("--k", nargs="+", type=int, default=[8, 16, 32, 64, 128])
    p.add_argument("--budgets", nargs="+", type=int, default=[2048, 4096, 8192], help="coreset tokens per tap")
    p.add_argument("--episodes", type=int, default=3)
    p.add_argument("--per-label", type=int, default=44, help="query normals and anomalies per category")
    p.add_argument("--min-normals", type=int, default=300)
    p.add_argument("--categories", nargs="+", help="only these (default: every category with --min-normals)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--latency", action="store_true", help="also time the residual at --latency-k")
    p.add_argument("--latency-k", nargs="+", type=int, default=[8, 32, 128, 512])
    p.add_argument("--latency-reps", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="write all results here")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    ext = BundleExtractor(Path(a.bundle), "center-crop")
    cache = FeatureCache(Path(a.cache), ext)
    ts = tasks(Path(a.train), a.per_label, a.min_normals, a.seed, a.categories)
    t0 = time.time()
    res = evaluate(ext, cache, ts, a.k, a.budgets, a.episodes, a.seed)
    summ = summary(res, a.k)
    out = {"config": vars(a), "bundle_id": ext.manifest["bundle_id"], "categories": [t["name"] for t in ts],
           "pool_sizes": {t["name"]: len(t["pool"]) for t in ts}, "summary": summ, "raw": res,
           "seconds": round(time.time() - t0)}
    print(f"# {ext.manifest['bundle_id']} (centre crop), shared/train categories {out['categories']}, "
          f"{a.per_label}+{a.per_label} queries each, {a.episodes} nested episodes, seed {a.seed}")
    print("# mean image AUROC / AUPRC over categories (± std over episodes of the category-mean AUROC)")
    print(format_table(summ, a.k, a.budgets))
    if a.latency:
        pool = [x for t in ts for x in load_tokens(cache, t["pool"], t["name"])]
        out["latency"] = latency(ext, pool, a.latency_k, a.budgets, a.latency_reps)
        print(format_latency(out["latency"], a.budgets))
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
