package io.inctrl.serve.api.grpc;

import io.grpc.Context;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.inctrl.serve.api.v1.ModelInfo;
import io.inctrl.serve.api.v1.ModelInfoRequest;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.lifecycle.Drain;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.model.BundleManifest;
import io.inctrl.serve.model.ModelService;
import io.inctrl.serve.scoring.ScoreResult;
import io.inctrl.serve.scoring.ScoringService;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.inject.Inject;
import java.util.concurrent.Executor;

/**
 * gRPC front of the scoring use case: converts messages, moves blocking preparation off the transport threads and
 * applies flow control. Written on grpc-java's observers rather than Mutiny because the Mutiny bridge of this
 * Quarkus version requests unbounded demand in both directions (quarkusio/quarkus#46475).
 */
@GrpcService
public class ScorerGrpcService extends ScorerGrpc.ScorerImplBase {

    @Inject
    ScoringService scoring;

    @Inject
    ModelService model;

    @Inject
    InctrlConfig config;

    @Inject
    RequestMetrics metrics;

    @Inject
    Drain drain;

    private final Executor executor = Infrastructure.getDefaultWorkerPool();

    @Override
    public void score(ScoreRequest request, StreamObserver<ScoreResponse> responses) {
        ServerCallStreamObserver<ScoreResponse> out = (ServerCallStreamObserver<ScoreResponse>) responses;
        String tenant;
        try {
            tenant = GrpcCaller.current().requireTenant();
        } catch (RuntimeException e) {
            out.onError(GrpcStatuses.toStatus(e, "Score"));
            return;
        }
        Context context = Context.current();
        metrics.request(tenant, "Score");
        AsyncUnaryCalls.run(
                out,
                executor,
                () -> scoring.scoreAsync(ScoreMessages.command(request, tenant, context)),
                (result, error) -> reply(out, result, error, request, tenant));
    }

    private void reply(
            ServerCallStreamObserver<ScoreResponse> out,
            ScoreResult result,
            Throwable error,
            ScoreRequest request,
            String tenant) {
        if (out.isCancelled()) {
            return;
        }
        if (error != null) {
            io.grpc.StatusRuntimeException status =
                    GrpcStatuses.toStatus(error, "scoring request " + LogSafe.of(request.getRequestId()));
            metrics.error(tenant, "Score", request.getRequestId(), status.getStatus());
            out.onError(status);
        } else {
            out.onNext(ScoreMessages.response(result, request.getOmitMap()));
            out.onCompleted();
        }
    }

    /** At most {@code inctrl.limits.stream-window} requests of one stream in flight; see {@link ScoreStreamCall}. */
    @Override
    public StreamObserver<ScoreRequest> scoreStream(StreamObserver<ScoreResponse> responses) {
        String tenant;
        try {
            tenant = GrpcCaller.current().requireTenant();
        } catch (RuntimeException e) {
            responses.onError(GrpcStatuses.toStatus(e, "ScoreStream"));
            return new StreamObserver<>() { // the call is closed: ignore whatever the client still sends
                public void onNext(ScoreRequest r) {}

                public void onError(Throwable t) {}

                public void onCompleted() {}
            };
        }
        return new ScoreStreamCall(
                (ServerCallStreamObserver<ScoreResponse>) responses,
                scoring,
                executor,
                tenant,
                config.limits().streamWindow(),
                metrics,
                drain);
    }

    @Override
    public void getModelInfo(ModelInfoRequest request, StreamObserver<ModelInfo> responses) {
        BundleManifest m = model.manifest();
        responses.onNext(ModelInfo.newBuilder()
                .setBundleId(m.bundleId())
                .setKind(m.kind())
                .setArch(m.arch())
                .setRandomWeights(m.weights().random())
                .setWeightsDescription(m.weightsDescription())
                .setMode(m.modeDescription())
                .setImageSize(m.image().size())
                .setMapHeight(m.vision().grid()[0])
                .setMapWidth(m.vision().grid()[1])
                .addAllTappedBlocks(m.vision().tappedBlocks())
                .addAllDevices(model.devices())
                .setPrecision(model.precision().wireName())
                .setManifestJson(model.manifestJson())
                .build());
        responses.onCompleted();
    }
}
