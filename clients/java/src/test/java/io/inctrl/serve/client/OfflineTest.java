package io.inctrl.serve.client;

import static io.inctrl.serve.client.FakeServer.png;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.api.v1.ScoreResponse;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Offline tests: always run, against the in-process {@link FakeServer}. */
class OfflineTest {
    static final RetryPolicy FAST = new RetryPolicy(4, Duration.ofMillis(10), Duration.ofMillis(50), 2.0);
    static final List<byte[]> SHOTS = List.of(png("shot1", false), png("shot2", false));

    FakeServer fake;
    InctrlClient client;

    @BeforeEach
    void start() throws Exception {
        fake = new FakeServer();
        client = InctrlClient.builder(fake.address())
                .apiKey("secret")
                .retry(FAST)
                .timeout(Duration.ofSeconds(5))
                .build();
    }

    @AfterEach
    void stop() {
        client.close();
        fake.close();
    }

    static InctrlException cause(Throwable t) {
        Throwable c = t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException
                ? t.getCause()
                : t;
        return assertInstanceOf(InctrlException.class, c);
    }

    // ---- error mapping -----------------------------------------------------------------------------------------

    @Test
    void codeNamesMapToTypedExceptions() {
        Map<String, Class<?>> cases = Map.of(
                "INVALID_ARGUMENT",
                InctrlException.InvalidArgument.class,
                "UNAUTHENTICATED",
                InctrlException.Unauthenticated.class,
                "NOT_FOUND",
                InctrlException.NotFound.class,
                "RESOURCE_EXHAUSTED",
                InctrlException.ResourceExhausted.class,
                "UNAVAILABLE",
                InctrlException.Unavailable.class,
                "DEADLINE_EXCEEDED",
                InctrlException.DeadlineExceeded.class,
                "permission_denied",
                InctrlException.PermissionDenied.class,
                "ALREADY_EXISTS",
                InctrlException.AlreadyExists.class,
                "INTERNAL",
                InctrlException.Internal.class,
                "ABORTED",
                InctrlException.Aborted.class);
        cases.forEach((name, cls) -> {
            InctrlException e = InctrlException.fromCodeName(name, "msg", "id7");
            assertInstanceOf(cls, e, name);
            assertEquals("msg", e.details());
            assertEquals("id7", e.requestId());
            assertTrue(e.getMessage().contains("id7"));
        });
        assertEquals(
                Status.Code.UNKNOWN,
                InctrlException.fromCodeName("NOPE", "", "").code());
        InctrlException e = InctrlException.from(
                Status.RESOURCE_EXHAUSTED.withDescription("full").asRuntimeException());
        assertInstanceOf(InctrlException.ResourceExhausted.class, e);
        assertEquals("full", e.details());
    }

    // ---- retry -------------------------------------------------------------------------------------------------

