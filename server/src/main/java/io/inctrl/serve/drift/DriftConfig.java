package io.inctrl.serve.drift;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** {@code inctrl.drift.*}: the drift watch of registered prompt sets (docs/registry.md "Drift watch"). */
@ConfigMapping(prefix = "inctrl.drift")
public interface DriftConfig {

    /** Off: scoring records nothing and the drift view answers 404 NO_DRIFT_DATA. */
    @WithDefault("true")
    boolean enabled();

    /** Most recent scores kept per set (the window both tests look at). */
    @WithDefault("200")
    int window();

    /** Scores older than this leave the window (a set scored rarely is judged on its recent traffic only). */
    @WithDefault("24h")
    Duration maxAge();

    /** Sets tracked per replica (least recently scored are dropped beyond it): bounds memory to ~2.5 kB per set (200 scores and their times). */
    @WithDefault("10000")
    int maxSets();

    /** No signal before this many scores are in the window (the first queries of a set are often test defects). */
    @WithDefault("20")
    int minSamples();

    /** Significance of each test; evaluated after every score, so small: about one false signal per 1/alpha scores. */
    @WithDefault("1e-4")
    double alpha();

    /**
     * The share over threshold signals only when significantly above this multiple of the expected false-positive
     * rate: the expectation comes from K shots and is itself uncertain (realised rates of 0.02–0.14 were measured for
     * a target of 0.05 on shared/data), so the test is for "clearly more false alarms than calibrated", not any excess.
     */
    @WithDefault("2.0")
    double fprToleranceFactor();

    /** Floor of the tolerated rate (a very high operator threshold expects almost no exceedances). */
    @WithDefault("0.01")
    double minToleratedFpr();

    /** Drifting sets exported with their own labels (tenant, prompt_set) in inctrl_drift_signal; the rest are counted. */
    @WithDefault("20")
    int labelledSets();
}
