"""Offline tests: always run, against an in-process fake server (tests/fake_server.py)."""
import json
import socket

import grpc
import pytest

import inctrl_client as ic
from fake_server import FakeInctrl, fake_png, start
from inctrl_client import rig
from inctrl_client.retry import channel_options, service_config
from inctrl_client.targets import default_authority, grpc_target

FAST = ic.RetryPolicy(max_attempts=4, initial_backoff=0.01, max_backoff=0.05)
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
    ("INTERNAL", ic.Internal), ("ABORTED", ic.Aborted), ("invalid_argument", ic.InvalidArgument)])
def test_code_name_mapping(name, cls):
    e = ic.from_code_name(name, "msg", "id7")
    assert type(e) is cls and e.details == "msg" and e.request_id == "id7" and "id7" in str(e)


def test_unknown_code_name_maps_to_base():
    e = ic.from_code_name("NOPE", "x")
    assert type(e) is ic.InctrlError and e.code == grpc.StatusCode.UNKNOWN


def test_rpc_error_mapping_keeps_cause():
    e = ic.from_rpc_error(_RpcErr(grpc.StatusCode.RESOURCE_EXHAUSTED))
    assert isinstance(e, ic.ResourceExhausted) and e.details == "boom" and isinstance(e.__cause__, grpc.RpcError)


# -- retry / load balancing: gRPC service config ---------------------------------------------------------------
def test_service_config_is_round_robin_with_retry_of_idempotent_calls():
    cfg = service_config(ic.RetryPolicy(max_attempts=9, initial_backoff=0.25, max_backoff=2, multiplier=3))
    assert cfg["loadBalancingConfig"] == [{"round_robin": {}}]
    (mc,) = cfg["methodConfig"]
    assert {(n["service"], n["method"]) for n in mc["name"]} == {
        ("inctrl.v1.Scorer", "Score"), ("inctrl.v1.Scorer", "GetModelInfo"), ("inctrl.v1.Scorer", "ListModels"),
        ("inctrl.v1.PromptRegistry", "GetPromptSet"), ("inctrl.v1.PromptRegistry", "ListPromptSets"),
        ("inctrl.v1.PromptRegistry", "ListRevisions")}
    assert mc["retryPolicy"] == {"maxAttempts": 5, "initialBackoff": "0.250s", "maxBackoff": "2.000s",
                                 "backoffMultiplier": 3, "retryableStatusCodes": ["UNAVAILABLE"]}


def test_channel_options_enable_retries_and_keepalive_only_with_calls():
    opts = dict(channel_options(ic.RetryPolicy(), 1 << 20))
    assert opts["grpc.enable_retries"] == 1 and json.loads(opts["grpc.service_config"])["methodConfig"]
    assert (opts["grpc.keepalive_time_ms"], opts["grpc.keepalive_timeout_ms"]) == (30_000, 10_000)
    assert opts["grpc.keepalive_permit_without_calls"] == 0


def test_no_retry_has_no_method_config():
    assert "methodConfig" not in service_config(ic.NO_RETRY)


def test_resend_backoff_bounds_are_exponential_and_capped():
    p = ic.RetryPolicy(max_attempts=6, initial_backoff=0.1, max_backoff=0.5, multiplier=2)
    assert list(p.delays()) == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])


@pytest.mark.parametrize("address,target", [
    ("localhost:9000", "localhost:9000"),
    ("dns:///inctrl.svc:9000", "dns:///inctrl.svc:9000"),
    ("127.0.0.1:9001,127.0.0.2:9002", "ipv4:127.0.0.1:9001,127.0.0.2:9002"),
    (["127.0.0.1:9001", " 127.0.0.1:9002 "], "ipv4:127.0.0.1:9001,127.0.0.1:9002"),
    ("[::1]:9001,[::1]:9002", "ipv6:[::1]:9001,[::1]:9002"),
    ("localhost:9001,127.0.0.1:9002", "ipv4:127.0.0.1:9001,127.0.0.1:9002"),
])
def test_address_lists_become_static_targets(address, target):
    assert grpc_target(address) == target


def test_a_list_sends_its_first_entry_as_authority_not_the_whole_list():
    assert default_authority("10.0.0.5:9000, 10.0.0.6:9000") == "10.0.0.5:9000"
    assert default_authority(["inctrl-0.svc:9000", "inctrl-1.svc:9000"]) == "inctrl-0.svc:9000"
    assert default_authority("inctrl.svc:9000") is None


