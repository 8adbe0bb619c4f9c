package io.inctrl.serve.client;

import static io.inctrl.serve.client.FakeServer.png;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.inctrl.serve.api.v1.ScoreResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Several backends: round_robin, gRPC's retry onto another backend, and the stream's resend of unanswered ids. */
class MultiBackendTest {
    static final List<byte[]> SHOTS = OfflineTest.SHOTS;
    static final List<String> IDS = new ArrayList<>();

    static {
        for (int i = 0; i < 60; i++) {
            IDS.add("img-" + i);
        }
    }

    final AtomicInteger failAfter = new AtomicInteger(-1);
    FakeServer a;
    FakeServer b;
    InctrlClient client;

    @BeforeEach
    void start() throws Exception {
        a = new FakeServer("fake-a", failAfter);
        b = new FakeServer("fake-b", failAfter);
        client = InctrlClient.builder(a.address() + "," + b.address())
                .apiKey("secret")
                .retry(OfflineTest.FAST)
                .timeout(Duration.ofSeconds(5))
                .build();
        client.awaitReady(Duration.ofSeconds(5));
        // round_robin picks among READY backends only: reach both, or a stream resend could land on the one that failed
        assertEquals(Set.of("fake-a", "fake-b"), bothAnswer());
    }

    private Set<String> bothAnswer() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 100 && seen.size() < 2; i++) {
            seen.add(client.score(png("warm" + i, false), Prompts.inline("x", SHOTS))
                    .getBundleId());
        }
        return seen;
    }

    @AfterEach
    void stop() {
        client.close();
        a.close();
        b.close();
    }

    @Test
    void unaryCallsSpreadOverBackendsAndSurviveOneGoingDown() {
        assertEquals(Set.of("fake-a", "fake-b"), bothAnswer());
        a.close();
        for (int i = 0; i < 20; i++) {
            assertEquals(
                    "fake-b",
                    client.score(png("after" + i, false), Prompts.inline("x", SHOTS))
                            .getBundleId());
        }
    }

    /** Streams IDS over one stream; {@code onResult} sees the count of results so far. */
    private Map<String, ScoreResponse> streamAll(ScoreStream s, IntConsumer onResult) {
        Map<String, ScoreResponse> byId = new HashMap<>();
        List<CompletableFuture<ScoreResponse>> futures = new ArrayList<>();
        AtomicInteger completed = new AtomicInteger();
        for (String id : IDS) {
            CompletableFuture<ScoreResponse> f = s.submit(id, png(id, false));
            f.whenComplete((r, e) -> onResult.accept(completed.incrementAndGet()));
            futures.add(f);
        }
        s.close(Duration.ofSeconds(20));
        for (int i = 0; i < IDS.size(); i++) {
            assertTrue(byId.put(IDS.get(i), futures.get(i).join()) == null);
        }
        return byId;
    }

    private static void checkExactlyOnce(
            FakeServer dead, FakeServer alive, Map<String, ScoreResponse> byId, int deadAnswered) {
        assertEquals(new HashSet<>(IDS), byId.keySet()); // every id answered, each by one future
        Set<String> byDead = new HashSet<>();
        byId.forEach((id, r) -> {
            if (r.getBundleId().equals(dead.name)) {
                byDead.add(id);
            }
        });
        if (deadAnswered >= 0) {
            assertEquals(deadAnswered, byDead.size());
        }
        List<String> resent = new ArrayList<>(alive.streamIds);
        resent.retainAll(byDead);
        assertEquals(List.of(), resent, "answered ids were resent");
        Set<String> expected = new HashSet<>(IDS);
        expected.removeAll(byDead);
        assertEquals(expected, new HashSet<>(alive.streamIds));
        assertEquals(expected.size(), alive.streamIds.size());
    }

    @Test
    void streamResendsUnansweredIdsToAnotherBackendOnUnavailable() {
        failAfter.set(10);
        ScoreStream s = client.openStream(8, Prompts.inline("x", SHOTS));
        Map<String, ScoreResponse> byId = streamAll(s, n -> {});
        assertTrue(s.restarts() >= 1);
        assertEquals(List.of(), s.unmatched());
        FakeServer dead = a.streamFailed ? a : b;
        checkExactlyOnce(dead, dead == a ? b : a, byId, 10);
    }

    @Test
    void streamSurvivesTheConnectionToItsBackendDropping() throws Exception {
        try (TcpProxy pa = new TcpProxy(port(a));
                TcpProxy pb = new TcpProxy(port(b));
                InctrlClient viaProxies = InctrlClient.builder(pa.address() + "," + pb.address())
                        .apiKey("secret")
                        .retry(OfflineTest.FAST)
                        .timeout(Duration.ofSeconds(5))
                        .build()) {
            FakeServer[] dropped = {null};
            ScoreStream s = viaProxies.openStream(8, Prompts.inline("x", SHOTS));
            Map<String, ScoreResponse> byId = streamAll(s, n -> {
                if (n == 10) {
                    dropped[0] = a.streamIds.isEmpty() ? b : a;
                    (dropped[0] == a ? pa : pb).kill();
                }
            });
            assertTrue(s.restarts() >= 1);
            checkExactlyOnce(dropped[0], dropped[0] == a ? b : a, byId, -1);
        }
    }

    @Test
    void streamSurvivesItsBackendBeingShutDown() {
        // grpc-java's shutdownNow resets the streams (CANCELLED, or UNAVAILABLE when the transport goes first)
        FakeServer[] stopped = {null};
        ScoreStream s = client.openStream(8, Prompts.inline("x", SHOTS));
        Map<String, ScoreResponse> byId = streamAll(s, n -> {
            if (n == 10) {
                stopped[0] = a.streamIds.isEmpty() ? b : a;
                stopped[0].close();
            }
        });
        assertTrue(s.restarts() >= 1);
        checkExactlyOnce(stopped[0], stopped[0] == a ? b : a, byId, -1);
    }

    private static int port(FakeServer f) {
        return Integer.parseInt(f.address().substring(f.address().lastIndexOf(':') + 1));
    }

    @Test
    void withoutResendUnansweredIdsFailWithUnavailable() {
        failAfter.set(3);
        ScoreStream s = client.openStream(8, Prompts.inline("x", SHOTS), null, RetryPolicy.NONE);
        List<CompletableFuture<ScoreResponse>> futures = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            futures.add(s.submit("i" + i, png("i" + i, false)));
        }
        int ok = 0;
        for (CompletableFuture<ScoreResponse> f : futures) {
            try {
                f.join();
                ok++;
            } catch (CompletionException e) {
                assertInstanceOf(InctrlException.Unavailable.class, e.getCause());
            }
        }
        assertEquals(3, ok);
        assertEquals(0, s.restarts());
    }
}
