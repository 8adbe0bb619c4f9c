package io.inctrl.serve.registry;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.inctrl.serve.audit.AuditAction;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.image.ImageNotes;
import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.models.ModelChoice;
import io.inctrl.serve.models.ModelRef;
import io.inctrl.serve.models.ModelsConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import org.jboss.logging.Logger;

/**
 * The prompt registry's use cases. Every method takes the caller's tenant id first; objects of other tenants are
 * indistinguishable from missing ones. A set belongs to a model; each version of that model encodes it once
 * ({@link Encodings}) and keeps its own calibration, threshold override and version beside the others'. Encoding
 * happens at registration (for the serving version), in the background or on a first request (for other versions),
 * and on explicit re-encoding; {@link #resolve} otherwise serves features and text prior from the caches or the
 * store. Changes are audited with the caller's {@link Origin} ({@link AuditTrail}).
 */
@ApplicationScoped
public class PromptSetService {

    private static final Logger LOG = Logger.getLogger(PromptSetService.class);
    public static final int MAX_PAGE_SIZE = 500;
    /** How often one replica records that a set was used (it orders background encoding, so minutes are enough). */
    private static final Duration USE_RECORD_INTERVAL = Duration.ofMinutes(1);

    @Inject
    Store store;

    @Inject
    PromptSetRepository sets;

    @Inject
    EncodingRepository encodingRows;

    @Inject
    TenantRepository tenants;

    @Inject
    TemplateService templateService;

    @Inject
    ModelPort model;

    @Inject
    FeatureCache featureCache;

    @Inject
    Calibrator calibrator;

    @Inject
    PromptSetEncoder encoder;

    @Inject
    Encodings encodings;

    @Inject
    RegistryConfig config;

    @Inject
    ModelsConfig modelsConfig;

    /** The server-wide limits (inctrl.limits.*): max-shots and max-image-bytes apply to prompt sets as to scoring. */
    @Inject
    InctrlConfig limits;

    @Inject
    RegistryCounters counters;

    @Inject
    AuditTrail audit;

    @Inject
    RecentQueries recentQueries;

    @Inject
    AutoInspection autoInspection;

    @Inject
    io.inctrl.serve.drift.DriftWatch drift;

    /** Tells the background encoder that a set needs encodings on the other loaded versions. */
    @Inject
    Event<PromptSetChanged> changes;

    /** Records of recent use run here, off the request path. */
    Executor background = ForkJoinPool.commonPool();

    private record Meta(PromptSet set, TemplateSet template, Map<String, Encoding> encodings, long readAtNanos) {}

    /** Last metadata read per tenant/set, used only while the store is unreachable (inctrl.registry.outage-grace). */
    private final Cache<String, Meta> lastKnown =
            Caffeine.newBuilder().maximumSize(100_000).build();

    /** Sets whose use this replica recorded within {@link #USE_RECORD_INTERVAL}. */
    private final Cache<String, Boolean> recentlyUsed = Caffeine.newBuilder()
            .maximumSize(100_000)
            .expireAfterWrite(USE_RECORD_INTERVAL)
            .build();

    public record Page(List<PromptSetDetails> items, String nextPageToken) {}

    /** What a tenant registers. {@code model} empty = the default model; {@code targetFpr} null = the server default. */
    public record NewPromptSet(
            String name,
            String category,
            String templateId,
            List<byte[]> shots,
            boolean fp16,
            Float targetFpr,
            Inspection inspection,
            String model) {
        public NewPromptSet {
            inspection = inspection == null ? Inspection.AUTO : inspection;
            shots = shots == null ? List.of() : shots;
        }
    }

    /** A score against a registered set, with the verdict when the set has a threshold. */
    public record ScoreResult(
            io.inctrl.serve.model.InctrlScores scores,
            Optional<Float> threshold,
            Optional<Boolean> anomalous,
            String bundleId,
            ModelRef servedBy,
            String queryId) {}

    /** A change that other model versions may need to encode. */
    public record PromptSetChanged(String setId) {}

    /**
     * Validates, encodes once with the serving version of the set's model and stores atomically: all shots, features
     * and calibration, or nothing. The model's other loaded versions encode it in the background.
     */
    public PromptSetDetails register(Origin origin, String tenantId, NewPromptSet n) {
        return audit.attempt(
                origin, AuditAction.PROMPT_SET_CREATE, tenantId, null, () -> registerAudited(origin, tenantId, n));
    }