@pytest.mark.parametrize("address", ["", " , ", "127.0.0.1:1,nohostport", "127.0.0.1:1,no-such-host.invalid:2"])
def test_bad_address_lists_are_rejected(address):
    with pytest.raises(ValueError):
        grpc_target(address)


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


def test_other_codes_are_not_retried(fake, client):
    with pytest.raises(ic.InvalidArgument):
        client.score(b"junk", shots=SHOTS, category="x")
    assert fake.calls == 1


def test_writes_are_not_retried(fake, client):
    fake.unavailable_first = 1
    with pytest.raises(ic.Unavailable):
        client.register_prompt_set("s", "x", SHOTS)
    assert fake.calls == 1


def test_a_refusal_with_the_servers_retry_hint_is_retried_and_no_other(fake, client):
    """Issue 20 item 7: resend after the server's RetryInfo (QUEUE_FULL), never a refusal without one."""
    fake.busy_first = 2
    assert client.score(fake_png("q"), shots=SHOTS, category="x").bundle_id == "fake"
    assert fake.calls == 3
    fake.calls, fake.busy_first = 0, 0
    with pytest.raises(ic.ResourceExhausted) as huge:
        client.score(fake_png("HUGE"), shots=SHOTS, category="x")
    assert huge.value.reason == "PAYLOAD_TOO_LARGE" and huge.value.retry_after is None
    assert fake.calls == 1
    fake.calls, fake.busy_first = 0, 100
    with pytest.raises(ic.ResourceExhausted) as busy:
        client.score(fake_png("q"), shots=SHOTS, category="x")
    assert busy.value.reason == "QUEUE_FULL" and busy.value.retry_after == pytest.approx(0.05)
    assert fake.calls == 4   # the policy's attempts


def test_stream_resends_an_item_answered_with_retry_after_and_fails_one_without(fake, client):
    with client.open_stream(window=4, shots=SHOTS, category="x") as s:
        busy = s.submit(fake_png("BUSYONCE"), request_id="busy")
        huge = s.submit(fake_png("HUGE"), request_id="huge")
        assert busy.result(10).request_id == "busy"
        err = huge.exception(10)
        assert isinstance(err, ic.ResourceExhausted) and err.reason == "PAYLOAD_TOO_LARGE" and err.retry_after is None
    assert fake.stream_ids.count("busy") == 2 and fake.stream_ids.count("huge") == 1


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
    assert ps.calibration.target_fpr == pytest.approx(0.05)  # unset: the server's default
    strict = client.register_prompt_set("strict", "transistor", SHOTS, target_fpr=0.01)
    assert strict.calibration.target_fpr == pytest.approx(0.01)
    client.delete_prompt_set(strict.id)
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


# -- models (issue 19) -----------------------------------------------------------------------------------------
def test_score_names_a_model_version_and_learns_which_version_answered(fake, client):
    r = client.score(fake_png("q"), shots=SHOTS, category="x")
    assert (r.model, r.model_version) == ("fake-model", 2)   # nothing named: the default model's serving version
    assert (fake.sent("Score")[-1].model, fake.sent("Score")[-1].model_version) == ("", 0)
    r = client.score(fake_png("q"), shots=SHOTS, category="x", model="fake-model", model_version=1)
    assert (r.model, r.model_version) == ("fake-model", 1)
    assert (fake.sent("Score")[-1].model, fake.sent("Score")[-1].model_version) == ("fake-model", 1)
    assert client.score(fake_png("q"), shots=SHOTS, category="x", model="other-model").model_version == 7
    assert r.query_id == ""   # inline shots: nothing to confirm


@pytest.mark.parametrize("model,version,reason", [("nope", 0, "MODEL_NOT_FOUND"),
                                                  ("fake-model", 9, "MODEL_VERSION_NOT_LOADED")])
def test_a_model_version_the_server_does_not_serve_is_not_found_with_its_reason(fake, client, model, version, reason):
    with pytest.raises(ic.NotFound) as e:
        client.score(fake_png("q"), shots=SHOTS, category="x", model=model, model_version=version)
    assert e.value.reason == reason and e.value.retry_after is None
    with pytest.raises(ic.NotFound) as e:
        client.model_info(model=model, model_version=version)
    assert e.value.reason == reason
    assert fake.calls == 2   # not retried: no retry hint


