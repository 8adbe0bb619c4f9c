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
 * never resent, and each future completes once: every id is reported exactly once. A failure with the server's retry
 * hint (google.rpc.RetryInfo) is resent the same way, after that hint. Any other failure (or an exhausted budget)
 * fails every in-flight future.
 *
 * <p>A request answered with an {@code Error} that carries {@code retry_after} (QUEUE_FULL, RATE_LIMITED, ...) is
 * resent after that delay, at most {@code resend.maxAttempts() - 1} times; one without it fails its future at once.
 * So that a resend always has a call to go on, the call is half-closed only once every request is settled.
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
    private final Map<String, Integer> resent = new java.util.HashMap<>(); // guarded by this: resends per id
    private final List<ScoreResponse> unmatched = new CopyOnWriteArrayList<>();
    private final CountDownLatch done = new CountDownLatch(1);
    private final AtomicLong ids = new AtomicLong();
    private StreamObserver<ScoreRequest> requests; // guarded by this; null while waiting to restart
    private int generation; // guarded by this; events of replaced calls are ignored
    private int attempt; // guarded by this
    private int restarts; // guarded by this
    private volatile InctrlException failure;
    private volatile boolean ended;
    private boolean halfClosed; // the caller closed the stream: no more submits
    private boolean callHalfClosed; // guarded by this: the current call was half-closed (all requests settled)
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
            InctrlException error =
                    r.hasError() ? InctrlException.fromStreamError(r.getError(), r.getRequestId()) : null;
            synchronized (ScoreStream.this) {
                if (gen != generation) {
                    return;
                }
                attempt = 0; // progress: the next failure starts a fresh resend budget
                String id = r.getRequestId();
                if (error != null && error.retryAfter().isPresent() && !cancelled && pending.containsKey(id)) {
                    int n = resent.getOrDefault(id, 0);
                    if (n + 1 < resend.maxAttempts()) { // the server said waiting helps: resend after its hint
                        resent.put(id, n + 1);
                        RESTARTS.schedule(
                                () -> resendOne(id), error.retryAfter().get().toNanos(), TimeUnit.NANOSECONDS);
                        return;
                    }
                }
                p = pending.remove(id);
                resent.remove(id);
            }
            if (p == null) {
                unmatched.add(r);
                return;
            }
            slots.release();
            if (error != null) {
                p.future().completeExceptionally(error);
            } else {
                p.future().complete(r);
            }
            halfCloseWhenSettled();
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
                // streams; or any failure with the server's retry hint (e.g. RATE_LIMITED when the call opened)
                boolean resendable = err instanceof InctrlException.Unavailable
                        || err instanceof InctrlException.Cancelled
                        || err.retryAfter().isPresent();
                if (resendable && !cancelled && attempt + 1 < resend.maxAttempts()) {
                    attempt++;
                    generation++;
                    requests = null; // submits meanwhile stay pending and go out with the resend
                    long wait = Math.max(
                            resend.jittered(attempt).toNanos(),
                            err.retryAfter().map(Duration::toNanos).orElse(0L));
                    RESTARTS.schedule(ScoreStream.this::restart, wait, TimeUnit.NANOSECONDS);
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
                callHalfClosed = false;
                requests = startCall.apply(new Responses(generation));
                for (Pending p : pending.values()) {
                    requests.onNext(p.request());
                }
                if (halfClosed && pending.isEmpty()) {
                    callHalfClosed = true;
                    requests.onCompleted();
                }
                return;
            }
        }
        finish(InctrlException.of(Status.Code.CANCELLED, "cancelled by client", "", null));
    }

    /** Sends one request again on the current call (a restart in progress resends it anyway). */
    private void resendOne(String id) {
        synchronized (this) {
            Pending p = pending.get(id);
            if (ended || p == null || requests == null) {
                return;
            }
            requests.onNext(p.request());
        }
    }

    /** Half-closes the current call once the caller closed the stream and every request is settled. */
    private void halfCloseWhenSettled() {
        synchronized (this) {
            if (halfClosed && !callHalfClosed && pending.isEmpty() && requests != null && !ended) {
                callHalfClosed = true;
                requests.onCompleted();
            }
        }
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
            p.future().completeExceptionally(failure.forRequest(p.request().getRequestId()));
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
            }
        }
        // the call itself is half-closed once every request is settled (a request may still be resent on it)
        halfCloseWhenSettled();
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
