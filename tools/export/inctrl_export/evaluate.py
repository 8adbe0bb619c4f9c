"""python -m inctrl_export.evaluate: per-category image AUROC / AUPRC for K shots, offline or through the server.

Data layout: <data>/<dataset>/<category>/{shots/*, test/good/*, test/<defect>/*}. Shots = the first K files of
shots/ in sorted order (so the K sets are nested); every file under test/ is a query, good = normal.

Offline (--bundle DIR): runs the bundle's vision.pt directly and computes the patch residual of spec §4
(per query location: min over all shot locations of ½(1−cos); mean over taps; image score = max). For a
"patch-residual" bundle that is the server's final score; for an "inctrl" bundle it is s_p only.
Server (--server HOST:PORT): one unary Scorer.Score call per query with the K shots and the category inline;
the score is ScoreResponse.score. Stubs are generated from proto/src/main/proto with grpcio-tools at run time.

Registry (--server ... --registry): the K shots are registered as a prompt set (PromptRegistry.CreatePromptSet,
with --target-fpr's first value when given), every query is scored by prompt_set_id, and besides AUROC the recall
(anomalies flagged) and FPR (normals flagged) of the set's suggested threshold are reported, next to those of the
former rule max(leave-one-out shot scores) + 0.02 computed from the same calibration. Each further --target-fpr
value is applied with SetThreshold(target_fpr) and evaluated on the same scores. The set is deleted afterwards.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


def log(msg: str) -> None:
    print(f"[evaluate] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------
# Data

@dataclass
class Category:
    name: str          # "<dataset>/<category>"
    category: str      # folder name, sent as the text-prior category
    shots: list[Path]
    queries: list[Path]
    labels: np.ndarray  # 1 = anomaly


def _images(d: Path) -> list[Path]:
    return sorted(p for p in d.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXT)


def find_categories(data: Path) -> list[Category]:
    cats = []
    for shots_dir in sorted(data.glob("*/*/shots")):
        root = shots_dir.parent
        test = root / "test"
        if not test.is_dir():
            continue
        queries = _images(test)
        labels = np.array([0 if q.relative_to(test).parts[0] == "good" else 1 for q in queries], dtype=np.int64)
        cats.append(Category(f"{root.parent.name}/{root.name}", root.name, _images(shots_dir), queries, labels))
    if not cats:
        raise SystemExit(f"error: no <dataset>/<category>/{{shots,test}} folders under {data}")
    return cats


# ---------------------------------------------------------------------------------------------------------
# Metrics (no sklearn): AUROC = Mann-Whitney U with mid-ranks; AUPRC = average precision (sklearn definition).

def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    pos, neg = int(labels.sum()), int((1 - labels).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(len(s), dtype=np.float64)
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[labels == 1].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def auprc(labels: np.ndarray, scores: np.ndarray) -> float:
    pos = int(labels.sum())
    if pos == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    tp = np.cumsum(y)
    fp = np.cumsum(1 - y)
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # one threshold per distinct score
    tp, fp = tp[last], fp[last]
    precision = tp / (tp + fp)
    recall = tp / pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


# ---------------------------------------------------------------------------------------------------------
# Offline scorer (direct TorchScript)

class OfflineScorer:
    def __init__(self, bundle: Path, threads: int = 1):
        import torch
        from PIL import Image

        from .spec import manifest_transform

        torch.set_num_threads(threads)  # see notes: 2 OpenMP threads next to another job spin-wait badly
        self.torch = torch
        self.Image = Image
        self.manifest = json.loads((bundle / "manifest.json").read_text())
        self.kind = self.manifest["kind"]
        self.transform = manifest_transform(self.manifest["image"])  # as the Java server (spec §3)
        self.vision = torch.jit.load(str(bundle / self.manifest["files"]["vision"])).eval()
        self.cache: dict[Path, list] = {}
        self.bundle_id = self.manifest["bundle_id"]

    def describe(self) -> str:
        v = self.manifest["vision"]
        taps = v.get("tapped_layers", v.get("tapped_blocks"))
        what = "final score" if self.kind == "patch-residual" else "s_p only (offline)"
        return f"offline {self.bundle_id} kind={self.kind} taps={taps} grid={v['grid']} ({what})"

    def features(self, path: Path) -> list:
        if path not in self.cache:
            with self.Image.open(path) as im:
                x = self.transform(im).unsqueeze(0)
            with self.torch.no_grad():
                out = self.vision(x)
            taps = list(out[1:] if self.kind == "inctrl" else out)  # inctrl: (g, tap0, tap1, tap2)
            self.cache[path] = [t[0] for t in taps]  # [P, C], unit-norm
        return self.cache[path]

    def score(self, query: Path, shots: list[Path], category: str) -> float:
        from .spec import residual_map
        m = residual_map(self.features(query), [self.features(s) for s in shots])  # all shots' locations pooled
        return float(m.max())


# ---------------------------------------------------------------------------------------------------------
# Server scorer (gRPC)

def _default_proto_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "proto" / "src" / "main" / "proto"


def load_stubs(proto_dir: Path):
    """Generate scoring_pb2 / scoring_pb2_grpc into a temp dir with grpcio-tools and import them."""
    import importlib
    import tempfile

    try:
        import grpc  # noqa: F401
        from grpc_tools import protoc
    except ImportError as e:
        raise SystemExit(f"error: --server needs grpcio and grpcio-tools ({e}); "
                         "pip install -r tools/export/requirements.txt") from e
    import importlib.resources as ir
    out = Path(tempfile.mkdtemp(prefix="inctrl-stubs-"))
    well_known = str(ir.files("grpc_tools") / "_proto")
    protos = sorted(str(p.relative_to(proto_dir)) for p in proto_dir.rglob("*.proto"))
    rc = protoc.main(["protoc", f"-I{proto_dir}", f"-I{well_known}", f"--python_out={out}",
                      f"--grpc_python_out={out}", *protos])
    if rc != 0:
        raise SystemExit(f"error: protoc failed ({rc}) on {proto_dir}")
    sys.path.insert(0, str(out))
    pb2 = importlib.import_module("inctrl.v1.scoring_pb2")
    pb2_grpc = importlib.import_module("inctrl.v1.scoring_pb2_grpc")
    return pb2, pb2_grpc


class ServerScorer:
    def __init__(self, target: str, api_key: str | None, proto_dir: Path, timeout_s: float = 120.0,
                 inspection: str = "center-crop"):
        import grpc

        self.pb2, pb2_grpc = load_stubs(proto_dir)
        self.channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 64 << 20),
                                                              ("grpc.max_receive_message_length", 64 << 20)])
        self.stub = pb2_grpc.ScorerStub(self.channel)
        self.metadata = [("x-api-key", api_key)] if api_key else []
        self.timeout_s = timeout_s
        self.target = target
        self.bytes: dict[Path, bytes] = {}
        info = self.stub.GetModelInfo(self.pb2.ModelInfoRequest(), metadata=self.metadata, timeout=timeout_s)
        self.info = info
        self.bundle_id = info.bundle_id
        # "center-crop" -> INSPECTION_CENTER_CROP: how shots and queries are cut into the model's S x S input
        self.inspection = self.pb2.Inspection.Value("INSPECTION_" + inspection.upper().replace("-", "_"))
        self.inspection_name = inspection

    def describe(self) -> str:
        i = self.info
        return (f"server {self.target} bundle={i.bundle_id} kind={i.kind} arch={i.arch!r} "
                f"random_weights={i.random_weights} weights={i.weights_description!r} "
                f"inspection={self.inspection_name}")

    def _b(self, p: Path) -> bytes:
        if p not in self.bytes:
            self.bytes[p] = p.read_bytes()
        return self.bytes[p]

    def score(self, query: Path, shots: list[Path], category: str) -> float:
        req = self.pb2.ScoreRequest(
            request_id=query.name[:128], image=self._b(query), omit_map=True,
            inline=self.pb2.InlinePrompts(shots=[self._b(s) for s in shots], category=category,
                                          inspection=self.inspection))
        return float(self.stub.Score(req, metadata=self.metadata, timeout=self.timeout_s).score)

    def registry(self):
        import importlib

        import grpc  # noqa: F401

        reg = importlib.import_module("inctrl.v1.registry_pb2")
        reg_grpc = importlib.import_module("inctrl.v1.registry_pb2_grpc")
        return reg, reg_grpc.PromptRegistryStub(self.channel)

    def score_by_id(self, query: Path, set_id: str) -> float:
        req = self.pb2.ScoreRequest(request_id=query.name[:128], image=self._b(query), omit_map=True,
                                    prompt_set_id=set_id)
        return float(self.stub.Score(req, metadata=self.metadata, timeout=self.timeout_s).score)


# ---------------------------------------------------------------------------------------------------------
# Registry: recall / FPR of the suggested threshold

def _rates(labels: np.ndarray, scores: np.ndarray, threshold: float) -> tuple[float, float]:
    """(recall, fpr) of the rule score >= threshold, the server's is_anomalous."""
    flagged = scores >= threshold
    return float(flagged[labels == 1].mean()), float(flagged[labels == 0].mean())


