"""A prompt set grows from production, through the gRPC API of a whole server: a scored query is confirmed as normal
by its query id with one call (no second upload) and becomes a shot of a new revision; rolling back to the first
revision restores its scores bit for bit (the revision's encoding is still stored: nothing is encoded again)."""
from conftest import QUERIES, SHOTS, channel, image, meta, pb, pb_grpc, reg, reg_grpc


def test_confirming_a_scored_query_grows_the_set_and_a_roll_back_restores_its_scores_bit_for_bit(servers):
    s = servers().start()
    md = meta(s.tenant_key)
    registry = reg_grpc.PromptRegistryStub(channel(s.grpc))
    scorer = pb_grpc.ScorerStub(channel(s.grpc))
    ps = registry.CreatePromptSet(reg.CreatePromptSetRequest(name="line", category="mono",
                                                             shots=[image(x) for x in SHOTS]), metadata=md, timeout=120)
    assert ps.revision == 1 and ps.shot_count == len(SHOTS)

    def score(q):
        return scorer.Score(pb.ScoreRequest(image=image(q), prompt_set_id=ps.id), metadata=md, timeout=60)

    probes = [QUERIES[0], QUERIES[-1]]
    before = [score(q) for q in probes]
    normal = score(QUERIES[1])           # a good part the operator looks at and confirms
    assert normal.query_id

    grown = registry.AddShots(reg.AddShotsRequest(id=ps.id, query_ids=[normal.query_id]), metadata=md, timeout=120)
    assert grown.revision == 2 and grown.shot_count == len(SHOTS) + 1
    assert len(grown.calibration.shot_scores) == len(SHOTS) + 1
    after = [score(q) for q in probes]
    assert [a.score for a in after] != [b.score for b in before]

    revisions = registry.ListRevisions(reg.ListRevisionsRequest(id=ps.id), metadata=md, timeout=60)
    assert [(r.revision, r.shot_count, r.reason) for r in revisions.revisions] == [
        (1, len(SHOTS), "created"), (2, len(SHOTS) + 1, "shots-added")]
    assert revisions.current == 2

    back = registry.RollbackPromptSet(reg.RollbackPromptSetRequest(id=ps.id, revision=1), metadata=md, timeout=60)
    assert back.revision == 1 and back.shot_count == len(SHOTS)
    again = [score(q) for q in probes]
    for b, a in zip(before, again, strict=True):
        assert a.score == b.score and list(a.map) == list(b.map) and a.threshold == b.threshold

    status, body = s.http("GET", "/v1/audit?action=prompt_set.shots.add", key=s.admin_key)
    assert status == 200 and [e["targetId"] for e in body["items"]] == [ps.id]
