"""The admin REST API for models (/v1/models) against the packaged server on a model repository of one model with two
loadable versions (copies of the tiny bundle under two bundle ids, so their scores are equal) and one broken version:
reads for any key, changes for the admin key only; load, unload and reload on this replica; canary, promote and roll
back routing real Score calls; background encoding progress; the shadow-traffic comparison report; the audit log."""
from __future__ import annotations

import time

import grpc
import pytest

from conftest import QUERIES, SHOTS, TINY, Server, channel, image, meta, model_repository, pb, pb_grpc, register

MODEL = "tiny"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("models-api")
    repo = model_repository(d / "repository", {MODEL: {1: (TINY, "-v1"), 2: (TINY, "-v2")}},
                            configs={MODEL: {"version_policy": {"all": {}}}})
    (repo / MODEL / "3").mkdir()
    (repo / MODEL / "3" / "manifest.json").write_text("{ not json")
    s = Server(log=d / "server.log", data_dir=d / "data", env={},
               args=[f"-Dinctrl.models.repository={repo}"]).start()
    yield s
    s.stop()


def versions(view: dict) -> dict[int, dict]:
    return {v["version"]: v for v in view["versions"]}


def score_inline(s: Server, version: int = 0):
    """Scores one query with inline shots on the model, routed by its roll-out unless a version is named."""
    return pb_grpc.ScorerStub(channel(s.grpc)).Score(
        pb.ScoreRequest(image=image(QUERIES[0]), inline=pb.InlinePrompts(shots=[image(x) for x in SHOTS[:2]],
                                                                          category="mono"),
                        model=MODEL, model_version=version),
        metadata=meta(s.tenant_key), timeout=120)


def audit(s: Server, action: str) -> list[dict]:
    code, page = s.http("GET", f"/v1/audit?action={action}&limit=100", key=s.admin_key)
    assert code == 200, page
    return page["items"]


def test_reads_need_any_key_and_changes_the_admin_key(server):
    s = server
    code, listing = s.http("GET", "/v1/models", key=s.tenant_key)
    assert code == 200, listing
    assert listing["defaultModel"] == MODEL and listing["memoryBytes"] > 0
    [m] = listing["models"]
    assert m["name"] == MODEL and m["isDefault"] and m["versionPolicy"] == "all"
    assert m["servingVersion"] == 2, "no roll-out stored: the highest loaded version serves"
    v = versions(m)
    assert (v[1]["state"], v[2]["state"], v[3]["state"]) == ("READY", "READY", "UNAVAILABLE")
    assert v[3]["reason"], "a broken version says why"
    assert v[2]["serving"] and not v[1]["serving"]
    assert v[1]["bundleId"].endswith("-v1") and v[2]["encoder"].endswith("-v2@fp32")
    assert v[1]["memoryBytes"] > 0 and m["memoryBytes"] == v[1]["memoryBytes"] + v[2]["memoryBytes"]
    assert s.http("GET", f"/v1/models/{MODEL}", key=s.admin_key)[1]["name"] == MODEL
    assert s.http("GET", f"/v1/models/{MODEL}/rollout", key=s.tenant_key)[0] == 200

    assert s.http("GET", "/v1/models")[0] == 401
    for method, path, body in (("POST", f"/v1/models/{MODEL}/versions/1/unload", None),
                               ("POST", f"/v1/models/{MODEL}/reload", None),
                               ("PUT", f"/v1/models/{MODEL}/rollout", {"canaryVersion": 1, "canaryPercent": 5}),
                               ("POST", f"/v1/models/{MODEL}/promote", {"version": 1}),
                               ("POST", f"/v1/models/{MODEL}/rollback", None),
                               ("GET", f"/v1/models/{MODEL}/versions/1/encodings", None)):
        code, problem = s.http(method, path, body=body, key=s.tenant_key)
        assert (code, problem["reason"]) == (403, "ADMIN_KEY_REQUIRED"), (method, path, problem)
    assert all(v["state"] == "READY" for v in versions(s.http("GET", f"/v1/models/{MODEL}", key=s.tenant_key)[1])
               .values() if v["version"] in (1, 2)), "refused changes changed nothing"

    code, problem = s.http("GET", "/v1/models/no-such-model", key=s.tenant_key)
    assert (code, problem["reason"]) == (404, "MODEL_NOT_FOUND")
    code, problem = s.http("POST", f"/v1/models/{MODEL}/versions/first/load", key=s.admin_key)
    assert (code, problem["reason"]) == (400, "INVALID_MODEL_VERSION")
    code, problem = s.http("POST", f"/v1/models/{MODEL}/versions/3/load", key=s.admin_key)
    assert (code, problem["reason"]) == (409, "INVALID_BUNDLE"), problem
    code, problem = s.http("POST", f"/v1/models/{MODEL}/versions/9/load", key=s.admin_key)
    assert (code, problem["reason"]) == (404, "MODEL_NOT_FOUND"), problem


