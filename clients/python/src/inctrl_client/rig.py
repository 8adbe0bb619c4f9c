"""Inspection-rig simulator: streams a folder of images over one or many ScoreStreams at a given rate and
reports throughput, latency percentiles, a score summary and, for a labelled folder (manifest.csv), AUROC."""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from .client import Client
from .errors import InctrlError
from .retry import RetryPolicy

IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


@dataclass
class Job:
    request_id: str
    path: str
    category: str = ""
    label: Optional[int] = None       # 1 anomaly, 0 normal, None unknown
    image: bytes = b""
    prompts: Dict = field(default_factory=dict)
    latency: Optional[float] = None   # seconds, send -> response
    score: Optional[float] = None
    error: Optional[str] = None
    server_total_us: Optional[int] = None


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); the simple definition rigs report."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def auroc(scores: Sequence[float], labels: Sequence[int]) -> Optional[float]:
    """Probability that a random anomaly outscores a random normal image (ties count half)."""
    pos = [s for s, l in zip(scores, labels) if l == 1]
    neg = [s for s, l in zip(scores, labels) if l == 0]
    if not pos or not neg:
        return None
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def load_labelled(root: str, max_shots: int) -> Dict[str, Dict]:
    """category -> {"shots": [paths], "tests": [(path, label)]} from <root>/manifest.csv."""
    cats: Dict[str, Dict] = defaultdict(lambda: {"shots": [], "tests": []})
    with open(os.path.join(root, "manifest.csv"), newline="") as f:
        for row in csv.DictReader(f):
            path = os.path.join(root, row["path"])
            parts = row["path"].split("/")
            if "shots" in parts:
                cats[row["category"]]["shots"].append(path)
            else:
                cats[row["category"]]["tests"].append((path, 1 if row["label"] == "anomaly" else 0))
    for c in cats.values():
        c["shots"] = sorted(c["shots"])[:max_shots] if max_shots > 0 else sorted(c["shots"])
    return dict(cats)


def list_images(folder: str) -> List[str]:
    out = []
    for dirpath, _, files in os.walk(folder):
        out += [os.path.join(dirpath, n) for n in files if os.path.splitext(n)[1].lower() in IMAGE_EXT]
    return sorted(out)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def build_jobs(args, client: Client, created: List[str]) -> List[Job]:
    jobs: List[Job] = []
    if os.path.exists(os.path.join(args.folder, "manifest.csv")):
        for cat, spec in sorted(load_labelled(args.folder, args.shots).items()):
            if args.category and cat not in args.category.split(","):
                continue
            if not spec["shots"]:
                print(f"warning: category {cat} has no shots/, skipped", file=sys.stderr)
                continue
            if args.register:
                ps = client.register_prompt_set(f"rig-{cat}-{uuid.uuid4().hex[:8]}", cat, spec["shots"])
                created.append(ps.id)
                prompts = {"prompt_set_id": ps.id}
            else:
                prompts = {"shots": [_read(p) for p in spec["shots"]], "category": cat}
            for path, label in spec["tests"]:
                jobs.append(Job("", path, cat, label, prompts=prompts))
    else:
        if args.prompt_set_id and (args.shots_dir or args.register):
            raise SystemExit("--prompt-set-id scores against an existing set: drop --shots-dir and --register")
        if args.prompt_set_id:
            prompts = {"prompt_set_id": args.prompt_set_id}
        elif args.shots_dir:
            shots = list_images(args.shots_dir)[:args.shots or None]
            if not shots:
                raise SystemExit(f"no shot images in {args.shots_dir}")
            if args.register:
                ps = client.register_prompt_set(f"rig-{uuid.uuid4().hex[:8]}", args.category or "", shots)
                created.append(ps.id)
                prompts = {"prompt_set_id": ps.id}
            else:
                prompts = {"shots": [_read(p) for p in shots], "category": args.category or ""}
        else:
            raise SystemExit("a plain folder needs --shots-dir (+ --category) or --prompt-set-id")
        shots_dir = os.path.abspath(args.shots_dir) if args.shots_dir else None
        for path in list_images(args.folder):
            if shots_dir and os.path.abspath(path).startswith(shots_dir + os.sep):
                continue
            jobs.append(Job("", path, args.category or "", None, prompts=prompts))
    images = {j.path: _read(j.path) for j in jobs}  # read up front: disk I/O is not what we measure
    out = []
    for rep in range(max(1, args.repeat)):
        for i, j in enumerate(jobs):
            out.append(Job(f"{rep}-{i}", j.path, j.category, j.label, images[j.path], j.prompts))
    return out


