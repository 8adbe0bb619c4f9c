package io.inctrl.serve.api.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.inctrl.serve.api.v1.Calibration;
import io.inctrl.serve.api.v1.CreatePromptSetRequest;
import io.inctrl.serve.api.v1.DeletePromptSetRequest;
import io.inctrl.serve.api.v1.DeletePromptSetResponse;
import io.inctrl.serve.api.v1.GetPromptSetRequest;
import io.inctrl.serve.api.v1.ListPromptSetsRequest;
import io.inctrl.serve.api.v1.ListPromptSetsResponse;
import io.inctrl.serve.api.v1.PromptRegistry;
import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.api.v1.ReencodePromptSetRequest;
import io.inctrl.serve.api.v1.SetThresholdRequest;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.registry.ModelPort;
import io.inctrl.serve.registry.PromptSetService;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.List;
import java.util.function.BiFunction;

/**
 * gRPC prompt registry for rigs. Converts proto ↔ domain only; the tenant comes from the interceptor's context and
 * the store/encoder work runs on a worker thread, never on the event loop.
 */
@GrpcService
public class PromptRegistryGrpcService implements PromptRegistry {

    @Inject
    PromptSetService service;

    @Inject
    ModelPort model;

    @Override
    public Uni<PromptSet> createPromptSet(CreatePromptSetRequest r) {
        List<byte[]> shots =
                r.getShotsList().stream().map(ByteString::toByteArray).toList();
        return blocking((o, t) -> toProto(service.register(
                o,
                t,
                r.getName(),
                r.getCategory(),
                r.getTemplateId(),
                shots,
                r.getFp16(),
                r.hasTargetFpr() ? r.getTargetFpr() : null,
                InspectionMessages.fromProtoForSet(r.getInspection()))));
    }

    @Override
    public Uni<PromptSet> getPromptSet(GetPromptSetRequest r) {
        return blocking((o, t) -> toProto(service.get(t, r.getId())));
    }

    @Override
    public Uni<ListPromptSetsResponse> listPromptSets(ListPromptSetsRequest r) {
        return blocking((o, t) -> {
            PromptSetService.Page page = service.list(t, r.getPageSize(), r.getPageToken());
            ListPromptSetsResponse.Builder b =
                    ListPromptSetsResponse.newBuilder().setNextPageToken(page.nextPageToken());
            page.items().forEach(p -> b.addPromptSets(toProto(p)));
            return b.build();
        });
    }

    @Override
    public Uni<DeletePromptSetResponse> deletePromptSet(DeletePromptSetRequest r) {
        return blocking((o, t) -> {
            service.delete(o, t, r.getId());
            return DeletePromptSetResponse.getDefaultInstance();
        });
    }

    @Override
    public Uni<PromptSet> setThreshold(SetThresholdRequest r) {
        return blocking((o, t) -> toProto(service.setThreshold(
                o,
                t,
                r.getId(),
                r.hasThreshold() ? r.getThreshold() : null,
                r.hasTargetFpr() ? r.getTargetFpr() : null)));
    }

    @Override
    public Uni<PromptSet> reencodePromptSet(ReencodePromptSetRequest r) {
        return blocking((o, t) -> toProto(service.reencode(o, t, r.getId())));
    }

    /**
     * Reads the tenant and the caller's origin (for the audit log) on the calling thread (the gRPC Context lives
     * there), then runs the work on a worker.
     */
    private <T> Uni<T> blocking(BiFunction<Origin, String, T> work) {
        String tenant;
        Origin origin;
        try {
            tenant = GrpcCaller.current().requireTenant();
            origin = GrpcCaller.origin();
        } catch (RuntimeException e) {
            return Uni.createFrom().failure(GrpcStatuses.toStatus(e, "registry call"));
        }
        return Uni.createFrom()
                .item(() -> work.apply(origin, tenant))
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                .onFailure()
                .transform(e -> GrpcStatuses.toStatus(e, "registry call"));
    }

    private PromptSet toProto(io.inctrl.serve.registry.PromptSet p) {
        var c = p.calibration();
        Calibration.Builder cb = Calibration.newBuilder()
                .addAllShotScores(c.shotScores())
                .setSuggestedThreshold(c.suggestedThreshold() == null ? 0f : c.suggestedThreshold())
                .setThreshold(p.threshold().orElse(0f))
                .setThresholdOverridden(p.thresholdOverride() != null)
                .addAllOutlierShots(c.outlierShots())
                .addAllWarnings(c.warnings());
        if (c.fp16MaxAbsDiff() != null) {
            cb.setFp16MaxAbsDiff(c.fp16MaxAbsDiff());
        }
        if (c.targetFpr() != null) {
            cb.setTargetFpr(c.targetFpr());
        }
        Float expected = c.expectedFprAt(p.threshold().orElse(null));
        if (expected != null) {
            cb.setExpectedFpr(expected);
        }
        if (c.method() != null && c.tail() != null) {
            cb.setMethod(c.method());
        }
        return PromptSet.newBuilder()
                .setId(p.id())
                .setName(p.name())
                .setCategory(p.category())
                .setShotCount(p.shotCount())
                .setTemplateId(p.templateId())
                .setBundleId(p.bundleId())
                .setStale(p.isStale(model.bundleId()))
                .setVersion(p.version())
                .setCreatedAt(ts(p.createdAt()))
                .setUpdatedAt(ts(p.updatedAt()))
                .setCalibration(cb)
                .setPrecision(p.precision().name())
                .setInspection(InspectionMessages.toProto(p.inspection()))
                .build();
    }

    private static Timestamp ts(Instant i) {
        return Timestamp.newBuilder()
                .setSeconds(i.getEpochSecond())
                .setNanos(i.getNano())
                .build();
    }
}
