"""A model repository in real S3-compatible object storage (versitygw, started here by scripts/start-s3.sh).

Bundles are uploaded with an outside S3 client (boto3); the server syncs the repository into its cache, verifies every
file against the bundle's SHA256SUMS, loads and serves the model, and refuses a corrupted copy with a clear reason
(it is listed as unavailable and never loaded). Runs in build/venv-oip (tests/system/requirements-oip.txt).
"""
import subprocess

import pytest

from conftest import QUERIES, ROOT, SHOTS, TINY, bundle_copy, channel, image, meta, pb, pb_grpc, reg, reg_grpc

boto3 = pytest.importorskip("boto3")

ACCESS, SECRET = "inctrl-test", "inctrl-test-secret"


@pytest.fixture
def s3(tmp_path):
    out = subprocess.run([str(ROOT / "scripts" / "start-s3.sh"), "--dir", str(tmp_path / "s3")],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    endpoint = out.stdout.strip().splitlines()[-1]
    yield endpoint
    subprocess.run([str(ROOT / "scripts" / "start-s3.sh"), "--stop", "--dir", str(tmp_path / "s3")], timeout=60)


def upload(client, bucket: str, prefix: str, directory) -> None:
    for f in sorted(directory.rglob("*")):
        if f.is_file():
            client.upload_file(str(f), bucket, f"{prefix}/{f.relative_to(directory).as_posix()}")


def test_a_bundle_synced_from_s3_serves_and_a_corrupted_copy_is_refused(servers, s3, tmp_path):
    client = boto3.client("s3", endpoint_url=s3, aws_access_key_id=ACCESS, aws_secret_access_key=SECRET,
                          region_name="us-east-1")
    client.create_bucket(Bucket="models")
    good = bundle_copy(TINY, tmp_path / "good", "-s3")
    upload(client, "models", "prod/tiny/1", good)
    # the same bundle with one byte of its vision weights changed after its checksums were written
    bad = bundle_copy(TINY, tmp_path / "bad", "-s3-bad")
    weights = bad / "vision.pt"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    upload(client, "models", "prod/broken/1", bad)

    s = servers("-Dinctrl.models.repository=s3://models/prod", f"-Dinctrl.models.s3.endpoint={s3}",
                f"-Dinctrl.models.s3.access-key={ACCESS}", f"-Dinctrl.models.s3.secret-key={SECRET}",
                f"-Dinctrl.models.s3.cache-dir={tmp_path / 'cache'}", "-Dinctrl.models.default-model=tiny").start()

    status, body = s.http("GET", "/v1/models", key=s.admin_key)
    assert status == 200, body
    models = {m["name"]: m for m in body["models"]}
    assert [v["state"] for v in models["tiny"]["versions"]] == ["READY"]
    broken = models["broken"]["versions"][0]
    assert broken["state"] == "UNAVAILABLE" and "vision.pt" in broken["reason"], broken
    assert "s3://models/prod" in body["source"]

    # it scores (the synced copy, verified)
    ps = reg_grpc.PromptRegistryStub(channel(s.grpc)).CreatePromptSet(
        reg.CreatePromptSetRequest(name="s3", category="mono", shots=[image(x) for x in SHOTS]),
        metadata=meta(s.tenant_key), timeout=120)
    r = pb_grpc.ScorerStub(channel(s.grpc)).Score(
        pb.ScoreRequest(image=image(QUERIES[0]), prompt_set_id=ps.id), metadata=meta(s.tenant_key), timeout=60)
    assert r.model == "tiny" and r.model_version == 1 and r.bundle_id.endswith("-s3")

    # loading the corrupted copy is refused, naming the file; nothing of it is loaded
    status, body = s.http("POST", "/v1/models/broken/versions/1/load", key=s.admin_key)
    assert status == 409 and body["reason"] == "INVALID_BUNDLE", body
    assert "vision.pt" in body["detail"], body
    status, body = s.http("GET", "/v1/models/broken", key=s.admin_key)
    assert status == 200 and [v["state"] for v in body["versions"]] == ["UNAVAILABLE"], body
    assert not (tmp_path / "cache" / "models" / "prod" / "broken" / "1").exists()
