"""Live tests against a real server at $INCTRL_ADDR (key in $INCTRL_API_KEY).

Skipped, with a message, when INCTRL_ADDR is unset. When it is set but unreachable they FAIL.
Images come from $INCTRL_DATA (default: <repo>/../shared/data).
"""
import csv
import os

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
