package io.inctrl.serve.models;

import io.inctrl.serve.model.BundleManifest;

/**
 * A check a model version must pass before it loads (CDI beans implementing it, e.g. {@code lifecycle.LimitsAgree}):
 * rules that live outside this package refuse a bundle here, so a bad version never becomes READY.
 */
public interface LoadCheck {

    /**
     * @param ref the version about to load
     * @throws IllegalStateException with a message naming what disagrees
     */
    void check(ModelRef ref, BundleManifest manifest);
}
