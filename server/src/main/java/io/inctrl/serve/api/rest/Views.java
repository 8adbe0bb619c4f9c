package io.inctrl.serve.api.rest;

import io.inctrl.serve.audit.AuditEntry;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.drift.DriftReport;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.registry.ApiKeyInfo;
import io.inctrl.serve.registry.PromptSet;
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
            String method) {}

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
            String inspectionReason) {
        /** {@code warnings}: about the set on the loaded bundle (not stored; e.g. a template that has no effect). */
        static PromptSetView of(PromptSet p, String currentBundle, List<String> warnings) {
            var c = p.calibration();
            return new PromptSetView(
                    p.id(),
                    p.name(),
                    p.category(),
                    p.templateId(),
                    p.shotCount(),
                    p.precision().name(),
                    p.bundleId(),
                    p.isStale(currentBundle),
                    p.version(),
                    p.createdAt(),
                    p.updatedAt(),
                    new CalibrationView(
                            c.shotScores(),
                            c.suggestedThreshold(),
                            p.threshold().orElse(null),
                            p.thresholdOverride() != null,
                            c.outlierShots(),
                            c.warnings(),
                            c.fp16MaxAbsDiff(),
                            c.targetFpr(),
                            c.expectedFprAt(p.threshold().orElse(null)),
                            c.tail() == null ? null : c.method()),
                    warnings,
                    p.inspection().wireName(),
                    c.inspectionChoice() == null ? null : c.inspectionChoice().reason());
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
            String requestId) {
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
                    withOrigin ? o.requestId() : null);
        }
    }

    /** A page of audit entries; {@code nextPageToken} is empty on the last page. */
    public record AuditPageView(List<AuditEntryView> items, String nextPageToken) {}

    /**
     * Threshold override in [0,1]; null clears it (the suggestion applies again). {@code targetFpr}, when present,
     * becomes the set's target false-positive rate, in (0, 0.5).
     */
    public record ThresholdRequest(Float threshold, Float targetFpr) {}

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
            String bundleId) {
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
                    r.bundleId());
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