    private PromptSetDetails registerAudited(Origin origin, String tenantId, NewPromptSet n) {
        String name = Names.check(n.name());
        String cat = checkCategory(n.category());
        checkTargetFpr(n.targetFpr());
        float target = n.targetFpr() == null ? calibrator.defaultTargetFpr() : n.targetFpr();
        checkShots(n.shots());
        String modelName = n.model() == null || n.model().isBlank()
                ? model.defaultModel()
                : n.model().strip();
        // the model must exist here (NOT_FOUND otherwise) before anything is encoded
        ModelVersionPort v = model.serving(modelName)
                .orElseGet(() -> model.candidates(ModelChoice.of(modelName, 0)).get(0));
        // Cheap checks first, before the expensive encoding.
        TemplateSet template = store.tx(c -> {
            Tenant t = tenant(c, tenantId);
            checkQuotas(c, t, name, n.shots().size());
            return templateService.resolve(c, tenantId, n.templateId());
        });
        templateService.checkSentences(template.templates(), cat);

        Precision precision = n.fp16() ? Precision.FP16 : Precision.FP32;
        Inspection inspection = n.inspection();
        io.inctrl.serve.image.InspectionChoice choice = null;
        if (!inspection.concrete()) { // auto: chosen once, from the shots; the set stores the concrete mode
            choice = autoInspection.choose(v, n.shots(), v.textPrior(template.templates(), cat));
            inspection = choice.mode();
        }
        PromptSetEncoder.Encoded enc =
                encoder.encode(v, n.shots(), inspection, template, cat, precision, target, choice);
        Instant now = Store.now();
        PromptSet p = new PromptSet(
                UUID.randomUUID().toString(),
                tenantId,
                name,
                cat,
                template.id(),
                n.shots().size(),
                precision,
                modelName,
                1,
                n.targetFpr(),
                1,
                now,
                now,
                inspection);
        EncodingRepository.Encoder who = Encodings.encoderOf(v);
        store.tx(c -> {
            checkQuotas(c, tenant(c, tenantId), name, n.shots().size()); // again: another registration may have won
            sets.insert(c, p);
            List<Integer> idx = sets.insertShots(c, p.id(), 0, n.shots());
            sets.insertRevision(c, p.id(), p.revision(), idx, "created", now);
            encodingRows.insertReady(c, p.id(), p.revision(), who, template.version(), enc.calibration(), now);
            encodingRows.replaceFeatures(c, p.id(), p.revision(), who.encoder(), enc.parts());
            audit.recordChange(c, origin, AuditAction.PROMPT_SET_CREATE, tenantId, p.id(), Encodings.detail(v, p));
            return null;
        });
        featureCache.put(new FeatureCache.Key(p.id(), p.revision(), who.encoder()), 1, enc.stored());
        LOG.infof(
                "registered prompt set %s (tenant %s, K=%d, %s, %s)",
                p.id(), tenantId, n.shots().size(), precision, v.ref());
        changes.fire(new PromptSetChanged(p.id()));
        return details(tenantId, p.id());
    }

    public PromptSetDetails get(String tenantId, String id) {
        return details(tenantId, id);
    }

    public Page list(String tenantId, int pageSize, String pageToken) {
        int size = pageSize <= 0 ? 50 : Math.min(pageSize, MAX_PAGE_SIZE);
        int offset = decodeToken(pageToken);
        record Row(PromptSet set, List<Encoding> encodings) {}
        List<Row> rows = store.tx(c -> {
            List<Row> out = new ArrayList<>();
            for (PromptSet p : sets.list(c, tenantId, offset, size + 1)) {
                out.add(new Row(p, encodingRows.list(c, p.id(), p.revision())));
            }
            return out;
        });
        String next = "";
        if (rows.size() > size) {
            rows = rows.subList(0, size);
            next = Base64.getUrlEncoder()
                    .withoutPadding()
                    .encodeToString(Integer.toString(offset + size).getBytes(StandardCharsets.US_ASCII));
        }
        return new Page(rows.stream().map(r -> details(r.set(), r.encodings())).toList(), next);
    }

    public void delete(Origin origin, String tenantId, String id) {
        audit.attempt(origin, AuditAction.PROMPT_SET_DELETE, tenantId, id, () -> {
            boolean deleted = store.tx(c -> {
                boolean d = sets.delete(c, tenantId, id);
                if (d) {
                    audit.recordChange(c, origin, AuditAction.PROMPT_SET_DELETE, tenantId, id);
                }
                return d;
            });
            featureCache.invalidate(id);
            drift.forget(tenantId, id);
            if (!deleted) {
                throw ServeException.notFound("prompt set", id);
            }
            return null;
        });
    }