    @Test
    void resendBackoffBoundIsExponentialAndCapped() {
        RetryPolicy p = new RetryPolicy(6, Duration.ofMillis(100), Duration.ofMillis(500), 2.0);
        List<Long> ms = new ArrayList<>();
        for (int n = 1; n <= 5; n++) {
            ms.add(p.backoff(n).toMillis());
        }
        assertEquals(List.of(100L, 200L, 400L, 500L, 500L), ms);
        for (int i = 0; i < 100; i++) {
            long j = p.jittered(2).toNanos();
            assertTrue(j >= 0 && j < Duration.ofMillis(200).toNanos(), "jittered " + j);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void serviceConfigIsRoundRobinWithRetryOfIdempotentCalls() {
        Map<String, Object> cfg =
                new RetryPolicy(9, Duration.ofMillis(250), Duration.ofSeconds(2), 3.0).serviceConfig();
        assertEquals(List.of(Map.of("round_robin", Map.of())), cfg.get("loadBalancingConfig"));
        Map<String, Object> mc = ((List<Map<String, Object>>) cfg.get("methodConfig")).get(0);
        List<String> names = new ArrayList<>();
        for (Map<String, String> n : (List<Map<String, String>>) mc.get("name")) {
            names.add(n.get("service") + "/" + n.get("method"));
        }
        names.sort(null);
        assertEquals(
                List.of(
                        "inctrl.v1.PromptRegistry/GetPromptSet",
                        "inctrl.v1.PromptRegistry/ListPromptSets",
                        "inctrl.v1.PromptRegistry/ListRevisions",
                        "inctrl.v1.Scorer/GetModelInfo",
                        "inctrl.v1.Scorer/ListModels",
                        "inctrl.v1.Scorer/Score"),
                names);
        assertEquals(
                Map.of(
                        "maxAttempts",
                        5.0,
                        "initialBackoff",
                        "0.25s",
                        "maxBackoff",
                        "2s",
                        "backoffMultiplier",
                        3.0,
                        "retryableStatusCodes",
                        List.of("UNAVAILABLE")),
                mc.get("retryPolicy"));
        assertFalse(RetryPolicy.NONE.serviceConfig().containsKey("methodConfig"));
    }

    @Test
    void addressListsAreParsedAndBadOnesRejected() {
        assertEquals(List.of("127.0.0.1:1", "localhost:2"), StaticAddresses.entries(" 127.0.0.1:1, ,localhost:2 "));
        assertEquals(
                3,
                StaticAddresses.of(List.of("127.0.0.1:1", "127.0.0.2:2", "[::1]:3"))
                        .groups()
                        .size());
        assertThrows(IllegalArgumentException.class, () -> StaticAddresses.entries(" , "));
        assertThrows(IllegalArgumentException.class, () -> StaticAddresses.of(List.of("127.0.0.1:1", "nohostport")));
        assertThrows(IllegalArgumentException.class, () -> StaticAddresses.of(List.of("no-such-host.invalid:1")));
    }

    @Test
    void writesAndOtherCodesAreNotRetried() {
        assertThrows(
                InctrlException.InvalidArgument.class,
                () -> client.score("junk".getBytes(StandardCharsets.UTF_8), Prompts.inline("x", SHOTS)));
        assertEquals(1, fake.calls.get());
        fake.calls.set(0);
        fake.unavailableFirst = 1;
        assertThrows(InctrlException.Unavailable.class, () -> client.registerPromptSet("s", "x", SHOTS));
        assertEquals(1, fake.calls.get());
    }

    // ---- unary -------------------------------------------------------------------------------------------------

    @Test
    void scoresInlineAndMapsErrors() {
        ScoreResponse r = client.score(png("q", true), Prompts.inline("transistor", SHOTS));
        assertTrue(r.getScore() > 0.7);
        assertEquals(4, r.getMapCount());
        assertThrows(
                InctrlException.InvalidArgument.class,
                () -> client.score("not an image".getBytes(StandardCharsets.UTF_8), Prompts.inline("x", SHOTS)));
        assertThrows(IllegalArgumentException.class, () -> Prompts.inline("x", List.of()));
        try (InctrlClient bad =
                InctrlClient.builder(fake.address()).apiKey("wrong").retry(FAST).build()) {
            assertThrows(
                    InctrlException.Unauthenticated.class,
                    () -> bad.score(png("q", false), Prompts.inline("x", SHOTS)));
        }
    }

    @Test
    void retriesUnavailableUntilServerAnswers() {
        fake.unavailableFirst = 2;
        assertEquals("fake", client.modelInfo().getBundleId());
        assertEquals(3, fake.calls.get());
        fake.unavailableFirst = 100;
        fake.calls.set(0);
        assertThrows(InctrlException.Unavailable.class, client::modelInfo);
        assertEquals(4, fake.calls.get());
    }

    /** Issue 20 item 7: the client resends after the server's retry hint, and only then. */
    @Test
    void retriesARefusalCarryingTheServersRetryHintAndNoOther() {
        fake.busyFirst = 2; // QUEUE_FULL with RetryInfo twice, then served
        assertEquals(
                "fake",
                client.score(png("q", false), Prompts.inline("x", SHOTS)).getBundleId());
        assertEquals(3, fake.calls.get());

        fake.calls.set(0);
        fake.busyFirst = 0;
        InctrlException huge = assertThrows(
                InctrlException.ResourceExhausted.class,
                () -> client.score(png("HUGE", false), Prompts.inline("x", SHOTS)));
        assertEquals("PAYLOAD_TOO_LARGE", huge.reason());
        assertTrue(huge.retryAfter().isEmpty());
        assertEquals(1, fake.calls.get(), "a refusal without a retry hint is not retried");

        fake.calls.set(0);
        fake.busyFirst = 100; // still busy after the policy's 4 attempts: the last refusal surfaces, with its hint
        InctrlException busy = assertThrows(
                InctrlException.ResourceExhausted.class,
                () -> client.score(png("q", false), Prompts.inline("x", SHOTS)));
        assertEquals("QUEUE_FULL", busy.reason());
        assertEquals(Duration.ofMillis(50), busy.retryAfter().orElseThrow());
        assertEquals(4, fake.calls.get());
    }

    @Test
    void aStreamResendsARequestAnsweredWithRetryAfterAndFailsOneWithout() throws Exception {
        try (ScoreStream s = client.openStream(4, Prompts.inline("x", SHOTS))) {
            var busy = s.submit("busy", png("BUSYONCE", false));
            var huge = s.submit("huge", png("HUGE", false));
            assertEquals(
                    "busy", busy.get(10, java.util.concurrent.TimeUnit.SECONDS).getRequestId());
            InctrlException e = cause(assertThrows(
                    java.util.concurrent.ExecutionException.class,
                    () -> huge.get(10, java.util.concurrent.TimeUnit.SECONDS)));
            assertEquals("PAYLOAD_TOO_LARGE", e.reason());
            assertTrue(e.retryAfter().isEmpty());
        }
        assertEquals(2, fake.streamIds.stream().filter("busy"::equals).count(), "resent once after its retry_after");
        assertEquals(1, fake.streamIds.stream().filter("huge"::equals).count(), "never resent");
    }

    @Test
    void deadlineExceeded() {
        var req = Prompts.inline("x", SHOTS).request("", png("SLOW", false)).build();
        assertThrows(InctrlException.DeadlineExceeded.class, () -> client.score(req, Duration.ofMillis(100)));
    }

    @Test
    void unreachableServerIsUnavailable() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (InctrlClient c = InctrlClient.builder("127.0.0.1:" + port)
                .apiKey("k")
                .retry(FAST)
                .build()) {
            assertThrows(InctrlException.Unavailable.class, c::modelInfo);
            assertThrows(InctrlException.Unavailable.class, () -> c.awaitReady(Duration.ofMillis(300)));
        }
    }

    @Test
    void registryRoundTrip() {
        PromptSet ps = client.registerPromptSet("line-1", "transistor", SHOTS);
        assertEquals(2, ps.getShotCount());
        assertThrows(InctrlException.AlreadyExists.class, () -> client.registerPromptSet("line-1", "t", SHOTS));
        assertEquals(
                "fake",
                client.score(png("q", false), Prompts.promptSet(ps.getId())).getBundleId());
        for (int i = 0; i < 4; i++) {
            client.registerPromptSet("more-" + i, "x", SHOTS);
        }
        assertEquals(5, client.listPromptSets(2).size());
        client.deletePromptSet(ps.getId());
        assertThrows(InctrlException.NotFound.class, () -> client.getPromptSet(ps.getId()));
        assertThrows(
                InctrlException.NotFound.class, () -> client.score(png("q", false), Prompts.promptSet(ps.getId())));
    }

    // ---- streaming ---------------------------------------------------------------------------------------------

    @Test
    void stream50EveryIdAnsweredOnceWithinWindow() {
        List<String> order = java.util.Collections.synchronizedList(new ArrayList<>());
        Map<String, CompletableFuture<ScoreResponse>> futures = new HashMap<>();
        try (ScoreStream s = client.openStream(4, Prompts.inline("x", SHOTS))) {
            for (int i = 0; i < 50; i++) {
                String id = "img-" + i;
                CompletableFuture<ScoreResponse> f = s.submit(id, png(String.valueOf(i), i % 2 == 1));
                f.thenAccept(r -> order.add(r.getRequestId()));
                futures.put(id, f);
                assertTrue(s.inFlight() <= 4);
            }
            s.close(Duration.ofSeconds(10));
            assertEquals(List.of(), s.unmatched());
        }
        assertEquals(50, order.size());
        assertEquals(50, new java.util.HashSet<>(order).size());
        futures.forEach((id, f) -> {
            ScoreResponse r = f.join();
            assertEquals(id, r.getRequestId());
            assertEquals(Integer.parseInt(id.substring(4)) % 2 == 1, r.getScore() > 0.7, id);
        });
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            sent.add("img-" + i);
        }
        assertNotEquals(sent, order, "the fake answers out of order");
        assertTrue(fake.maxInFlight.get() <= 4, "server saw " + fake.maxInFlight.get() + " in flight");
    }