def run_streams(client: Client, jobs: List[Job], streams: int, window: int, rate: float, timeout: float) -> float:
    """Sends jobs round-robin over ``streams`` streams, paced to ``rate`` images/s overall (0 = unpaced)."""
    t0 = time.monotonic()

    def worker(k: int) -> None:
        mine = [(i, j) for i, j in enumerate(jobs) if i % streams == k]
        with client.open_stream(window=window, omit_map=True, timeout=timeout) as s:
            for i, job in mine:
                if rate > 0:
                    wait = t0 + i / rate - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                fut = s.submit(job.image, request_id=job.request_id, **job.prompts)

                def done(f, job=job):
                    job.latency = getattr(f, "received_at", time.monotonic()) - f.sent_at
                    exc = f.exception()
                    if exc is not None:
                        job.error = exc.code.name if isinstance(exc, InctrlError) else type(exc).__name__
                    else:
                        r = f.result()
                        job.score = r.score
                        job.server_total_us = r.timings.total_us if r.HasField("timings") else None

                fut.add_done_callback(done)

    errors: List[BaseException] = []

    def guarded(k: int) -> None:
        try:
            worker(k)
        except BaseException as e:  # noqa: BLE001 - reported below, the other streams keep going
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(k,)) for k in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in errors:
        print(f"stream failed: {e}", file=sys.stderr)
    return time.monotonic() - t0


def summarize(jobs: List[Job], wall: float, streams: int, window: int, rate: float) -> Dict:
    ok = [j for j in jobs if j.score is not None]
    lat_ms = [j.latency * 1000 for j in ok if j.latency is not None]
    scores = [j.score for j in ok]
    rep: Dict = {
        "sent": len(jobs), "ok": len(ok), "errors": dict(Counter(j.error or "NO_RESPONSE" for j in jobs if j.score is None)),
        "streams": streams, "window": window, "target_rate": rate, "wall_s": round(wall, 3),
        "throughput_per_s": round(len(ok) / wall, 2) if wall > 0 else None,
        "latency_ms": {"p50": percentile(lat_ms, 50), "p90": percentile(lat_ms, 90), "p99": percentile(lat_ms, 99),
                       "max": max(lat_ms) if lat_ms else float("nan")},
    }
    if scores:
        rep["score"] = {"min": min(scores), "mean": statistics.fmean(scores), "p50": percentile(scores, 50),
                        "max": max(scores)}
    totals = [j.server_total_us for j in ok if j.server_total_us]
    if totals:
        rep["server_total_ms_mean"] = statistics.fmean(totals) / 1000
    labelled = [j for j in ok if j.label is not None]
    if labelled:
        per_cat: Dict[str, Dict] = {}
        for cat in sorted({j.category for j in labelled}):
            cj = [j for j in labelled if j.category == cat]
            per_cat[cat] = {
                "n": len(cj), "auroc": auroc([j.score for j in cj], [j.label for j in cj]),
                "mean_score_normal": _mean([j.score for j in cj if j.label == 0]),
                "mean_score_anomaly": _mean([j.score for j in cj if j.label == 1]),
            }
        aucs = [v["auroc"] for v in per_cat.values() if v["auroc"] is not None]
        rep["auroc"] = {"per_category": per_cat, "mean": statistics.fmean(aucs) if aucs else None}
    return rep


def _mean(v: Sequence[float]) -> Optional[float]:
    return statistics.fmean(v) if v else None


def _f(x, nd=3) -> str:
    return "n/a" if x is None else f"{x:.{nd}f}"