    /**
     * Adds shots to a set: uploaded images and/or queries scored against it recently, confirmed as normal by their
     * query id (no second upload). The set gets a new revision of its shots (the old one stays, for roll-back), encoded
     * and calibrated now by the serving version of its model; the model's other versions encode it in the background.
     */
    public PromptSetDetails addShots(
            Origin origin, String tenantId, String id, List<byte[]> images, List<String> confirmedQueryIds) {
        return audit.attempt(origin, AuditAction.PROMPT_SET_SHOTS_ADD, tenantId, id, () -> {
            List<byte[]> added = new ArrayList<>(images == null ? List.of() : images);
            for (String q : confirmedQueryIds == null ? List.<String>of() : confirmedQueryIds) {
                added.add(recentQueries
                        .find(tenantId, id, q)
                        .orElseThrow(() -> new ServeException(
                                Reason.QUERY_NOT_RETAINED,
                                "query '" + LogSafe.of(q) + "' of prompt set '" + id + "' is not kept (any more) "
                                        + "on this replica: queries are kept for "
                                        + config.recentQueries().ttl() + " where they were scored; upload the image"))
                        .image());
            }
            if (added.isEmpty()) {
                throw ServeException.invalid(Reason.NO_SHOTS, "name images or scored queries to add (at least one)");
            }
            if (added.size() > limits.limits().maxShots()) {
                throw ServeException.invalid(
                        Reason.TOO_MANY_SHOTS,
                        added.size() + " shots in one call exceed the limit of "
                                + limits.limits().maxShots() + " (inctrl.limits.max-shots); add them in several calls");
            }
            IntStream.range(0, added.size()).forEach(i -> checkImage(i, added.get(i)));
            return newRevision(
                    origin,
                    tenantId,
                    id,
                    "shots-added",
                    AuditAction.PROMPT_SET_SHOTS_ADD,
                    n -> IntStream.range(0, n).boxed().toList(),
                    added);
        });
    }

    /** Removes shots (0-based positions in the current revision); the set gets a new revision, encoded as above. */
    public PromptSetDetails removeShots(Origin origin, String tenantId, String id, List<Integer> positions) {
        return audit.attempt(origin, AuditAction.PROMPT_SET_SHOTS_REMOVE, tenantId, id, () -> {
            if (positions == null || positions.isEmpty()) {
                throw ServeException.invalid(Reason.NO_SHOTS, "name the shots to remove (0-based positions)");
            }
            java.util.Set<Integer> drop = new java.util.TreeSet<>(positions);
            return newRevision(
                    origin,
                    tenantId,
                    id,
                    "shots-removed",
                    AuditAction.PROMPT_SET_SHOTS_REMOVE,
                    n -> {
                        for (int pos : drop) {
                            if (pos < 0 || pos >= n) {
                                throw ServeException.invalid(
                                        Reason.INVALID_SHOT,
                                        ImageNotes.shot(pos) + " does not exist: the set has " + n + " shots");
                            }
                        }
                        if (drop.size() == n) {
                            throw ServeException.invalid(Reason.NO_SHOTS, "a prompt set keeps at least one shot");
                        }
                        return IntStream.range(0, n)
                                .filter(i -> !drop.contains(i))
                                .boxed()
                                .toList();
                    },
                    List.of());
        });
    }