def test_model_info_and_list_models(fake, client):
    info = client.model_info()
    assert (info.model, info.model_version, info.precision) == ("fake-model", 2, "fp32")
    info = client.model_info(model="fake-model", model_version=1)
    assert (info.model, info.model_version) == ("fake-model", 1)
    assert (fake.sent("GetModelInfo")[-1].model, fake.sent("GetModelInfo")[-1].model_version) == ("fake-model", 1)
    models = client.list_models()
    assert models.default_model == "fake-model"
    assert {m.name: [v.version for v in m.versions] for m in models.models} == {"fake-model": [2, 1],
                                                                               "other-model": [7]}
    assert {m.name: m.serving_version for m in models.models} == {"fake-model": 2, "other-model": 7}


def test_list_models_is_resent_after_a_retry_hint(fake, client):
    fake.busy_first = 2
    assert client.list_models().default_model == "fake-model"
    assert fake.calls == 3


def test_stream_model_defaults_and_per_submit_override(fake, client):
    with client.open_stream(window=4, shots=SHOTS, category="x", model="fake-model", model_version=1) as s:
        by_default = s.submit(fake_png("a"), "a")
        overridden = s.submit(fake_png("b"), "b", model_version=2)
        other = s.submit(fake_png("c"), "c", model="other-model", model_version=0)
        missing = s.submit(fake_png("d"), "d", model_version=5)
        assert by_default.result(5).model_version == 1 and overridden.result(5).model_version == 2
        assert (other.result(5).model, other.result(5).model_version) == ("other-model", 7)
        with pytest.raises(ic.NotFound) as e:
            missing.result(5)
        assert e.value.reason == "MODEL_VERSION_NOT_LOADED" and e.value.request_id == "d"


def test_prompt_set_model_encodings_threshold_and_reencode_per_version(fake, client):
    ps = client.register_prompt_set("m", "x", SHOTS, model="other-model")
    assert fake.sent("CreatePromptSet")[-1].model == "other-model"
    assert ps.model == "other-model" and ps.revision == 1
    assert [(e.model, e.model_version, e.state) for e in ps.encodings] == [("other-model", 7, "READY")]
    ps = client.register_prompt_set("d", "x", SHOTS)
    assert ps.model == "fake-model" and sorted(e.model_version for e in ps.encodings) == [1, 2]
    r = client.score(fake_png("q"), prompt_set_id=ps.id)
    assert (r.model, r.model_version) == ("fake-model", 2)   # the set's model, its serving version

    ps = client.set_threshold(ps.id, 0.7, model_version=1)
    sent = fake.sent("SetThreshold")[-1]
    assert sent.HasField("threshold") and sent.threshold == pytest.approx(0.7) and sent.model_version == 1
    assert not sent.HasField("target_fpr")
    v1 = next(e for e in ps.encodings if e.model_version == 1)
    v2 = next(e for e in ps.encodings if e.model_version == 2)
    assert v1.calibration.threshold_overridden and not v2.calibration.threshold_overridden
    ps = client.set_threshold(ps.id, None, target_fpr=0.01, model_version=1)   # clear the override, new target
    sent = fake.sent("SetThreshold")[-1]
    assert not sent.HasField("threshold") and sent.target_fpr == pytest.approx(0.01)
    assert ps.calibration.target_fpr == pytest.approx(0.01)
    assert not next(e for e in ps.encodings if e.model_version == 1).calibration.threshold_overridden

    before = next(e for e in ps.encodings if e.model_version == 1).version
    ps = client.reencode_prompt_set(ps.id, model_version=1)
    assert fake.sent("ReencodePromptSet")[-1].model_version == 1
    assert next(e for e in ps.encodings if e.model_version == 1).version == before + 1
    with pytest.raises(ic.NotFound) as e:
        client.reencode_prompt_set(ps.id, model_version=4)
    assert e.value.reason == "MODEL_VERSION_NOT_LOADED"


