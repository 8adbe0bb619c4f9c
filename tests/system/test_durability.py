"""An OK means durable: acknowledged writes to the embedded store survive kill -9 right after the answer."""
import pytest

from conftest import channel, meta, reg, reg_grpc, register


@pytest.mark.slow
def test_acknowledged_writes_survive_kill_minus_9(servers, tmp_path):
    data_dir = tmp_path / "registry"
    rounds = 20
    written = []   # (tenant id, its key, prompt set id, threshold)
    s = None
    for r in range(rounds):
        s = servers(data_dir=data_dir, name=f"r{r}").start()
        # everything written in the earlier rounds is there
        for tenant_id, key, set_id, threshold in written:
            code, t = s.http("GET", f"/v1/admin/tenants/{tenant_id}", key=s.admin_key)
            assert code == 200, f"round {r}: tenant {tenant_id} lost ({code})"
            got = reg_grpc.PromptRegistryStub(channel(s.grpc)).GetPromptSet(
                reg.GetPromptSetRequest(id=set_id), metadata=meta(key), timeout=30)
            assert abs(got.calibration.threshold - threshold) < 1e-6, f"round {r}: threshold of {set_id} lost"
        # three acknowledged writes, then kill -9 at once
        code, created = s.http("POST", "/v1/admin/tenants", {"name": f"t{r}"}, key=s.admin_key)
        assert code == 201, created
        key = created["apiKey"]["key"]
        set_id = register(s, name=f"set{r}", key=key)
        threshold = 0.5 + r / 100
        reg_grpc.PromptRegistryStub(channel(s.grpc)).SetThreshold(
            reg.SetThresholdRequest(id=set_id, threshold=threshold), metadata=meta(key), timeout=30)
        s.kill9()
        written.append((created["tenant"]["id"], key, set_id, threshold))
    s = servers(data_dir=data_dir, name="final").start()
    lost = [w for w in written if s.http("GET", f"/v1/admin/tenants/{w[0]}", key=s.admin_key)[0] != 200]
    assert not lost, f"{len(lost)} of {rounds} acknowledged tenants lost"