    /**
     * Revision max+1 of a set: the current revision's shots at positions {@code keep} (0-based, in order) followed by
     * {@code added} images, encoded and calibrated by the serving version outside any transaction, then written in one
     * (shots, revision, encoding, the set pointing at it), checked against a concurrent change of the set's shots.
     */
    private PromptSetDetails newRevision(
            Origin origin,
            String tenantId,
            String id,
            String reason,
            AuditAction action,
            java.util.function.IntFunction<List<Integer>> keep,
            List<byte[]> added) {
        record Current(PromptSet set, List<byte[]> shots, TemplateSet template, long revision, Encoding choiceSource) {}
        Current cur = store.tx(c -> {
            PromptSet p = find(c, tenantId, id);
            List<byte[]> shots = sets.shots(c, id, p.revision());
            int after = shots.size() + added.size();
            int cap =
                    Math.min(config.maxSetShots(), tenant(c, tenantId).quotas().maxShotsPerSet());
            if (!added.isEmpty() && after > cap) {
                throw ServeException.invalid(
                        Reason.TOO_MANY_SHOTS,
                        "the set would have " + after + " shots, more than the limit of " + cap
                                + " (the tenant's maxShotsPerSet, at most inctrl.registry.max-set-shots)");
            }
            long next = sets.revisions(c, id).stream()
                            .mapToLong(PromptSetRepository.Revision::revision)
                            .max()
                            .orElse(0)
                    + 1;
            Encoding withChoice = encodingRows.list(c, id, p.revision()).stream()
                    .filter(e -> e.calibration() != null && e.calibration().inspectionChoice() != null)
                    .findFirst()
                    .orElse(null);
            return new Current(p, shots, templateService.resolve(c, tenantId, p.templateId()), next, withChoice);
        });
        PromptSet p = cur.set();
        List<Integer> kept = keep.apply(cur.shots().size());
        List<byte[]> shots = new ArrayList<>();
        kept.forEach(i -> shots.add(cur.shots().get(i)));
        shots.addAll(added);
        ModelVersionPort v = servingOrNamed(p, ModelChoice.ANY);
        float target = p.targetFpr() == null ? calibrator.defaultTargetFpr() : p.targetFpr();
        PromptSetEncoder.Encoded enc = encoder.encode(
                v,
                shots,
                p.inspection(),
                cur.template(),
                p.category(),
                p.precision(),
                target,
                cur.choiceSource() == null
                        ? null
                        : cur.choiceSource().calibration().inspectionChoice());
        EncodingRepository.Encoder who = Encodings.encoderOf(v);
        long revision = cur.revision();
        Encoding written = store.tx(c -> {
            if (find(c, tenantId, id).revision() != p.revision()) {
                throw new ServeException(Reason.CONCURRENT_CHANGE, "the set's shots changed meanwhile; retry");
            }
            List<Integer> currentIdx = sets.revisionShots(c, id, p.revision());
            List<Integer> idx = new ArrayList<>();
            kept.forEach(i -> idx.add(currentIdx.get(i)));
            idx.addAll(sets.insertShots(c, id, sets.maxShotIdx(c, id) + 1, added));
            Instant now = Store.now();
            sets.insertRevision(c, id, revision, idx, reason, now);
            encodingRows.insertReady(c, id, revision, who, cur.template().version(), enc.calibration(), now);
            encodingRows.replaceFeatures(c, id, revision, who.encoder(), enc.parts());
            sets.setRevision(c, tenantId, id, revision, idx.size(), now);
            audit.recordChange(
                    c,
                    origin,
                    action,
                    tenantId,
                    id,
                    "revision=" + revision + " shots=" + idx.size() + " " + Encodings.detail(v, p));
            return encodingRows.find(c, id, revision, who.encoder()).orElseThrow();
        });
        featureCache.put(new FeatureCache.Key(id, revision, who.encoder()), written.version(), enc.stored());
        LOG.infof(
                "prompt set %s: revision %d (%s, %d shots) encoded by %s", id, revision, reason, shots.size(), v.ref());
        changes.fire(new PromptSetChanged(id));
        return details(tenantId, id);
    }

    /** The revisions of a set's shots, oldest first. */
    public List<PromptSetRepository.Revision> revisions(String tenantId, String id) {
        return store.tx(c -> {
            find(c, tenantId, id);
            return sets.revisions(c, id);
        });
    }

    /**
     * Points the set at an earlier (or later) revision of its shots again. Its encodings by every version that encoded
     * that revision are still stored, so it scores exactly as it did (bit for bit); versions that had not encoded it
     * encode it in the background.
     */
    public PromptSetDetails rollback(Origin origin, String tenantId, String id, long revision) {
        audit.attempt(
                origin,
                AuditAction.PROMPT_SET_ROLLBACK,
                tenantId,
                id,
                () -> store.tx(c -> {
                    find(c, tenantId, id);
                    PromptSetRepository.Revision r = sets.revisions(c, id).stream()
                            .filter(x -> x.revision() == revision)
                            .findFirst()
                            .orElseThrow(() -> new ServeException(
                                    Reason.REVISION_NOT_FOUND, "prompt set '" + id + "' has no revision " + revision));
                    sets.setRevision(c, tenantId, id, revision, r.shotCount(), Store.now());
                    audit.recordChange(
                            c, origin, AuditAction.PROMPT_SET_ROLLBACK, tenantId, id, "revision=" + revision);
                    return null;
                }));
        changes.fire(new PromptSetChanged(id));
        return details(tenantId, id);
    }

    /** Sets (or with null clears) the operator threshold of the serving version's encoding. */
    public PromptSetDetails setThreshold(Origin origin, String tenantId, String id, Float threshold) {
        return setThreshold(origin, tenantId, id, threshold, null, ModelChoice.ANY);
    }