# -- prompt sets that grow (issue 22) --------------------------------------------------------------------------
def test_confirm_a_scored_query_as_normal_then_remove_and_roll_back(fake, client):
    ps = client.register_prompt_set("grow", "x", SHOTS)
    query = fake_png("looks-normal")
    r = client.score(query, prompt_set_id=ps.id)
    assert r.query_id
    grown = client.add_shots(ps.id, query_ids=[r.query_id])
    assert (grown.revision, grown.shot_count) == (2, 3)
    assert fake.shots[ps.id][2] == SHOTS + [query]   # the scored image itself, not a second upload
    assert list(fake.sent("AddShots")[-1].query_ids) == [r.query_id] and not fake.sent("AddShots")[-1].shots

    grown = client.add_shots(ps.id, [fake_png("n3")])   # an uploaded image, as bytes
    assert (grown.revision, grown.shot_count) == (3, 4)
    smaller = client.remove_shots(ps.id, [0, 2])
    assert (smaller.revision, smaller.shot_count) == (4, 2)
    assert fake.shots[ps.id][4] == [SHOTS[1], fake_png("n3")]
    revs = client.list_revisions(ps.id)
    assert revs.current == 4
    assert [(v.revision, v.shot_count, v.reason) for v in revs.revisions] == [
        (1, 2, "created"), (2, 3, "shots-added"), (3, 4, "shots-added"), (4, 2, "shots-removed")]
    back = client.rollback_prompt_set(ps.id, 2)
    assert (back.revision, back.shot_count) == (2, 3) and client.list_revisions(ps.id).current == 2


def test_growing_a_set_reports_the_servers_reasons(fake, client):
    ps = client.register_prompt_set("grow", "x", SHOTS)
    qid = client.score(fake_png("q"), prompt_set_id=ps.id).query_id
    fake.forget_queries()
    cases = [
        (lambda: client.add_shots(ps.id, query_ids=[qid]), ic.NotFound, "QUERY_NOT_RETAINED"),
        (lambda: client.add_shots(ps.id), ic.InvalidArgument, "NO_SHOTS"),
        (lambda: client.remove_shots(ps.id, [2]), ic.InvalidArgument, "INVALID_SHOT"),
        (lambda: client.remove_shots(ps.id, [0, 1]), ic.InvalidArgument, "NO_SHOTS"),
        (lambda: client.rollback_prompt_set(ps.id, 9), ic.NotFound, "REVISION_NOT_FOUND"),
        (lambda: client.list_revisions("missing"), ic.NotFound, "NOT_FOUND"),
    ]
    for call, cls, reason in cases:
        with pytest.raises(cls) as e:
            call()
        assert e.value.reason == reason, reason
    assert client.get_prompt_set(ps.id).revision == 1   # nothing half-done


def test_shot_writes_are_never_resent_and_list_revisions_is(fake, client):
    """AddShots, RemoveShots and RollbackPromptSet make a new revision: a resend could add the shots twice, so even a
    refusal with a retry hint (CONCURRENT_CHANGE, QUEUE_FULL) reaches the caller after one attempt."""
    ps = client.register_prompt_set("grow", "x", SHOTS)
    fake.conflicts = 1
    with pytest.raises(ic.Aborted) as e:
        client.add_shots(ps.id, [fake_png("n3")])
    assert e.value.reason == "CONCURRENT_CHANGE" and e.value.retry_after == 0
    assert len(fake.sent("AddShots")) == 1
    for call, method in ((lambda: client.add_shots(ps.id, [fake_png("n3")]), "AddShots"),
                         (lambda: client.rollback_prompt_set(ps.id, 1), "RollbackPromptSet")):
        fake.calls, fake.busy_first, before = 0, 1, len(fake.sent(method))
        with pytest.raises(ic.ResourceExhausted) as e:
            call()
        assert e.value.reason == "QUEUE_FULL" and e.value.retry_after is not None
        assert len(fake.sent(method)) == before + 1
    fake.calls, fake.busy_first, fake.unavailable_first = 0, 0, 1   # nor resent by gRPC on UNAVAILABLE
    with pytest.raises(ic.Unavailable):
        client.add_shots(ps.id, [fake_png("n3")])
    assert fake.calls == 1
    assert client.get_prompt_set(ps.id).revision == 1
    fake.calls, fake.unavailable_first, fake.busy_first = 0, 1, 1   # UNAVAILABLE (gRPC), then a hint (the client)
    assert client.list_revisions(ps.id).current == 1
    assert fake.calls == 3


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
    assert "model fake-model v2" in text and "answered by  fake-model v2: 20" in text
    assert rep["answered_by"] == {"fake-model v2": 20}
    assert fake.sets == {}, "registered prompt sets are cleaned up"


