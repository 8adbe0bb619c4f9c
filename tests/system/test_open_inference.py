"""Open Inference Protocol (KServe v2) with an outside client: NVIDIA's tritonclient (grpc and http) against the
packaged server, checked against our own Scorer.Score for the same images; Triton's model repository, configuration
and statistics extensions; and one process serving several models, each scored by name on gRPC, REST and OIP.

Needs tritonclient, whose grpc extra wants a newer grpcio than build/venv pins: scripts/test.sh runs this file in
its own venv (build/venv-oip, from requirements-oip.txt)."""
from __future__ import annotations

import numpy as np
import pytest

grpcclient = pytest.importorskip("tritonclient.grpc", reason="pip install -r tests/system/requirements-oip.txt")
httpclient = pytest.importorskip("tritonclient.http")
from tritonclient.utils import InferenceServerException  # noqa: E402

from conftest import (  # noqa: E402
    QUERIES,
    RESIDUAL_HEADS,
    SHOTS,
    TINY,
    Server,
    channel,
    image,
    meta,
    model_repository,
    pb,
    pb_grpc,
    post_form,
    register,
)

MAX_BATCH = 4


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("oip")
    from conftest import TINY
    s = Server(log=d / "server.log", data_dir=d / "data", env={},
               args=[f"-Dinctrl.model.bundle={TINY}", f"-Dinctrl.limits.max-infer-batch={MAX_BATCH}"]).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def model(server) -> str:
    """The model's name: for the single configured bundle, its directory name (tiny)."""
    code, info = server.http("GET", "/v1/model", key=server.tenant_key)
    assert code == 200, info
    assert info["model"] == TINY.name
    return info["model"]


@pytest.fixture(scope="module")
def bundle_id(server) -> str:
    code, info = server.http("GET", "/v1/model", key=server.tenant_key)
    assert code == 200, info
    return info["bundleId"]


@pytest.fixture(scope="module")
def prompt_set(server) -> str:
    return register(server)


def _clients(server: Server):
    """(transport, client, headers) for tritonclient grpc and http on the same server."""
    return [("grpc", grpcclient.InferenceServerClient(server.grpc), {"x-api-key": server.tenant_key}),
            ("http", httpclient.InferenceServerClient(f"127.0.0.1:{server.http_port}"),
             {"X-API-Key": server.tenant_key})]


def _bytes_input(module, name: str, blobs: list[bytes]):
    t = module.InferInput(name, [len(blobs)], "BYTES")
    t.set_data_from_numpy(np.array(blobs, dtype=np.object_))
    return t


def _ours(server: Server, query: bytes, **prompts):
    stub = pb_grpc.ScorerStub(channel(server.grpc))
    return stub.Score(pb.ScoreRequest(image=query, **prompts), metadata=meta(server.tenant_key), timeout=120)


