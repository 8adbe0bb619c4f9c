package io.inctrl.serve.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.inctrl.serve.api.v1.ListModelsResponse;
import io.inctrl.serve.api.v1.ListRevisionsResponse;
import io.inctrl.serve.api.v1.ModelInfo;
import io.inctrl.serve.api.v1.ModelSummary;
import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.api.v1.PromptSetRevision;
import io.inctrl.serve.api.v1.ScoreResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Live tests against a real server at $INCTRL_ADDR (key $INCTRL_API_KEY, images from $INCTRL_DATA, default
 * <repo>/../shared/data). Skipped with a message when INCTRL_ADDR is unset; FAIL when it is set but unreachable.
 */
class LiveServerTest {
    static final String ADDR = System.getenv("INCTRL_ADDR");
    static final String KEY = System.getenv().getOrDefault("INCTRL_API_KEY", "");
    static InctrlClient client;
    static List<byte[]> shots = new ArrayList<>();
    static List<byte[]> tests = new ArrayList<>();

    static final String SKIP =
            "INCTRL_ADDR is not set: live tests need a running InCTRL serve (e.g. INCTRL_ADDR=localhost:8080 INCTRL_API_KEY=...)";

    @BeforeAll
    static void connect() throws IOException {
        if (ADDR == null || ADDR.isEmpty()) {
            System.out.println("LiveServerTest skipped: " + SKIP);
            return;
        }
        client = InctrlClient.builder(ADDR)
                .apiKey(KEY)
                .timeout(Duration.ofSeconds(60))
                .build();
        client.awaitReady(Duration.ofSeconds(15)); // throws Unavailable -> every test fails, never skips
        String dataDir = System.getenv("INCTRL_DATA");
        if (dataDir == null || dataDir.isEmpty()) {
            dataDir = System.getenv().getOrDefault("INCTRL_DATA_DEFAULT", "../../../shared/data");
        }
        Path data = Path.of(dataDir);
        List<String> shotPaths = new ArrayList<>();
        List<String> testPaths = new ArrayList<>();
        List<String> lines = Files.readAllLines(data.resolve("manifest.csv"));
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",");
            if (f.length > 2 && f[2].equals("mono")) {
                (f[0].contains("/shots/") ? shotPaths : testPaths).add(f[0]);
            }
        }
        shotPaths.sort(null);
        testPaths.sort(null);
        shotPaths.stream().limit(4).forEach(p -> shots.add(read(data.resolve(p))));
        testPaths.forEach(p -> tests.add(read(data.resolve(p))));
    }

    @BeforeEach
    void requireServer() {
        // per test, so each is reported as skipped (not silently absent) when no server is configured
        Assumptions.assumeTrue(ADDR != null && !ADDR.isEmpty(), SKIP);
    }

    static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterAll
    static void close() {
        if (client != null) {
            client.close();
        }
    }

    @Test
    void scoresOneImage() {
        ScoreResponse r = client.score(tests.get(0), Prompts.inline("mono", shots));
        assertTrue(r.getScore() >= 0 && r.getScore() <= 1);
        assertFalse(r.getBundleId().isEmpty());
    }

    @Test
    void streams50ImagesEveryIdAnsweredOnce() {
        Map<String, CompletableFuture<ScoreResponse>> futures = new HashMap<>();
        List<String> answered = java.util.Collections.synchronizedList(new ArrayList<>());
        try (ScoreStream s = client.openStream(8, Prompts.inline("mono", shots), Duration.ofMinutes(5))) {
            for (int i = 0; i < 50; i++) {
                String id = "live-" + i;
                var f = s.submit(id, tests.get(i % tests.size()));
                f.thenAccept(r -> answered.add(r.getRequestId()));
                futures.put(id, f);
            }
            s.close(Duration.ofMinutes(5));
            assertEquals(List.of(), s.unmatched());
            assertNull(s.failure());
        }
        futures.forEach((id, f) -> assertEquals(id, f.join().getRequestId()));
        assertEquals(50, answered.size());
        assertEquals(50, new java.util.HashSet<>(answered).size());
    }

    @Test
    void undecodableImageIsInvalidArgument() {
        assertThrows(
                InctrlException.InvalidArgument.class,
                () -> client.score(
                        "this is not an image".getBytes(StandardCharsets.UTF_8), Prompts.inline("mono", shots)));
    }

    @Test
    void listsTheModelsAndNamesTheVersionThatAnswered() {
        ListModelsResponse models = client.listModels();
        ModelSummary def = models.getModelsList().stream()
                .filter(m -> m.getName().equals(models.getDefaultModel()))
                .findFirst()
                .orElseThrow();
        assertTrue(def.getServingVersion() > 0, models.toString());
        ModelInfo info = client.modelInfo(def.getName(), def.getServingVersion());
        assertEquals(List.of(def.getName(), def.getServingVersion()), List.of(info.getModel(), info.getModelVersion()));
        assertFalse(info.getPrecision().isEmpty());
        ScoreResponse r = client.score(
                tests.get(0), Prompts.inline("mono", shots).withModel(def.getName(), def.getServingVersion()));
        assertEquals(List.of(def.getName(), def.getServingVersion()), List.of(r.getModel(), r.getModelVersion()));
        InctrlException.NotFound e = assertThrows(
                InctrlException.NotFound.class,
                () -> client.score(
                        tests.get(0),
                        Prompts.inline("mono", shots).withModel("no-such-model-" + System.nanoTime(), 0)));
        assertEquals("MODEL_NOT_FOUND", e.reason());
    }

    @Test
    void confirmsAScoredQueryAsNormalThenRollsBackBitForBit() {
        PromptSet ps = client.registerPromptSet("live-java-grow-" + System.nanoTime(), "mono", shots.subList(0, 2));
        try {
            ScoreResponse first = client.score(tests.get(0), Prompts.promptSet(ps.getId()));
            assertFalse(first.getQueryId().isEmpty());
            assertTrue(first.getModelVersion() > 0);
            PromptSet grown = client.confirmQueries(ps.getId(), first.getQueryId());
            assertEquals(List.of(2L, 3), List.of(grown.getRevision(), grown.getShotCount()));
            ListRevisionsResponse revs = client.listRevisions(ps.getId());
            assertEquals(2L, revs.getCurrent());
            assertEquals(
                    List.of("created", "shots-added"),
                    revs.getRevisionsList().stream()
                            .map(PromptSetRevision::getReason)
                            .toList());
            InctrlException.NotFound gone = assertThrows(
                    InctrlException.NotFound.class, () -> client.confirmQueries(ps.getId(), "never-scored"));
            assertEquals("QUERY_NOT_RETAINED", gone.reason());
            PromptSet back = client.rollbackPromptSet(ps.getId(), 1);
            assertEquals(List.of(1L, 2), List.of(back.getRevision(), back.getShotCount()));
            // revision 1's stored encoding serves it again, bit for bit
            assertEquals(
                    first.getScore(),
                    client.score(tests.get(0), Prompts.promptSet(ps.getId())).getScore());
        } finally {
            client.deletePromptSet(ps.getId());
        }
    }

    @Test
    void badApiKeyIsUnauthenticated() {
        try (InctrlClient bad =
                InctrlClient.builder(ADDR).apiKey(KEY + "-wrong").build()) {
            assertThrows(
                    InctrlException.Unauthenticated.class,
                    () -> bad.score(tests.get(0), Prompts.inline("mono", shots)));
        }
    }
}