def test_rig_scores_with_the_model_version_asked_for_and_says_which_answered(fake, tmp_path, capsys):
    _labelled_folder(tmp_path)
    out = tmp_path / "r.json"
    assert rig.main([str(tmp_path), "--addr", fake.addr, "--api-key", "secret", "--register", "--model",
                     "fake-model", "--model-version", "1", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["answered_by"] == {"fake-model v1": 20}
    text = capsys.readouterr().out
    assert "model fake-model v1" in text and "answered by  fake-model v1: 20" in text
    assert {p.model for p in fake.created} == {"fake-model"}
    assert {(r.model, r.model_version) for r in fake.sent("GetModelInfo")} == {("fake-model", 1)}
    assert rig.main([str(tmp_path), "--addr", fake.addr, "--api-key", "secret", "--model", "fake-model",
                     "--model-version", "5"]) == 2   # not loaded: refused before anything is sent
    assert "MODEL_VERSION_NOT_LOADED" in capsys.readouterr().err


def test_rig_plain_folder_with_shots_dir(fake, tmp_path, capsys):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "shots").mkdir()
    for i in range(6):
        (tmp_path / "imgs" / f"{i}.png").write_bytes(fake_png(str(i)))
    (tmp_path / "shots" / "s.png").write_bytes(fake_png("s"))
    assert rig.main([str(tmp_path / "imgs"), "--addr", fake.addr, "--api-key", "secret", "--shots-dir",
                     str(tmp_path / "shots"), "--category", "x", "--repeat", "2"]) == 0
    assert "sent 12  ok 12" in capsys.readouterr().out
    assert fake.prompts_used == {"inline": 12} and fake.created == []


def test_rig_plain_folder_register_scores_by_prompt_set_id(fake, tmp_path, capsys):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "shots").mkdir()
    for i in range(4):
        (tmp_path / "imgs" / f"{i}.png").write_bytes(fake_png(str(i)))
    for i in range(3):
        (tmp_path / "shots" / f"s{i}.png").write_bytes(fake_png(f"s{i}"))
    assert rig.main([str(tmp_path / "imgs"), "--addr", fake.addr, "--api-key", "secret", "--shots-dir",
                     str(tmp_path / "shots"), "--category", "x", "--shots", "2", "--register"]) == 0
    assert "sent 4  ok 4" in capsys.readouterr().out
    assert [(p.category, p.shot_count) for p in fake.created] == [("x", 2)]
    assert fake.prompts_used == {fake.created[0].id: 4}, "every image is scored by id, no shots inline"
    assert fake.sets == {}, "the registered prompt set is cleaned up"


def test_rig_register_needs_shots_not_an_existing_set(fake, tmp_path):
    with pytest.raises(SystemExit, match="--prompt-set-id"):
        rig.main([str(tmp_path), "--addr", fake.addr, "--api-key", "secret", "--prompt-set-id", "p1", "--register"])
    assert fake.created == []