    /** As above, also changing the set's target false-positive rate when {@code targetFpr} is not null. */
    public PromptSetDetails setThreshold(Origin origin, String tenantId, String id, Float threshold, Float targetFpr) {
        return setThreshold(origin, tenantId, id, threshold, targetFpr, ModelChoice.ANY);
    }

    /** The decision threshold of a set for requests naming no version (override, else suggestion); may be empty. */
    public Optional<Float> threshold(String tenantId, String id) {
        return get(tenantId, id).threshold();
    }

    /**
     * Sets (or with null clears) the operator threshold of one version's encoding ({@code version}: a model version,
     * or none for the serving version of the set's model) and, when {@code targetFpr} is not null, changes the set's
     * target false-positive rate: every version's suggestion is refitted from its stored shot scores (no re-encoding).
     * Other versions' overrides are left alone: scores of two models are not comparable.
     */
    public PromptSetDetails setThreshold(
            Origin origin, String tenantId, String id, Float threshold, Float targetFpr, ModelChoice version) {
        audit.attempt(origin, AuditAction.PROMPT_SET_THRESHOLD, tenantId, id, () -> {
            if (threshold != null && (threshold.isNaN() || threshold < 0 || threshold > 1)) {
                throw ServeException.invalid(Reason.INVALID_THRESHOLD, "threshold must be in [0, 1]");
            }
            checkTargetFpr(targetFpr);
            PromptSet p = store.tx(c -> find(c, tenantId, id));
            String encoder = targetEncoder(p, version);
            return store.tx(c -> {
                PromptSet cur = find(c, tenantId, id);
                Instant now = Store.now();
                if (targetFpr != null) {
                    sets.updateTargetFpr(c, tenantId, id, targetFpr);
                    for (Encoding e : encodingRows.list(c, id, cur.revision())) {
                        if (e.ready() && e.calibration() != null) {
                            encodingRows.updateCalibration(
                                    c,
                                    id,
                                    cur.revision(),
                                    e.encoder(),
                                    calibrator.retarget(e.calibration(), targetFpr));
                        }
                    }
                }
                if (!encodingRows.updateThreshold(c, id, cur.revision(), encoder, threshold, now)
                        && threshold != null) {
                    throw notEncoded(id, encoder); // clearing an override nobody set is nothing to refuse
                }
                sets.touchVersion(c, tenantId, id, now);
                audit.recordChange(c, origin, AuditAction.PROMPT_SET_THRESHOLD, tenantId, id, "encoder=" + encoder);
                return null;
            });
        });
        return details(tenantId, id);
    }

    /**
     * Encodes the stored originals again with one loaded version (none named: the serving version of the set's model)
     * and the current template version; recalibrates. Only that version's encoding changes.
     */
    public PromptSetDetails reencode(Origin origin, String tenantId, String id, ModelChoice version) {
        audit.attempt(origin, AuditAction.PROMPT_SET_REENCODE, tenantId, id, () -> {
            PromptSet p = store.tx(c -> find(c, tenantId, id));
            ModelVersionPort v = servingOrNamed(p, version);
            record Loaded(List<byte[]> shots, TemplateSet template, io.inctrl.serve.image.InspectionChoice choice) {}
            Loaded l = store.tx(c -> new Loaded(
                    sets.shots(c, id, p.revision()),
                    templateService.resolve(c, tenantId, p.templateId()),
                    Encodings.choiceOf(encodingRows.list(c, id, p.revision()))));
            float target = p.targetFpr() == null ? calibrator.defaultTargetFpr() : p.targetFpr();
            PromptSetEncoder.Encoded enc = encoder.encode(
                    v, l.shots(), p.inspection(), l.template(), p.category(), p.precision(), target, l.choice());
            EncodingRepository.Encoder who = Encodings.encoderOf(v);
            Encoding e = store.tx(c -> {
                Instant now = Store.now();
                if (find(c, tenantId, id).revision() != p.revision()) {
                    throw new ServeException(
                            Reason.CONCURRENT_CHANGE, "the set's shots changed while it was being re-encoded; retry");
                }
                if (!encodingRows.replaceReady(
                        c, id, p.revision(), who, l.template().version(), enc.calibration(), now)) {
                    encodingRows.insertReady(
                            c, id, p.revision(), who, l.template().version(), enc.calibration(), now);
                }
                encodingRows.replaceFeatures(c, id, p.revision(), who.encoder(), enc.parts());
                sets.touchVersion(c, tenantId, id, now);
                audit.recordChange(c, origin, AuditAction.PROMPT_SET_REENCODE, tenantId, id, Encodings.detail(v, p));
                return encodingRows.find(c, id, p.revision(), who.encoder()).orElseThrow();
            });
            counters.reencodes.incrementAndGet();
            featureCache.put(new FeatureCache.Key(id, p.revision(), who.encoder()), e.version(), enc.stored());
            LOG.infof("re-encoded prompt set %s with %s (%s)", id, v.ref(), v.bundleId());
            return null;
        });
        return details(tenantId, id);
    }

