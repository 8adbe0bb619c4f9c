package io.inctrl.serve.models;

/**
 * How requests that name a model but no version are spread over its loaded versions. Version 0 means "none".
 *
 * @param servingVersion  the version that answers by default; 0 = the highest loaded version
 * @param previousVersion what {@code servingVersion} was before the last promotion (the roll-back target)
 * @param canaryVersion   a version that answers {@code canaryPercent} % of requests instead of the serving one
 * @param shadowVersion   a version that also scores {@code shadowPercent} % of requests, results kept for comparison
 *                        and never returned
 */
public record Rollout(
        long servingVersion,
        long previousVersion,
        long canaryVersion,
        double canaryPercent,
        long shadowVersion,
        double shadowPercent) {

    /** No roll-out in progress: the highest loaded version serves everything. */
    public static final Rollout NONE = new Rollout(0, 0, 0, 0, 0, 0);

    public Rollout {
        if (!(canaryPercent >= 0 && canaryPercent <= 100) || !(shadowPercent >= 0 && shadowPercent <= 100)) {
            throw new IllegalArgumentException("canary and shadow shares are percentages in [0, 100]");
        }
    }
}
