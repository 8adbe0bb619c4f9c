"""Roll-out benchmark (issue 19): a new model version encodes every registered prompt set in the background.

Starts the packaged server on a temporary model repository holding version 1 of a model (a copy of BUNDLE),
registers N prompt sets (K shots each, from the shared data), then measures in one run:
  1. live traffic alone: Score by prompt set id at a fixed rate (a fraction --load of the capacity measured first),
     latency percentiles;
  2. version 2 (the same weights under another bundle id, so every set needs a new encoding) is loaded beside
     version 1; the same live traffic runs while version 2 encodes the sets in the background: the time from the load
     to "all sets encoded" (from GET /v1/models/{m}/versions/2/encodings), and the live latency meanwhile.
Prints a table and the p99 ratio (during / without); writes the log to bench/results/rollout-<bundle>-<date>.txt.

    build/venv/bin/python bench/rollout.py [--bundle models/nsfwjs-inception-v3] [--sets 100] [--shots 8]
        [--load 0.7] [--seconds 60]

Needs server/target/quarkus-app (./mvnw -B -o -pl server -am package -DskipTests) and the Python client's stubs
(clients/python/src).
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "clients" / "python" / "src"))
sys.path.insert(0, str(ROOT / "tools" / "export"))
import grpc  # noqa: E402

from inctrl.v1 import registry_pb2, registry_pb2_grpc, scoring_pb2, scoring_pb2_grpc  # noqa: E402
from inctrl_export import checksums  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_bundle(src: Path, dst: Path, suffix: str) -> None:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("fixtures", ".stamp", "LICENSE"))
    m = json.loads((dst / "manifest.json").read_text())
    m["bundle_id"] += suffix
    (dst / "manifest.json").write_text(json.dumps(m, indent=2))
    if (dst / checksums.FILE_NAME).exists():
        checksums.write(dst)  # the manifest changed: the repository verifies the copy against its SHA256SUMS


def http(port: int, method: str, path: str, key: str, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("X-API-Key", key)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=600) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def live_traffic(stub, key, set_ids, queries, rate, seconds, out):
    """Open loop: one Score by set id every 1/rate s (whatever the answers do), latencies in ms into out."""
    meta = (("x-api-key", key),)
    errors = []
    lock = threading.Lock()
    pending = []
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        due = start + n / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t0 = time.monotonic()
        req = scoring_pb2.ScoreRequest(image=queries[n % len(queries)], prompt_set_id=set_ids[n % len(set_ids)],
                                       omit_map=True)
        fut = stub.Score.future(req, metadata=meta, timeout=120)

        def done(f, t0=t0):
            try:
                f.result()
                with lock:
                    out.append((time.monotonic() - t0) * 1000)
            except grpc.RpcError as e:
                with lock:
                    errors.append(e.code().name)
        fut.add_done_callback(done)
        pending.append(fut)
        n += 1
    for f in pending:
        try:
            f.result(timeout=300)
        except grpc.RpcError:
            pass
    return errors


def capacity(stub, key, set_ids, queries, seconds=15, concurrency=4):
    """Closed loop at `concurrency` requests in flight: scored images per second."""
    meta = (("x-api-key", key),)
    count = [0]
    stop = time.monotonic() + seconds

    def worker(w):
        i = w
        while time.monotonic() < stop:
            req = scoring_pb2.ScoreRequest(image=queries[i % len(queries)], prompt_set_id=set_ids[i % len(set_ids)],
                                           omit_map=True)
            stub.Score(req, metadata=meta, timeout=120)
            count[0] += 1
            i += concurrency
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return count[0] / (time.monotonic() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default=str(ROOT / "models" / "nsfwjs-inception-v3"))
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--sets", type=int, default=100)
    ap.add_argument("--shots", type=int, default=8)
    ap.add_argument("--load", type=float, default=0.7, help="live rate as a fraction of the measured capacity")
    ap.add_argument("--seconds", type=float, default=60, help="length of the baseline traffic window")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()

    bundle = Path(args.bundle).resolve()
    data = Path(args.data)
    shots_pool = sorted(p.read_bytes() for p in data.glob("*/*/shots/*"))
    queries = [p.read_bytes() for p in sorted(data.glob("*/*/test/*/*"))][:200]
    random.Random(7).shuffle(queries)
    work = Path(tempfile.mkdtemp(prefix="inctrl-rollout-"))
    repo = work / "repo"
    copy_bundle(bundle, repo / "m" / "1", "-rollout-v1")
    (repo / "m" / "config.json").write_text(json.dumps({"version_policy": {"latest": {"num_versions": 2}}}))
    http_port, grpc_port, mgmt_port = free_port(), free_port(), free_port()
    admin = hashlib.sha256(os.urandom(16)).hexdigest()[:24]
    env = {**os.environ, "DJL_OFFLINE": "true", "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
           "DJL_CACHE_DIR": os.environ.get("DJL_CACHE_DIR", str(ROOT / ".djl-cache"))}
    log = open(work / "server.log", "wb")
    server = subprocess.Popen(
        ["java", "-Xmx4g", f"-Dquarkus.http.port={http_port}", "-Dquarkus.http.host=127.0.0.1",
         f"-Dquarkus.grpc.server.port={grpc_port}", "-Dquarkus.grpc.server.host=127.0.0.1",
         f"-Dquarkus.management.port={mgmt_port}", "-Dquarkus.management.host=127.0.0.1",
         f"-Dinctrl.registry.data-dir={work / 'data'}", f"-Dinctrl.security.admin-key={admin}",
         f"-Dinctrl.models.repository={repo}", "-Dinctrl.models.encoding.sweep-interval=5s",
         "-jar", str(ROOT / "server" / "target" / "quarkus-app" / "quarkus-run.jar")],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    lines = []

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{mgmt_port}/q/health/ready", timeout=2)
                break
            except OSError as e:
                if server.poll() is not None:
                    raise SystemExit("server exited:\n" + (work / "server.log").read_text()[-3000:]) from e
                time.sleep(0.5)
        key = http(http_port, "POST", "/v1/admin/tenants", admin,
                   {"name": "bench", "quotas": {"maxPromptSets": args.sets + 10, "maxShotsPerSet": 32,
                                                "requestsPerSecond": 10000}})["apiKey"]["key"]
        channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}",
                                        options=[("grpc.max_send_message_length", 64 << 20)])
        reg = registry_pb2_grpc.PromptRegistryStub(channel)
        stub = scoring_pb2_grpc.ScorerStub(channel)
        meta = (("x-api-key", key),)
        t0 = time.monotonic()
        set_ids = []
        for i in range(args.sets):
            shots = [shots_pool[(i * args.shots + k) % len(shots_pool)] for k in range(args.shots)]
            set_ids.append(reg.CreatePromptSet(registry_pb2.CreatePromptSetRequest(
                name=f"set-{i}", category="product", shots=shots), metadata=meta, timeout=600).id)
        register_s = time.monotonic() - t0
        say(f"rollout bench, bundle {bundle.name}, {args.sets} sets x K={args.shots}, "
            f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}")
        say(f"registered {args.sets} sets in {register_s:.1f} s ({register_s / args.sets * 1000:.0f} ms per set)")
        cap = capacity(stub, key, set_ids, queries)
        rate = args.load * cap
        say(f"capacity (4 in flight, scoring by set id): {cap:.2f} img/s; live traffic at {args.load:.0%}: "
            f"{rate:.2f} img/s")

        base = []
        base_errors = live_traffic(stub, key, set_ids, queries, rate, args.seconds, base)
        say(f"without background encoding: {len(base)} requests, p50 {pct(base, 50):.0f} ms, "
            f"p99 {pct(base, 99):.0f} ms, errors {len(base_errors)}")

        # version 2: same weights, another bundle id, so every set needs its own encoding
        copy_bundle(bundle, repo / "m" / "2", "-rollout-v2")
        during = []
        result = {}

        def load_and_wait():
            t_load = time.monotonic()
            http(http_port, "POST", "/v1/models/m/versions/2/load", admin)
            t_loaded = time.monotonic()
            while True:
                p = http(http_port, "GET", "/v1/models/m/versions/2/encodings", admin)
                if p["encoded"] >= args.sets:
                    break
                time.sleep(0.2)
            result.update(load_s=t_loaded - t_load, encoded_s=time.monotonic() - t_loaded)
        loader = threading.Thread(target=load_and_wait)
        loader.start()
        window_start = time.monotonic()
        during_errors = []
        # live traffic for as long as the background encoding runs (in slices, so the window ends with it)
        while loader.is_alive():
            during_errors += live_traffic(stub, key, set_ids, queries, rate, 5, during)
        window = time.monotonic() - window_start
        loader.join()
        served = http(http_port, "GET", "/v1/models/m", key)
        say(f"version 2 loaded in {result['load_s']:.1f} s; all {args.sets} sets encoded by it "
            f"{result['encoded_s']:.1f} s later ({result['encoded_s'] / args.sets * 1000:.0f} ms per set)")
        say(f"during background encoding ({window:.0f} s): {len(during)} requests, p50 {pct(during, 50):.0f} ms, "
            f"p99 {pct(during, 99):.0f} ms, errors {len(during_errors)}")
        say("")
        say("| measure | value |")
        say("|---|---|")
        say(f"| load of version 2 to all {args.sets} sets encoded | {result['encoded_s']:.1f} s |")
        say(f"| live p99 without / during background encoding | {pct(base, 99):.0f} / {pct(during, 99):.0f} ms |")
        say(f"| p99 ratio (during / without) | {pct(during, 99) / pct(base, 99):.2f} |")
        say(f"| live p50 without / during | {pct(base, 50):.0f} / {pct(during, 50):.0f} ms |")
        say(f"| errors without / during | {len(base_errors)} / {len(during_errors)} |")
        say(f"(serving version after the run: {served['servingVersion']}; "
            f"mean latency without {statistics.fmean(base):.0f} ms)")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
    if not args.no_save:
        out = ROOT / "bench" / "results" / f"rollout-{bundle.name}-{datetime.date.today()}.txt"
        out.write_text("\n".join(lines) + "\n")
        print(f"wrote {out}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
