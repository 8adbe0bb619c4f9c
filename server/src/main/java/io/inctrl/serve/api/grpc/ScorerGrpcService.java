package io.inctrl.serve.api.grpc;

import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import io.inctrl.serve.api.v1.Error;
import io.inctrl.serve.api.v1.ModelInfo;
import io.inctrl.serve.api.v1.ModelInfoRequest;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.Scorer;
import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.model.BundleManifest;
import io.inctrl.serve.model.ModelService;
import io.inctrl.serve.scoring.ScoreCommand;
import io.inctrl.serve.scoring.ScoringService;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;

/** gRPC front of the scoring use case: converts messages and moves the blocking work off the event loop. */
@GrpcService
public class ScorerGrpcService implements Scorer {

    @Inject
    ScoringService scoring;

    @Inject
    ModelService model;

    @Inject
    InctrlConfig config;

    @Override
    public Uni<ScoreResponse> score(ScoreRequest request) {
        ScoreCommand cmd = ScoreMessages.command(request, TenantAccess.current(), Context.current());
        return Uni.createFrom().item(() -> ScoreMessages.response(scoring.score(cmd), request.getOmitMap()))
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                .onFailure().transform(t -> GrpcErrors.toStatus(t, request.getRequestId()));
    }

    /**
     * At most {@code inctrl.limits.stream-window} requests of one stream are in flight; merge() requests more from
     * the transport only as results complete. Results are emitted in completion order; a failed request yields a
     * response carrying {@code error} and the stream goes on.
     */
    @Override
    public Multi<ScoreResponse> scoreStream(Multi<ScoreRequest> requests) {
        String tenant = TenantAccess.current();
        Context context = Context.current();
        return requests.onItem().transformToUni(r -> scoreOne(r, tenant, context))
                .merge(config.limits().streamWindow());
    }

    private Uni<ScoreResponse> scoreOne(ScoreRequest r, String tenant, Context context) {
        return Uni.createFrom().item(() -> ScoreMessages.response(scoring.score(ScoreMessages.command(r, tenant, context)),
                        r.getOmitMap()))
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                .onFailure().recoverWithItem(t -> {
                    StatusRuntimeException s = GrpcErrors.toStatus(t, r.getRequestId());
                    return ScoreResponse.newBuilder().setRequestId(r.getRequestId())
                            .setError(Error.newBuilder().setCode(s.getStatus().getCode().name())
                                    .setMessage(String.valueOf(s.getStatus().getDescription())))
                            .build();
                });
    }

    @Override
    public Uni<ModelInfo> getModelInfo(ModelInfoRequest request) {
        BundleManifest m = model.manifest();
        ModelInfo.Builder b = ModelInfo.newBuilder()
                .setBundleId(m.bundleId())
                .setKind(m.kind())
                .setArch(m.arch())
                .setRandomWeights(m.weights().random())
                .setWeightsDescription(m.weightsDescription())
                .setImageSize(m.image().size())
                .setMapHeight(m.vision().grid()[0])
                .setMapWidth(m.vision().grid()[1])
                .addAllTappedBlocks(m.vision().tappedBlocks())
                .addAllDevices(model.devices());
        try {
            b.setManifestJson(Files.readString(Paths.get(config.model().bundle()).resolve("manifest.json")));
        } catch (IOException e) {
            b.setManifestJson("");
        }
        return Uni.createFrom().item(b.build());
    }
}
