"""Offline tests: always run, against an in-process fake server (tests/fake_server.py)."""
import json
import os
import random
import socket

import grpc
import pytest

import inctrl_client as ic
from inctrl_client import rig
from inctrl_client.retry import call_with_retry
from fake_server import FakeInctrl, fake_png, start

FAST = ic.RetryPolicy(max_attempts=4, initial_backoff=0.01, max_backoff=0.05, jitter=0.0)
SHOTS = [fake_png("shot1"), fake_png("shot2")]


@pytest.fixture
def fake():
    f = FakeInctrl()
    server, addr = start(f)
    f.addr = addr
    yield f
    server.stop(0)


@pytest.fixture
def client(fake):
    with ic.connect(fake.addr, "secret", retry=FAST, timeout=5) as c:
        yield c


class _RpcErr(grpc.RpcError):
    def __init__(self, code):
        self._code = code

    def code(self):
        return self._code

    def details(self):
        return "boom"


# -- error mapping --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,cls", [
    ("INVALID_ARGUMENT", ic.InvalidArgument), ("UNAUTHENTICATED", ic.Unauthenticated), ("NOT_FOUND", ic.NotFound),
    ("RESOURCE_EXHAUSTED", ic.ResourceExhausted), ("UNAVAILABLE", ic.Unavailable),
    ("DEADLINE_EXCEEDED", ic.DeadlineExceeded), ("PERMISSION_DENIED", ic.PermissionDenied),
    ("ALREADY_EXISTS", ic.AlreadyExists), ("FAILED_PRECONDITION", ic.FailedPrecondition),
    ("INTERNAL", ic.Internal), ("invalid_argument", ic.InvalidArgument)])
def test_code_name_mapping(name, cls):
    e = ic.from_code_name(name, "msg", "id7")
    assert type(e) is cls and e.details == "msg" and e.request_id == "id7" and "id7" in str(e)


def test_unknown_code_name_maps_to_base():
    e = ic.from_code_name("NOPE", "x")
    assert type(e) is ic.InctrlError and e.code == grpc.StatusCode.UNKNOWN


def test_rpc_error_mapping_keeps_cause():
    e = ic.from_rpc_error(_RpcErr(grpc.StatusCode.RESOURCE_EXHAUSTED))
    assert isinstance(e, ic.ResourceExhausted) and e.details == "boom" and isinstance(e.__cause__, grpc.RpcError)


# -- retry / backoff ------------------------------------------------------------------------------------------
def test_backoff_delays_are_exponential_and_capped():
    p = ic.RetryPolicy(max_attempts=6, initial_backoff=0.1, max_backoff=0.5, multiplier=2, jitter=0)
    assert list(p.delays()) == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])


def test_backoff_jitter_stays_in_bounds():
    p = ic.RetryPolicy(max_attempts=50, initial_backoff=1, max_backoff=1, jitter=0.2)
    assert all(0.8 <= d <= 1.2 for d in p.delays(random.Random(1)))


def test_retry_only_unavailable_then_succeeds():
    codes = [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAVAILABLE]
    slept = []

    def fn(_remaining):
        if codes:
            raise _RpcErr(codes.pop(0))
        return "ok"

    assert call_with_retry(fn, FAST, None, sleep=slept.append) == "ok"
    assert slept == pytest.approx([0.01, 0.02])


def test_retry_gives_up_after_max_attempts():
    calls = []

    def fn(_):
        calls.append(1)
        raise _RpcErr(grpc.StatusCode.UNAVAILABLE)

    with pytest.raises(ic.Unavailable):
        call_with_retry(fn, FAST, None, sleep=lambda d: None)
    assert len(calls) == 4


def test_no_retry_on_other_codes():
    calls = []

    def fn(_):
        calls.append(1)
        raise _RpcErr(grpc.StatusCode.INVALID_ARGUMENT)

    with pytest.raises(ic.InvalidArgument):
        call_with_retry(fn, FAST, None, sleep=lambda d: None)
    assert len(calls) == 1


def test_retry_respects_overall_deadline():
    now = [0.0]
    seen = []

    def fn(remaining):
        seen.append(remaining)
        raise _RpcErr(grpc.StatusCode.UNAVAILABLE)

    policy = ic.RetryPolicy(max_attempts=10, initial_backoff=1.0, jitter=0)
    with pytest.raises(ic.Unavailable):
        call_with_retry(fn, policy, 2.5, sleep=lambda d: now.__setitem__(0, now[0] + d), clock=lambda: now[0])
    assert seen == pytest.approx([2.5, 1.5])  # third attempt would start past the deadline