def test_health_and_metadata_through_tritonclient(server, model, bundle_id):
    for transport, client, headers in _clients(server):
        assert client.is_server_live(), transport            # public, like grpc.health.v1
        assert client.is_server_ready(), transport
        assert client.is_model_ready(model, headers=headers), transport
        md = client.get_model_metadata(model, headers=headers, as_json=True) if transport == "grpc" \
            else client.get_model_metadata(model, headers=headers)
        assert md["name"] == model
        assert md["versions"] == ["1"]
        # the bundle id of the single-bundle server (the name clients used before models had names) still works
        alias = client.get_model_metadata(bundle_id, headers=headers, as_json=True) if transport == "grpc" \
            else client.get_model_metadata(bundle_id, headers=headers)
        assert alias["name"] == model, transport
        assert [i["name"] for i in md["inputs"]] == ["image", "shots"]
        assert all(i["datatype"] == "BYTES" for i in md["inputs"])
        outputs = {o["name"]: o for o in md["outputs"]}
        assert set(outputs) == {"score", "map", "is_anomalous", "s_p", "s_i", "s_a", "s_h"}, transport
        assert [int(d) for d in outputs["map"]["shape"]] == [-1, 15, 15]
        assert outputs["is_anomalous"]["datatype"] == "BOOL"


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_infer_with_a_registered_prompt_set_equals_our_score(server, model, prompt_set, transport):
    _, client, headers = next(c for c in _clients(server) if c[0] == transport)
    module = grpcclient if transport == "grpc" else httpclient
    queries = [image(q) for q in (QUERIES[0], QUERIES[-1], QUERIES[3])]
    result = client.infer(model, [_bytes_input(module, "image", queries)],
                          parameters={"prompt_set_id": prompt_set}, headers=headers)
    score, heat, flags = result.as_numpy("score"), result.as_numpy("map"), result.as_numpy("is_anomalous")
    assert score.dtype == np.float32 and score.shape == (3,)
    assert heat.shape == (3, 15, 15)
    assert flags is not None and flags.dtype == np.bool_, "a registered set carries a threshold"
    for i, q in enumerate(queries):
        ours = _ours(server, q, prompt_set_id=prompt_set)
        assert abs(float(score[i]) - ours.score) <= 1e-6, (transport, i, float(score[i]), ours.score)
        assert abs(float(result.as_numpy("s_i")[i]) - ours.s_i) <= 1e-6
        assert np.abs(heat[i].ravel() - np.array(ours.map, dtype=np.float32)).max() <= 1e-6
        assert bool(flags[i]) == ours.is_anomalous


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_infer_with_inline_shots_equals_our_score(server, model, transport):
    _, client, headers = next(c for c in _clients(server) if c[0] == transport)
    module = grpcclient if transport == "grpc" else httpclient
    shots = [image(s) for s in SHOTS[:2]]
    query = image(QUERIES[1])
    compression = {"compression_algorithm": "gzip"} if transport == "grpc" else {}   # gRPC compression works
    result = client.infer(model, [_bytes_input(module, "image", [query]), _bytes_input(module, "shots", shots)],
                          parameters={"category": "mono"}, headers=headers,
                          outputs=[module.InferRequestedOutput("score"), module.InferRequestedOutput("s_a")],
                          **compression)
    ours = _ours(server, query, inline=pb.InlinePrompts(shots=shots, category="mono"))
    assert abs(float(result.as_numpy("score")[0]) - ours.score) <= 1e-6
    assert abs(float(result.as_numpy("s_a")[0]) - ours.s_a) <= 1e-6
    assert result.as_numpy("map") is None, "only the requested outputs come back"
    assert result.as_numpy("is_anomalous") is None, "inline shots have no threshold"


@pytest.mark.parametrize("transport,codes", [
    ("grpc", {"key": "StatusCode.UNAUTHENTICATED", "admin": "StatusCode.PERMISSION_DENIED",
              "model": "StatusCode.NOT_FOUND", "image": "StatusCode.INVALID_ARGUMENT", "set": "StatusCode.NOT_FOUND"}),
    ("http", {"key": "401", "admin": "403", "model": "404", "image": "400", "set": "404"}),
])
def test_errors_map_to_the_protocols_status(server, model, prompt_set, transport, codes):
    _, client, headers = next(c for c in _clients(server) if c[0] == transport)
    module = grpcclient if transport == "grpc" else httpclient
    good = [_bytes_input(module, "image", [image(QUERIES[0])])]
    key = "x-api-key" if transport == "grpc" else "X-API-Key"

    def status_of(call) -> tuple[str, str]:
        with pytest.raises(InferenceServerException) as e:
            call()
        return e.value.status(), e.value.message()

    status, message = status_of(lambda: client.infer(model, good, parameters={"prompt_set_id": prompt_set},
                                                     headers={key: "not-a-key"}))
    assert status == codes["key"], message
    status, message = status_of(lambda: client.get_model_metadata(model))
    assert status == codes["key"], "model metadata needs a key: " + message
    # the admin key reads the model (as GET /v1/model) but does not score
    admin = {key: server.admin_key}
    assert client.is_model_ready(model, headers=admin)
    status, message = status_of(lambda: client.infer(model, good, parameters={"prompt_set_id": prompt_set},
                                                     headers=admin))
    assert status == codes["admin"], message
    status, message = status_of(lambda: client.infer("no-such-model", good,
                                                     parameters={"prompt_set_id": prompt_set}, headers=headers))
    assert status == codes["model"] and "no-such-model" in message, message
    status, message = status_of(lambda: client.get_model_metadata("no-such-model", headers=headers))
    assert status == codes["model"], message
    bad = [_bytes_input(module, "image", [image(QUERIES[0]), b"definitely not an image"])]
    status, message = status_of(lambda: client.infer(model, bad, parameters={"prompt_set_id": prompt_set},
                                                     headers=headers))
    assert status == codes["image"] and "image 1" in message, message
    status, message = status_of(lambda: client.infer(model, good, parameters={"prompt_set_id": "nope"},
                                                     headers=headers))
    assert status == codes["set"], message
    too_many = [_bytes_input(module, "image", [image(q) for q in QUERIES[:MAX_BATCH + 1]])]
    status, message = status_of(lambda: client.infer(model, too_many, parameters={"prompt_set_id": prompt_set},
                                                     headers=headers))
    assert status == codes["image"] and "max-infer-batch" in message, message


