package io.inctrl.serve.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.inctrl.serve.error.ServeException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The decode pool: parallel within a request, deterministic errors, bounded queue, cancellation skips work. */
class DecodePoolTest {

    private static final io.inctrl.serve.image.Inspection CROP = io.inctrl.serve.image.Inspection.CENTER_CROP;
    private static final io.inctrl.serve.image.PreprocessConfig INPUT = io.inctrl.serve.image.PreprocessConfig.inctrl();

    private final DecodePool pool = new DecodePool();

    @AfterEach
    void stop() {
        pool.stop();
    }

    private void start(int threads, int queue, BiFunction<byte[], String, ImagePipeline.Prepared> prepare) {
        pool.registry = new SimpleMeterRegistry();
        pool.images = new ImagePipeline() {
            @Override
            public Prepared prepare(
                    byte[] encoded,
                    String what,
                    io.inctrl.serve.image.Inspection mode,
                    io.inctrl.serve.image.PreprocessConfig input) {
                return prepare.apply(encoded, what);
            }

            @Override
            public long declaredPixels(byte[] encoded, String what) {
                return 1;
            }
        };
        pool.start(threads, queue);
    }

    private static ImagePipeline.Prepared ok(byte[] b) {
        return new ImagePipeline.Prepared(new float[] {b[0]}, 1, 1);
    }

    private static byte[] img(int i) {
        return new byte[] {(byte) i};
    }

    @Test
    void imagesOfOneRequestDecodeConcurrently() throws Exception {
        CountDownLatch both = new CountDownLatch(2);
        start(2, 8, (b, what) -> {
            both.countDown();
            try {
                // each decode waits for the other one: only completes if both run at the same time
                assertTrue(both.await(10, TimeUnit.SECONDS), "decodes ran one after the other");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return ok(b);
        });
        List<ImagePipeline.Prepared> out = pool.prepareAll(List.of(img(1), img(2)), i -> "image " + i, CROP, INPUT)
                .get(20, TimeUnit.SECONDS);
        assertEquals(1f, out.get(0).pixels()[0]);
        assertEquals(2f, out.get(1).pixels()[0]);
    }

    @Test
    void theFirstFailingImageInRequestOrderIsReported() {
        start(3, 8, (b, what) -> {
            if (b[0] == 1) {
                sleep(300); // fails last in time, first in order
                throw ServeException.invalid(io.inctrl.serve.error.Reason.UNDECODABLE_IMAGE, what + ": broken");
            }
            if (b[0] == 2) {
                throw ServeException.invalid(io.inctrl.serve.error.Reason.UNDECODABLE_IMAGE, what + ": broken");
            }
            return ok(b);
        });
        CompletionException e = assertThrows(
                CompletionException.class,
                () -> pool.prepareAll(List.of(img(0), img(1), img(2)), i -> "shot " + i, CROP, INPUT)
                        .join());
        ServeException cause = assertInstanceOf(ServeException.class, e.getCause());
        assertEquals("shot 1: broken", cause.getMessage());
    }

    @Test
    void aFullQueueIsRefusedWithARetryHintAndLeavesNothingQueued() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger ran = new AtomicInteger();
        start(1, 1, (b, what) -> {
            ran.incrementAndGet();
            await(release);
            return ok(b);
        });
        CompletableFuture<List<ImagePipeline.Prepared>> first =
                pool.prepareAll(List.of(img(0)), i -> "image", CROP, INPUT);
        waitUntil(() -> ran.get() == 1); // the only thread is busy, the queue (1) is empty
        ServeException full = assertThrows(
                ServeException.class, () -> pool.prepareAll(List.of(img(1), img(2)), i -> "image " + i, CROP, INPUT));
        assertEquals(ServeException.Code.RESOURCE_EXHAUSTED, full.code());
        assertEquals("DECODE_QUEUE_FULL", full.reason());
        assertTrue(full.retryAfter().isPresent());
        release.countDown();
        first.get(10, TimeUnit.SECONDS);
        // image 1 got queued before image 2 was refused; it was cancelled, so it never decodes
        pool.prepareAll(List.of(img(3)), i -> "image", CROP, INPUT).get(10, TimeUnit.SECONDS);
        assertEquals(2, ran.get());
    }

    @Test
    void cancellingARequestSkipsDecodesNotYetStarted() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger ran = new AtomicInteger();
        start(1, 8, (b, what) -> {
            ran.incrementAndGet();
            await(release);
            return ok(b);
        });
        CompletableFuture<List<ImagePipeline.Prepared>> busy =
                pool.prepareAll(List.of(img(0)), i -> "image", CROP, INPUT);
        waitUntil(() -> ran.get() == 1);
        CompletableFuture<List<ImagePipeline.Prepared>> cancelled =
                pool.prepareAll(List.of(img(1), img(2), img(3)), i -> "image " + i, CROP, INPUT);
        assertTrue(cancelled.cancel(false));
        release.countDown();
        busy.get(10, TimeUnit.SECONDS);
        pool.prepareAll(List.of(img(4)), i -> "image", CROP, INPUT).get(10, TimeUnit.SECONDS);
        assertEquals(2, ran.get(), "cancelled decodes ran");
        assertFalse(busy.isCancelled());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void waitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("condition not reached in 10 s");
            }
            Thread.sleep(5);
        }
    }
}
