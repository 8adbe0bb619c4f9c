package io.inctrl.serve.registry;

import io.inctrl.serve.audit.AuditAction;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * The prompt registry's use cases. Every method takes the caller's tenant id first; objects of other tenants are
 * indistinguishable from missing ones. Encoding happens at registration (or re-encoding) only: {@link #resolve}
 * serves features and text prior from the caches or the store. Changes are audited with the caller's {@link Origin}
 * ({@link AuditTrail}).
 */
@ApplicationScoped
public class PromptSetService {

    private static final Logger LOG = Logger.getLogger(PromptSetService.class);
    public static final int MAX_PAGE_SIZE = 500;

    @Inject
    Store store;

    @Inject
    PromptSetRepository sets;

    @Inject
    TenantRepository tenants;

    @Inject
    TemplateService templateService;

    @Inject
    ModelPort model;

    @Inject
    FeatureCache featureCache;

    @Inject
    TextPriorCache textPriors;

    @Inject
    Calibrator calibrator;

    @Inject
    RegistryConfig config;
    /** The server-wide limits (inctrl.limits.*): max-shots and max-image-bytes apply to prompt sets as to scoring. */
    @Inject
    InctrlConfig limits;

    @Inject
    RegistryCounters counters;

    @Inject
    AuditTrail audit;

    /** Serialises re-encoding of one set so concurrent first uses encode it once. */
    private final ConcurrentHashMap<String, Object> locks = new ConcurrentHashMap<>();

    private record Meta(PromptSet set, TemplateSet template, long readAtNanos) {}

    /** Last metadata read per tenant/set, used only while the store is unreachable (inctrl.registry.outage-grace). */
    private final com.github.benmanes.caffeine.cache.Cache<String, Meta> lastKnown =
            com.github.benmanes.caffeine.cache.Caffeine.newBuilder()
                    .maximumSize(100_000)
                    .build();

    public record Page(List<PromptSet> items, String nextPageToken) {}

    /** A score against a registered set, with the verdict when the set has a threshold. */
    public record ScoreResult(
            InctrlScores scores, Optional<Float> threshold, Optional<Boolean> anomalous, String bundleId) {}

    /** Validates, encodes once and stores atomically: all shots and features, or nothing. */
    public PromptSet register(
            Origin origin,
            String tenantId,
            String name,
            String category,
            String templateId,
            List<byte[]> shots,
            boolean fp16) {
        return register(origin, tenantId, name, category, templateId, shots, fp16, null);
    }

    /** As above with the set's target false-positive rate; null = the server default. */
    public PromptSet register(
            Origin origin,
            String tenantId,
            String name,
            String category,
            String templateId,
            List<byte[]> shots,
            boolean fp16,
            Float targetFpr) {
        return register(origin, tenantId, name, category, templateId, shots, fp16, targetFpr, Inspection.CENTER_CROP);
    }

    /** As above; {@code inspection} is how shots and, later, queries are cut into model views (null = centre crop). */
    public PromptSet register(
            Origin origin,
            String tenantId,
            String name,
            String category,
            String templateId,
            List<byte[]> shots,
            boolean fp16,
            Float targetFpr,
            Inspection inspection) {
        Inspection mode = inspection == null ? Inspection.CENTER_CROP : inspection;
        return audit.attempt(
                origin,
                AuditAction.PROMPT_SET_CREATE,
                tenantId,
                null,
                () -> registerAudited(origin, tenantId, name, category, templateId, shots, fp16, targetFpr, mode));
    }

    private PromptSet registerAudited(
            Origin origin,
            String tenantId,
            String name,
            String category,
            String templateId,
            List<byte[]> shots,
            boolean fp16,
            Float targetFpr,
            Inspection inspection) {
        String n = checkName(name);
        String cat = checkCategory(category);
        checkTargetFpr(targetFpr);
        float target = targetFpr == null ? calibrator.defaultTargetFpr() : targetFpr;
        checkShots(shots);
        // Cheap checks first, before the expensive encoding.
        TemplateSet template = store.tx(c -> {
            Tenant t = tenant(c, tenantId);
            checkQuotas(c, t, n, shots.size());
            return templateService.resolve(c, tenantId, templateId);
        });
        templateService.checkSentences(template.templates(), cat);

        Precision precision = fp16 ? Precision.FP16 : Precision.FP32;
        String bundleId = model.bundleId();
        Encoded enc = encode(shots, inspection, template, cat, precision, bundleId, target);
        Instant now = Store.now();
        PromptSet p = new PromptSet(
                UUID.randomUUID().toString(),
                tenantId,
                n,
                cat,
                template.id(),
                template.version(),
                shots.size(),
                precision,
                bundleId,
                1,
                enc.calibration,
                null,
                now,
                now,
                inspection);
        store.tx(c -> {
            checkQuotas(c, tenant(c, tenantId), n, shots.size()); // again: another registration may have won the race
            sets.insert(c, p);
            sets.insertShots(c, p.id(), shots);
            sets.replaceFeatures(c, p.id(), enc.parts);
            audit.recordChange(c, origin, AuditAction.PROMPT_SET_CREATE, tenantId, p.id());
            return null;
        });
        featureCache.put(p.id(), p.version(), enc.stored);
        LOG.infof(
                "registered prompt set %s (tenant %s, K=%d, %s, bundle %s)",
                p.id(), tenantId, shots.size(), precision, bundleId);
        return p;
    }

    public PromptSet get(String tenantId, String id) {
        return store.tx(c -> find(c, tenantId, id));
    }

    public Page list(String tenantId, int pageSize, String pageToken) {
        int size = pageSize <= 0 ? 50 : Math.min(pageSize, MAX_PAGE_SIZE);
        int offset = decodeToken(pageToken);
        List<PromptSet> items = store.tx(c -> sets.list(c, tenantId, offset, size + 1));
        String next = "";
        if (items.size() > size) {
            items = items.subList(0, size);
            next = Base64.getUrlEncoder()
                    .withoutPadding()
                    .encodeToString(Integer.toString(offset + size).getBytes(StandardCharsets.US_ASCII));
        }
        return new Page(List.copyOf(items), next);
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
            if (!deleted) {
                throw ServeException.notFound("prompt set", id);
            }
            return null;
        });
    }

    /** Sets (or with null clears) the operator threshold of a set. */
    public PromptSet setThreshold(Origin origin, String tenantId, String id, Float threshold) {
        return setThreshold(origin, tenantId, id, threshold, null);
    }

    /**
     * Sets (or with null clears) the operator threshold of a set and, when {@code targetFpr} is not null, changes the
     * set's target false-positive rate: the suggestion is refitted from the stored shot scores (no re-encoding).
     */
    public PromptSet setThreshold(Origin origin, String tenantId, String id, Float threshold, Float targetFpr) {
        PromptSet p = audit.attempt(origin, AuditAction.PROMPT_SET_THRESHOLD, tenantId, id, () -> {
            if (threshold != null && (threshold.isNaN() || threshold < 0 || threshold > 1)) {
                throw ServeException.invalid(Reason.INVALID_THRESHOLD, "threshold must be in [0, 1]");
            }
            checkTargetFpr(targetFpr);
            return store.tx(c -> {
                if (targetFpr != null) {
                    PromptSet cur = find(c, tenantId, id);
                    sets.updateCalibration(
                            c, tenantId, id, calibrator.retarget(cur.calibration(), targetFpr), Store.now());
                }
                if (!sets.updateThreshold(c, tenantId, id, threshold, Store.now())) {
                    throw ServeException.notFound("prompt set", id);
                }
                audit.recordChange(c, origin, AuditAction.PROMPT_SET_THRESHOLD, tenantId, id);
                return find(c, tenantId, id);
            });
        });
        featureCache.invalidate(id);
        return p;
    }

    /** Encodes the stored originals again with the loaded bundle and the current template version; recalibrates. */
    public PromptSet reencode(Origin origin, String tenantId, String id) {
        return audit.attempt(
                origin, AuditAction.PROMPT_SET_REENCODE, tenantId, id, () -> reencodeAudited(origin, tenantId, id));
    }

    private PromptSet reencodeAudited(Origin origin, String tenantId, String id) {
        synchronized (locks.computeIfAbsent(id, k -> new Object())) {
            record Loaded(PromptSet set, TemplateSet template, List<byte[]> shots) {}
            Loaded l = store.tx(c -> {
                PromptSet p = find(c, tenantId, id);
                return new Loaded(p, templateService.resolve(c, tenantId, p.templateId()), sets.shots(c, id));
            });
            String bundleId = model.bundleId();
            Float target = l.set.calibration().targetFpr();
            Encoded enc = encode(
                    l.shots,
                    l.set.inspection(),
                    l.template,
                    l.set.category(),
                    l.set.precision(),
                    bundleId,
                    target == null ? calibrator.defaultTargetFpr() : target);
            PromptSet p = l.set;
            PromptSet updated = new PromptSet(
                    p.id(),
                    p.tenantId(),
                    p.name(),
                    p.category(),
                    p.templateId(),
                    l.template.version(),
                    p.shotCount(),
                    p.precision(),
                    bundleId,
                    p.version() + 1,
                    enc.calibration,
                    p.thresholdOverride(),
                    p.createdAt(),
                    Store.now(),
                    p.inspection());
            store.tx(c -> {
                if (!sets.updateEncoding(c, updated)) {
                    throw ServeException.notFound("prompt set", id); // deleted meanwhile
                }
                sets.replaceFeatures(c, id, enc.parts);
                audit.recordChange(c, origin, AuditAction.PROMPT_SET_REENCODE, tenantId, id);
                return null;
            });
            counters.reencodes.incrementAndGet();
            featureCache.put(id, updated.version(), enc.stored);
            LOG.infof("re-encoded prompt set %s with bundle %s (was %s)", id, bundleId, p.bundleId());
            return updated;
        }
    }

    /**
     * Features, text prior and threshold for scoring by id. Never encodes shots unless the set is stale (another
     * bundle) and the stale policy is REENCODE; never encodes text unless the prior is not yet cached.
     */
    public ResolvedPromptSet resolve(String tenantId, String id) {
        Meta m = meta(tenantId, id);
        PromptSet p = m.set;
        String bundleId = model.bundleId();
        if (p.isStale(bundleId)) {
            if (config.stalePolicy() == RegistryConfig.StalePolicy.REJECT) {
                throw new ServeException(
                        Reason.STALE_PROMPT_SET,
                        "prompt set '" + id + "' was encoded with bundle '" + p.bundleId() + "' but the server runs '"
                                + bundleId + "'; re-encode it");
            }
            p = reencode(Origin.SYSTEM, tenantId, id); // the server re-encodes a stale set on first use
        }
        PromptFeatures f = featureCache.get(id, p.version());
        if (f != null) {
            counters.featureCacheHits.incrementAndGet();
        } else {
            counters.featureCacheMisses.incrementAndGet();
            PromptSet cur = p;
            List<FeatureCodec.Part> parts = store.tx(c -> sets.features(c, id));
            f = cur.inspection() == Inspection.TILES
                    ? FeatureCodec.decodePool(parts) // shots have differing tile counts
                    : FeatureCodec.decode(parts, cur.shotCount());
            featureCache.put(id, cur.version(), f);
        }
        TextPrior prior = prior(m.template, p.category(), bundleId);
        return new ResolvedPromptSet(p, f, prior, p.threshold());
    }

    /** Metadata from the store (fresh on every request, so changes on other replicas apply at once); see lastKnown. */
    private Meta meta(String tenantId, String id) {
        String key = tenantId + '\u0000' + id;
        try {
            Meta m = store.tx(c -> {
                PromptSet p = find(c, tenantId, id);
                return new Meta(p, templateService.resolve(c, tenantId, p.templateId()), System.nanoTime());
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
                    && featureCache.get(id, known.set.version()) != null) {
                return known; // store outage: serve the set as last seen, within the grace period
            }
            throw e;
        }
    }

    /** The decision threshold of a set (override, else suggestion); empty when the set has none. */
    public Optional<Float> threshold(String tenantId, String id) {
        return get(tenantId, id).threshold();
    }

    /** Scores one image against a registered set (the console's "try it"): the Score use case, by id. */
    public ScoreResult score(String tenantId, String id, byte[] image) {
        checkImage(-1, image);
        ResolvedPromptSet r = resolve(tenantId, id);
        InctrlScores s = model.scoreQuery(tenantId, id, image, r);
        counters.queryImagesEncoded.incrementAndGet();
        return new ScoreResult(
                s, r.threshold(), r.threshold().map(t -> s.score() >= t), model.bundleId()); // same rule as the Scorer
    }

    /** Bytes a set occupies in the store: [features, original images]. */
    public long[] storedBytes(String tenantId, String id) {
        return store.tx(c -> {
            find(c, tenantId, id);
            return sets.storedBytes(c, id);
        });
    }

    private record Encoded(List<FeatureCodec.Part> parts, PromptFeatures stored, Calibration calibration) {}

    private Encoded encode(
            List<byte[]> shots,
            Inspection inspection,
            TemplateSet template,
            String category,
            Precision precision,
            String bundleId,
            float targetFpr) {
        ModelPort.EncodedShots views = model.encodeShots(shots, inspection);
        EncodedImages raw = views.encoded();
        counters.shotImagesEncoded.addAndGet(shots.size());
        PromptFeatures full = raw.pool();
        List<FeatureCodec.Part> parts = FeatureCodec.encode(full, precision);
        // What later reads will see: fp16-rounded when stored as fp16, so scores survive a restart unchanged.
        PromptFeatures stored = precision == Precision.FP32 ? full : FeatureCodec.decode(parts, full.shots());
        TextPrior prior = prior(template, category, bundleId);
        Calibration cal =
                calibrator.calibrate(model, raw, views.shotOfView(), full, stored, prior, precision, targetFpr);
        return new Encoded(parts, stored, cal);
    }

    private TextPrior prior(TemplateSet t, String category, String bundleId) {
        return textPriors.get(new TextPriorCache.Key(t.id(), t.version(), category, bundleId), () -> {
            counters.textPriorsEncoded.incrementAndGet();
            return model.textPrior(t.templates(), category);
        });
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
        for (int i = 0; i < shots.size(); i++) {
            checkImage(i, shots.get(i));
        }
    }

    private void checkImage(int index, byte[] image) {
        String which = index < 0 ? "the image" : "shot " + index;
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

    static String checkName(String name) {
        String n = name == null ? "" : name.strip();
        if (n.isEmpty() || n.length() > 128) {
            throw ServeException.invalid(Reason.INVALID_NAME, "name must be 1-128 characters");
        }
        return n;
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
