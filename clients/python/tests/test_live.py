"""Live tests against a real server at $INCTRL_ADDR (key in $INCTRL_API_KEY).

Skipped, with a message, when INCTRL_ADDR is unset. When it is set but unreachable they FAIL.
Images come from $INCTRL_DATA (default: <repo>/../shared/data).
"""
import csv
import os
import uuid

import pytest

import inctrl_client as ic

ADDR = os.environ.get("INCTRL_ADDR")
KEY = os.environ.get("INCTRL_API_KEY", "")
DATA = os.environ.get("INCTRL_DATA") or os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "..", "shared", "data")

pytestmark = pytest.mark.skipif(not ADDR, reason="INCTRL_ADDR is not set: live tests need a running InCTRL serve "
                                                  "(e.g. INCTRL_ADDR=localhost:8080 INCTRL_API_KEY=...)")


def _category(cat):
    shots, tests = [], []
    with open(os.path.join(DATA, "manifest.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if row["category"] == cat:
                (shots if "/shots/" in row["path"] else tests).append(os.path.join(DATA, row["path"]))
    return sorted(shots)[:4], sorted(tests)


@pytest.fixture(scope="module")
def client():
    c = ic.connect(ADDR, KEY, timeout=60)
    c.wait_ready(15)  # raises Unavailable -> the test errors (fails), never skips
    yield c
    c.close()


@pytest.fixture(scope="module")
def elpv():
    return _category("mono")


def test_score_one_image(client, elpv):
    shots, tests = elpv
    r = client.score(tests[0], shots=shots, category="mono", request_id="live-1")
    assert r.request_id == "live-1" and 0.0 <= r.score <= 1.0 and r.bundle_id


def test_stream_50_images_ids_correlate(client, elpv):
    shots, tests = elpv
    paths = (tests * 2)[:50]
    items = [(f"live-{i}", open(p, "rb").read()) for i, p in enumerate(paths)]
    with client.open_stream(window=8, shots=shots, category="mono", omit_map=True) as s:
        results = list(s.score_many(items))
    ids = [rid for rid, _ in results]
    assert len(ids) == 50 and set(ids) == {rid for rid, _ in items}
    errors = [(rid, r) for rid, r in results if isinstance(r, Exception)]
    assert not errors
    assert all(r.request_id == rid for rid, r in results)
    assert s.unmatched == []


def test_undecodable_image_is_invalid_argument(client, elpv):
    shots, _ = elpv
    with pytest.raises(ic.InvalidArgument):
        client.score(b"this is not an image", shots=shots, category="mono")


def test_undecodable_image_in_stream_is_per_request_error(client, elpv):
    shots, tests = elpv
    with client.open_stream(window=4, shots=shots, category="mono", omit_map=True) as s:
        bad = s.submit(b"garbage", "bad")
        good = s.submit(tests[0], "good")
        with pytest.raises(ic.InvalidArgument):
            bad.result(60)
        assert good.result(60).request_id == "good"


def test_bad_api_key_is_unauthenticated(elpv):
    shots, tests = elpv
    with ic.connect(ADDR, KEY + "-wrong") as c, pytest.raises(ic.Unauthenticated):
        c.score(tests[0], shots=shots, category="mono")


def test_models_are_listed_and_the_answering_version_is_named(client, elpv):
    models = client.list_models()
    default = next(m for m in models.models if m.name == models.default_model)
    assert default.serving_version > 0 and default.serving_version in [v.version for v in default.versions]
    info = client.model_info(model=default.name, model_version=default.serving_version)
    assert (info.model, info.model_version) == (default.name, default.serving_version) and info.precision
    shots, tests = elpv
    r = client.score(tests[0], shots=shots, category="mono", model=default.name,
                     model_version=default.serving_version)
    assert (r.model, r.model_version) == (default.name, default.serving_version)
    with pytest.raises(ic.NotFound) as e:
        client.score(tests[0], shots=shots, category="mono", model=f"no-such-model-{uuid.uuid4().hex[:6]}")
    assert e.value.reason == "MODEL_NOT_FOUND"


def test_confirm_a_scored_query_as_normal_then_roll_back(client, elpv):
    shots, tests = elpv
    ps = client.register_prompt_set(f"live-grow-{uuid.uuid4().hex[:8]}", "mono", shots[:2])
    try:
        first = client.score(tests[0], prompt_set_id=ps.id)
        assert first.query_id and first.model and first.model_version > 0
        grown = client.add_shots(ps.id, query_ids=[first.query_id])
        assert (grown.revision, grown.shot_count) == (2, 3)
        revs = client.list_revisions(ps.id)
        assert revs.current == 2 and [r.reason for r in revs.revisions] == ["created", "shots-added"]
        with pytest.raises(ic.NotFound) as e:
            client.add_shots(ps.id, query_ids=["never-scored"])
        assert e.value.reason == "QUERY_NOT_RETAINED"
        back = client.rollback_prompt_set(ps.id, 1)
        assert (back.revision, back.shot_count) == (1, 2)
        again = client.score(tests[0], prompt_set_id=ps.id)
        assert again.score == first.score   # revision 1's stored encoding serves it again, bit for bit
    finally:
        client.delete_prompt_set(ps.id)
