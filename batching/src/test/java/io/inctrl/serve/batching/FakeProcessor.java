package io.inctrl.serve.batching;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A processor of controllable cost for batching tests: maps input {@code i} to {@code "out-" + i}, records
 * every batch it is handed (before the hook runs, so failed batches count as seen), and runs a hook
 * that can block on a latch or throw.
 */
final class FakeProcessor implements BatchProcessor<Integer, String> {

    /** Runs before each batch; {@code build} is 1 for the first processor built for the device, then 2, ... */
    @FunctionalInterface
    interface Hook {
        void before(String device, int build, List<Integer> inputs) throws Exception;
    }

    record Seen(String device, String thread, int build, List<Integer> inputs) {}

    /** Shared record of everything the processors of one batcher saw. */
    static final class Log {
        final List<Seen> batches = Collections.synchronizedList(new ArrayList<>());
        final Map<String, AtomicInteger> builds = new ConcurrentHashMap<>();

        int builds(String device) {
            return builds.getOrDefault(device, new AtomicInteger()).get();
        }

        List<Integer> sizes() {
            synchronized (batches) {
                return batches.stream().map(s -> s.inputs().size()).toList();
            }
        }

        List<Integer> inputs() {
            synchronized (batches) {
                return batches.stream().flatMap(s -> s.inputs().stream()).toList();
            }
        }

        List<Seen> snapshot() {
            synchronized (batches) {
                return List.copyOf(batches);
            }
        }
    }

    static final Hook NONE = (device, build, inputs) -> {};

    private final String device;
    private final int build;
    private final Log log;
    private final Hook hook;
    private final Duration delay;

    private FakeProcessor(String device, int build, Log log, Hook hook, Duration delay) {
        this.device = device;
        this.build = build;
        this.log = log;
        this.hook = hook;
        this.delay = delay;
    }

    static Supplier<BatchProcessor<Integer, String>> factory(String device, Log log, Hook hook, Duration delay) {
        return () -> new FakeProcessor(
                device,
                log.builds.computeIfAbsent(device, d -> new AtomicInteger()).incrementAndGet(),
                log,
                hook,
                delay);
    }

    static WorkerSpec<Integer, String> worker(String device, Log log, Hook hook) {
        return new WorkerSpec<>(device, factory(device, log, hook, Duration.ZERO));
    }

    static String expected(int input) {
        return "out-" + input;
    }

    @Override
    public List<String> process(List<Integer> batch) throws Exception {
        log.batches.add(new Seen(device, Thread.currentThread().getName(), build, List.copyOf(batch)));
        hook.before(device, build, batch);
        if (!delay.isZero()) {
            Thread.sleep(delay.toMillis(), delay.toNanosPart() % 1_000_000);
        }
        return batch.stream().map(FakeProcessor::expected).toList();
    }
}
