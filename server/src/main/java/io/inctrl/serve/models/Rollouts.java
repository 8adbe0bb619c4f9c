package io.inctrl.serve.models;

/** The roll-out state of each model, shared by the replicas (implemented on the store by the roll-out package). */
public interface Rollouts {

    /** The current roll-out of {@code model}; {@link Rollout#NONE} when none was set. Never blocks on the store. */
    Rollout of(String model);
}
