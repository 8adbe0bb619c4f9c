package io.inctrl.serve.registry;

import java.util.List;
import java.util.Optional;

/**
 * A prompt set as the API shows it: the set, its encodings (current revision, every model version), and the primary
 * encoding, the one of the version that serves the set by default (its calibration and threshold are what a request
 * naming no version gets).
 *
 * @param primary        the serving version's READY encoding, else the newest READY one; empty when none is READY
 * @param servingEncoder encoder id of the serving version, null when the set's model has no loaded version here
 */
public record PromptSetDetails(
        PromptSet set, List<Encoding> encodings, Optional<Encoding> primary, String servingEncoder) {

    /** The serving version has not encoded the current revision (yet): requests fall back or wait (docs/models.md). */
    public boolean stale() {
        return servingEncoder != null
                && encodings.stream().noneMatch(e -> e.ready() && e.encoder().equals(servingEncoder));
    }

    /** The threshold in force for requests naming no version. */
    public Optional<Float> threshold() {
        return primary.flatMap(Encoding::threshold);
    }
}
