"""Three replicas on one PostgreSQL registry: what one replica writes, the others serve on their next request; the
per-tenant rate limit holds cluster-wide; kill -9 of a replica under load loses and duplicates nothing."""
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from conftest import QUERIES, ROOT, SHOTS, channel, image, meta, pb, pb_grpc, pg_env, reg, reg_grpc, register

sys.path.append(str(ROOT / "clients" / "python" / "src"))
inctrl_client = pytest.importorskip("inctrl_client")


@pytest.fixture
def cluster(servers, pg_database):
    # started one after the other: each waits until ready, so schema migration runs once
    return [servers(env=pg_env(pg_database), name=f"replica{i}").start() for i in range(3)]


def score(s, set_id, q=0, key=None):
    return pb_grpc.ScorerStub(channel(s.grpc)).Score(
        pb.ScoreRequest(image=image(QUERIES[q]), prompt_set_id=set_id), metadata=meta(key or s.tenant_key), timeout=60)


def test_writes_through_one_replica_are_served_by_the_others(cluster):
    a, b, c = cluster
    set_id = register(a)
    ra, rb, rc = (score(s, set_id, 3) for s in cluster)
    assert ra.score == rb.score == rc.score
    assert list(ra.map) == list(rb.map) == list(rc.map)
    # threshold override through one replica: the others apply it on their next request
    reg_grpc.PromptRegistryStub(channel(a.grpc)).SetThreshold(
        reg.SetThresholdRequest(id=set_id, threshold=0.123), metadata=meta(a.tenant_key), timeout=30)
    assert abs(score(b, set_id).threshold - 0.123) < 1e-6
    assert abs(score(c, set_id).threshold - 0.123) < 1e-6
    # delete through one replica: gone everywhere on the next request, although b and c cached its features
    reg_grpc.PromptRegistryStub(channel(c.grpc)).DeletePromptSet(
        reg.DeletePromptSetRequest(id=set_id), metadata=meta(c.tenant_key), timeout=30)
    for s in (a, b):
        with pytest.raises(grpc.RpcError) as e:
            score(s, set_id)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND


def _wide(rel_a: str, rel_b: str) -> bytes:
    """Two images side by side: a 2:1 frame that tiles mode covers with more than one tile."""
    from io import BytesIO

    from PIL import Image
    a, b = (Image.open(BytesIO(image(r))).convert("RGB") for r in (rel_a, rel_b))
    frame = Image.new("RGB", (a.width + b.width, max(a.height, b.height)))
    frame.paste(a, (0, 0))
    frame.paste(b, (a.width, 0))
    out = BytesIO()
    frame.save(out, format="PNG")
    return out.getvalue()


def test_a_tiles_set_written_through_one_replica_is_read_back_tile_by_tile_by_the_others(cluster):
    a, b, c = cluster
    shots = [_wide(SHOTS[i], SHOTS[i + 1]) for i in (0, 2)]
    ps = reg_grpc.PromptRegistryStub(channel(a.grpc)).CreatePromptSet(
        reg.CreatePromptSetRequest(name="wide", category="mono", shots=shots, inspection=pb.INSPECTION_TILES),
        metadata=meta(a.tenant_key), timeout=120)
    assert ps.inspection == pb.INSPECTION_TILES
    # b and c never saw the registration: they load the stored features (every tile of every shot) from PostgreSQL
    listed = reg_grpc.PromptRegistryStub(channel(b.grpc)).GetPromptSet(
        reg.GetPromptSetRequest(id=ps.id), metadata=meta(b.tenant_key), timeout=30)
    assert listed.inspection == pb.INSPECTION_TILES
    query = _wide(QUERIES[-1], QUERIES[0])
    results = [pb_grpc.ScorerStub(channel(s.grpc)).Score(pb.ScoreRequest(image=query, prompt_set_id=ps.id),
                                                          metadata=meta(s.tenant_key), timeout=60)
               for s in cluster]
    first = results[0]
    assert first.map_width > first.map_height, (first.map_height, first.map_width)   # stitched at frame cells
    for r in results[1:]:
        assert r.score == first.score
        assert list(r.map) == list(first.map)


def test_rate_limit_is_cluster_wide(cluster):
    a = cluster[0]
    rps, seconds = 10.0, 3.0
    code, created = a.http("POST", "/v1/admin/tenants",
                           {"name": "limited", "quotas": {"maxPromptSets": 10, "maxShotsPerSet": 8,
                                                          "requestsPerSecond": rps}}, key=a.admin_key)
    assert code == 201, created
    key = created["apiKey"]["key"]
    counts = {"ok": 0, "limited": 0}
    lock = threading.Lock()

    def hammer(s):
        stub = pb_grpc.ScorerStub(channel(s.grpc))
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                stub.GetModelInfo(pb.ModelInfoRequest(), metadata=meta(key), timeout=10)
                outcome = "ok"
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
                outcome = "limited"
            with lock:
                counts[outcome] += 1

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(hammer, cluster * 2))
    quota = rps * seconds + rps   # the rate over the window plus one second of burst
    print(f"3 replicas admitted {counts['ok']} of {sum(counts.values())} calls; one quota = {quota:.0f}")
    assert counts["limited"] > 0
    assert counts["ok"] <= 1.5 * quota, f"admitted {counts['ok']}: the quota was applied per replica"
    assert counts["ok"] >= 0.5 * rps * seconds


def test_kill_minus_9_of_a_replica_under_three_streams_loses_and_duplicates_nothing(cluster):
    a, b, c = cluster
    set_id = register(a)
    client = inctrl_client.Client(",".join(s.grpc for s in cluster), api_key=a.tenant_key, timeout=60)
    # round_robin only picks READY backends: connect to all three before the streams open, so they spread
    for _ in range(9):
        client.model_info()
    per_stream = 60
    futures = {}
    killed = threading.Event()
    streams = [client.open_stream(window=8, prompt_set_id=set_id, omit_map=True) for _ in range(3)]

    def feed(n, st):
        for i in range(per_stream):
            rid = f"s{n}-{i}"
            futures[rid] = st.submit(image(QUERIES[i % len(QUERIES)]), request_id=rid)
            if n == 0 and i == per_stream // 3 and not killed.is_set():
                b.kill9()   # mid-run: streams on b fail with UNAVAILABLE and resend their unanswered ids
                killed.set()
        st.close()

    threads = [threading.Thread(target=feed, args=(n, st)) for n, st in enumerate(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    results = {rid: f.result(timeout=120) for rid, f in futures.items()}
    assert killed.is_set()
    assert len(results) == 3 * per_stream
    assert all(r.request_id == rid and not r.HasField("error") for rid, r in results.items())
    assert not any(st.unmatched for st in streams), "a response arrived twice or for an unknown id"
    assert sum(st.restarts for st in streams) >= 1, "no stream was on the killed replica: nothing was proven"
    print(f"kill -9 under load: {len(results)} ids answered once each, restarts {[st.restarts for st in streams]}")
    client.close()