def test_rig_unreachable_server_exits_nonzero(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert rig.main([".", "--addr", f"127.0.0.1:{port}", "--connect-timeout", "0.5"]) == 2


# -- several backends: round_robin, retry onto another backend, stream resend ----------------------------------
@pytest.fixture
def two_fakes():
    plan: dict = {}
    fakes = []
    for name in ("fake-a", "fake-b"):
        f = FakeInctrl(name=name, stream_plan=plan)
        f.server, f.addr = start(f)
        f.stopped = False
        fakes.append(f)
    yield fakes
    for f in fakes:
        f.server.stop(0)


def _both_answer(c):
    """Calls until both backends have answered (round_robin), at most 100 calls; returns the names seen.
    round_robin picks among READY backends only: a stream opened before both are READY could be "resent" to the
    backend that just failed it."""
    seen = set()
    for i in range(100):
        seen.add(c.score(fake_png(f"q{i}"), shots=SHOTS, category="x").bundle_id)
        if len(seen) == 2:
            break
    return seen


def test_unary_calls_spread_over_backends_and_survive_one_going_down(two_fakes):
    a, b = two_fakes
    with ic.connect(f"{a.addr},{b.addr}", "secret", retry=FAST, timeout=5) as c:
        assert _both_answer(c) == {"fake-a", "fake-b"}
        a.server.stop(0)
        answered = [c.score(fake_png(f"after{i}"), shots=SHOTS, category="x").bundle_id for i in range(20)]
        assert answered == ["fake-b"] * 20
        assert c.get_prompt_set(c.register_prompt_set("s", "x", SHOTS).id).name == "s"


def _check_exactly_once(two_fakes, ids, results, dead_answered):
    a, b = two_fakes
    dead, alive = (a, b) if a.stream_failed or a.stopped else (b, a)
    assert sorted(rid for rid, _ in results) == sorted(ids)  # every id reported exactly once
    errors = [(rid, r) for rid, r in results if isinstance(r, Exception)]
    assert errors == []
    by_dead = {rid for rid, r in results if r.bundle_id == dead.name}
    assert len(by_dead) == dead_answered if dead_answered is not None else len(by_dead) >= 10
    # an id whose answer arrived from the failed backend was never resent to the other one
    assert not by_dead & set(alive.stream_ids)
    assert set(alive.stream_ids) == set(ids) - by_dead


def test_stream_resends_unanswered_ids_to_another_backend_on_unavailable(two_fakes):
    two_fakes[0].stream_plan["fail_after"] = 10
    addrs = [f.addr for f in two_fakes]
    ids = [f"img{i}" for i in range(60)]
    with ic.connect(addrs, "secret", retry=FAST, timeout=5) as c:
        assert _both_answer(c) == {"fake-a", "fake-b"}
        with c.open_stream(window=8, shots=SHOTS, category="x") as s:
            results = list(s.score_many((rid, fake_png(rid)) for rid in ids))
        assert s.restarts == 1 and s.unmatched == []
    assert any(f.stream_failed for f in two_fakes)
    _check_exactly_once(two_fakes, ids, results, dead_answered=10)


def test_stream_survives_its_backend_being_stopped(two_fakes):
    ids = [f"img{i}" for i in range(60)]
    results = []
    with ic.connect(",".join(f.addr for f in two_fakes), "secret", retry=FAST, timeout=5) as c:
        assert _both_answer(c) == {"fake-a", "fake-b"}
        with c.open_stream(window=8, shots=SHOTS, category="x") as s:
            for rid, r in s.score_many((rid, fake_png(rid)) for rid in ids):
                results.append((rid, r))
                if len(results) == 10:  # kill the backend carrying the stream
                    carrier = next(f for f in two_fakes if f.stream_ids)
                    carrier.server.stop(0)
                    carrier.stopped = True
        assert s.restarts >= 1
    _check_exactly_once(two_fakes, ids, results, dead_answered=None)


def test_stream_without_resend_fails_unanswered_ids_with_unavailable(two_fakes):
    two_fakes[0].stream_plan["fail_after"] = 3
    with ic.connect([f.addr for f in two_fakes], "secret", retry=FAST, timeout=5) as c:
        c.wait_ready(5)
        s = c.open_stream(window=8, shots=SHOTS, category="x", resend=ic.NO_RETRY)
        futs = [s.submit(fake_png(f"i{i}"), request_id=f"i{i}") for i in range(8)]
        outcomes = [f.exception(timeout=5) for f in futs]
        assert sum(e is None for e in outcomes) == 3
        assert all(isinstance(e, ic.Unavailable) for e in outcomes if e is not None)
        assert s.restarts == 0


def test_rig_accepts_a_comma_separated_addr_list(two_fakes, tmp_path, capsys):
    for i in range(6):
        (tmp_path / f"img{i}.png").write_bytes(fake_png(f"img{i}"))
    shots = tmp_path / "shots"
    shots.mkdir()
    (shots / "s1.png").write_bytes(fake_png("s1"))
    addrs = ",".join(f.addr for f in two_fakes)
    rc = rig.main([str(tmp_path), "--addr", addrs, "--api-key", "secret", "--shots-dir", str(shots),
                   "--category", "x", "--streams", "4", "--window", "2"])
    assert rc == 0, capsys.readouterr()
    assert all(f.stream_ids for f in two_fakes)  # 4 streams, round robin: both replicas got some


def test_inspection_mode_is_sent_on_inline_prompts_and_refused_when_unknown():
    from inctrl.v1 import scoring_pb2
    from inctrl_client.client import build_request

    req = build_request(b"q", shots=[b"s"], category="fabric", inspection="tiles")
    assert req.inline.inspection == scoring_pb2.INSPECTION_TILES
    assert build_request(b"q", shots=[b"s"], category="fabric").inline.inspection == scoring_pb2.INSPECTION_UNSPECIFIED
    with pytest.raises(ValueError, match="center-crop, resize, tiles"):
        build_request(b"q", shots=[b"s"], category="fabric", inspection="mosaic")