    @Test
    void perRequestErrorKeepsStreamAlive() {
        try (ScoreStream s = client.openStream(8, Prompts.inline("x", SHOTS))) {
            var g1 = s.submit("g1", png("1", false));
            var bad = s.submit("bad", "garbage".getBytes(StandardCharsets.UTF_8));
            var nf = s.submit(
                    Prompts.promptSet("missing").request("nf", png("2", false)).build(), null);
            var gen = s.submit("", png("3", false));
            InctrlException e = cause(assertThrows(CompletionException.class, bad::join));
            assertInstanceOf(InctrlException.InvalidArgument.class, e);
            assertEquals("bad", e.requestId());
            assertInstanceOf(InctrlException.NotFound.class, cause(assertThrows(CompletionException.class, nf::join)));
            assertEquals("g1", g1.join().getRequestId());
            assertFalse(gen.join().getRequestId().isEmpty());
        }
    }

    @Test
    void duplicateInFlightIdIsRejected() {
        ScoreStream s = client.openStream(4, Prompts.inline("x", SHOTS));
        s.submit("dup", png("SLOW", false));
        assertThrows(IllegalArgumentException.class, () -> s.submit("dup", png("x", false)));
        s.cancel();
    }

    @Test
    void submitWaitsForAFreeSlot() {
        ScoreStream s = client.openStream(1, Prompts.inline("x", SHOTS));
        var first = s.submit("a", png("SLOW", false));
        var req = Prompts.inline("x", SHOTS).request("b", png("b", false)).build();
        assertThrows(InctrlException.DeadlineExceeded.class, () -> s.submit(req, Duration.ofMillis(100)));
        assertEquals(1, s.inFlight());
        first.join();
        assertEquals("b", s.submit(req, Duration.ofSeconds(5)).join().getRequestId());
        s.close();
    }

    @Test
    void badKeyFailsStreamWithUnauthenticated() {
        try (InctrlClient bad =
                InctrlClient.builder(fake.address()).apiKey("wrong").build()) {
            ScoreStream s = bad.openStream(4, Prompts.inline("x", SHOTS));
            // the server may reject before or after the first submit: both surface the same error
            InctrlException e;
            try {
                e = cause(assertThrows(
                        CompletionException.class,
                        () -> s.submit("a", png("a", false)).join()));
            } catch (InctrlException direct) {
                e = direct;
            }
            assertInstanceOf(InctrlException.Unauthenticated.class, e);
            assertThrows(InctrlException.Unauthenticated.class, () -> s.close(Duration.ofSeconds(5)));
        }
    }

    @Test
    void streamDeadlineFailsInFlightRequests() {
        ScoreStream s = client.openStream(4, Prompts.inline("x", SHOTS), Duration.ofMillis(200));
        var slow = s.submit("slow", png("SLOW", false));
        InctrlException e = cause(assertThrows(CompletionException.class, slow::join));
        assertInstanceOf(InctrlException.DeadlineExceeded.class, e);
        assertEquals("slow", e.requestId());
    }
}
