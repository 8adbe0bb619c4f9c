package io.inctrl.serve.api.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import io.inctrl.serve.api.v1.AddShotsRequest;
import io.inctrl.serve.api.v1.Calibration;
import io.inctrl.serve.api.v1.CreatePromptSetRequest;
import io.inctrl.serve.api.v1.DeletePromptSetRequest;
import io.inctrl.serve.api.v1.DeletePromptSetResponse;
import io.inctrl.serve.api.v1.GetPromptSetRequest;
import io.inctrl.serve.api.v1.ListPromptSetsRequest;
import io.inctrl.serve.api.v1.ListPromptSetsResponse;
import io.inctrl.serve.api.v1.ListRevisionsRequest;
import io.inctrl.serve.api.v1.ListRevisionsResponse;
import io.inctrl.serve.api.v1.PromptRegistry;
import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.api.v1.PromptSetEncoding;
import io.inctrl.serve.api.v1.PromptSetRevision;
import io.inctrl.serve.api.v1.ReencodePromptSetRequest;
import io.inctrl.serve.api.v1.RemoveShotsRequest;
import io.inctrl.serve.api.v1.RollbackPromptSetRequest;
import io.inctrl.serve.api.v1.SetThresholdRequest;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.registry.Encoding;
import io.inctrl.serve.registry.PromptSetDetails;
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

    @Override
    public Uni<PromptSet> createPromptSet(CreatePromptSetRequest r) {
        List<byte[]> shots =
                r.getShotsList().stream().map(ByteString::toByteArray).toList();
        return blocking((o, t) -> toProto(service.register(
                o,
                t,
                new PromptSetService.NewPromptSet(
                        r.getName(),
                        r.getCategory(),
                        r.getTemplateId(),
                        shots,
                        r.getFp16(),
                        r.hasTargetFpr() ? r.getTargetFpr() : null,
                        InspectionMessages.fromProtoForSet(r.getInspection()),
                        r.getModel()))));
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
                r.hasTargetFpr() ? r.getTargetFpr() : null,
                ScoreMessages.choice("", r.getModelVersion()))));
    }

    @Override
    public Uni<PromptSet> reencodePromptSet(ReencodePromptSetRequest r) {
        return blocking(
                (o, t) -> toProto(service.reencode(o, t, r.getId(), ScoreMessages.choice("", r.getModelVersion()))));
    }

    @Override
    public Uni<PromptSet> addShots(AddShotsRequest r) {
        List<byte[]> shots =
                r.getShotsList().stream().map(ByteString::toByteArray).toList();
        return blocking((o, t) -> toProto(service.addShots(o, t, r.getId(), shots, r.getQueryIdsList())));
    }

    @Override
    public Uni<PromptSet> removeShots(RemoveShotsRequest r) {
        return blocking((o, t) -> toProto(service.removeShots(o, t, r.getId(), r.getShotsList())));
    }

    @Override
    public Uni<ListRevisionsResponse> listRevisions(ListRevisionsRequest r) {
        return blocking((o, t) -> {
            ListRevisionsResponse.Builder b = ListRevisionsResponse.newBuilder()
                    .setCurrent(service.get(t, r.getId()).set().revision());
            for (var rev : service.revisions(t, r.getId())) {
                b.addRevisions(PromptSetRevision.newBuilder()
                        .setRevision(rev.revision())
                        .setShotCount(rev.shotCount())
                        .setReason(rev.reason())
                        .setCreatedAt(ts(rev.createdAt())));
            }
            return b.build();
        });
    }

    @Override
    public Uni<PromptSet> rollbackPromptSet(RollbackPromptSetRequest r) {
        return blocking((o, t) -> toProto(service.rollback(o, t, r.getId(), r.getRevision())));
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

    private PromptSet toProto(PromptSetDetails d) {
        var p = d.set();
        PromptSet.Builder b = PromptSet.newBuilder()
                .setId(p.id())
                .setName(p.name())
                .setCategory(p.category())
                .setShotCount(p.shotCount())
                .setTemplateId(p.templateId())
                .setBundleId(d.primary().map(Encoding::bundleId).orElse(""))
                .setStale(d.stale())
                .setVersion(p.version())
                .setCreatedAt(ts(p.createdAt()))
                .setUpdatedAt(ts(p.updatedAt()))
                .setPrecision(p.precision().name())
                .setInspection(InspectionMessages.toProto(p.inspection()))
                .setModel(p.model() == null ? "" : p.model())
                .setRevision(p.revision());
        d.primary().ifPresent(e -> b.setCalibration(calibration(e)));
        for (Encoding e : d.encodings()) {
            PromptSetEncoding.Builder eb = PromptSetEncoding.newBuilder()
                    .setModel(e.model() == null ? "" : e.model())
                    .setModelVersion(e.modelVersion())
                    .setBundleId(e.bundleId())
                    .setEncoder(e.encoder())
                    .setPrecision(e.computePrecision())
                    .setState(e.state().name())
                    .setVersion(e.version())
                    .setUpdatedAt(ts(e.updatedAt()))
                    .setError(e.error() == null ? "" : e.error());
            if (e.calibration() != null) {
                eb.setCalibration(calibration(e));
            }
            b.addEncodings(eb);
        }
        return b.build();
    }

    private static Calibration calibration(Encoding e) {
        var c = e.calibration();
        Calibration.Builder cb = Calibration.newBuilder()
                .addAllShotScores(c.shotScores())
                .setSuggestedThreshold(c.suggestedThreshold() == null ? 0f : c.suggestedThreshold())
                .setThreshold(e.threshold().orElse(0f))
                .setThresholdOverridden(e.thresholdOverride() != null)
                .addAllOutlierShots(c.outlierShots())
                .addAllWarnings(c.warnings());
        if (c.fp16MaxAbsDiff() != null) {
            cb.setFp16MaxAbsDiff(c.fp16MaxAbsDiff());
        }
        if (c.targetFpr() != null) {
            cb.setTargetFpr(c.targetFpr());
        }
        Float expected = c.expectedFprAt(e.threshold().orElse(null));
        if (expected != null) {
            cb.setExpectedFpr(expected);
        }
        if (c.method() != null && c.tail() != null) {
            cb.setMethod(c.method());
        }
        return cb.build();
    }

    private static Timestamp ts(Instant i) {
        return Timestamp.newBuilder()
                .setSeconds(i.getEpochSecond())
                .setNanos(i.getNano())
                .build();
    }
}
