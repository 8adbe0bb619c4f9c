package io.inctrl.serve.client;

import static io.inctrl.serve.client.FakeServer.png;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.inctrl.serve.api.v1.AddShotsRequest;
import io.inctrl.serve.api.v1.CreatePromptSetRequest;
import io.inctrl.serve.api.v1.ListModelsResponse;
import io.inctrl.serve.api.v1.ListRevisionsResponse;
import io.inctrl.serve.api.v1.ModelInfo;
import io.inctrl.serve.api.v1.ModelInfoRequest;
import io.inctrl.serve.api.v1.ModelSummary;
import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.api.v1.PromptSetEncoding;
import io.inctrl.serve.api.v1.PromptSetRevision;
import io.inctrl.serve.api.v1.ReencodePromptSetRequest;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.SetThresholdRequest;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Offline tests of model choice (issue 19) and prompt sets that grow (issue 22), against the {@link FakeServer}. */
class LifecycleTest {
    static final List<byte[]> SHOTS = OfflineTest.SHOTS;

    FakeServer fake;
    InctrlClient client;

    @BeforeEach
    void start() throws Exception {
        fake = new FakeServer();
        client = InctrlClient.builder(fake.address())
                .apiKey("secret")
                .retry(OfflineTest.FAST)
                .timeout(Duration.ofSeconds(5))
                .build();
    }

    @AfterEach
    void stop() {
        client.close();
        fake.close();
    }

    /** The exception {@code call} throws, which must be a {@code type} carrying {@code reason}. */
    static <T extends InctrlException> T refused(Class<T> type, String reason, Supplier<?> call) {
        T e = assertThrows(type, call::get);
        assertEquals(reason, e.reason());
        return e;
    }

    static <T> T last(List<T> xs) {
        return xs.get(xs.size() - 1);
    }

    static PromptSetEncoding encoding(PromptSet ps, long version) {
        return ps.getEncodingsList().stream()
                .filter(e -> e.getModelVersion() == version)
                .findFirst()
                .orElseThrow();
    }

    Prompts inline() {
        return Prompts.inline("x", SHOTS);
    }

    @Test
    void scoreNamesAModelVersionAndLearnsWhichVersionAnswered() {
        ScoreResponse r = client.score(png("q", false), inline());
        // nothing named: the default model's serving version; inline shots: no query id
        assertEquals(List.of("fake-model", 2L, ""), List.of(r.getModel(), r.getModelVersion(), r.getQueryId()));
        ScoreRequest sent = last(fake.<ScoreRequest>sent("Score"));
        assertEquals(List.of("", 0L), List.of(sent.getModel(), sent.getModelVersion()));
        r = client.score(png("q", false), inline().withModel("fake-model", 1));
        assertEquals(List.of("fake-model", 1L), List.of(r.getModel(), r.getModelVersion()));
        sent = last(fake.<ScoreRequest>sent("Score"));
        assertEquals(List.of("fake-model", 1L), List.of(sent.getModel(), sent.getModelVersion()));
        assertEquals(
                7L,
                client.score(png("q", false), inline().withModel("other-model", 0))
                        .getModelVersion());
        int calls = fake.calls.get();
        refused(
                InctrlException.NotFound.class,
                "MODEL_NOT_FOUND",
                () -> client.score(png("q", false), inline().withModel("nope", 0)));
        InctrlException e = refused(
                InctrlException.NotFound.class,
                "MODEL_VERSION_NOT_LOADED",
                () -> client.score(png("q", false), inline().withModel("", 9)));
        assertTrue(e.retryAfter().isEmpty());
        assertEquals(calls + 2, fake.calls.get()); // no retry hint: not resent
    }

    @Test
    void modelInfoAndListModels() {
        ModelInfo info = client.modelInfo();
        assertEquals(
                List.of("fake-model", 2L, "fp32"),
                List.of(info.getModel(), info.getModelVersion(), info.getPrecision()));
        info = client.modelInfo("fake-model", 1);
        assertEquals(List.of("fake-model", 1L), List.of(info.getModel(), info.getModelVersion()));
        ModelInfoRequest sent = last(fake.<ModelInfoRequest>sent("GetModelInfo"));
        assertEquals(List.of("fake-model", 1L), List.of(sent.getModel(), sent.getModelVersion()));
        refused(InctrlException.NotFound.class, "MODEL_VERSION_NOT_LOADED", () -> client.modelInfo("", 3));
        fake.calls.set(0);
        fake.busyFirst = 2; // a read: resent after the server's retry hint
        ListModelsResponse models = client.listModels();
        assertEquals(3, fake.calls.get());
        assertEquals("fake-model", models.getDefaultModel());
        Map<String, List<Long>> versions = new HashMap<>();
        for (ModelSummary m : models.getModelsList()) {
            versions.put(
                    m.getName(),
                    m.getVersionsList().stream().map(v -> v.getVersion()).toList());
            assertEquals(FakeServer.MODELS.get(m.getName()).get(0), m.getServingVersion());
        }
        assertEquals(FakeServer.MODELS, versions);
    }

