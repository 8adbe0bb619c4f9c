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

    public String id() {
        return set.id();
    }

    /** The set's version (tenant changes). */
    public long version() {
        return set.version();
    }

    /** The primary encoding's threshold override; null when none is set (or no encoding is READY). */
    public Float thresholdOverride() {
        return primary.map(Encoding::thresholdOverride).orElse(null);
    }

    /** The primary encoding's calibration; null when no encoding is READY. */
    public Calibration calibration() {
        return primary.map(Encoding::calibration).orElse(null);
    }

    /** The primary encoding's bundle; null when no encoding is READY. */
    public String bundleId() {
        return primary.map(Encoding::bundleId).orElse(null);
    }

    /** The READY encoding by {@code encoder}, if any. */
    public Optional<Encoding> encoding(String encoder) {
        return encodings.stream()
                .filter(e -> e.ready() && e.encoder().equals(encoder))
                .findFirst();
    }
}
