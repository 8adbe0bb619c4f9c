package io.inctrl.serve.rollout;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;
import io.inctrl.serve.audit.AuditAction;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.models.LoadedModel;
import io.inctrl.serve.models.ModelManager;
import io.inctrl.serve.models.ModelsConfig;
import io.inctrl.serve.models.Rollout;
import io.inctrl.serve.models.Rollouts;
import io.inctrl.serve.registry.AuditTrail;
import io.inctrl.serve.registry.Store;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * The roll-out state of each model, kept in the store so every replica routes alike: read through a cache refreshed
 * every {@code inctrl.models.rollout-refresh} in the background (a request never waits on the store for it, and a
 * store outage keeps the last state), changed by promote, roll back and the canary/shadow settings (audited).
 */
@ApplicationScoped
public class RolloutService implements Rollouts {

    private static final Logger LOG = Logger.getLogger(RolloutService.class);

    @Inject
    Store store;

    @Inject
    ModelManager models;

    @Inject
    ModelsConfig config;

    @Inject
    AuditTrail audit;

    private final RolloutRepository repo = new RolloutRepository();
    private LoadingCache<String, Rollout> cache;

    @PostConstruct
    void init() {
        cache = Caffeine.newBuilder()
                .maximumSize(10_000)
                .refreshAfterWrite(config.rolloutRefresh())
                .build(this::load);
    }

    private Rollout load(String model) {
        try {
            return store.tx(c -> repo.find(c, model)).orElse(Rollout.NONE);
        } catch (ServeException e) {
            Rollout last = cache == null ? null : cache.getIfPresent(model);
            if (last != null) {
                return last; // keep routing as last seen while the store is away
            }
            LOG.debugf("roll-out of %s unknown (store unavailable): routing to the highest loaded version", model);
            return Rollout.NONE;
        }
    }

    @Override
    public Rollout of(String model) {
        return cache.get(model);
    }

    /** The state as stored now (admin reads). */
    public Rollout current(String model) {
        Rollout r = store.tx(c -> repo.find(c, model)).orElse(Rollout.NONE);
        cache.put(model, r);
        return r;
    }

    /**
     * Makes {@code version} the one that serves requests naming no version; the previous serving version is kept as
     * the roll-back target. A canary or shadow of the promoted version ends.
     */
    public Rollout promote(Origin origin, String model, long version) {
        return audit.attempt(origin, AuditAction.MODEL_PROMOTE, null, model, () -> {
            requireLoaded(model, version);
            return change(origin, AuditAction.MODEL_PROMOTE, model, r -> {
                long serving = effectiveServing(model, r);
                if (serving == version) {
                    return r;
                }
                return new Rollout(
                        version,
                        serving,
                        r.canaryVersion() == version ? 0 : r.canaryVersion(),
                        r.canaryVersion() == version ? 0 : r.canaryPercent(),
                        r.shadowVersion() == version ? 0 : r.shadowVersion(),
                        r.shadowVersion() == version ? 0 : r.shadowPercent());
            });
        });
    }

    /** Serves the version that served before the last promotion again (and remembers the one it replaces). */
    public Rollout rollback(Origin origin, String model) {
        return audit.attempt(
                origin,
                AuditAction.MODEL_ROLLBACK,
                null,
                model,
                () -> change(origin, AuditAction.MODEL_ROLLBACK, model, r -> {
                    if (r.previousVersion() == 0) {
                        throw new ServeException(
                                Reason.NOTHING_TO_ROLL_BACK,
                                "model '" + model + "' has no earlier serving version to roll back to");
                    }
                    requireLoaded(model, r.previousVersion());
                    return new Rollout(
                            r.previousVersion(),
                            effectiveServing(model, r),
                            r.canaryVersion(),
                            r.canaryPercent(),
                            r.shadowVersion(),
                            r.shadowPercent());
                }));
    }

    /**
     * Sets the canary (a version answering {@code canaryPercent} % of requests naming no version) and the shadow (a
     * version also scoring {@code shadowPercent} % of registered-set requests, results kept for the comparison
     * report). Version 0 or percent 0 turns one off.
     */
    public Rollout configure(
            Origin origin,
            String model,
            long canaryVersion,
            double canaryPercent,
            long shadowVersion,
            double shadowPercent) {
        return audit.attempt(origin, AuditAction.MODEL_ROLLOUT, null, model, () -> {
            for (double p : List.of(canaryPercent, shadowPercent)) {
                if (!(p >= 0 && p <= 100)) {
                    throw ServeException.invalid(
                            Reason.INVALID_PERCENT, "canary and shadow shares are percentages in [0, 100]");
                }
            }
            if (canaryVersion > 0) {
                requireLoaded(model, canaryVersion);
            }
            if (shadowVersion > 0) {
                requireLoaded(model, shadowVersion);
            }
            return change(
                    origin,
                    AuditAction.MODEL_ROLLOUT,
                    model,
                    r -> new Rollout(
                            r.servingVersion(),
                            r.previousVersion(),
                            canaryPercent > 0 ? canaryVersion : 0,
                            canaryVersion > 0 ? canaryPercent : 0,
                            shadowPercent > 0 ? shadowVersion : 0,
                            shadowVersion > 0 ? shadowPercent : 0));
        });
    }

    private Rollout change(
            Origin origin, AuditAction action, String model, java.util.function.UnaryOperator<Rollout> update) {
        Rollout next = store.tx(c -> {
            Rollout cur = repo.find(c, model).orElse(Rollout.NONE);
            Rollout r = update.apply(cur);
            repo.upsert(c, model, r, Store.now());
            audit.recordChange(c, origin, action, null, model, describe(r));
            return r;
        });
        cache.put(model, next);
        LOG.infof("roll-out of model %s: %s", model, describe(next));
        return next;
    }

    /** The version serving now: the stored one, or the highest loaded here when none is stored. */
    private long effectiveServing(String model, Rollout r) {
        if (r.servingVersion() > 0) {
            return r.servingVersion();
        }
        List<LoadedModel> loaded = models.versions(model);
        return loaded.isEmpty() ? 0 : loaded.get(0).version();
    }

    private void requireLoaded(String model, long version) {
        if (models.versions(model).stream().noneMatch(m -> m.version() == version)) {
            throw new ServeException(
                    Reason.ROLLOUT_VERSION_NOT_LOADED,
                    "version " + version + " of model '" + model + "' is not loaded on this replica: load it first");
        }
    }

    static String describe(Rollout r) {
        return "serving=" + r.servingVersion() + " previous=" + r.previousVersion() + " canary=" + r.canaryVersion()
                + "@" + r.canaryPercent() + "% shadow=" + r.shadowVersion() + "@" + r.shadowPercent() + "%";
    }
}
