package io.inctrl.serve.scoring;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Joins the batcher jobs of one request (the tiles of a frame, the shots of an inline set). Unlike
 * {@link CompletableFuture#allOf}, which waits for every part, the first failure fails the whole at once and cancels
 * the parts still queued or running, so a request that cannot be answered stops holding the device.
 */
final class AllOrNothing {

    private AllOrNothing() {}

    /** Completes with every part's value in order, or exceptionally with the first failure; cancelling it cancels all. */
    static <T> CompletableFuture<List<T>> of(List<CompletableFuture<T>> parts) {
        CompletableFuture<List<T>> whole = new CompletableFuture<>();
        CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).whenComplete((v, t) -> {
            if (t == null) {
                whole.complete(parts.stream().map(CompletableFuture::join).toList());
            }
        });
        for (CompletableFuture<T> part : parts) {
            part.whenComplete((v, t) -> {
                if (t != null && whole.completeExceptionally(unwrap(t))) {
                    parts.forEach(p -> p.cancel(false));
                }
            });
        }
        whole.whenComplete((v, t) -> {
            if (whole.isCancelled()) {
                parts.forEach(p -> p.cancel(false));
            }
        });
        return whole;
    }

    private static Throwable unwrap(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }
}