def evaluate_registry(scorer: ServerScorer, cats: list[Category], ks: list[int], targets: list[float]) -> list[dict]:
    reg, stub = scorer.registry()
    md, to = scorer.metadata, scorer.timeout_s
    rows = []
    for cat in cats:
        for k in ks:
            if k > len(cat.shots):
                log(f"{cat.name}: only {len(cat.shots)} shots, skipping K={k}")
                continue
            t0 = time.time()
            req = reg.CreatePromptSetRequest(name=f"evaluate-{cat.category}-k{k}-{int(t0 * 1000)}",
                                             category=cat.category, shots=[scorer._b(s) for s in cat.shots[:k]],
                                             inspection=scorer.inspection)
            if targets:
                req.target_fpr = targets[0]
            p = stub.CreatePromptSet(req, metadata=md, timeout=to)
            try:
                s = np.array([scorer.score_by_id(q, p.id) for q in cat.queries], dtype=np.float64)
                cal = p.calibration
                old = min(1.0, max(cal.shot_scores) + 0.02)
                rec, fpr = _rates(cat.labels, s, old)
                base = dict(category=cat.name, k=k, auroc=auroc(cat.labels, s), n_normal=int((cat.labels == 0).sum()),
                            n_anomaly=int(cat.labels.sum()), shot_scores=list(cal.shot_scores), scores=s.tolist())
                rows.append(dict(base, rule="max+0.02", target_fpr=None, threshold=old, expected_fpr=None,
                                 recall=rec, fpr=fpr))
                for i, target in enumerate(targets or [None]):
                    if i > 0:
                        p = stub.SetThreshold(reg.SetThresholdRequest(id=p.id, target_fpr=target), metadata=md,
                                              timeout=to)
                    cal = p.calibration
                    rec, fpr = _rates(cat.labels, s, cal.threshold)
                    rows.append(dict(base, rule=cal.method, target_fpr=cal.target_fpr, threshold=cal.threshold,
                                     expected_fpr=cal.expected_fpr, recall=rec, fpr=fpr))
            finally:
                stub.DeletePromptSet(reg.DeletePromptSetRequest(id=p.id), metadata=md, timeout=to)
            log(f"{cat.name} K={k}: AUROC {rows[-1]['auroc']:.3f} ({time.time() - t0:.1f}s)")
    return rows