    @Test
    void streamScoresWithItsDefaultModelVersionAndARequestCanNameAnother() throws Exception {
        try (ScoreStream s = client.openStream(4, inline().withModel("fake-model", 1))) {
            CompletableFuture<ScoreResponse> a = s.submit("a", png("a", false));
            CompletableFuture<ScoreResponse> b = s.submit(
                    inline().withModel("other-model", 0)
                            .request("b", png("b", false))
                            .build(),
                    null);
            CompletableFuture<ScoreResponse> c = s.submit(
                    inline().withModel("fake-model", 5)
                            .request("c", png("c", false))
                            .build(),
                    null);
            assertEquals(1L, a.get(5, TimeUnit.SECONDS).getModelVersion());
            ScoreResponse rb = b.get(5, TimeUnit.SECONDS);
            assertEquals(List.of("other-model", 7L), List.of(rb.getModel(), rb.getModelVersion()));
            InctrlException e = OfflineTest.cause(assertThrows(Exception.class, () -> c.get(5, TimeUnit.SECONDS)));
            assertInstanceOf(InctrlException.NotFound.class, e);
            assertEquals("MODEL_VERSION_NOT_LOADED", e.reason());
            assertEquals("c", e.requestId());
        }
    }

    @Test
    void aSetBelongsToAModelAndThresholdsAndReencodingNameAVersion() {
        PromptSet other = client.registerPromptSet(CreatePromptSetRequest.newBuilder()
                .setName("m")
                .setCategory("x")
                .addAllShots(SHOTS.stream().map(ByteString::copyFrom).toList())
                .setModel("other-model")
                .build());
        assertEquals(
                "other-model",
                last(fake.<CreatePromptSetRequest>sent("CreatePromptSet")).getModel());
        assertEquals(List.of("other-model", 1L), List.of(other.getModel(), other.getRevision()));
        assertEquals(
                List.of(7L),
                other.getEncodingsList().stream().map(e -> e.getModelVersion()).toList());
        assertEquals( // the set's own model
                "other-model",
                client.score(png("q", false), Prompts.promptSet(other.getId())).getModel());
        PromptSet ps = client.registerPromptSet("d", "x", SHOTS);
        assertEquals("fake-model", ps.getModel());
        assertEquals(2, ps.getEncodingsCount());

        ps = client.setThreshold(SetThresholdRequest.newBuilder()
                .setId(ps.getId())
                .setThreshold(0.7f)
                .setModelVersion(1)
                .build());
        SetThresholdRequest sent = last(fake.<SetThresholdRequest>sent("SetThreshold"));
        assertTrue(sent.hasThreshold() && !sent.hasTargetFpr());
        assertEquals(1L, sent.getModelVersion());
        assertTrue(encoding(ps, 1).getCalibration().getThresholdOverridden());
        assertFalse(encoding(ps, 2).getCalibration().getThresholdOverridden());
        ps = client.setThreshold(SetThresholdRequest.newBuilder() // no threshold: clears the override
                .setId(ps.getId())
                .setModelVersion(1)
                .build());
        assertFalse(last(fake.<SetThresholdRequest>sent("SetThreshold")).hasThreshold());
        assertFalse(encoding(ps, 1).getCalibration().getThresholdOverridden());

        long before = encoding(ps, 1).getVersion();
        ps = client.reencodePromptSet(ps.getId(), 1);
        assertEquals(
                1L,
                last(fake.<ReencodePromptSetRequest>sent("ReencodePromptSet")).getModelVersion());
        assertEquals(before + 1, encoding(ps, 1).getVersion());
        String id = ps.getId();
        refused(InctrlException.NotFound.class, "MODEL_VERSION_NOT_LOADED", () -> client.reencodePromptSet(id, 4));
    }

