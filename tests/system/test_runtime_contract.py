"""The container image's runtime contract, without a container runtime: the packaged server runs as an unprivileged
user (uid 10001) from a read-only application directory, with a read-only DJL cache extracted beforehand (as the
image build does), and writes only its data directory and its temp directory."""
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import APP, QUERIES, TINY, Server, channel, image, meta, pb, pb_grpc, register

UID = GID = 10001


def _tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def sandbox():
    base = Path(tempfile.mkdtemp(prefix="inctrl-contract-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_unprivileged_read_only_start_scores_and_writes_only_data_and_tmp(sandbox):
    if os.geteuid() != 0:
        pytest.skip("needs root to start the server as another user")
    app, bundle, cache = sandbox / "app", sandbox / "models" / "tiny", sandbox / "djl-cache"
    data, tmp = sandbox / "data", sandbox / "tmp"
    shutil.copytree(APP, app)
    shutil.copytree(TINY, bundle)
    # the image build step: extract libtorch and tokenizers once into the cache that ships read-only
    out = subprocess.run(["java", "-cp", f"{app}/lib/main/*:{app}/app/*:{app}/lib/boot/*",
                          "io.inctrl.serve.model.ExtractNatives"],
                         env={**os.environ, "DJL_CACHE_DIR": str(cache), "DJL_OFFLINE": "true"},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    for d in (app, sandbox / "models", cache):
        subprocess.run(["chmod", "-R", "a-w", str(d)], check=True)
    for d in (data, tmp):
        d.mkdir()
        os.chown(d, UID, GID)
    cache_before = _tree(cache)

    s = Server(log=sandbox / "server.log", data_dir=data, app=app, user=(UID, GID),
               env={"DJL_CACHE_DIR": str(cache), "TMPDIR": str(tmp), "HOME": "/nonexistent", "CWD": str(app)},
               args=[f"-Dinctrl.model.bundle={bundle}", f"-Djava.io.tmpdir={tmp}", "-XX:MaxRAMPercentage=50"])
    (sandbox / "server.log").touch()
    try:
        s.start()
        set_id = register(s)
        r = pb_grpc.ScorerStub(channel(s.grpc)).Score(
            pb.ScoreRequest(image=image(QUERIES[0]), prompt_set_id=set_id), metadata=meta(s.tenant_key), timeout=60)
        assert 0 <= r.score <= 1
        assert any(data.iterdir()), "the registry wrote nothing to the data dir"
    finally:
        s.stop()
    assert _tree(cache) == cache_before, "the read-only DJL cache changed"
    big = {k: v for k, v in _tree(tmp).items() if v > 1 << 20}
    assert not big, f"natives extracted at start into TMPDIR: {big}"
    log = (sandbox / "server.log").read_text()
    assert "Permission denied" not in log and "Read-only file system" not in log, log[-3000:]
    assert not (stat.S_IMODE(app.stat().st_mode) & 0o222)
