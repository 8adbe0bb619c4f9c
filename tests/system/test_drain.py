"""SIGTERM drains: readiness drops at once, new calls are refused with UNAVAILABLE, admitted work is answered."""
import json
import signal
import threading
import time
import urllib.error
import urllib.request

import grpc

from conftest import QUERIES, channel, image, meta, pb, pb_grpc, register


def test_sigterm_answers_every_request_in_flight_and_refuses_new_ones(servers):
    # one image per batch keeps 40 requests in flight for a few seconds on the tiny bundle
    s = servers("-Dinctrl.batching.max-batch-size=1", "-Dinctrl.drain.timeout=60s").start()
    set_id = register(s)
    ch = channel(s.grpc)
    stub = pb_grpc.ScorerStub(ch)
    results, errors = [], []
    sent = threading.Barrier(5)

    def stream(n: int) -> None:
        reqs = [pb.ScoreRequest(request_id=f"s{n}-{i}", image=image(QUERIES[(n * 10 + i) % len(QUERIES)]),
                                prompt_set_id=set_id, omit_map=True) for i in range(10)]

        def gen():
            yield from reqs
            sent.wait()   # half-close only after every stream has sent everything
        try:
            for r in stub.ScoreStream(gen(), metadata=meta(s.tenant_key), timeout=120):
                (errors if r.HasField("error") else results).append(r)
        except grpc.RpcError as e:
            errors.append(e)

    threads = [threading.Thread(target=stream, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    sent.wait()
    time.sleep(0.3)   # let the server pull what was sent
    s.proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()

    # readiness and grpc.health go down while the admitted work is still being answered
    ready_codes = set()
    while time.monotonic() - t0 < 2 and 503 not in ready_codes:
        ready_codes.add(s.http("GET", "/q/health/ready", mgmt=True)[0])
        time.sleep(0.05)
    try:
        stub.Score(pb.ScoreRequest(request_id="late", image=image(QUERIES[0]), prompt_set_id=set_id),
                   metadata=meta(s.tenant_key), timeout=10)
        late = "OK"
    except grpc.RpcError as e:
        late = e.code()
    # REST refuses new calls the same way (issue 20 item 10): 503 DRAINING with Retry-After, as problem+json
    rest = urllib.request.Request(f"http://127.0.0.1:{s.http_port}/v1/prompt-sets",
                                  headers={"X-API-Key": s.tenant_key})
    try:
        urllib.request.urlopen(rest, timeout=10)
        rest_late = (200, None, None, None)
    except urllib.error.HTTPError as e:
        rest_late = (e.code, e.headers.get("Retry-After"), e.headers.get("Content-Type"), json.loads(e.read()))

    for t in threads:
        t.join(120)
    code = s.proc.wait(90)
    assert 503 in ready_codes, f"readiness never reported DOWN during the drain: {ready_codes}"
    assert late == grpc.StatusCode.UNAVAILABLE, f"a new call during the drain got {late}"
    rest_code, retry_after, content_type, problem = rest_late
    assert rest_code == 503 and retry_after is not None, rest_late
    assert content_type.startswith("application/problem+json") and problem["reason"] == "DRAINING", rest_late
    assert not errors, f"errors: {errors[:3]}"
    assert sorted(r.request_id for r in results) == sorted(f"s{n}-{i}" for n in range(4) for i in range(10))
    assert all(0.0 <= r.score <= 1.0 for r in results)
    assert code in (0, 143), f"exit code {code}\n{s.tail()}"   # 143: the JVM's normal exit on SIGTERM
    assert "drain complete" in s.log.read_text()


def test_open_stream_ends_unavailable_after_its_answers_so_the_client_can_resend(servers):
    s = servers("-Dinctrl.batching.max-batch-size=1").start()
    set_id = register(s)
    stub = pb_grpc.ScorerStub(channel(s.grpc))
    got, status = [], []
    first_answer = threading.Event()
    release = threading.Event()

    def gen():
        for i in range(6):
            yield pb.ScoreRequest(request_id=f"r{i}", image=image(QUERIES[i]), prompt_set_id=set_id, omit_map=True)
        release.wait(60)   # the rig keeps its stream open

    def run():
        try:
            for r in stub.ScoreStream(gen(), metadata=meta(s.tenant_key), timeout=120):
                got.append(r)
                first_answer.set()
            status.append(grpc.StatusCode.OK)
        except grpc.RpcError as e:
            status.append(e.code())

    t = threading.Thread(target=run)
    t.start()
    assert first_answer.wait(60)
    s.proc.send_signal(signal.SIGTERM)
    t.join(90)
    release.set()
    assert status == [grpc.StatusCode.UNAVAILABLE]
    assert sorted(r.request_id for r in got) == [f"r{i}" for i in range(6)]
    assert not any(r.HasField("error") for r in got)
    assert s.proc.wait(60) in (0, 143)