def format_rates(rows: list[dict]) -> str:
    head = (f"{'category':<20} {'K':>2} {'AUROC':>6} {'rule':<13} {'target':>6} {'thr':>7} {'exp.FPR':>7} "
            f"{'recall':>9} {'FPR':>9}")
    lines = [head, "-" * len(head)]
    for r in rows:
        na, nn = r["n_anomaly"], r["n_normal"]
        tgt = "-" if r["target_fpr"] is None else f"{r['target_fpr']:.3f}"
        exp = "-" if r["expected_fpr"] is None else f"{r['expected_fpr']:.3f}"
        lines.append(f"{r['category']:<20} {r['k']:>2} {r['auroc']:>6.3f} {r['rule']:<13} {tgt:>6} "
                     f"{r['threshold']:>7.4f} {exp:>7} {round(r['recall'] * na):>3}/{na:<2} {r['recall']:.2f} "
                     f"{round(r['fpr'] * nn):>2}/{nn:<2} {r['fpr']:.2f}")
    lines.append("-" * len(head))
    for rule, tgt in dict.fromkeys((r["rule"], r["target_fpr"]) for r in rows):
        sel = [r for r in rows if r["rule"] == rule and r["target_fpr"] == tgt]
        t = "-" if tgt is None else f"{tgt:.3f}"
        lines.append(f"{'mean':<20} {'':>2} {'':>6} {rule:<13} {t:>6} {'':>7} {'':>7} "
                     f"{'':>6}{np.mean([r['recall'] for r in sel]):.2f} {'':>5} {np.mean([r['fpr'] for r in sel]):.2f}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------

@dataclass
class Result:
    category: str
    k: int
    auroc: float
    auprc: float
    n_normal: int
    n_anomaly: int
    scores: list = field(default_factory=list)


def evaluate(scorer, cats: list[Category], ks: list[int]) -> list[Result]:
    results = []
    for cat in cats:
        for k in ks:
            if k > len(cat.shots):
                log(f"{cat.name}: only {len(cat.shots)} shots, skipping K={k}")
                continue
            t0 = time.time()
            shots = cat.shots[:k]
            s = np.array([scorer.score(q, shots, cat.category) for q in cat.queries], dtype=np.float64)
            r = Result(cat.name, k, auroc(cat.labels, s), auprc(cat.labels, s),
                       int((cat.labels == 0).sum()), int(cat.labels.sum()), s.tolist())
            log(f"{cat.name} K={k}: AUROC {r.auroc:.3f} AUPRC {r.auprc:.3f} ({time.time() - t0:.1f}s)")
            results.append(r)
    return results


def format_table(results: list[Result], ks: list[int]) -> str:
    cats = list(dict.fromkeys(r.category for r in results))
    by = {(r.category, r.k): r for r in results}
    w = max([len(c) for c in cats] + [8])
    head = f"{'category':<{w}} " + " ".join(f"{'K=' + str(k) + ' AUROC':>12} {'AUPRC':>6}" for k in ks)
    lines = [head, "-" * len(head)]
    for c in cats:
        cells = []
        for k in ks:
            r = by.get((c, k))
            cells.append(f"{r.auroc:>12.3f} {r.auprc:>6.3f}" if r else f"{'-':>12} {'-':>6}")
        lines.append(f"{c:<{w}} " + " ".join(cells))
    cells = []
    for k in ks:
        rs = [by[(c, k)] for c in cats if (c, k) in by]
        cells.append(f"{np.mean([r.auroc for r in rs]):>12.3f} {np.mean([r.auprc for r in rs]):>6.3f}"
                     if rs else f"{'-':>12} {'-':>6}")
    lines.append("-" * len(head))
    lines.append(f"{'mean':<{w}} " + " ".join(cells))
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m inctrl_export.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--bundle", metavar="DIR", help="offline: score with this bundle's vision.pt directly")
    src.add_argument("--server", metavar="HOST:PORT", help="score through a running server's gRPC Scorer API")
    p.add_argument("--data", required=True, metavar="DIR", help="folder laid out like shared/data")
    p.add_argument("--k", type=int, nargs="+", default=[2, 4, 8], help="shot counts (default 2 4 8)")
    p.add_argument("--api-key", help="--server: sent as x-api-key metadata")
    p.add_argument("--proto", metavar="DIR", help="--server: proto root (default <repo>/proto/src/main/proto)")
    p.add_argument("--timeout", type=float, default=120.0, help="--server: per-call deadline in seconds")
    p.add_argument("--threads", type=int, default=1, help="offline: torch CPU threads (default 1)")
    p.add_argument("--registry", action="store_true",
                   help="--server: register the shots as a prompt set and report recall/FPR of its threshold")
    p.add_argument("--target-fpr", type=float, nargs="+", default=[], metavar="X",
                   help="--registry: target false-positive rates (first at creation, others via SetThreshold; "
                        "default: the server's)")
    p.add_argument("--inspection", choices=["center-crop", "resize", "tiles", "auto"], default="center-crop",
                   help="--server: which part of each image the model sees (default the official centre crop; "
                        "auto, chosen by the server from the shots, with --registry only)")
    p.add_argument("--json", metavar="FILE", help="also write all results (with per-image scores) as JSON")
    p.add_argument("--min-mean-auroc", type=float, metavar="X",
                   help="exit 1 unless the mean image AUROC over categories is at least X for every K (a CI gate)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cats = find_categories(Path(args.data))
    if args.bundle:
        scorer = OfflineScorer(Path(args.bundle), args.threads)
    else:
        scorer = ServerScorer(args.server, args.api_key, Path(args.proto) if args.proto else _default_proto_dir(),
                              args.timeout, args.inspection)
    log(scorer.describe())
    t0 = time.time()
    if args.registry:
        if args.bundle:
            raise SystemExit("error: --registry needs --server")
        rows = evaluate_registry(scorer, cats, args.k, args.target_fpr)
        print(f"# {scorer.describe()}")
        print(f"# data {args.data}; shots = first K of shots/ (sorted), registered as a prompt set; queries scored by "
              f"prompt_set_id; flagged = score >= threshold; {time.time() - t0:.0f}s")
        print(format_rates(rows))
        if args.json:
            Path(args.json).write_text(json.dumps({"scorer": scorer.describe(), "bundle_id": scorer.bundle_id,
                                                   "rows": rows}, indent=1))
        return 0
    results = evaluate(scorer, cats, args.k)
    print(f"# {scorer.describe()}")
    print(f"# data {args.data}; shots = first K of shots/ (sorted); image-level metrics; {time.time() - t0:.0f}s")
    print(format_table(results, args.k))
    if args.json:
        Path(args.json).write_text(json.dumps({"scorer": scorer.describe(), "bundle_id": scorer.bundle_id,
                                               "results": [r.__dict__ for r in results]}, indent=1))
    if args.min_mean_auroc is not None:
        for k in args.k:
            mean = sum(r.auroc for r in results if r.k == k) / max(1, sum(1 for r in results if r.k == k))
            if mean < args.min_mean_auroc:
                print(f"FAIL: mean AUROC at K={k} is {mean:.3f} < {args.min_mean_auroc}", file=sys.stderr)
                return 1
            print(f"OK: mean AUROC at K={k} is {mean:.3f} >= {args.min_mean_auroc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
