package io.inctrl.serve.client;

import static io.inctrl.serve.client.FakeServer.png;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Deadline;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Offline tests: always run, against the in-process {@link FakeServer}. */
class OfflineTest {
  static final RetryPolicy FAST = new RetryPolicy(4, Duration.ofMillis(10), Duration.ofMillis(50), 2.0, 0.0);
  static final List<byte[]> SHOTS = List.of(png("shot1", false), png("shot2", false));

  FakeServer fake;
  InctrlClient client;

  @BeforeEach
  void start() throws Exception {
    fake = new FakeServer();
    client = InctrlClient.builder(fake.address()).apiKey("secret").retry(FAST).timeout(Duration.ofSeconds(5)).build();
  }

  @AfterEach
  void stop() {
    client.close();
    fake.close();
  }

  static InctrlException cause(Throwable t) {
    Throwable c = t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException ? t.getCause() : t;
    return assertInstanceOf(InctrlException.class, c);
  }

  // ---- error mapping -----------------------------------------------------------------------------------------

  @Test
  void codeNamesMapToTypedExceptions() {
    Map<String, Class<?>> cases = Map.of(
        "INVALID_ARGUMENT", InctrlException.InvalidArgument.class, "UNAUTHENTICATED", InctrlException.Unauthenticated.class,
        "NOT_FOUND", InctrlException.NotFound.class, "RESOURCE_EXHAUSTED", InctrlException.ResourceExhausted.class,
        "UNAVAILABLE", InctrlException.Unavailable.class, "DEADLINE_EXCEEDED", InctrlException.DeadlineExceeded.class,
        "permission_denied", InctrlException.PermissionDenied.class, "ALREADY_EXISTS", InctrlException.AlreadyExists.class,
        "INTERNAL", InctrlException.Internal.class);
    cases.forEach((name, cls) -> {
      InctrlException e = InctrlException.fromCodeName(name, "msg", "id7");
      assertInstanceOf(cls, e, name);
      assertEquals("msg", e.details());
      assertEquals("id7", e.requestId());
      assertTrue(e.getMessage().contains("id7"));
    });
    assertEquals(Status.Code.UNKNOWN, InctrlException.fromCodeName("NOPE", "", "").code());
    InctrlException e = InctrlException.from(Status.RESOURCE_EXHAUSTED.withDescription("full").asRuntimeException());
    assertInstanceOf(InctrlException.ResourceExhausted.class, e);
    assertEquals("full", e.details());
  }

  // ---- retry -------------------------------------------------------------------------------------------------

  @Test
  void backoffIsExponentialCappedAndJittered() {
    RetryPolicy p = new RetryPolicy(6, Duration.ofMillis(100), Duration.ofMillis(500), 2.0, 0.0);
    List<Long> ms = new ArrayList<>();
    for (int n = 1; n <= 5; n++) {
      ms.add(p.backoff(n, () -> 0.5).toMillis());
    }
    assertEquals(List.of(100L, 200L, 400L, 500L, 500L), ms);
    RetryPolicy j = new RetryPolicy(6, Duration.ofMillis(100), Duration.ofMillis(500), 2.0, 0.2);
    assertEquals(80, j.backoff(1, () -> 0.0).toMillis());
    assertEquals(120, j.backoff(1, () -> 1.0).toMillis());
  }

  @Test
  void retriesOnlyUnavailable() {
    List<Duration> slept = new ArrayList<>();
    AtomicInteger calls = new AtomicInteger();
    String r = FAST.run(null, d -> {
      if (calls.incrementAndGet() < 3) {
        throw Status.UNAVAILABLE.asRuntimeException();
      }
      return "ok";
    }, slept::add);
    assertEquals("ok", r);
    assertEquals(List.of(Duration.ofMillis(10), Duration.ofMillis(20)), slept);

    calls.set(0);
    assertThrows(InctrlException.InvalidArgument.class, () -> FAST.run(null, d -> {
      calls.incrementAndGet();
      throw Status.INVALID_ARGUMENT.asRuntimeException();
    }, slept::add));
    assertEquals(1, calls.get());

    calls.set(0);
    assertThrows(InctrlException.Unavailable.class, () -> FAST.run(null, d -> {
      calls.incrementAndGet();
      throw Status.UNAVAILABLE.asRuntimeException();
    }, d -> {}));
    assertEquals(4, calls.get());
  }

  @Test
  void retryStopsBeforeTheDeadline() {
    RetryPolicy p = new RetryPolicy(10, Duration.ofMillis(100), Duration.ofSeconds(10), 2.0, 0.0);
    AtomicInteger calls = new AtomicInteger();
    long t0 = System.nanoTime();
    assertThrows(InctrlException.Unavailable.class, () -> p.run(Deadline.after(150, TimeUnit.MILLISECONDS), d -> {
      calls.incrementAndGet();
      throw Status.UNAVAILABLE.asRuntimeException();
    }, RetryPolicy.REAL_SLEEP));
    assertEquals(2, calls.get()); // t=0 and t=100ms; the next (t=300ms) would pass the deadline
    assertTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(140));
  }

  // ---- unary -------------------------------------------------------------------------------------------------

  @Test
  void scoresInlineAndMapsErrors() {
    ScoreResponse r = client.score(png("q", true), Prompts.inline("transistor", SHOTS));
    assertTrue(r.getScore() > 0.7);
    assertEquals(4, r.getMapCount());
    assertThrows(InctrlException.InvalidArgument.class,
        () -> client.score("not an image".getBytes(StandardCharsets.UTF_8), Prompts.inline("x", SHOTS)));
    assertThrows(IllegalArgumentException.class, () -> Prompts.inline("x", List.of()));
    try (InctrlClient bad = InctrlClient.builder(fake.address()).apiKey("wrong").retry(FAST).build()) {
      assertThrows(InctrlException.Unauthenticated.class, () -> bad.score(png("q", false), Prompts.inline("x", SHOTS)));
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
    try (InctrlClient c = InctrlClient.builder("127.0.0.1:" + port).apiKey("k").retry(FAST).build()) {
      assertThrows(InctrlException.Unavailable.class, c::modelInfo);
      assertThrows(InctrlException.Unavailable.class, () -> c.awaitReady(Duration.ofMillis(300)));
    }
  }

  @Test
  void registryRoundTrip() {
    PromptSet ps = client.registerPromptSet("line-1", "transistor", SHOTS);
    assertEquals(2, ps.getShotCount());
    assertThrows(InctrlException.AlreadyExists.class, () -> client.registerPromptSet("line-1", "t", SHOTS));
    assertEquals("fake", client.score(png("q", false), Prompts.promptSet(ps.getId())).getBundleId());
    for (int i = 0; i < 4; i++) {
      client.registerPromptSet("more-" + i, "x", SHOTS);
    }
    assertEquals(5, client.listPromptSets(2).size());
    client.deletePromptSet(ps.getId());
    assertThrows(InctrlException.NotFound.class, () -> client.getPromptSet(ps.getId()));
    assertThrows(InctrlException.NotFound.class, () -> client.score(png("q", false), Prompts.promptSet(ps.getId())));
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
      var nf = s.submit(Prompts.promptSet("missing").request("nf", png("2", false)).build(), null);
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
    try (InctrlClient bad = InctrlClient.builder(fake.address()).apiKey("wrong").build()) {
      ScoreStream s = bad.openStream(4, Prompts.inline("x", SHOTS));
      // the server may reject before or after the first submit: both surface the same error
      InctrlException e;
      try {
        e = cause(assertThrows(CompletionException.class, () -> s.submit("a", png("a", false)).join()));
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