def test_unload_load_and_reload_versions(server):
    s = server
    code, view = s.http("POST", f"/v1/models/{MODEL}/versions/1/unload", key=s.admin_key)
    assert code == 200 and versions(view)[1]["state"] == "AVAILABLE", view
    with pytest.raises(grpc.RpcError) as e:
        score_inline(s, version=1)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND, e.value
    assert score_inline(s).model_version == 2
    code, problem = s.http("POST", f"/v1/models/{MODEL}/versions/1/unload", key=s.admin_key)
    assert (code, problem["reason"]) == (404, "MODEL_VERSION_NOT_LOADED")

    code, view = s.http("POST", f"/v1/models/{MODEL}/versions/1/load", key=s.admin_key)
    assert code == 200 and versions(view)[1]["state"] == "READY", view
    assert score_inline(s, version=1).model_version == 1

    # reload applies the policy (all): a version unloaded by hand comes back
    assert s.http("POST", f"/v1/models/{MODEL}/versions/1/unload", key=s.admin_key)[0] == 200
    code, view = s.http("POST", f"/v1/models/{MODEL}/reload", key=s.admin_key)
    assert code == 200 and {k: v["state"] for k, v in versions(view).items()} == \
        {1: "READY", 2: "READY", 3: "UNAVAILABLE"}, view
    assert score_inline(s, version=1).model_version == 1

    loads = [e for e in audit(s, "model.load") if e["targetId"] == MODEL and e["outcome"] == "ok"]
    assert any("reload policy=all" in e["detail"] and "version=1" in e["detail"] for e in loads), loads
    assert all(e["actor"]["kind"] == "admin" for e in loads)
    unloads = [e for e in audit(s, "model.unload") if e["targetId"] == MODEL]
    assert sum(e["outcome"] == "ok" and e["detail"] == "version=1" for e in unloads) == 2, unloads
    assert any(e["outcome"] == "MODEL_VERSION_NOT_LOADED" for e in unloads), \
        "a refused unload is recorded with its reason"
    assert any(e["outcome"] == "INVALID_BUNDLE" for e in audit(s, "model.load"))