# ---------------------------------------------------------------------------------------------------------------
# A model repository of several models in one process.
#   tiny       the tiny InCTRL bundle
#   tiny-copy  a copy of it under another bundle id: the same weights, so the same scores
#   heads      the tiny residual-heads bundle: other weights, other scores
#   spare      two copies of tiny, not loaded at start: the repository extension loads (by policy latest:1, so
#              version 2 only), reads and unloads it

@pytest.fixture(scope="module")
def repo_server(tmp_path_factory):
    d = tmp_path_factory.mktemp("oip-repo")
    repo = model_repository(d / "repository", {
        "tiny": {1: (TINY, None)},
        "tiny-copy": {1: (TINY, "-copy")},
        "heads": {1: (RESIDUAL_HEADS, None)},
        "spare": {1: (TINY, "-spare1"), 2: (TINY, "-spare2")},
    })
    s = Server(log=d / "server.log", data_dir=d / "data", env={},
               args=[f"-Dinctrl.models.repository={repo}", "-Dinctrl.models.startup=tiny,tiny-copy,heads",
                     "-Dinctrl.models.default-model=tiny", f"-Dinctrl.limits.max-infer-batch={MAX_BATCH}"]).start()
    yield s
    s.stop()


def _index(transport: str, client, headers) -> dict[tuple[str, str], tuple[str, str]]:
    """(name, version) -> (state, reason) from either client's repository index."""
    if transport == "grpc":
        rows = client.get_model_repository_index(headers=headers, as_json=True).get("models", [])
    else:
        rows = client.get_model_repository_index(headers=headers)
    return {(r["name"], r.get("version", "")): (r.get("state", ""), r.get("reason", "")) for r in rows}


def _json(transport: str, call, **kw):
    """tritonclient.grpc answers protobuf messages: as_json gives Triton's JSON (64-bit numbers as strings)."""
    return call(as_json=True, **kw) if transport == "grpc" else call(**kw)


