package io.inctrl.serve.batching;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Batching behaviour through {@link FakeProcessor}; ordering is forced with latches, never with sleeps. */
@Timeout(30)
class BatcherTest {

    private static final Duration FOREVER = Duration.ofMinutes(10);

    /** Blocks the first batch a processor sees until released, so a test can queue work behind it. */
    static final class Gate implements FakeProcessor.Hook {
        final CountDownLatch started = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        private final AtomicBoolean used = new AtomicBoolean();

        @Override
        public void before(String device, int build, List<Integer> inputs) throws InterruptedException {
            if (used.compareAndSet(false, true)) {
                started.countDown();
                if (!release.await(20, SECONDS)) {
                    throw new IllegalStateException("gate never released");
                }
            }
        }
    }

    /** Counts listener calls the tests assert on. */
    static final class CountingListener implements BatchListener {
        final AtomicInteger rejected = new AtomicInteger();
        final AtomicInteger expired = new AtomicInteger();
        final AtomicInteger cancelled = new AtomicInteger();
        final List<Duration> queueTimes = Collections.synchronizedList(new ArrayList<>());
        final List<String> busyDevices = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void onRejected(String tenant, QueueFullException rejection) {
            rejected.incrementAndGet();
        }

        @Override
        public void onExpired(String tenant, Duration queueTime) {
            expired.incrementAndGet();
        }

        @Override
        public void onCancelled(String tenant) {
            cancelled.incrementAndGet();
        }

        @Override
        public void onDequeued(String tenant, Duration queueTime) {
            queueTimes.add(queueTime);
        }

        @Override
        public void onBatchCompleted(String device, int batchSize, Duration busyTime) {
            busyDevices.add(device);
        }
    }

    static BatchPolicy policy(int maxBatchSize, Duration delay, List<Integer> preferred) {
        return new BatchPolicy(maxBatchSize, delay, preferred, 10_000, 10_000);
    }

    static void await(CountDownLatch latch, String what) throws InterruptedException {
        assertThat(latch.await(20, SECONDS)).as(what).isTrue();
    }

    static Throwable failureOf(CompletableFuture<?> future) throws Exception {
        try {
            Object value = future.get(20, SECONDS);
            throw new AssertionError("expected a failure, got " + value);
        } catch (ExecutionException e) {
            return e.getCause();
        }
    }

    static void assertResults(List<CompletableFuture<String>> futures, List<Integer> inputs) throws Exception {
        for (int i = 0; i < futures.size(); i++) {
            assertThat(futures.get(i).get(20, SECONDS)).isEqualTo(FakeProcessor.expected(inputs.get(i)));
        }
    }

    private static List<Integer> range(int from, int to) {
        return IntStream.range(from, to).boxed().toList();
    }