def test_canary_promote_and_roll_back_route_requests(server):
    s = server
    put = lambda body: s.http("PUT", f"/v1/models/{MODEL}/rollout", body=body, key=s.admin_key)  # noqa: E731
    code, r = put({"canaryVersion": 1, "canaryPercent": 100})
    assert code == 200 and (r["canaryVersion"], r["canaryPercent"]) == (1, 100.0), r
    assert {score_inline(s).model_version for _ in range(3)} == {1}, "the canary takes its whole share"
    assert versions(s.http("GET", f"/v1/models/{MODEL}", key=s.tenant_key)[1])[1]["canary"]
    code, r = put({})
    assert code == 200 and r["canaryVersion"] == 0
    assert score_inline(s).model_version == 2
    code, problem = put({"canaryVersion": 1, "canaryPercent": 150})
    assert (code, problem["reason"]) == (400, "INVALID_PERCENT"), problem
    code, problem = put({"shadowVersion": 3, "shadowPercent": 10})
    assert (code, problem["reason"]) == (409, "ROLLOUT_VERSION_NOT_LOADED"), problem

    code, r = s.http("POST", f"/v1/models/{MODEL}/promote", body={"version": 1}, key=s.admin_key)
    assert code == 200 and (r["servingVersion"], r["previousVersion"]) == (1, 2), r
    assert score_inline(s).model_version == 1
    view = s.http("GET", f"/v1/models/{MODEL}", key=s.tenant_key)[1]
    assert view["servingVersion"] == 1 and versions(view)[1]["serving"] and not versions(view)[2]["serving"]
    code, r = s.http("POST", f"/v1/models/{MODEL}/rollback", key=s.admin_key)
    assert code == 200 and r["servingVersion"] == 2, r
    assert score_inline(s).model_version == 2
    code, problem = s.http("POST", f"/v1/models/{MODEL}/promote", body={"version": 3}, key=s.admin_key)
    assert (code, problem["reason"]) == (409, "ROLLOUT_VERSION_NOT_LOADED"), problem
    code, problem = s.http("POST", f"/v1/models/{MODEL}/promote", body={}, key=s.admin_key)
    assert (code, problem["reason"]) == (400, "INVALID_MODEL_VERSION"), problem
    for action in ("model.rollout", "model.promote", "model.rollback"):
        assert any(e["targetId"] == MODEL and e["outcome"] == "ok" for e in audit(s, action)), action


def test_background_encoding_progress_and_the_shadow_comparison(server):
    s = server
    set_id = register(s, name="progress", model=MODEL)
    # the serving version (2) encoded it when it was registered; version 1 encodes it in the background
    deadline = time.monotonic() + 120
    while True:
        code, p = s.http("GET", f"/v1/models/{MODEL}/versions/1/encodings", key=s.admin_key)
        assert code == 200, p
        if p["sets"] >= 1 and p["pending"] == 0:
            break
        assert time.monotonic() < deadline, f"version 1 did not encode the set: {p}"
        time.sleep(0.5)
    assert p["encoded"] == p["sets"] and p["encoder"].endswith("-v1@fp32"), p
    code, p2 = s.http("GET", f"/v1/models/{MODEL}/versions/2/encodings", key=s.admin_key)
    assert code == 200 and p2["encoded"] == p2["sets"] == p["sets"], p2
    code, problem = s.http("GET", f"/v1/models/{MODEL}/versions/3/encodings", key=s.admin_key)
    assert (code, problem["reason"]) == (404, "MODEL_VERSION_NOT_LOADED")
    code, view = s.http("GET", f"/v1/prompt-sets/{set_id}", key=s.tenant_key)
    assert {(e["modelVersion"], e["state"]) for e in view["encodings"]} == {(1, "READY"), (2, "READY")}, view

    # every request also scored by version 1 in the shadow; the report pairs them (equal weights: equal scores)
    assert s.http("PUT", f"/v1/models/{MODEL}/rollout", body={"shadowVersion": 1, "shadowPercent": 100},
                  key=s.admin_key)[0] == 200
    scorer = pb_grpc.ScorerStub(channel(s.grpc))
    for q in QUERIES[:5]:
        r = scorer.Score(pb.ScoreRequest(image=image(q), prompt_set_id=set_id), metadata=meta(s.tenant_key),
                         timeout=120)
        assert r.model_version == 2, "the shadow's result is never returned"
    # the shadow scores after the answer went out: its last samples may still be computing
    deadline = time.monotonic() + 60
    while True:
        code, report = s.http("GET", f"/v1/prompt-sets/{set_id}/comparison", key=s.tenant_key)
        assert code == 200, report
        if report["traffic"]["n"] >= 5:
            break
        assert time.monotonic() < deadline, f"shadow samples missing: {report}"
        time.sleep(0.5)
    assert (report["baselineVersion"], report["candidateVersion"]) == (2, 1), report
    assert report["traffic"]["meanAbsDiff"] <= 1e-6, report
    assert report["traffic"]["flipsToAnomalous"] == report["traffic"]["flipsToNormal"] == 0
    assert report["shots"]["n"] == len(SHOTS), report
    assert s.http("PUT", f"/v1/models/{MODEL}/rollout", body={}, key=s.admin_key)[0] == 200
