"""Open Inference Protocol (KServe v2) with an outside client: NVIDIA's tritonclient (grpc and http) against the
packaged server, checked against our own Scorer.Score for the same images.

Needs tritonclient, whose grpc extra wants a newer grpcio than build/venv pins: scripts/test.sh runs this file in
its own venv (build/venv-oip, from requirements-oip.txt)."""
from __future__ import annotations

import numpy as np
import pytest

grpcclient = pytest.importorskip("tritonclient.grpc", reason="pip install -r tests/system/requirements-oip.txt")
httpclient = pytest.importorskip("tritonclient.http")
from tritonclient.utils import InferenceServerException  # noqa: E402

from conftest import QUERIES, SHOTS, Server, channel, image, meta, pb, pb_grpc, register  # noqa: E402

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


def test_health_and_metadata_through_tritonclient(server, model):
    for transport, client, headers in _clients(server):
        assert client.is_server_live(), transport            # public, like grpc.health.v1
        assert client.is_server_ready(), transport
        assert client.is_model_ready(model, headers=headers), transport
        md = client.get_model_metadata(model, headers=headers, as_json=True) if transport == "grpc" \
            else client.get_model_metadata(model, headers=headers)
        assert md["name"] == model
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