    public PromptSetDetails reencode(Origin origin, String tenantId, String id) {
        return reencode(origin, tenantId, id, ModelChoice.ANY);
    }

    /**
     * Features, text prior and threshold for scoring by id, from the first version among the request's candidates
     * that has encoded the set's current revision. When none has: encoded for the routed version on this request
     * (once per fleet) or refused with a retry hint, per {@code inctrl.models.encoding.on-missing}. Never encodes text
     * unless the prior is not yet cached on that version.
     */
    public ResolvedPromptSet resolve(String tenantId, String id, ModelChoice choice, Instant deadline) {
        Meta m = meta(tenantId, id);
        PromptSet p = m.set;
        List<ModelVersionPort> candidates = model.candidates(choice.orModel(modelOf(p)));
        for (ModelVersionPort v : candidates) {
            Encoding e = m.encodings.get(v.encoderId());
            if (e != null && e.ready()) {
                return serve(m, v, e);
            }
        }
        ModelVersionPort v = candidates.get(0);
        if (modelsConfig.encoding().onMissing() == ModelsConfig.OnMissing.REJECT) {
            throw new ServeException(
                    Reason.PROMPT_SET_ENCODING,
                    "prompt set '" + id + "' is not encoded for " + v.ref() + " yet (background encoding is on its "
                            + "way); retry shortly",
                    modelsConfig.encoding().sweepInterval(),
                    null);
        }
        Encoding e = encodings.ensure(p, v, deadline);
        return serve(m, v, e);
    }

    public ResolvedPromptSet resolve(String tenantId, String id) {
        return resolve(tenantId, id, ModelChoice.ANY, null);
    }

    /** The set as {@code version} encoded it, or empty when it has not (never encodes: shadow scoring). */
    public Optional<ResolvedPromptSet> resolveEncoded(String tenantId, String id, ModelRef version) {
        Optional<ModelVersionPort> v = model.version(version);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        Meta m = meta(tenantId, id);
        Encoding e = m.encodings.get(v.get().encoderId());
        return e != null && e.ready() ? Optional.of(serve(m, v.get(), e)) : Optional.empty();
    }

    private ResolvedPromptSet serve(Meta m, ModelVersionPort v, Encoding e) {
        PromptSet p = m.set;
        FeatureCache.Key key = new FeatureCache.Key(p.id(), p.revision(), e.encoder());
        PromptFeatures f = featureCache.get(key, e.version());
        if (f != null) {
            counters.featureCacheHits.incrementAndGet();
        } else {
            counters.featureCacheMisses.incrementAndGet();
            List<FeatureCodec.Part> parts = store.tx(c -> encodingRows.features(c, p.id(), p.revision(), e.encoder()));
            f = p.inspection() == Inspection.TILES
                    ? FeatureCodec.decodePool(parts) // shots have differing tile counts
                    : FeatureCodec.decode(parts, p.shotCount());
            featureCache.put(key, e.version(), f);
        }
        TextPrior prior = v.textPrior(m.template.templates(), p.category());
        recordUse(p.id());
        Encoding current = retargeted(p, e);
        return new ResolvedPromptSet(p, current, v, f, prior, current.threshold());
    }

    /** Remembers (off the request path, at most once a minute per set) that a query used the set. */
    private void recordUse(String id) {
        if (recentlyUsed.asMap().putIfAbsent(id, Boolean.TRUE) != null) {
            return;
        }
        Instant now = Store.now();
        background.execute(() -> {
            try {
                store.tx(c -> {
                    sets.touchUsed(c, id, now);
                    return null;
                });
            } catch (RuntimeException e) {
                recentlyUsed.invalidate(id); // try again on the next use
            }
        });
    }

