package io.inctrl.serve.api.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/** Runs a unary call's use case off the event loop; a caller that gives up (cancel, deadline) takes its queued work with it. */
public final class AsyncUnaryCalls {

    private AsyncUnaryCalls() {}

    /**
     * Must be called from the handler method itself: grpc-java accepts the cancel handler only before it returns.
     *
     * @param start starts the use case on a worker thread; a RuntimeException it throws is passed to {@code reply}
     * @param reply answers the call from the result or the error (exactly one is non-null)
     */
    public static <R> void run(
            ServerCallStreamObserver<?> out,
            Executor executor,
            Supplier<CompletableFuture<R>> start,
            BiConsumer<R, Throwable> reply) {
        AtomicReference<CompletableFuture<R>> pending = new AtomicReference<>();
        out.setOnCancelHandler(() -> {
            CompletableFuture<R> f = pending.get();
            if (f != null) {
                f.cancel(false);
            }
        });
        executor.execute(() -> {
            if (out.isCancelled()) {
                return; // the caller gave up while this waited for a thread
            }
            CompletableFuture<R> f;
            try {
                f = start.get();
            } catch (RuntimeException e) {
                reply.accept(null, e);
                return;
            }
            pending.set(f);
            if (out.isCancelled()) {
                f.cancel(false);
            }
            f.whenComplete(reply);
        });
    }
}
