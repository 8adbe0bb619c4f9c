package io.inctrl.serve.models;

import java.util.Comparator;
import java.util.Objects;

/** One version of one model: the unit that is loaded, served, unloaded and rolled out (Triton's model version). */
public record ModelRef(String name, long version) implements Comparable<ModelRef> {

    private static final Comparator<ModelRef> ORDER =
            Comparator.comparing(ModelRef::name).thenComparingLong(ModelRef::version);

    public ModelRef {
        Objects.requireNonNull(name, "name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("model name must not be blank");
        }
        if (version < 1) {
            throw new IllegalArgumentException("model version must be >= 1, was " + version);
        }
    }

    @Override
    public int compareTo(ModelRef o) {
        return ORDER.compare(this, o);
    }

    /** {@code name:version}, as logs, metrics and the audit log name a version. */
    @Override
    public String toString() {
        return name + ":" + version;
    }
}
