package io.inctrl.serve.client;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * One logical ScoreStream, carried by one gRPC call at a time. {@code submit} blocks while {@code window}
 * requests are unanswered (backpressure) and returns a future completed by the response carrying the same
 * request_id; responses may arrive in any order. A per-request error completes that future exceptionally with a
 * typed {@link InctrlException}.
 *
 * <p>When the call fails with UNAVAILABLE (its backend stopped or went away), or is cancelled by the other side
 * (a backend shutting down resets its streams), the requests still unanswered are
 * resent, in submit order, on a new call, which the channel's round_robin places on a backend that is up; at most
 * {@code resend.maxAttempts() - 1} times in a row without an answer in between. A request whose answer arrived is
 * never resent, and each future completes once: every id is reported exactly once. Any other failure (or an
 * exhausted budget) fails every in-flight future.
 */
public final class ScoreStream implements AutoCloseable {
    private static final ScheduledExecutorService RESTARTS = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "inctrl-stream-restart");
        t.setDaemon(true);
        return t;
    });

    private record Pending(CompletableFuture<ScoreResponse> future, ScoreRequest request) {}

    private final int window;
    private final Prompts defaults;
    private final Function<StreamObserver<ScoreResponse>, StreamObserver<ScoreRequest>> startCall;
    private final RetryPolicy resend;
    private final Semaphore slots;
    private final Map<String, Pending> pending = new LinkedHashMap<>(); // guarded by this; order = submit order
    private final List<ScoreResponse> unmatched = new CopyOnWriteArrayList<>();
    private final CountDownLatch done = new CountDownLatch(1);
    private final AtomicLong ids = new AtomicLong();
    private StreamObserver<ScoreRequest> requests; // guarded by this; null while waiting to restart
    private int generation; // guarded by this; events of replaced calls are ignored
    private int attempt; // guarded by this
    private int restarts; // guarded by this
    private volatile InctrlException failure;
    private volatile boolean ended;
    private boolean halfClosed;
    private boolean cancelled;

    ScoreStream(
            Function<StreamObserver<ScoreResponse>, StreamObserver<ScoreRequest>> startCall,
            int window,
            Prompts defaults,
            RetryPolicy resend) {
        if (window < 1) {
            throw new IllegalArgumentException("window must be >= 1");
        }
        this.window = window;
        this.defaults = defaults;
        this.startCall = startCall;
        this.resend = resend;
        this.slots = new Semaphore(window);
        synchronized (this) {
            this.requests = startCall.apply(new Responses(0));
        }
    }

    /** Receives one call's events; ignores them once that call has been replaced. */
    private final class Responses implements StreamObserver<ScoreResponse> {
        private final int gen;

        Responses(int gen) {
            this.gen = gen;
        }

        @Override
        public void onNext(ScoreResponse r) {
            Pending p;
            synchronized (ScoreStream.this) {
                if (gen != generation) {
                    return;
                }
                attempt = 0; // progress: the next failure starts a fresh resend budget
                p = pending.remove(r.getRequestId());
            }
            if (p == null) {
                unmatched.add(r);
                return;
            }
            slots.release();
            if (r.hasError()) {
                p.future()
                        .completeExceptionally(InctrlException.fromCodeName(
                                r.getError().getCode(), r.getError().getMessage(), r.getRequestId()));
            } else {
                p.future().complete(r);
            }
        }

        @Override
        public void onError(Throwable t) {
            InctrlException err = InctrlException.from(t);
            synchronized (ScoreStream.this) {
                if (gen != generation) {
                    return;
                }
                // UNAVAILABLE, or a cancellation this client did not ask for (a replica shutting down resets its
                // streams)
                boolean resendable =
                        err instanceof InctrlException.Unavailable || err instanceof InctrlException.Cancelled;
                if (resendable && !cancelled && attempt + 1 < resend.maxAttempts()) {
                    attempt++;
                    generation++;
                    requests = null; // submits meanwhile stay pending and go out with the resend
                    RESTARTS.schedule(
                            ScoreStream.this::restart, resend.jittered(attempt).toNanos(), TimeUnit.NANOSECONDS);
                    return;
                }
            }
            finish(err);
        }

        @Override
        public void onCompleted() {
            synchronized (ScoreStream.this) {
                if (gen != generation) {
                    return;
                }
            }
            finish(null);
        }
    }

    /** Opens a new call and resends every unanswered request on it. */
    private void restart() {
        synchronized (this) {
            if (ended) {
                return;
            }
            if (!cancelled) {
                restarts++;
                requests = startCall.apply(new Responses(generation));
                for (Pending p : pending.values()) {
                    requests.onNext(p.request());
                }
                if (halfClosed) {
                    requests.onCompleted();
                }
                return;
            }
        }
        finish(InctrlException.of(Status.Code.CANCELLED, "cancelled by client", "", null));
    }

    private void finish(InctrlException err) {
        List<Pending> left;
        synchronized (this) {
            if (ended) {
                return;
            }
            if (err == null && !pending.isEmpty()) {
                err = InctrlException.of(
                        Status.Code.INTERNAL,
                        "stream ended with " + pending.size() + " request(s) unanswered",
                        "",
                        null);
            }
            failure = err;
            ended = true;
            left = new ArrayList<>(pending.values());
            pending.clear();
        }
        for (Pending p : left) {
            slots.release();
            p.future()
                    .completeExceptionally(InctrlException.of(
                            failure.code(), failure.details(), p.request().getRequestId(), failure));
        }
        done.countDown();
    }

    public int window() {
        return window;
    }

    public synchronized int inFlight() {
        return pending.size();
    }
    /** How many times the stream moved to a new call after UNAVAILABLE. */
    public synchronized int restarts() {
        return restarts;
    }
    /** Responses whose request_id was never sent (or was answered twice). */
    public List<ScoreResponse> unmatched() {
        return List.copyOf(unmatched);
    }
    /** The terminal stream error, or null. */
    public InctrlException failure() {
        return failure;
    }

    /** Sends {@code image} with the stream's default prompts; an empty id gets a generated one. */
    public CompletableFuture<ScoreResponse> submit(String requestId, byte[] image) {
        if (defaults == null) {
            throw new IllegalStateException("stream has no default prompts; use submit(ScoreRequest, Duration)");
        }
        return submit(defaults.request(requestId, image).build(), null);
    }

    /**
     * Sends a fully built request, waiting up to {@code maxWait} (null = forever) for a free slot in the window.
     * The future's request id is the request's, or a generated one when it was empty.
     */
    public CompletableFuture<ScoreResponse> submit(ScoreRequest request, Duration maxWait) {
        ScoreRequest req = request.getRequestId().isEmpty()
                ? request.toBuilder().setRequestId("r" + ids.incrementAndGet()).build()
                : request;
        String id = req.getRequestId();
        synchronized (this) {
            if (failure != null) {
                throw failure;
            }
            if (ended || halfClosed) {
                throw new IllegalStateException("stream is closed");
            }
            if (pending.containsKey(id)) {
                throw new IllegalArgumentException("request_id " + id + " is already in flight");
            }
        }
        long limit = maxWait == null ? Long.MAX_VALUE : System.nanoTime() + maxWait.toNanos();
        try {
            // poll so a stream that breaks while we wait is noticed instead of blocking forever
            while (!slots.tryAcquire(50, TimeUnit.MILLISECONDS)) {
                if (ended) {
                    throw failure != null ? failure : new IllegalStateException("stream is closed");
                }
                if (System.nanoTime() >= limit) {
                    throw InctrlException.of(
                            Status.Code.DEADLINE_EXCEEDED,
                            "no free slot in the in-flight window (" + window + ") within " + maxWait,
                            id,
                            null);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw InctrlException.of(Status.Code.CANCELLED, "interrupted", id, e);
        }
        CompletableFuture<ScoreResponse> f = new CompletableFuture<>();
        synchronized (this) {
            if (ended) {
                slots.release();
                throw failure != null ? failure : new IllegalStateException("stream is closed");
            }
            if (pending.putIfAbsent(id, new Pending(f, req))
                    != null) { // registered before sending: the answer may come at once
                slots.release();
                throw new IllegalArgumentException("request_id " + id + " is already in flight");
            }
            if (requests != null) {
                requests.onNext(req); // StreamObserver is not thread-safe; sends are serialised here
            }
        }
        return f;
    }

    /** Half-closes and waits until every in-flight request is settled; throws the stream's error if it broke. */
    public void close(Duration max) {
        synchronized (this) {
            if (!halfClosed && !ended) {
                halfClosed = true;
                if (requests != null) { // while restarting, the new call is half-closed after the resend
                    requests.onCompleted();
                }
            }
        }
        try {
            if (!done.await(max.toNanos(), TimeUnit.NANOSECONDS)) {
                throw InctrlException.of(
                        Status.Code.DEADLINE_EXCEEDED, "stream did not finish within " + max, "", null);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw InctrlException.of(Status.Code.CANCELLED, "interrupted", "", e);
        }
        if (failure != null && failure.code() != Status.Code.INTERNAL) {
            throw failure;
        }
    }

    @Override
    public void close() {
        close(Duration.ofMinutes(10));
    }

    /** Aborts the stream; in-flight futures fail with {@link InctrlException.Cancelled}. */
    public void cancel() {
        synchronized (this) {
            cancelled = true;
            if (!ended && requests != null) {
                requests.onError(
                        Status.CANCELLED.withDescription("cancelled by client").asRuntimeException());
            }
        }
        finish(InctrlException.of(Status.Code.CANCELLED, "cancelled by client", "", null));
    }
}