    @Test
    void batchCutting_neverExceedsMaxBatchSize() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        Gate gate = new Gate();
        try (Batcher<Integer, String> batcher = new Batcher<>(
                policy(4, Duration.ofMillis(5), List.of()), List.of(FakeProcessor.worker("cpu0", log, gate)))) {
            List<CompletableFuture<String>> futures = new ArrayList<>();
            futures.add(batcher.submit("t", 0));
            await(gate.started, "first batch started");
            for (int i = 1; i <= 20; i++) {
                futures.add(batcher.submit("t", i));
            }
            gate.release.countDown();
            assertResults(futures, range(0, 21));
            // 20 jobs were queued when the worker came back: five full batches, none larger
            assertThat(log.sizes()).containsExactly(1, 4, 4, 4, 4, 4);
        }
    }

    @Test
    void batchCutting_holdsPartialBatchWhileDelayRuns_sendsAtOnceWhenFull() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        try (Batcher<Integer, String> batcher = new Batcher<>(
                policy(4, FOREVER, List.of()), List.of(FakeProcessor.worker("cpu0", log, FakeProcessor.NONE)))) {
            List<CompletableFuture<String>> futures = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                futures.add(batcher.submit("t", i));
            }
            assertResults(futures, range(0, 4));
            // had the worker not waited for the 4th job, the first batch would be smaller
            assertThat(log.sizes()).containsExactly(4);
        }
    }

    @Test
    void batchCutting_sendsPartialBatchOnceOldestJobWaitedMaxQueueDelay() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        CountingListener listener = new CountingListener();
        Duration delay = Duration.ofMillis(50);
        try (Batcher<Integer, String> batcher = new Batcher<>(
                policy(8, delay, List.of()),
                List.of(FakeProcessor.worker("cpu0", log, FakeProcessor.NONE)),
                listener)) {
            List<CompletableFuture<String>> futures = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                futures.add(batcher.submit("t", i));
            }
            assertResults(futures, range(0, 3));
            assertThat(log.sizes()).allSatisfy(size -> assertThat(size).isLessThan(8));
            assertThat(log.inputs()).containsExactly(0, 1, 2);
            // a partial batch is only cut once its oldest job has waited the full delay
            assertThat(listener.queueTimes).anySatisfy(t -> assertThat(t).isGreaterThanOrEqualTo(delay));
        }
    }

    @Test
    void batchCutting_cutsAtLargestPreferredSizeWhileDelayRuns() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        Gate gate = new Gate();
        try (Batcher<Integer, String> batcher =
                new Batcher<>(policy(8, FOREVER, List.of(4, 2)), List.of(FakeProcessor.worker("cpu0", log, gate)))) {
            List<CompletableFuture<String>> futures = new ArrayList<>();
            futures.add(batcher.submit("t", 0));
            futures.add(batcher.submit("t", 1)); // 2 is preferred: sent at once, then held by the gate
            await(gate.started, "first batch started");
            for (int i = 2; i < 9; i++) {
                futures.add(batcher.submit("t", i));
            }
            gate.release.countDown();
            assertResults(futures.subList(0, 8), range(0, 8)); // 7 queued -> 4, then 3 -> 2
            assertThat(futures.get(8)).isNotDone(); // 1 left: no preferred size fits, delay not expired
            futures.add(batcher.submit("t", 9));
            assertResults(futures, range(0, 10));
            assertThat(log.sizes()).containsExactly(2, 4, 2, 2);
        }
    }

    @Test
    void submit_whenQueueFull_failsAtOnceWithRetryHint() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        CountingListener listener = new CountingListener();
        Gate gate = new Gate();
        try (Batcher<Integer, String> batcher = new Batcher<>(
                new BatchPolicy(1, Duration.ZERO, List.of(), 3, 3),
                List.of(FakeProcessor.worker("cpu0", log, gate)),
                listener)) {
            List<CompletableFuture<String>> accepted = new ArrayList<>();
            accepted.add(batcher.submit("a", 0));
            await(gate.started, "first batch started");
            accepted.add(batcher.submit("a", 1));
            accepted.add(batcher.submit("b", 2));
            accepted.add(batcher.submit("c", 3));
            CompletableFuture<String> refused = batcher.submit("d", 4);

            assertThat(refused).isCompletedExceptionally(); // decided in submit, without blocking
            Throwable cause = failureOf(refused);
            assertThat(cause).isInstanceOf(QueueFullException.class).hasMessageContaining("maxQueueSize 3");
            Duration hint = ((QueueFullException) cause).retryAfter();
            assertThat(hint).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(60));
            assertThat(listener.rejected).hasValue(1);
            assertThat(batcher.queueDepth()).isEqualTo(3);

            gate.release.countDown();
            assertResults(accepted, range(0, 4));
            assertThat(log.inputs()).doesNotContain(4);
        }
    }

    @Test
    void submit_whenTenantBoundReached_refusesThatTenantOnly() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        Gate gate = new Gate();
        try (Batcher<Integer, String> batcher = new Batcher<>(
                new BatchPolicy(1, Duration.ZERO, List.of(), 10, 2),
                List.of(FakeProcessor.worker("cpu0", log, gate)))) {
            CompletableFuture<String> first = batcher.submit("a", 0);
            await(gate.started, "first batch started");
            CompletableFuture<String> a1 = batcher.submit("a", 1);
            CompletableFuture<String> a2 = batcher.submit("a", 2);
            CompletableFuture<String> a3 = batcher.submit("a", 3);
            CompletableFuture<String> b4 = batcher.submit("b", 4);

            assertThat(failureOf(a3))
                    .isInstanceOf(QueueFullException.class)
                    .hasMessageContaining("tenant 'a'")
                    .hasMessageContaining("maxQueuedPerTenant 2");
            assertThat(b4).isNotDone();
            gate.release.countDown();
            assertResults(List.of(first, a1, a2, b4), List.of(0, 1, 2, 4));
        }
    }

    @Test
    void deadline_passedWhileQueued_failsWithoutCompute() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        CountingListener listener = new CountingListener();
        Gate gate = new Gate();
        try (Batcher<Integer, String> batcher = new Batcher<>(
                policy(8, Duration.ZERO, List.of()), List.of(FakeProcessor.worker("cpu0", log, gate)), listener)) {
            CompletableFuture<String> blocker = batcher.submit("t", 0);
            await(gate.started, "first batch started");
            CompletableFuture<String> late =
                    batcher.submit("t", 1, Instant.now().plusMillis(100));
            CompletableFuture<String> onTime =
                    batcher.submit("t", 2, Instant.now().plusSeconds(60));
            CompletableFuture<String> alreadyLate =
                    batcher.submit("t", 3, Instant.now().minusMillis(1));

            // fails while the only worker is still blocked: dropped from the queue, not at compute time
            assertThat(failureOf(late)).isInstanceOf(DeadlineExceededException.class);
            assertThat(failureOf(alreadyLate)).isInstanceOf(DeadlineExceededException.class);
            assertThat(gate.release.getCount()).isEqualTo(1);
            assertThat(batcher.queueDepth()).isEqualTo(1);

            gate.release.countDown();
            assertResults(List.of(blocker, onTime), List.of(0, 2));
            assertThat(log.inputs()).containsExactly(0, 2);
            assertThat(listener.expired).hasValue(2);
        }
    }

    @Test
    void cancel_queuedJob_isDiscardedAndNeverComputed() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        CountingListener listener = new CountingListener();
        Gate gate = new Gate();
        try (Batcher<Integer, String> batcher = new Batcher<>(
                policy(8, Duration.ZERO, List.of()), List.of(FakeProcessor.worker("cpu0", log, gate)), listener)) {
            CompletableFuture<String> blocker = batcher.submit("t", 0);
            await(gate.started, "first batch started");
            List<CompletableFuture<String>> queued = new ArrayList<>();
            for (int i = 1; i <= 5; i++) {
                queued.add(batcher.submit("t", i));
            }
            assertThat(batcher.queueDepth()).isEqualTo(5);
            assertThat(queued.get(1).cancel(true)).isTrue();
            assertThat(queued.get(3).cancel(true)).isTrue();
            assertThat(batcher.queueDepth()).isEqualTo(3);
            assertThat(batcher.inFlight()).isEqualTo(4); // blocker + 3 queued

            gate.release.countDown();
            assertResults(List.of(blocker, queued.get(0), queued.get(2), queued.get(4)), List.of(0, 1, 3, 5));
            assertThatThrownBy(() -> queued.get(1).join()).isInstanceOf(CancellationException.class);
            assertThat(log.inputs()).containsExactly(0, 1, 3, 5);
            assertThat(listener.cancelled).hasValue(2);
            assertThat(batcher.inFlight()).isZero();
        }
    }

    @Test
    void fairness_tenantTrickleIsNotStarvedByAnotherTenantsFlood() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        Gate gate = new Gate();
        List<String> completionOrder = Collections.synchronizedList(new ArrayList<>());
        try (Batcher<Integer, String> batcher = new Batcher<>(
                new BatchPolicy(8, Duration.ofMillis(1), List.of(), 1000, 600),
                List.of(FakeProcessor.worker("cpu0", log, gate)))) {
            List<CompletableFuture<String>> all = new ArrayList<>();
            CompletableFuture<String> firstA = batcher.submit("A", 0);
            firstA.whenComplete((r, e) -> completionOrder.add("A"));
            all.add(firstA);
            await(gate.started, "first batch started");
            for (int i = 1; i < 500; i++) {
                CompletableFuture<String> f = batcher.submit("A", i);
                f.whenComplete((r, e) -> completionOrder.add("A"));
                all.add(f);
            }
            for (int i = 500; i < 505; i++) {
                CompletableFuture<String> f = batcher.submit("B", i);
                f.whenComplete((r, e) -> completionOrder.add("B"));
                all.add(f);
            }
            gate.release.countDown();
            assertResults(all, range(0, 505));

            List<String> order = List.copyOf(completionOrder);
            assertThat(order).hasSize(505);
            int lastB = order.lastIndexOf("B");
            // FIFO would finish B after ~500 of A's jobs; round-robin finishes it within the next two batches
            assertThat(lastB).as("position of B's last completion").isLessThan(30);
            assertThat(order.subList(0, lastB + 1).stream().filter("A"::equals).count())
                    .as("A jobs completed before B's last")
                    .isLessThan(30);
        }
    }

    @Test
    void backgroundLane_runsOnlyWhenNoOtherLaneHasWork_inSmallBatches() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        Gate gate = new Gate();
        BatchPolicy p = new BatchPolicy(8, Duration.ofMillis(1), List.of(), 1000, 600)
                .withBackground(java.util.Set.of("bg"), 2, FOREVER);
        try (Batcher<Integer, String> batcher = new Batcher<>(p, List.of(FakeProcessor.worker("cpu0", log, gate)))) {
            List<CompletableFuture<String>> all = new ArrayList<>();
            all.add(batcher.submit("A", 0));
            await(gate.started, "first batch started");
            for (int i = 100; i < 106; i++) { // background work queued first...
                all.add(batcher.submit("bg", i));
            }
            for (int i = 1; i < 11; i++) { // ...still waits for every tenant job
                all.add(batcher.submit("A", i));
            }
            gate.release.countDown();
            assertResults(
                    all,
                    IntStream.concat(
                                    IntStream.of(0),
                                    IntStream.concat(IntStream.range(100, 106), IntStream.range(1, 11)))
                            .boxed()
                            .toList());
            List<FakeProcessor.Seen> batches = log.snapshot();
            int firstBackground = -1;
            for (int b = 0; b < batches.size(); b++) {
                if (batches.get(b).inputs().stream().anyMatch(x -> x >= 100)) {
                    firstBackground = firstBackground < 0 ? b : firstBackground;
                    assertThat(batches.get(b).inputs()).allMatch(x -> x >= 100).hasSizeLessThanOrEqualTo(2);
                } else if (firstBackground >= 0) {
                    throw new AssertionError("tenant work ran after background work had started: " + batches);
                }
            }
            assertThat(log.sizes()).startsWith(1, 8, 2); // the gate's batch, then A's 10 jobs, then background
        }
    }

    @Test
    void backgroundLane_waitsForTheRequestsOfAnotherBatcherSharingTheCores() throws Exception {
        // two model versions on one CPU: version 2's background encoding must not take the cores from version 1's
        // requests, although version 2's own queue holds nothing else
        ForegroundActivity shared = new ForegroundActivity();
        AtomicBoolean requestHeld = new AtomicBoolean(true);
        List<String> ranWhileHeld = java.util.Collections.synchronizedList(new ArrayList<>());
        Gate gate = new Gate();
        BatchPolicy p = new BatchPolicy(8, Duration.ZERO, List.of(), 1000, 600)
                .withBackground(java.util.Set.of("bg"), 1, FOREVER);
        FakeProcessor.Hook watch = (device, build, inputs) -> {
            if (requestHeld.get()) {
                ranWhileHeld.add(device + inputs);
            }
        };
        try (Batcher<Integer, String> v1 = new Batcher<>(
                        p,
                        List.of(FakeProcessor.worker("v1", new FakeProcessor.Log(), gate)),
                        BatchListener.noop(),
                        shared);
                Batcher<Integer, String> v2 = new Batcher<>(
                        p,
                        List.of(FakeProcessor.worker("v2", new FakeProcessor.Log(), watch)),
                        BatchListener.noop(),
                        shared)) {
            CompletableFuture<String> request = v1.submit("tenant", 1);
            await(gate.started, "version 1's request is running");
            assertThat(shared.inFlight()).isEqualTo(1);
            List<CompletableFuture<String>> background = new ArrayList<>();
            for (int i = 100; i < 103; i++) {
                background.add(v2.submit("bg", i));
            }
            assertThat(shared.inFlight())
                    .as("background jobs are not request work")
                    .isEqualTo(1);
            // version 2's worker is idle and polls meanwhile: without the shared activity it would run them now
            Thread.sleep(200);
            requestHeld.set(false);
            gate.release.countDown();
            assertResults(List.of(request), List.of(1));
            assertResults(background, List.of(100, 101, 102));
            assertThat(ranWhileHeld)
                    .as("background batches run while a request was in flight")
                    .isEmpty();
            assertThat(shared.inFlight()).isZero();
        }
    }

    @Test
    void backgroundLane_thatWaitedItsLimit_isServedLikeATenantUnderSustainedLoad() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        Gate gate = new Gate();
        BatchPolicy p = new BatchPolicy(4, Duration.ZERO, List.of(), 1000, 600)
                .withBackground(java.util.Set.of("bg"), 1, Duration.ZERO); // starving at once
        try (Batcher<Integer, String> batcher = new Batcher<>(p, List.of(FakeProcessor.worker("cpu0", log, gate)))) {
            List<CompletableFuture<String>> all = new ArrayList<>();
            all.add(batcher.submit("A", 0));
            await(gate.started, "first batch started");
            for (int i = 1; i < 40; i++) {
                all.add(batcher.submit("A", i));
            }
            all.add(batcher.submit("bg", 100));
            gate.release.countDown();
            assertResults(
                    all,
                    IntStream.concat(IntStream.range(0, 40), IntStream.of(100))
                            .boxed()
                            .toList());
            int bgBatch = 0;
            List<FakeProcessor.Seen> batches = log.snapshot();
            while (!batches.get(bgBatch).inputs().contains(100)) {
                bgBatch++;
            }
            // round-robin with the tenant: in the first batch after the gate, not after A's 39 jobs
            assertThat(bgBatch).isEqualTo(1);
        }
    }

    @Test
    void multiDevice_everyWorkerRunsBatches_resultsCorrect() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        CountingListener listener = new CountingListener();
        CountDownLatch allBusy = new CountDownLatch(3);
        AtomicBoolean overlapTimedOut = new AtomicBoolean();
        java.util.Set<String> started = java.util.concurrent.ConcurrentHashMap.newKeySet();
        // each device holds its first batch until all three hold one: only true if all three took work at once
        FakeProcessor.Hook overlap = (device, build, inputs) -> {
            if (started.add(device)) {
                allBusy.countDown();
                if (!allBusy.await(20, SECONDS)) {
                    overlapTimedOut.set(true);
                }
            }
        };
        List<WorkerSpec<Integer, String>> specs = List.of(
                FakeProcessor.worker("cpu0", log, overlap),
                FakeProcessor.worker("cpu1", log, overlap),
                FakeProcessor.worker("gpu0", log, overlap));
        try (Batcher<Integer, String> batcher =
                new Batcher<>(policy(8, Duration.ofMillis(1), List.of()), specs, listener)) {
            List<CompletableFuture<String>> futures = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                futures.add(batcher.submit("t" + (i % 4), i));
            }
            assertResults(futures, range(0, 200));
            assertThat(overlapTimedOut).as("some device never took a batch").isFalse();
            assertThat(log.snapshot())
                    .extracting(FakeProcessor.Seen::thread)
                    .containsOnly("batcher-cpu0", "batcher-cpu1", "batcher-gpu0");
            assertThat(listener.busyDevices).contains("cpu0", "cpu1", "gpu0");
            assertThat(log.inputs()).containsExactlyInAnyOrderElementsOf(range(0, 200)); // each computed once
        }
    }

    @Test
    void failingWorker_batchIsRetriedOnAnotherWorker() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        CountDownLatch gpu0Failed = new CountDownLatch(1);
        CountDownLatch gpu0Rebuilt = new CountDownLatch(1);
        CountDownLatch anyStarted = new CountDownLatch(1);
        FakeProcessor.Hook broken = (device, build, inputs) -> {
            anyStarted.countDown();
            gpu0Failed.countDown();
            throw new IOException("gpu0 lost");
        };
        FakeProcessor.Hook healthy = (device, build, inputs) -> {
            anyStarted.countDown();
            // hold the first batch until gpu0 has failed one, so gpu0 is sure to get work
            if (!gpu0Failed.await(20, SECONDS)) {
                throw new IllegalStateException("gpu0 never failed");
            }
        };
        WorkerSpec<Integer, String> gpu0 = new WorkerSpec<>("gpu0", () -> {
            BatchProcessor<Integer, String> p =
                    FakeProcessor.factory("gpu0", log, broken, Duration.ZERO).get();
            if (log.builds("gpu0") == 2) {
                gpu0Rebuilt.countDown();
            }
            return p;
        });
        try (Batcher<Integer, String> batcher = new Batcher<>(
                policy(8, Duration.ZERO, List.of()), List.of(gpu0, FakeProcessor.worker("gpu1", log, healthy)))) {
            CompletableFuture<String> a = batcher.submit("t", 1);
            await(anyStarted, "a batch started");
            CompletableFuture<String> b = batcher.submit("t", 2);

            assertResults(List.of(a, b), List.of(1, 2));
            await(gpu0Rebuilt, "gpu0 rebuilt its processor after the failure");
            List<FakeProcessor.Seen> seen = log.snapshot();
            assertThat(seen).anySatisfy(s -> assertThat(s.device()).isEqualTo("gpu0"));
            // every input gpu0 failed was computed again on gpu1
            List<Integer> onGpu1 = seen.stream()
                    .filter(s -> s.device().equals("gpu1"))
                    .flatMap(s -> s.inputs().stream())
                    .toList();
            assertThat(onGpu1).containsExactlyInAnyOrder(1, 2);
        }
    }

    @Test
    void singleFailingWorker_failsJobsWithWorkerUnavailable_thenRecovers() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        FakeProcessor.Hook firstBuildBroken = (device, build, inputs) -> {
            if (build == 1) {
                throw new IOException("device reset");
            }
        };
        try (Batcher<Integer, String> batcher = new Batcher<>(
                policy(8, Duration.ZERO, List.of()), List.of(FakeProcessor.worker("gpu0", log, firstBuildBroken)))) {
            Throwable cause = failureOf(batcher.submit("t", 1));
            assertThat(cause).isInstanceOf(WorkerUnavailableException.class).hasMessageContaining("gpu0");
            assertThat(cause.getCause()).isInstanceOf(IOException.class).hasMessage("device reset");

            assertThat(batcher.submit("t", 2).get(20, SECONDS)).isEqualTo("out-2");
            assertThat(log.builds("gpu0")).isEqualTo(2);
        }
    }

    @Test
    void processorReturningWrongNumberOfOutputs_failsThatBatchClearly() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        BatchProcessor<Integer, String> dropsLast = batch -> {
            calls.incrementAndGet();
            return batch.stream().map(FakeProcessor::expected).toList().subList(0, batch.size() - 1);
        };
        try (Batcher<Integer, String> batcher = new Batcher<>(
                policy(8, Duration.ZERO, List.of()), List.of(new WorkerSpec<>("cpu0", () -> dropsLast)))) {
            Throwable cause = failureOf(batcher.submit("t", 1));
            assertThat(cause)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("returned 0 outputs for a batch of 1");
            assertThat(calls).hasValue(1); // not retried: a processor bug fails the same way everywhere
        }
    }

    @Test
    void close_drainsQueuedWork_thenRefusesSubmits() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        Batcher<Integer, String> batcher = new Batcher<>(
                policy(8, FOREVER, List.of()), List.of(FakeProcessor.worker("cpu0", log, FakeProcessor.NONE)));
        List<CompletableFuture<String>> futures = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            futures.add(batcher.submit("t" + i % 2, i)); // held: the batch is not full and the delay is long
        }
        batcher.close();

        for (CompletableFuture<String> f : futures) {
            assertThat(f).isDone();
        }
        assertResults(futures, range(0, 5));
        assertThat(log.sizes()).containsExactly(5);
        assertThat(failureOf(batcher.submit("t", 9))).isInstanceOf(BatcherClosedException.class);
        assertThat(batcher.inFlight()).isZero();
        assertThat(batcher.queueDepth()).isZero();
    }

    @Test
    void shutdownWithoutDrain_failsQueuedAndRunningWork_noFutureLeftPending() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        Gate gate = new Gate();
        Batcher<Integer, String> batcher =
                new Batcher<>(policy(2, Duration.ZERO, List.of()), List.of(FakeProcessor.worker("cpu0", log, gate)));
        List<CompletableFuture<String>> futures = new ArrayList<>();
        futures.add(batcher.submit("t", 0));
        await(gate.started, "first batch started");
        for (int i = 1; i <= 10; i++) {
            futures.add(batcher.submit("t", i));
        }

        assertThat(batcher.shutdown(Duration.ZERO)).isFalse();

        for (CompletableFuture<String> f : futures) {
            assertThat(f).isDone();
            assertThat(failureOf(f)).isInstanceOf(BatcherClosedException.class);
        }
        assertThat(log.inputs()).containsExactly(0); // the gated batch was interrupted, nothing else ran
        assertThat(batcher.inFlight()).isZero();
        assertThat(batcher.isClosed()).isTrue();
    }

    @Test
    void listenerThatThrows_doesNotLoseJobs() throws Exception {
        BatchListener throwing = new BatchListener() {
            @Override
            public void onQueued(String tenant, int queueDepth) {
                throw new IllegalStateException("metrics down");
            }

            @Override
            public void onBatchCompleted(String device, int batchSize, Duration busyTime) {
                throw new IllegalStateException("metrics down");
            }
        };
        FakeProcessor.Log log = new FakeProcessor.Log();
        try (Batcher<Integer, String> batcher = new Batcher<>(
                policy(8, Duration.ZERO, List.of()),
                List.of(FakeProcessor.worker("cpu0", log, FakeProcessor.NONE)),
                throwing)) {
            assertThat(batcher.submit("t", 7).get(20, SECONDS)).isEqualTo("out-7");
        }
    }
}
