package io.inctrl.serve.image;

/**
 * What {@link Inspection#AUTO} chose for a prompt set, and why (stored with the set's calibration, shown in its view).
 *
 * @param mode   the chosen mode (never AUTO)
 * @param reason one sentence: the geometry, or the leave-one-out scores that decided
 */
public record InspectionChoice(Inspection mode, String reason) {

    public InspectionChoice {
        if (mode == null || !mode.concrete()) {
            throw new IllegalArgumentException("an inspection choice is a concrete mode, not " + mode);
        }
    }
}