# -- unary against the fake ------------------------------------------------------------------------------------
def test_score_inline(client):
    r = client.score(fake_png("q", anomaly=True), shots=SHOTS, category="transistor", request_id="a")
    assert r.request_id == "a" and r.score > 0.7 and len(r.map) == 4


def test_score_from_file_path(client, tmp_path):
    p = tmp_path / "q.png"
    p.write_bytes(fake_png("q"))
    assert client.score(str(p), shots=SHOTS, category="x", omit_map=True).score < 0.5


def test_score_requires_prompts(client):
    with pytest.raises(ValueError):
        client.score(fake_png("q"))


def test_invalid_image_maps_to_invalid_argument(client):
    with pytest.raises(ic.InvalidArgument):
        client.score(b"not an image", shots=SHOTS, category="x")


def test_bad_api_key_maps_to_unauthenticated(fake):
    with ic.connect(fake.addr, "wrong", retry=FAST) as c, pytest.raises(ic.Unauthenticated):
        c.score(fake_png("q"), shots=SHOTS, category="x")


def test_retries_unavailable_until_server_answers(fake, client):
    fake.unavailable_first = 2
    assert client.model_info().bundle_id == "fake"
    assert fake.calls == 3


def test_unavailable_surfaces_after_retries(fake):
    fake.unavailable_first = 100
    with ic.connect(fake.addr, "secret", retry=ic.RetryPolicy(max_attempts=3, initial_backoff=0.01)) as c:
        with pytest.raises(ic.Unavailable):
            c.model_info()
    assert fake.calls == 3


def test_deadline_exceeded(client):
    with pytest.raises(ic.DeadlineExceeded):
        client.score(fake_png("SLOW"), shots=SHOTS, category="x", timeout=0.1)


def test_unreachable_server_is_unavailable():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with ic.connect(f"127.0.0.1:{port}", "k", retry=FAST, timeout=2) as c:
        with pytest.raises(ic.Unavailable):
            c.model_info()
        with pytest.raises(ic.Unavailable):
            c.wait_ready(0.3)


def test_registry_roundtrip(client):
    ps = client.register_prompt_set("line-1", "transistor", SHOTS)
    assert ps.shot_count == 2
    assert client.get_prompt_set(ps.id).name == "line-1"
    assert client.score(fake_png("q"), prompt_set_id=ps.id).bundle_id == "fake"
    with pytest.raises(ic.AlreadyExists):
        client.register_prompt_set("line-1", "transistor", SHOTS)
    for i in range(5):
        client.register_prompt_set(f"more-{i}", "x", SHOTS)
    assert len(list(client.list_prompt_sets(page_size=2))) == 6  # follows next_page_token
    client.delete_prompt_set(ps.id)
    with pytest.raises(ic.NotFound):
        client.get_prompt_set(ps.id)
    with pytest.raises(ic.NotFound):
        client.score(fake_png("q"), prompt_set_id=ps.id)


# -- streaming -------------------------------------------------------------------------------------------------
def test_stream_50_ids_each_answered_once_with_backpressure(fake, client):
    items = [(f"img-{i}", fake_png(str(i), anomaly=i % 2 == 1)) for i in range(50)]
    with client.open_stream(window=4, shots=SHOTS, category="x") as s:
        results = list(s.score_many(items))
    ids = [rid for rid, _ in results]
    assert sorted(ids) == sorted(rid for rid, _ in items) and len(ids) == 50
    assert ids != [rid for rid, _ in items], "fake answers out of order; the wrapper must not depend on order"
    for rid, r in results:
        assert r.request_id == rid and (r.score > 0.7) == (int(rid.split("-")[1]) % 2 == 1)
    assert fake.max_in_flight <= 4, "client must bound the in-flight window"
    assert s.unmatched == []


def test_stream_per_request_error_does_not_end_stream(client):
    with client.open_stream(window=8, shots=SHOTS, category="x") as s:
        good1 = s.submit(fake_png("1"), "g1")
        bad = s.submit(b"garbage", "bad")
        good2 = s.submit(fake_png("2"), "g2")
        with pytest.raises(ic.InvalidArgument) as ei:
            bad.result(5)
        assert ei.value.request_id == "bad"
        assert good1.result(5).request_id == "g1" and good2.result(5).request_id == "g2"