def test_server_metadata_lists_the_extensions(repo_server):
    for transport, client, _ in _clients(repo_server):
        md = client.get_server_metadata(as_json=True) if transport == "grpc" else client.get_server_metadata()
        assert {"model_repository", "model_configuration", "statistics",
                "binary_tensor_data"} <= set(md["extensions"]), transport


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_repository_extension_lists_loads_reads_and_unloads_a_model(repo_server, transport):
    s = repo_server
    _, client, tenant = next(c for c in _clients(s) if c[0] == transport)
    key = "x-api-key" if transport == "grpc" else "X-API-Key"
    admin = {key: s.admin_key}

    index = _index(transport, client, tenant)
    for m in ("tiny", "tiny-copy", "heads"):
        assert index[(m, "1")] == ("READY", ""), index
    assert index[("spare", "1")] == ("UNAVAILABLE", "unloaded"), index
    assert index[("spare", "2")] == ("UNAVAILABLE", "unloaded"), index
    code, ready_only = s.http("POST", "/v2/repository/index", body={"ready": True}, key=s.tenant_key)
    assert code == 200 and {r["name"] for r in ready_only} == {"tiny", "tiny-copy", "heads"}, ready_only

    # loading changes what every tenant is served: the admin key only
    with pytest.raises(InferenceServerException) as refused:
        client.load_model("spare", headers=tenant)
    assert refused.value.status() in ("StatusCode.PERMISSION_DENIED", "403"), refused.value.message()
    assert "admin key" in refused.value.message()
    client.load_model("spare", headers=admin)
    assert client.is_model_ready("spare", headers=tenant)
    index = _index(transport, client, tenant)
    assert index[("spare", "2")] == ("READY", ""), "the default policy latest:1 loads the highest version"
    assert index[("spare", "1")] == ("UNAVAILABLE", "unloaded"), index

    config = _json(transport, client.get_model_config, model_name="spare", headers=tenant)
    config = config["config"] if transport == "grpc" else config
    assert config["name"] == "spare" and config["platform"] == "inctrl@fp32"
    assert config["version_policy"] == {"latest": {"num_versions": 1}}
    assert [(i["name"], i["data_type"], i.get("optional", False)) for i in config["input"]] == \
        [("image", "TYPE_STRING", False), ("shots", "TYPE_STRING", True)]
    outputs = {o["name"]: o for o in config["output"]}
    assert [int(d) for d in outputs["map"]["dims"]] == [-1, 15, 15]
    assert outputs["is_anomalous"]["data_type"] == "TYPE_BOOL"
    assert config["parameters"]["bundle_id"]["string_value"].endswith("-spare2")
    assert config["parameters"]["max_infer_batch"]["string_value"] == str(MAX_BATCH)
    assert [g["kind"] for g in config["instance_group"]] == ["KIND_CPU"]

    # two requests of 2 and 1 images: 3 jobs on version 2, none on any other model
    module = grpcclient if transport == "grpc" else httpclient
    shots = _bytes_input(module, "shots", [image(x) for x in SHOTS[:2]])
    for queries in (QUERIES[:2], QUERIES[2:3]):
        result = client.infer("spare", [_bytes_input(module, "image", [image(q) for q in queries]), shots],
                              parameters={"category": "mono"}, headers=tenant)
        assert _response_model(transport, result) == ("spare", "2")
    stats = _json(transport, client.get_inference_statistics, model_name="spare", headers=tenant)["model_stats"]
    assert [(x["name"], x["version"]) for x in stats] == [("spare", "2")]
    st = stats[0]
    inference_count = int(st["inference_count"])
    # each inline-shots image is one job for its shots and one for the query (K=2 shots encoded per image)
    assert inference_count >= 3, st
    assert int(st["execution_count"]) >= 1 and int(st["last_inference"]) > 0, st
    success = st["inference_stats"]["success"]
    assert int(success["count"]) == inference_count
    queue = st["inference_stats"]["queue"]
    assert int(queue["count"]) >= inference_count and int(queue["ns"]) > 0, st
    assert int(st["inference_stats"]["compute_infer"]["ns"]) > 0
    batches = st["batch_stats"]
    assert sum(int(b["batch_size"]) * int(b["compute_infer"]["count"]) for b in batches) == inference_count, batches
    assert sum(int(b["compute_infer"]["count"]) for b in batches) == int(st["execution_count"])
    one = _json(transport, client.get_inference_statistics, model_name="spare", model_version="2",
                headers=tenant)["model_stats"]
    assert [x["version"] for x in one] == ["2"]
    everything = _json(transport, client.get_inference_statistics, headers=tenant)["model_stats"]
    assert {(x["name"], x["version"]) for x in everything} == \
        {("tiny", "1"), ("tiny-copy", "1"), ("heads", "1"), ("spare", "2")}

    with pytest.raises(InferenceServerException) as refused:
        client.unload_model("spare", headers=tenant)
    assert refused.value.status() in ("StatusCode.PERMISSION_DENIED", "403")
    client.unload_model("spare", headers=admin)
    if transport == "grpc":
        with pytest.raises(InferenceServerException) as gone:
            client.is_model_ready("spare", headers=tenant)
        assert gone.value.status() == "StatusCode.NOT_FOUND", gone.value.message()
    else:  # tritonclient.http reads any status but 200 as "not ready"
        assert not client.is_model_ready("spare", headers=tenant)
        assert s.http("GET", "/v2/models/spare/ready", key=s.tenant_key)[0] == 404
    assert _index(transport, client, tenant)[("spare", "2")] == ("UNAVAILABLE", "unloaded")
    with pytest.raises(InferenceServerException) as gone:
        client.get_model_config("spare", headers=tenant)
    assert gone.value.status() in ("StatusCode.NOT_FOUND", "404")
    with pytest.raises(InferenceServerException) as unknown:
        client.load_model("no-such-model", headers=admin)
    assert unknown.value.status() in ("StatusCode.NOT_FOUND", "404")

    # the admin's loads and unloads are in the audit log, with the version
    code, page = s.http("GET", "/v1/audit?action=model.load&limit=50", key=s.admin_key)
    assert code == 200
    loads = [e for e in page["items"] if e["targetId"] == "spare" and e["outcome"] == "ok"]
    assert loads and loads[0]["actor"]["kind"] == "admin" and "version=2" in loads[0]["detail"], page
    code, page = s.http("GET", "/v1/audit?action=model.unload&limit=50", key=s.admin_key)
    assert any(e["targetId"] == "spare" and e["outcome"] == "ok" and "version=2" in e["detail"]
               for e in page["items"]), page


def test_a_load_with_a_configuration_is_refused(repo_server):
    s = repo_server
    client = grpcclient.InferenceServerClient(s.grpc)
    with pytest.raises(InferenceServerException) as refused:
        client.load_model("spare", headers={"x-api-key": s.admin_key}, config='{"max_batch_size": 4}')
    assert refused.value.status() == "StatusCode.INVALID_ARGUMENT", refused.value.message()
    assert "config" in refused.value.message()
    assert _index("grpc", client, {"x-api-key": s.tenant_key})[("spare", "2")][0] == "UNAVAILABLE"


