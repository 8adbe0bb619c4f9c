package io.inctrl.serve.api.grpc;

import io.grpc.Context;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.inctrl.serve.api.v1.Error;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.error.ServeErrors;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.lifecycle.Drain;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.scoring.ScoreResult;
import io.inctrl.serve.scoring.ScoringService;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One ScoreStream call with real flow control in both directions. A request is pulled from the transport only when
 * one of {@code window} slots is free, and a slot frees only once its response has been written to a ready
 * transport, so a rig that stops reading stalls its own call at {@code window} requests instead of growing server
 * memory. Responses leave in completion order.
 * <p>
 * When the replica drains, the call stops pulling, answers every request it already pulled, then ends: OK if the
 * client had half-closed, else UNAVAILABLE so the client resends its unanswered ids to another replica. A client
 * cancel drops the call's queued work without counting or logging it as an error.
 */
final class ScoreStreamCall implements StreamObserver<ScoreRequest> {

    /** Requests pulled from transports by all stream calls since start; the slow-consumer test watches it. */
    static final AtomicLong PULLED = new AtomicLong();

    private final ServerCallStreamObserver<ScoreResponse> out;
    private final ScoringService scoring;
    private final Executor executor;
    private final String tenant;
    private final RequestMetrics metrics;
    private final Context context;
    private final Drain drain;
    private final Runnable onDrain = this::drain;
    private final Queue<ScoreResponse> ready = new ConcurrentLinkedQueue<>();
    private final Set<CompletableFuture<ScoreResult>> running = ConcurrentHashMap.newKeySet();
    private int inFlight; // guarded by this: pulled requests whose response has not been written yet
    private boolean halfClosed; // guarded by this
    private boolean finished; // guarded by this

    ScoreStreamCall(
            ServerCallStreamObserver<ScoreResponse> out,
            ScoringService scoring,
            Executor executor,
            String tenant,
            int window,
            RequestMetrics metrics,
            Drain drain) {
        this.metrics = metrics;
        this.out = out;
        this.scoring = scoring;
        this.executor = executor;
        this.tenant = tenant;
        this.context = Context.current();
        this.drain = drain;
        out.disableAutoRequest();
        out.setOnReadyHandler(this::drain);
        out.setOnCancelHandler(this::cancelAll);
        out.request(window);
        drain.onDrain(onDrain);
    }

    @Override
    public void onNext(ScoreRequest request) {
        PULLED.incrementAndGet();
        synchronized (this) {
            if (finished) {
                return; // arrived after a drain closed the call: the client resends it elsewhere
            }
            inFlight++;
        }
        metrics.request(tenant, "ScoreStream");
        // preparation (decoding, inline shots) blocks: never on the transport thread
        executor.execute(() -> {
            if (out.isCancelled()) {
                return; // the client went away while this waited for a thread: no work for nobody
            }
            CompletableFuture<ScoreResult> f;
            try {
                f = scoring.scoreAsync(ScoreMessages.command(request, tenant, context));
            } catch (RuntimeException e) {
                complete(errorResponse(request.getRequestId(), e));
                return;
            }
            running.add(f);
            if (out.isCancelled()) {
                f.cancel(false);
            }
            f.whenComplete((result, error) -> {
                running.remove(f);
                complete(
                        error == null
                                ? ScoreMessages.response(result, request.getOmitMap())
                                : errorResponse(request.getRequestId(), error));
            });
        });
    }

    @Override
    public void onError(Throwable t) {
        cancelAll();
    }

    @Override
    public void onCompleted() {
        synchronized (this) {
            halfClosed = true;
        }
        drain();
    }

    private void complete(ScoreResponse response) {
        ready.add(response);
        drain();
    }

    /** Writes what is ready while the transport accepts it; each write frees a slot, which pulls one request. */
    private synchronized void drain() {
        if (finished || out.isCancelled()) {
            return;
        }
        boolean draining = drain.draining();
        while (out.isReady() && !ready.isEmpty()) {
            out.onNext(ready.poll());
            inFlight--;
            if (!halfClosed && !draining) {
                out.request(1);
            }
        }
        if (inFlight == 0 && ready.isEmpty() && (halfClosed || draining)) {
            finished = true;
            drain.removeListener(onDrain);
            if (halfClosed) {
                out.onCompleted();
            } else {
                out.onError(GrpcStatuses.toStatus(drain.refusal()));
            }
        }
    }

    private void cancelAll() {
        drain.removeListener(onDrain);
        running.forEach(f -> f.cancel(false));
    }

    private ScoreResponse errorResponse(String requestId, Throwable t) {
        ServeException e = ServeErrors.classify(t, "scoring request " + LogSafe.of(requestId));
        metrics.error(tenant, "ScoreStream", requestId, GrpcStatuses.toStatus(e).getStatus());
        Error.Builder error = Error.newBuilder()
                .setCode(e.code().name())
                .setMessage(String.valueOf(e.getMessage()))
                .setReason(e.reason());
        e.retryAfter().ifPresent(d -> error.setRetryAfter(GrpcStatuses.proto(d)));
        return ScoreResponse.newBuilder()
                .setRequestId(requestId)
                .setError(error)
                .build();
    }
}
