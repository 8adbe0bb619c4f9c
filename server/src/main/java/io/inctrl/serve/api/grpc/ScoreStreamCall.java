package io.inctrl.serve.api.grpc;

import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.inctrl.serve.api.v1.Error;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
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
    private final Queue<ScoreResponse> ready = new ConcurrentLinkedQueue<>();
    private final Set<CompletableFuture<ScoreResult>> running = ConcurrentHashMap.newKeySet();
    private int inFlight;          // guarded by this: pulled requests whose response has not been written yet
    private boolean halfClosed;    // guarded by this
    private boolean finished;      // guarded by this

    ScoreStreamCall(ServerCallStreamObserver<ScoreResponse> out, ScoringService scoring, Executor executor,
                    String tenant, int window, RequestMetrics metrics) {
        this.metrics = metrics;
        this.out = out;
        this.scoring = scoring;
        this.executor = executor;
        this.tenant = tenant;
        this.context = Context.current();
        out.disableAutoRequest();
        out.setOnReadyHandler(this::drain);
        out.setOnCancelHandler(this::cancelAll);
        out.request(window);
    }

    @Override
    public void onNext(ScoreRequest request) {
        PULLED.incrementAndGet();
        metrics.request(tenant, "ScoreStream");
        synchronized (this) {
            inFlight++;
        }
        // preparation (decoding, inline shots) blocks: never on the transport thread
        executor.execute(() -> {
            CompletableFuture<ScoreResult> f;
            try {
                f = scoring.scoreAsync(ScoreMessages.command(request, tenant, context));
            } catch (RuntimeException e) {
                complete(errorResponse(request.getRequestId(), e));
                return;
            }
            running.add(f);
            f.whenComplete((result, error) -> {
                running.remove(f);
                complete(error == null ? ScoreMessages.response(result, request.getOmitMap())
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
        while (out.isReady() && !ready.isEmpty()) {
            out.onNext(ready.poll());
            inFlight--;
            if (!halfClosed) {
                out.request(1);
            }
        }
        if (halfClosed && inFlight == 0 && ready.isEmpty()) {
            finished = true;
            out.onCompleted();
        }
    }

    private void cancelAll() {
        running.forEach(f -> f.cancel(false));
    }

    private ScoreResponse errorResponse(String requestId, Throwable t) {
        StatusRuntimeException s = GrpcErrors.toStatus(t, requestId);
        metrics.error(tenant, "ScoreStream", requestId, s.getStatus());
        return ScoreResponse.newBuilder().setRequestId(requestId)
                .setError(Error.newBuilder().setCode(s.getStatus().getCode().name())
                        .setMessage(String.valueOf(s.getStatus().getDescription())))
                .build();
    }
}