def _response_model(transport: str, result) -> tuple[str, str]:
    r = result.get_response()
    return (r.model_name, r.model_version) if transport == "grpc" else (r["model_name"], r["model_version"])


def test_two_models_in_one_process_score_the_same_images_by_name_on_grpc_rest_and_oip(repo_server):
    """Each answer names the model that scored it; the copy of tiny scores exactly as tiny (same weights, its own
    encodings), the residual-heads model differently; a model scores the same on every transport."""
    s = repo_server
    models = ("tiny", "tiny-copy", "heads")
    sets = {m: register(s, name=f"set-{m}", model=m) for m in models}
    queries = [image(q) for q in (QUERIES[0], QUERIES[-1], QUERIES[4])]
    shots = [image(x) for x in SHOTS[:2]]
    scorer = pb_grpc.ScorerStub(channel(s.grpc))
    scores: dict[tuple[str, str], list[float]] = {}

    for m in models:
        # gRPC Scorer: a registered set of the model (served by it), and inline shots naming the model
        got = [scorer.Score(pb.ScoreRequest(image=q, prompt_set_id=sets[m]), metadata=meta(s.tenant_key), timeout=120)
               for q in queries]
        assert {(r.model, r.model_version) for r in got} == {(m, 1)}
        scores[(m, "grpc-set")] = [r.score for r in got]
        got = [scorer.Score(pb.ScoreRequest(image=q, inline=pb.InlinePrompts(shots=shots, category="mono"), model=m),
                            metadata=meta(s.tenant_key), timeout=120) for q in queries]
        assert {r.model for r in got} == {m}
        scores[(m, "grpc-inline")] = [r.score for r in got]
        # REST try-it: the set's own model scores it
        rest = []
        for q in queries:
            code, view = post_form(s, f"/v1/prompt-sets/{sets[m]}/score", {"image": q}, s.tenant_key)
            assert code == 200, view
            assert (view["model"], view["modelVersion"]) == (m, 1), view
            rest.append(view["score"])
        scores[(m, "rest-set")] = rest
        # OIP: the model name in the path (both clients)
        for transport, client, headers in _clients(s):
            module = grpcclient if transport == "grpc" else httpclient
            result = client.infer(m, [_bytes_input(module, "image", queries)],
                                  parameters={"prompt_set_id": sets[m]}, headers=headers)
            assert _response_model(transport, result) == (m, "1"), transport
            scores[(m, f"oip-{transport}-set")] = [float(x) for x in result.as_numpy("score")]
            result = client.infer(m, [_bytes_input(module, "image", queries), _bytes_input(module, "shots", shots)],
                                  parameters={"category": "mono"}, headers=headers)
            assert _response_model(transport, result) == (m, "1"), transport
            scores[(m, f"oip-{transport}-inline")] = [float(x) for x in result.as_numpy("score")]

    def close(a, b, tol=1e-6):
        return len(a) == len(b) and max(abs(x - y) for x, y in zip(a, b, strict=True)) <= tol

    for m in models:
        # one model, one score per image, whatever the transport
        for path in ("rest-set", "oip-grpc-set", "oip-http-set"):
            assert close(scores[(m, path)], scores[(m, "grpc-set")]), (m, path, scores)
        for path in ("oip-grpc-inline", "oip-http-inline"):
            assert close(scores[(m, path)], scores[(m, "grpc-inline")]), (m, path, scores)
    for path in ("grpc-set", "grpc-inline"):
        # equal weights, equal scores; other weights, other scores
        assert close(scores[("tiny-copy", path)], scores[("tiny", path)]), (path, scores)
        assert not close(scores[("heads", path)], scores[("tiny", path)], 1e-4), (path, scores)

    # the copy's sets are encoded by its own bundle (its encoder), not shared with tiny's
    code, view = s.http("GET", f"/v1/prompt-sets/{sets['tiny-copy']}", key=s.tenant_key)
    assert code == 200 and view["model"] == "tiny-copy", view
    assert {e["encoder"].split("@")[0] for e in view["encodings"]} == {"inctrl-tiny-random-seed7-copy"}, view

    # a model of the repository that is not loaded is unavailable here (retry: another replica may serve it); an
    # unknown one is not found
    import grpc
    for name, code in (("spare", grpc.StatusCode.UNAVAILABLE), ("no-such-model", grpc.StatusCode.NOT_FOUND)):
        with pytest.raises(grpc.RpcError) as e:
            scorer.Score(pb.ScoreRequest(image=queries[0], inline=pb.InlinePrompts(shots=shots, category="mono"),
                                         model=name), metadata=meta(s.tenant_key), timeout=60)
        assert e.value.code() == code, e.value
