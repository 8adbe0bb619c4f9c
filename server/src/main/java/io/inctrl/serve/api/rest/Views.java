package io.inctrl.serve.api.rest;

import io.inctrl.serve.audit.AuditEntry;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.drift.DriftReport;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.registry.ApiKeyInfo;
import io.inctrl.serve.registry.Encoding;
import io.inctrl.serve.registry.PromptSet;
import io.inctrl.serve.registry.PromptSetDetails;
import io.inctrl.serve.registry.PromptSetService;
import io.inctrl.serve.registry.Quotas;
import io.inctrl.serve.registry.TemplateSet;
import io.inctrl.serve.registry.Tenant;
import io.inctrl.serve.security.TenantService;
import java.time.Instant;
import java.util.List;

/** JSON bodies of the REST API. Timestamps are ISO-8601 UTC. */
public final class Views {

    private Views() {}

    /** Quotas; in requests every field is required. */
    public record QuotasView(int maxPromptSets, int maxShotsPerSet, double requestsPerSecond) {
        static QuotasView of(Quotas q) {
            return new QuotasView(q.maxPromptSets(), q.maxShotsPerSet(), q.requestsPerSecond());
        }

        Quotas toQuotas() {
            return new Quotas(maxPromptSets, maxShotsPerSet, requestsPerSecond);
        }
    }

    /** Create a tenant; {@code quotas} may be omitted for the configured defaults. */
    public record TenantRequest(String name, QuotasView quotas) {}

    public record TenantView(String id, String name, QuotasView quotas, Instant createdAt) {
        static TenantView of(Tenant t) {
            return new TenantView(t.id(), t.name(), QuotasView.of(t.quotas()), t.createdAt());
        }
    }

    /** A key without its secret. */
    public record KeyView(String id, String prefix, Instant createdAt, Instant revokedAt, boolean active) {
        static KeyView of(ApiKeyInfo k) {
            return new KeyView(k.id(), k.prefix(), k.createdAt(), k.revokedAt(), k.active());
        }
    }

    /** A newly issued key. {@code key} is shown only in this response; the server keeps its SHA-256 only. */
    public record IssuedKeyView(String id, String prefix, Instant createdAt, String key) {
        static IssuedKeyView of(TenantService.IssuedKey k) {
            return new IssuedKeyView(k.info().id(), k.info().prefix(), k.info().createdAt(), k.secret());
        }
    }

    public record CreatedTenantView(TenantView tenant, IssuedKeyView apiKey) {}

    /** Template set body: every state and template must contain {@code {}}; sentences must fit 77 tokens. */
    public record TemplateRequest(
            String name, List<String> normalStates, List<String> anomalousStates, List<String> templates) {}

    public record TemplateView(
            String id,
            String name,
            List<String> normalStates,
            List<String> anomalousStates,
            List<String> templates,
            long version,
            boolean builtIn,
            Instant createdAt,
            Instant updatedAt) {
        static TemplateView of(TemplateSet t) {
            return new TemplateView(
                    t.id(),
                    t.name(),
                    t.templates().normalStates(),
                    t.templates().anomalousStates(),
                    t.templates().templates(),
                    t.version(),
                    TemplateSet.BUILT_IN_ID.equals(t.id()),
                    t.createdAt(),
                    t.updatedAt());
        }
    }

    /**
     * Calibration of a prompt set: leave-one-out shot scores, suggested threshold, the threshold in force and
     * outlier shots; {@code fp16MaxAbsDiff} is the largest score change fp16 storage caused at registration.
     * {@code targetFpr}: the set's target false-positive rate; {@code expectedFpr}: that of the threshold in force
     * (override included) under the tail fitted to the shot scores; {@code method}: how the suggestion was fitted
     * ({@code logit-t}). The last two are null when K < 2.
     */
    public record CalibrationView(
            List<Float> shotScores,
            Float suggestedThreshold,
            Float threshold,
            boolean thresholdOverridden,
            List<Integer> outlierShots,
            List<String> warnings,
            Float fp16MaxAbsDiff,
            Float targetFpr,
            Float expectedFpr,
            String method) {
        static CalibrationView of(Encoding e) {
            var c = e.calibration();
            return new CalibrationView(
                    c.shotScores(),
                    c.suggestedThreshold(),
                    e.threshold().orElse(null),
                    e.thresholdOverride() != null,
                    c.outlierShots(),
                    c.warnings(),
                    c.fp16MaxAbsDiff(),
                    c.targetFpr(),
                    c.expectedFprAt(e.threshold().orElse(null)),
                    c.tail() == null ? null : c.method());
        }
    }

