package io.inctrl.serve.batching;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Many submitters, cancellations, deadlines, bounds and injected failures at once: no future is lost. */
@Timeout(60)
class BatcherStressTest {

    private static final int THREADS = 8;
    private static final int JOBS_PER_THREAD = 1500;
    private static final int TOTAL = THREADS * JOBS_PER_THREAD;

    @Test
    void manySubmitters_everyFutureCompletesExactlyOnce() throws Exception {
        FakeProcessor.Log log = new FakeProcessor.Log();
        // about 3% of batches fail; a retry on another device then usually succeeds
        FakeProcessor.Hook flaky = (device, build, inputs) -> {
            if (ThreadLocalRandom.current().nextInt(100) < 3) {
                throw new IOException("injected failure on " + device);
            }
        };
        List<WorkerSpec<Integer, String>> specs = List.of(
                new WorkerSpec<>("cpu0", FakeProcessor.factory("cpu0", log, flaky, Duration.ofNanos(200_000))),
                new WorkerSpec<>("cpu1", FakeProcessor.factory("cpu1", log, flaky, Duration.ofNanos(200_000))),
                new WorkerSpec<>("gpu0", FakeProcessor.factory("gpu0", log, flaky, Duration.ZERO)));
        BatchPolicy policy = new BatchPolicy(16, Duration.ofMillis(2), List.of(8), 2000, 600);

        AtomicIntegerArray completions = new AtomicIntegerArray(TOTAL);
        CountDownLatch allCompleted = new CountDownLatch(TOTAL);
        @SuppressWarnings("unchecked")
        CompletableFuture<String>[] futures = new CompletableFuture[TOTAL];
        try (Batcher<Integer, String> batcher = new Batcher<>(policy, specs)) {
            CountDownLatch go = new CountDownLatch(1);
            ExecutorService submitters = Executors.newFixedThreadPool(THREADS);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                done.add(submitters.submit(() -> {
                    go.await();
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    for (int j = 0; j < JOBS_PER_THREAD; j++) {
                        int id = thread * JOBS_PER_THREAD + j;
                        String tenant = "tenant" + random.nextInt(5);
                        Instant deadline =
                                random.nextInt(10) == 0 ? Instant.now().plusNanos(random.nextInt(3_000_000)) : null;
                        CompletableFuture<String> f = batcher.submit(tenant, id, deadline);
                        f.whenComplete((r, e) -> {
                            completions.incrementAndGet(id);
                            allCompleted.countDown();
                        });
                        futures[id] = f;
                        if (random.nextInt(20) == 0) {
                            f.cancel(true);
                        }
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(30, SECONDS);
            }
            submitters.shutdown();
            // counted in the callbacks themselves: allOf could wake us before the last callbacks ran
            assertThat(allCompleted.await(30, SECONDS))
                    .as("every future completed")
                    .isTrue();

            int ok = 0;
            int failed = 0;
            for (int id = 0; id < TOTAL; id++) {
                CompletableFuture<String> f = futures[id];
                assertThat(f).isDone();
                assertThat(completions.get(id)).as("completions of job %d", id).isEqualTo(1);
                try {
                    assertThat(f.join()).isEqualTo(FakeProcessor.expected(id)); // never another job's output
                    ok++;
                } catch (CancellationException e) {
                    failed++;
                } catch (CompletionException e) {
                    assertThat(e.getCause())
                            .isInstanceOfAny(
                                    QueueFullException.class,
                                    DeadlineExceededException.class,
                                    WorkerUnavailableException.class);
                    failed++;
                }
            }
            assertThat(ok + failed).isEqualTo(TOTAL);
            // how many are refused depends on machine speed; only that work got through is stable
            assertThat(ok).as("successful jobs").isPositive();
            assertThat(batcher.inFlight()).isZero();
            assertThat(batcher.queueDepth()).isZero();
            assertThat(log.sizes()).allSatisfy(size -> assertThat(size).isBetween(1, 16));
        }
    }
}