    @Test
    void confirmAScoredQueryAsNormalThenRemoveShotsAndRollBack() {
        PromptSet ps = client.registerPromptSet("grow", "x", SHOTS);
        byte[] query = png("looks-normal", false);
        ScoreResponse r = client.score(query, Prompts.promptSet(ps.getId()));
        assertFalse(r.getQueryId().isEmpty());
        PromptSet grown = client.confirmQueries(ps.getId(), r.getQueryId());
        assertEquals(List.of(2L, 3), List.of(grown.getRevision(), grown.getShotCount()));
        List<ByteString> rev2 = fake.shots.get(ps.getId()).get(2L);
        assertArrayEquals(query, rev2.get(2).toByteArray()); // the scored image itself, not a second upload
        assertEquals(0, last(fake.<AddShotsRequest>sent("AddShots")).getShotsCount());
        grown = client.addShots(ps.getId(), List.of(png("n3", false)), List.of());
        assertEquals(List.of(3L, 4), List.of(grown.getRevision(), grown.getShotCount()));
        PromptSet smaller = client.removeShots(ps.getId(), 0, 2);
        assertEquals(List.of(4L, 2), List.of(smaller.getRevision(), smaller.getShotCount()));
        List<ByteString> rev4 = fake.shots.get(ps.getId()).get(4L);
        assertArrayEquals(SHOTS.get(1), rev4.get(0).toByteArray());
        assertArrayEquals(png("n3", false), rev4.get(1).toByteArray());
        ListRevisionsResponse revs = client.listRevisions(ps.getId());
        assertEquals(4L, revs.getCurrent());
        assertEquals(
                List.of("1/2/created", "2/3/shots-added", "3/4/shots-added", "4/2/shots-removed"),
                revs.getRevisionsList().stream()
                        .map((PromptSetRevision v) -> v.getRevision() + "/" + v.getShotCount() + "/" + v.getReason())
                        .toList());
        PromptSet back = client.rollbackPromptSet(ps.getId(), 2);
        assertEquals(List.of(2L, 3), List.of(back.getRevision(), back.getShotCount()));
        assertEquals(2L, client.listRevisions(ps.getId()).getCurrent());
    }

    @Test
    void growingASetReportsTheServersReasons() {
        String id = client.registerPromptSet("grow", "x", SHOTS).getId();
        String queryId = client.score(png("q", false), Prompts.promptSet(id)).getQueryId();
        fake.forgetQueries();
        refused(InctrlException.NotFound.class, "QUERY_NOT_RETAINED", () -> client.confirmQueries(id, queryId));
        refused(InctrlException.InvalidArgument.class, "NO_SHOTS", () -> client.addShots(id, List.of(), List.of()));
        refused(InctrlException.InvalidArgument.class, "INVALID_SHOT", () -> client.removeShots(id, 2));
        refused(InctrlException.InvalidArgument.class, "NO_SHOTS", () -> client.removeShots(id, 0, 1));
        refused(InctrlException.NotFound.class, "REVISION_NOT_FOUND", () -> client.rollbackPromptSet(id, 9));
        refused(InctrlException.NotFound.class, "NOT_FOUND", () -> client.listRevisions("missing"));
        assertEquals(1L, client.getPromptSet(id).getRevision()); // nothing half-done
    }

    /**
     * AddShots, RemoveShots and RollbackPromptSet make a new revision: a resend could add the shots twice, so even a
     * refusal with a retry hint (CONCURRENT_CHANGE, QUEUE_FULL) reaches the caller after one attempt.
     */
    @Test
    void shotWritesAreNeverResentEvenAfterARetryHintAndListRevisionsIs() {
        String id = client.registerPromptSet("grow", "x", SHOTS).getId();
        List<byte[]> upload = List.of(png("n3", false));
        fake.conflicts = 1;
        InctrlException conflict = refused(
                InctrlException.Aborted.class, "CONCURRENT_CHANGE", () -> client.addShots(id, upload, List.of()));
        assertEquals(Duration.ZERO, conflict.retryAfter().orElseThrow());
        assertEquals(1, fake.sent("AddShots").size());
        Map<String, Supplier<?>> writes = Map.of(
                "AddShots", () -> client.addShots(id, upload, List.of()),
                "RollbackPromptSet", () -> client.rollbackPromptSet(id, 1));
        writes.forEach((method, call) -> {
            fake.calls.set(0);
            fake.busyFirst = 1;
            int before = fake.sent(method).size();
            InctrlException busy = refused(InctrlException.ResourceExhausted.class, "QUEUE_FULL", call);
            assertEquals(Duration.ofMillis(50), busy.retryAfter().orElseThrow());
            assertEquals(before + 1, fake.sent(method).size(), method);
        });
        fake.calls.set(0);
        fake.busyFirst = 0;
        fake.unavailableFirst = 1; // nor resent by gRPC on UNAVAILABLE
        assertThrows(InctrlException.Unavailable.class, () -> client.addShots(id, upload, List.of()));
        assertEquals(1, fake.calls.get());
        assertEquals(1L, client.getPromptSet(id).getRevision());
        fake.calls.set(0);
        fake.unavailableFirst = 1; // UNAVAILABLE (gRPC's retry), then a hint (the client's)
        fake.busyFirst = 1;
        assertEquals(1L, client.listRevisions(id).getCurrent());
        assertEquals(3, fake.calls.get());
    }
}
