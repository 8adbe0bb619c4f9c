package io.inctrl.serve.drift;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Per registered set, the recent scores on this replica and whether they still match the calibration
 * ({@link DriftWindow}). Bounded: at most {@code inctrl.drift.max-sets} windows of {@code window} scores (least
 * recently scored sets are dropped). Metrics keep label cardinality bounded: counts of drifting sets by signal, and
 * one labelled series per drifting set for at most {@code labelled-sets} sets.
 *
 * <p>Per replica: with N replicas each sees its share of a set's traffic (the alert takes the max over pods).
 */
@ApplicationScoped
public class DriftWatch {

    private static final Logger LOG = Logger.getLogger(DriftWatch.class);

    @Inject
    DriftConfig config;

    @Inject
    MeterRegistry registry;

    private Cache<String, DriftWindow> windows;
    private DriftWindow.Params params;
    /** Sets currently drifting: key → signal ("exceedances", "scores" or "both"). */
    private final Map<String, String> drifting = new ConcurrentHashMap<>();

    private MultiGauge labelled;
    private Counter exceedanceOnsets;
    private Counter scoreOnsets;

    @PostConstruct
    void init() {
        params = new DriftWindow.Params(
                config.minSamples(), config.alpha(), config.fprToleranceFactor(), config.minToleratedFpr());
        windows = Caffeine.newBuilder()
                .maximumSize(config.maxSets())
                .removalListener((String key, DriftWindow w, RemovalCause cause) -> {
                    if (key != null && drifting.remove(key) != null) {
                        refreshLabelled();
                    }
                })
                .build();
        Gauge.builder("inctrl.drift.tracked.sets", this, w -> w.windows.estimatedSize())
                .description("registered prompt sets whose recent scores this replica keeps (bounded by max-sets)")
                .register(registry);
        for (String signal : List.of("exceedances", "scores", "any")) {
            Gauge.builder("inctrl.drift.sets", this, w -> w.countDrifting(signal))
                    .tag("signal", signal)
                    .description("prompt sets whose recent traffic no longer matches their calibration")
                    .register(registry);
        }
        labelled = MultiGauge.builder("inctrl.drift.signal")
                .description("1 per drifting prompt set (at most inctrl.drift.labelled-sets series; all are counted in"
                        + " inctrl_drift_sets)")
                .register(registry);
        exceedanceOnsets = Counter.builder("inctrl.drift.onsets")
                .tag("signal", "exceedances")
                .description("times a prompt set started to drift")
                .register(registry);
        scoreOnsets = Counter.builder("inctrl.drift.onsets")
                .tag("signal", "scores")
                .description("times a prompt set started to drift")
                .register(registry);
    }

    /**
     * Records one score of a registered set (the scoring path's hook). Never throws: the watch must not fail a score.
     */
    public void observe(String tenant, String promptSetId, Baseline baseline, float score) {
        if (!config.enabled() || baseline == null) {
            return;
        }
        try {
            String key = key(tenant, promptSetId);
            DriftWindow w = windows.get(
                    key, k -> new DriftWindow(config.window(), config.maxAge().toMillis()));
            DriftReport r;
            synchronized (w) {
                w.observe(baseline, score, System.currentTimeMillis());
                r = w.evaluate(params, System.currentTimeMillis());
            }
            update(key, r);
        } catch (RuntimeException e) {
            LOG.warnf(e, "drift watch: could not record a score of prompt set %s", promptSetId);
        }
    }

    /** The drift view of a set on this replica; empty when it has not been scored here (or the watch is off). */
    public Optional<DriftReport> report(String tenant, String promptSetId) {
        if (!config.enabled()) {
            return Optional.empty();
        }
        DriftWindow w = windows.getIfPresent(key(tenant, promptSetId));
        if (w == null) {
            return Optional.empty();
        }
        synchronized (w) {
            return Optional.ofNullable(w.evaluate(params, System.currentTimeMillis()));
        }
    }

    /** Forgets a set (deleted): its window and any drift series. */
    public void forget(String tenant, String promptSetId) {
        windows.invalidate(key(tenant, promptSetId));
    }

    private void update(String key, DriftReport r) {
        String signal = r == null || !r.needsNewShots()
                ? null
                : r.exceedanceSignal() && r.scoreSignal() ? "both" : r.exceedanceSignal() ? "exceedances" : "scores";
        String before = signal == null ? drifting.remove(key) : drifting.put(key, signal);
        if (signal != null && (before == null || !before.equals(signal))) {
            if (r.exceedanceSignal() && (before == null || before.equals("scores"))) {
                exceedanceOnsets.increment();
            }
            if (r.scoreSignal() && (before == null || before.equals("exceedances"))) {
                scoreOnsets.increment();
            }
            LOG.infof("prompt set %s drifts: %s", key.substring(key.indexOf('\u0000') + 1), r.reason());
        }
        if (!java.util.Objects.equals(before, signal)) {
            refreshLabelled();
        }
    }

    private synchronized void refreshLabelled() {
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        for (Map.Entry<String, String> e : drifting.entrySet()) {
            if (rows.size() >= config.labelledSets()) {
                break;
            }
            int cut = e.getKey().indexOf('\u0000');
            rows.add(MultiGauge.Row.of(
                    Tags.of(
                            "tenant",
                            e.getKey().substring(0, cut),
                            "prompt_set",
                            e.getKey().substring(cut + 1),
                            "signal",
                            e.getValue()),
                    1));
        }
        labelled.register(rows, true);
    }

    private double countDrifting(String signal) {
        return drifting.values().stream()
                .filter(s -> signal.equals("any") || s.equals(signal) || s.equals("both"))
                .count();
    }

    private static String key(String tenant, String promptSetId) {
        return tenant + '\u0000' + promptSetId;
    }
}