    /** Metadata from the store (fresh on every request, so changes on other replicas apply at once); see lastKnown. */
    private Meta meta(String tenantId, String id) {
        String key = tenantId + '\u0000' + id;
        try {
            Meta m = store.tx(c -> {
                PromptSet p = find(c, tenantId, id);
                Map<String, Encoding> byEncoder = new HashMap<>();
                for (Encoding e : encodingRows.list(c, id, p.revision())) {
                    byEncoder.put(e.encoder(), e);
                }
                return new Meta(p, templateService.resolve(c, tenantId, p.templateId()), byEncoder, System.nanoTime());
            });
            lastKnown.put(key, m);
            return m;
        } catch (ServeException e) {
            if (e.code() == ServeException.Code.NOT_FOUND) {
                lastKnown.invalidate(key);
            }
            Meta known = e.code() == ServeException.Code.UNAVAILABLE ? lastKnown.getIfPresent(key) : null;
            if (known != null
                    && System.nanoTime() - known.readAtNanos
                            < config.outageGrace().toNanos()
                    && known.encodings.values().stream()
                            .anyMatch(x -> x.ready()
                                    && featureCache.get(
                                                    new FeatureCache.Key(id, known.set.revision(), x.encoder()),
                                                    x.version())
                                            != null)) {
                return known; // store outage: serve the set as last seen, within the grace period
            }
            throw e;
        }
    }

    /** Scores one image against a registered set (the console's "try it"): the Score use case, by id. */
    public ScoreResult score(String tenantId, String id, byte[] image, ModelChoice choice) {
        checkImage(-1, image);
        ModelPort.ScoredQuery q = model.scoreQuery(tenantId, id, image, choice);
        counters.queryImagesEncoded.incrementAndGet();
        return new ScoreResult(
                q.scores(),
                q.threshold(),
                q.threshold().map(t -> q.scores().score() >= t), // same rule as the Scorer
                q.bundleId(),
                q.servedBy(),
                q.queryId());
    }

    public ScoreResult score(String tenantId, String id, byte[] image) {
        return score(tenantId, id, image, ModelChoice.ANY);
    }

    /** Bytes a set occupies in the store: [features of every encoding, original images]. */
    public long[] storedBytes(String tenantId, String id) {
        return store.tx(c -> {
            find(c, tenantId, id);
            return new long[] {encodingRows.featureBytes(c, id), sets.shotBytes(c, id)};
        });
    }

    private PromptSetDetails details(String tenantId, String id) {
        record Row(PromptSet set, List<Encoding> encodings) {}
        Row r = store.tx(c -> {
            PromptSet p = find(c, tenantId, id);
            return new Row(p, encodingRows.list(c, id, p.revision()));
        });
        return details(r.set(), r.encodings());
    }

    private PromptSetDetails details(PromptSet p, List<Encoding> stored) {
        List<Encoding> encs = stored.stream().map(e -> retargeted(p, e)).toList();
        String servingEncoder =
                model.serving(modelOf(p)).map(ModelVersionPort::encoderId).orElse(null);
        Optional<Encoding> primary = encs.stream()
                .filter(e -> e.ready() && e.encoder().equals(servingEncoder))
                .findFirst()
                .or(() -> encs.stream().filter(Encoding::ready).max(Comparator.comparing(Encoding::updatedAt)));
        return new PromptSetDetails(p, encs, primary, servingEncoder);
    }

    /**
     * The encoding's calibration for the set's target false-positive rate: rows calibrated for another target (or
     * before per-set targets existed) are refitted from their stored shot scores when read.
     */
    private Encoding retargeted(PromptSet p, Encoding e) {
        Calibration c = e.calibration();
        if (c == null) {
            return e;
        }
        float target = p.targetFpr() == null ? calibrator.defaultTargetFpr() : p.targetFpr();
        if (c.method() == null || c.targetFpr() == null || c.targetFpr() != target) {
            return e.withCalibration(calibrator.retarget(c, target));
        }
        return e;
    }

    /** The set's model: the one it was registered for, or (sets stored before models existed) the default one. */
    private String modelOf(PromptSet p) {
        return p.model() == null ? model.defaultModel() : p.model();
    }

    private ModelVersionPort servingOrNamed(PromptSet p, ModelChoice version) {
        ModelChoice choice = version.orModel(modelOf(p));
        if (choice.version() > 0) {
            return model.candidates(choice).get(0);
        }
        return model.serving(choice.name())
                .orElseThrow(() -> new ServeException(
                        Reason.MODEL_NOT_LOADED,
                        "model '" + choice.name() + "' has no loaded version on this replica",
                        Duration.ofSeconds(1),
                        null));
    }