def test_stream_generates_ids_and_per_submit_prompts(client):
    ps = client.register_prompt_set("s", "x", SHOTS)
    with client.open_stream(window=2) as s:
        f1 = s.submit(fake_png("a"), shots=SHOTS, category="x")
        f2 = s.submit(fake_png("b"), prompt_set_id=ps.id)
        f3 = s.submit(fake_png("c"), prompt_set_id="missing")
        assert f1.request_id != f2.request_id
        assert f1.result(5).request_id == f1.request_id and f2.result(5).request_id == f2.request_id
        with pytest.raises(ic.NotFound):
            f3.result(5)


def test_stream_rejects_duplicate_in_flight_id(client):
    with client.open_stream(window=8, shots=SHOTS, category="x") as s:
        s.submit(fake_png("SLOW"), "dup")
        with pytest.raises(ValueError):
            s.submit(fake_png("x"), "dup")


def test_stream_bad_key_fails_pending_with_unauthenticated(fake):
    with ic.connect(fake.addr, "wrong") as c:
        s = c.open_stream(window=4, shots=SHOTS, category="x")
        # the server may reject the call before or after the first submit: both must surface the same error
        with pytest.raises(ic.Unauthenticated):
            s.submit(fake_png("a"), "a").result(5)
        with pytest.raises(ic.Unauthenticated):
            s.close(5)
        with pytest.raises(ic.Unauthenticated):
            s.submit(fake_png("b"), "b")


def test_stream_deadline(client):
    s = client.open_stream(window=4, shots=SHOTS, category="x", timeout=0.2)
    fut = s.submit(fake_png("SLOW"), "slow")
    with pytest.raises(ic.DeadlineExceeded):
        fut.result(5)


def test_stream_submit_times_out_when_window_full(client):
    with client.open_stream(window=1, shots=SHOTS, category="x") as s:
        s.submit(fake_png("SLOW"), "a")
        with pytest.raises(TimeoutError):
            s.submit(fake_png("b"), "b", timeout=0.05)


# -- rig simulator ---------------------------------------------------------------------------------------------
def test_auroc_and_percentiles():
    assert rig.auroc([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0]) == 1.0
    assert rig.auroc([0.5, 0.5], [1, 0]) == 0.5
    assert rig.auroc([0.1, 0.9], [1, 0]) == 0.0
    assert rig.auroc([0.1], [1]) is None
    assert rig.percentile(list(range(1, 101)), 50) == 50 and rig.percentile(list(range(1, 101)), 99) == 99


def _labelled_folder(root):
    rows = ["path,label,category,defect_type"]
    for cat in ("alpha", "beta"):
        for kind, label, n in (("shots", "normal", 2), ("test/good", "normal", 5), ("test/crack", "anomaly", 5)):
            d = root / "ds" / cat / kind
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                (d / f"{i}.png").write_bytes(fake_png(f"{cat}{kind}{i}", anomaly=label == "anomaly"))
                rows.append(f"ds/{cat}/{kind}/{i}.png,{label},{cat},{'good' if label == 'normal' else 'crack'}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize("register", [False, True])
def test_rig_reports_auroc_on_labelled_folder(fake, tmp_path, capsys, register):
    _labelled_folder(tmp_path)
    out = tmp_path / "r.json"
    argv = [str(tmp_path), "--addr", fake.addr, "--api-key", "secret", "--streams", "3", "--window", "2",
            "--rate", "200", "--json", str(out)] + (["--register"] if register else [])
    assert rig.main(argv) == 0
    rep = json.loads(out.read_text())
    assert rep["sent"] == rep["ok"] == 20 and rep["auroc"]["mean"] == 1.0
    assert set(rep["auroc"]["per_category"]) == {"alpha", "beta"}
    text = capsys.readouterr().out
    assert "p99" in text and "mean AUROC" in text and "throughput" in text
    assert fake.sets == {}, "registered prompt sets are cleaned up"


def test_rig_plain_folder_with_shots_dir(fake, tmp_path, capsys):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "shots").mkdir()
    for i in range(6):
        (tmp_path / "imgs" / f"{i}.png").write_bytes(fake_png(str(i)))
    (tmp_path / "shots" / "s.png").write_bytes(fake_png("s"))
    assert rig.main([str(tmp_path / "imgs"), "--addr", fake.addr, "--api-key", "secret", "--shots-dir",
                     str(tmp_path / "shots"), "--category", "x", "--repeat", "2"]) == 0
    assert "sent 12  ok 12" in capsys.readouterr().out


def test_rig_unreachable_server_exits_nonzero(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert rig.main([".", "--addr", f"127.0.0.1:{port}", "--connect-timeout", "0.5"]) == 2