    /**
     * A prompt set. {@code bundleId}, {@code calibration} and {@code version}-independent fields describe the primary
     * encoding (the serving version's; see PromptSet in registry.proto); {@code encodings} lists every model version's
     * encoding of the current shot revision. {@code warnings}: about the set on the serving version (not stored; e.g. a
     * template that has no effect).
     */
    public record PromptSetView(
            String id,
            String name,
            String category,
            String templateId,
            int shotCount,
            String precision,
            String bundleId,
            boolean stale,
            long version,
            Instant createdAt,
            Instant updatedAt,
            CalibrationView calibration,
            List<String> warnings,
            String inspection,
            String model,
            long revision,
            List<EncodingView> encodings,
            String inspectionReason) {
        static PromptSetView of(PromptSetDetails d, List<String> warnings) {
            PromptSet p = d.set();
            return new PromptSetView(
                    p.id(),
                    p.name(),
                    p.category(),
                    p.templateId(),
                    p.shotCount(),
                    p.precision().name(),
                    d.primary().map(Encoding::bundleId).orElse(null),
                    d.stale(),
                    p.version(),
                    p.createdAt(),
                    p.updatedAt(),
                    d.primary().map(CalibrationView::of).orElse(null),
                    warnings,
                    p.inspection().wireName(),
                    p.model(),
                    p.revision(),
                    d.encodings().stream().map(EncodingView::of).toList(),
                    inspectionReason(d));
        }

        /** Why auto inspection chose the set's mode (from the encoding that chose it); null when a mode was given. */
        private static String inspectionReason(PromptSetDetails d) {
            var choice = io.inctrl.serve.registry.Encodings.choiceOf(d.encodings());
            return choice == null ? null : choice.reason();
        }
    }

    /**
     * One model version's encoding of a set: {@code state} READY, ENCODING (a replica computes it) or FAILED
     * ({@code error}); {@code model}/{@code modelVersion} null/0 for encodings stored before models existed.
     */
    public record EncodingView(
            String model,
            long modelVersion,
            String bundleId,
            String encoder,
            String precision,
            String state,
            CalibrationView calibration,
            long version,
            Instant updatedAt,
            String error) {
        static EncodingView of(Encoding e) {
            return new EncodingView(
                    e.model(),
                    e.modelVersion(),
                    e.bundleId(),
                    e.encoder(),
                    e.computePrecision(),
                    e.state().name(),
                    e.calibration() == null ? null : CalibrationView.of(e),
                    e.version(),
                    e.updatedAt(),
                    e.error());
        }
    }

    public record PageView(List<PromptSetView> items, String nextPageToken) {}

    /** Who made a change: kind admin, key (with its tenant and key id), system or anonymous. */
    public record ActorView(String kind, String tenantId, String keyId) {}

    /**
     * An audit entry. {@code outcome} is {@code ok} or the refusal's reason; {@code remoteAddress} and
     * {@code requestId} are null where the reader may not see them (a tenant reading the admin's changes).
     */
    public record AuditEntryView(
            long id,
            Instant time,
            ActorView actor,
            String tenantId,
            String action,
            String targetId,
            String outcome,
            String remoteAddress,
            String requestId,
            String detail) {
        static AuditEntryView of(AuditEntry e, boolean withOrigin) {
            Origin o = e.origin();
            return new AuditEntryView(
                    e.id(),
                    e.time(),
                    new ActorView(o.actor().code(), o.actorTenantId(), o.actorKeyId()),
                    e.tenantId(),
                    e.action(),
                    e.targetId(),
                    e.outcome(),
                    withOrigin ? o.remoteAddress() : null,
                    withOrigin ? o.requestId() : null,
                    e.detail());
        }
    }