def print_report(rep: Dict, out=None) -> None:
    out = out or sys.stdout
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p(f"sent {rep['sent']}  ok {rep['ok']}  errors {rep['errors'] or 0}")
    p(f"streams {rep['streams']} x window {rep['window']}  target rate "
      f"{str(rep['target_rate']) + '/s' if rep['target_rate'] else 'unpaced'}  "
      f"wall {rep['wall_s']:.2f}s  throughput {_f(rep['throughput_per_s'], 2)} img/s")
    lat = rep["latency_ms"]
    p(f"latency ms  p50 {_f(lat['p50'], 1)}  p90 {_f(lat['p90'], 1)}  p99 {_f(lat['p99'], 1)}  max {_f(lat['max'], 1)}")
    if "server_total_ms_mean" in rep:
        p(f"server time ms (mean total_us) {rep['server_total_ms_mean']:.1f}")
    if "score" in rep:
        s = rep["score"]
        p(f"score  min {_f(s['min'])}  mean {_f(s['mean'])}  p50 {_f(s['p50'])}  max {_f(s['max'])}")
    if "auroc" in rep:
        p(f"{'category':<14}{'n':>5}{'AUROC':>8}{'mean(normal)':>14}{'mean(anomaly)':>15}")
        for cat, v in rep["auroc"]["per_category"].items():
            p(f"{cat:<14}{v['n']:>5}{_f(v['auroc']):>8}{_f(v['mean_score_normal']):>14}{_f(v['mean_score_anomaly']):>15}")
        p(f"{'mean AUROC':<19}{_f(rep['auroc']['mean']):>8}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="inctrl-rig", description=__doc__)
    ap.add_argument("folder", help="image folder, or a labelled folder with manifest.csv (e.g. ../shared/data)")
    ap.add_argument("--addr", default=os.environ.get("INCTRL_ADDR", "localhost:9000"),
                    help="server gRPC address host:port; a comma-separated list (or a DNS name with several "
                         "addresses) spreads the streams over the replicas and resends on another one if one fails")
    ap.add_argument("--api-key", default=os.environ.get("INCTRL_API_KEY"))
    ap.add_argument("--tls", action="store_true", help="use TLS (default: plaintext h2c)")
    ap.add_argument("--rate", type=float, default=0.0, help="images per second over all streams (0 = as fast as allowed)")
    ap.add_argument("--streams", type=int, default=1)
    ap.add_argument("--window", type=int, default=8, help="max unanswered requests per stream")
    ap.add_argument("--repeat", type=int, default=1, help="send the image set this many times")
    ap.add_argument("--shots", type=int, default=0, help="use at most K shots per category (0 = all)")
    ap.add_argument("--shots-dir", help="plain folder: normal shot images")
    ap.add_argument("--category", help="plain folder: category name; labelled folder: comma-separated filter")
    ap.add_argument("--prompt-set-id", help="plain folder: score against this registered prompt set")
    ap.add_argument("--register", action="store_true",
                    help="register the shots as a prompt set (labelled folder: one per category; plain folder: "
                         "--shots-dir) and score by its id instead of sending the shots inline; deleted afterwards")
    ap.add_argument("--timeout", type=float, default=600.0, help="deadline per stream, seconds")
    ap.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to wait for the server")
    ap.add_argument("--json", help="also write the report as JSON to this file")
    args = ap.parse_args(argv)

    client = Client(args.addr, args.api_key, tls=args.tls, retry=RetryPolicy(max_attempts=5))
    created: List[str] = []
    try:
        try:
            client.wait_ready(args.connect_timeout)
            info = client.model_info()
            print(f"server {args.addr}: bundle {info.bundle_id} ({info.kind}, {info.arch}) devices {list(info.devices)}"
                  f" precision {info.precision or 'fp32'}")
            if info.random_weights:
                print("WARNING: the model has random weights; scores and AUROC are meaningless", file=sys.stderr)
        except InctrlError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        jobs = build_jobs(args, client, created)
        if not jobs:
            print("no images found", file=sys.stderr)
            return 2
        wall = run_streams(client, jobs, max(1, args.streams), args.window, args.rate, args.timeout)
        rep = summarize(jobs, wall, max(1, args.streams), args.window, args.rate)
        print_report(rep)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rep, f, indent=2)
        return 0 if rep["ok"] == rep["sent"] else 1
    finally:
        for ps in created:
            try:
                client.delete_prompt_set(ps)
            except InctrlError as e:
                print(f"warning: could not delete prompt set {ps}: {e}", file=sys.stderr)
        client.close()


if __name__ == "__main__":
    sys.exit(main())