    /** Encoder of the encoding a threshold change addresses: a loaded version's, or a stored one by model version. */
    private String targetEncoder(PromptSet p, ModelChoice version) {
        ModelChoice choice = version.orModel(modelOf(p));
        if (choice.version() > 0) {
            Optional<ModelVersionPort> loaded = model.version(new ModelRef(choice.name(), choice.version()));
            if (loaded.isPresent()) {
                return loaded.get().encoderId();
            }
            List<Encoding> stored = store.tx(c -> encodingRows.list(c, p.id(), p.revision()));
            return stored.stream()
                    .filter(e -> choice.name().equals(e.model()) && e.modelVersion() == choice.version())
                    .map(Encoding::encoder)
                    .findFirst()
                    .orElseThrow(() -> notEncoded(p.id(), choice.name() + ":" + choice.version()));
        }
        return servingOrNamed(p, version).encoderId();
    }

    private static ServeException notEncoded(String id, String encoder) {
        return new ServeException(
                Reason.PROMPT_SET_NOT_ENCODED, "prompt set '" + id + "' has no encoding by " + encoder + " yet");
    }

    private PromptSet find(Connection c, String tenantId, String id) throws SQLException {
        return sets.find(c, tenantId, id).orElseThrow(() -> ServeException.notFound("prompt set", id));
    }

    private Tenant tenant(Connection c, String tenantId) throws SQLException {
        return tenants.find(c, tenantId)
                .orElseThrow(() -> new ServeException(Reason.INVALID_API_KEY, "the calling tenant no longer exists"));
    }

    private void checkQuotas(Connection c, Tenant t, String name, int k) throws SQLException {
        int maxShots = Math.min(limits.limits().maxShots(), t.quotas().maxShotsPerSet());
        if (k > maxShots) {
            throw new ServeException(
                    Reason.TOO_MANY_SHOTS, k + " shots exceed the limit of " + maxShots + " per prompt set");
        }
        if (sets.nameTaken(c, t.id(), name)) {
            throw new ServeException(Reason.DUPLICATE_NAME, "a prompt set named '" + name + "' already exists");
        }
        if (sets.count(c, t.id()) >= t.quotas().maxPromptSets()) {
            throw new ServeException(
                    Reason.TOO_MANY_PROMPT_SETS,
                    "the tenant already has the maximum of " + t.quotas().maxPromptSets() + " prompt sets");
        }
    }

    /** Null (= keep / default) or a finite rate in (0, 0.5): above that a "threshold" flags most normal images. */
    static void checkTargetFpr(Float targetFpr) {
        if (targetFpr != null && !Calibrator.validTargetFpr(targetFpr)) {
            throw ServeException.invalid(
                    Reason.INVALID_TARGET_FPR, "target_fpr must be a number in (0, 0.5), got " + targetFpr);
        }
    }

    private void checkShots(List<byte[]> shots) {
        if (shots == null || shots.isEmpty()) {
            throw ServeException.invalid(Reason.NO_SHOTS, "a prompt set needs at least one shot image (K >= 1)");
        }
        if (shots.size() > limits.limits().maxShots()) {
            throw new ServeException(
                    Reason.TOO_MANY_SHOTS,
                    shots.size() + " shots exceed the limit of "
                            + limits.limits().maxShots() + " per prompt set");
        }
        IntStream.range(0, shots.size()).forEach(i -> checkImage(i, shots.get(i)));
    }

    private void checkImage(int index, byte[] image) {
        String which = index < 0 ? "the image" : ImageNotes.shot(index);
        if (image == null || image.length == 0) {
            throw ServeException.invalid(Reason.EMPTY_IMAGE, which + " is empty (0 bytes)");
        }
        if (image.length > limits.limits().maxImageBytes()) {
            throw ServeException.invalid(
                    Reason.IMAGE_TOO_LARGE,
                    which + " has " + image.length + " bytes; the limit is "
                            + limits.limits().maxImageBytes());
        }
    }

    private static String checkCategory(String category) {
        String c = category == null ? "" : category.strip();
        if (c.isEmpty() || c.length() > 128) {
            throw ServeException.invalid(Reason.INVALID_CATEGORY, "category must be 1-128 characters");
        }
        return c;
    }

    private static int decodeToken(String token) {
        if (token == null || token.isEmpty()) {
            return 0;
        }
        try {
            int offset = Integer.parseInt(new String(Base64.getUrlDecoder().decode(token), StandardCharsets.US_ASCII));
            if (offset < 0) {
                throw new NumberFormatException();
            }
            return offset;
        } catch (IllegalArgumentException e) {
            throw ServeException.invalid(Reason.INVALID_PAGE_TOKEN, "page_token is not one this server issued");
        }
    }
}