    /** A page of audit entries; {@code nextPageToken} is empty on the last page. */
    public record AuditPageView(List<AuditEntryView> items, String nextPageToken) {}

    /**
     * Threshold override in [0,1] of one model version's encoding ({@code modelVersion}; absent or 0 = the serving
     * version); null clears it (the suggestion applies again). {@code targetFpr}, when present, becomes the set's target
     * false-positive rate, in (0, 0.5), refitting every version's suggestion.
     */
    public record ThresholdRequest(Float threshold, Float targetFpr, Long modelVersion) {}

    /** Shots to remove: 0-based positions in the set's current revision. */
    public record RemoveShotsRequest(List<Integer> shots) {}

    /** The revision to point the set at. */
    public record RollbackRequest(Long revision) {}

    /** One revision of a set's shots; {@code current} marks the one the set points at. */
    public record RevisionView(long revision, int shotCount, String reason, Instant createdAt, boolean current) {}

    /** Bytes a prompt set occupies in the store. */
    public record StorageView(long featureBytes, long imageBytes, int shotCount, long featureBytesPerShot) {}

    /** Score of one image against a prompt set; see ScoreResponse in scoring.proto for the fields. */
    public record ScoreView(
            float score,
            Float sH,
            float sP,
            Float sI,
            Float sA,
            float[] map,
            int mapHeight,
            int mapWidth,
            Float threshold,
            Boolean isAnomalous,
            String bundleId,
            String model,
            long modelVersion,
            String queryId) {
        static ScoreView of(PromptSetService.ScoreResult r) {
            InctrlScores s = r.scores();
            return new ScoreView(
                    s.score(),
                    s.sH(),
                    s.sP(),
                    s.sI(),
                    s.sA(),
                    s.map(),
                    s.mapHeight(),
                    s.mapWidth(),
                    r.threshold().orElse(null),
                    r.anomalous().orElse(null),
                    r.bundleId(),
                    r.servedBy().name(),
                    r.servedBy().version(),
                    r.queryId());
        }
    }

    /**
     * Drift view of a prompt set on the replica that answers (docs/registry.md "Drift watch"). {@code state}:
     * {@code ok}, {@code drift} (then {@code needsNewShots}), {@code insufficient} (fewer than min-samples recent
     * scores), {@code no-baseline} (no calibrated threshold or shot scores), {@code no-data} (not scored on this replica
     * since the set last changed), {@code disabled}. Test fields are null where the test cannot be made.
     */
    public record DriftView(
            String promptSetId,
            String state,
            boolean needsNewShots,
            String reason,
            long version,
            int samples,
            int window,
            long observed,
            Float threshold,
            Float expectedFpr,
            Double toleratedFpr,
            Integer exceedances,
            Double exceedanceShare,
            Double exceedancePValue,
            boolean exceedanceSignal,
            int shotScoreCount,
            Float shotScoreMedian,
            Float recentMedian,
            Float recentP90,
            Double probAboveShots,
            Double scorePValue,
            boolean scoreSignal) {

        static DriftView of(String id, DriftReport r) {
            return new DriftView(
                    id,
                    r.state().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'),
                    r.needsNewShots(),
                    r.reason(),
                    r.version(),
                    r.samples(),
                    r.window(),
                    r.observed(),
                    r.threshold(),
                    r.expectedFpr(),
                    r.toleratedFpr(),
                    r.exceedances(),
                    r.exceedanceShare(),
                    r.exceedancePValue(),
                    r.exceedanceSignal(),
                    r.shotScoreCount(),
                    r.shotScoreMedian(),
                    r.recentMedian(),
                    r.recentP90(),
                    r.probAboveShots(),
                    r.scorePValue(),
                    r.scoreSignal());
        }

        static DriftView empty(String id, String state, long version, String reason) {
            return new DriftView(
                    id, state, false, reason, version, 0, 0, 0, null, null, null, null, null, null, false, 0, null,
                    null, null, null, null, false);
        }
    }
}
