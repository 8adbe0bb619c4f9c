package io.inctrl.serve.models;

/**
 * What a request asks for: a model by name (empty = the server's default model, or the prompt set's own model) and
 * optionally one version (0 = whichever version the roll-out state routes to).
 */
public record ModelChoice(String name, long version) {

    /** The default model, routed by its roll-out state. */
    public static final ModelChoice ANY = new ModelChoice("", 0);

    public ModelChoice {
        name = name == null ? "" : name.strip();
        if (version < 0) {
            throw new IllegalArgumentException("model version must be >= 0 (0 = any), was " + version);
        }
    }

    public static ModelChoice of(String name, long version) {
        return new ModelChoice(name, version);
    }

    public boolean namesModel() {
        return !name.isEmpty();
    }

    /** This choice, or {@code fallback}'s model name when this one names none (its version is kept). */
    public ModelChoice orModel(String fallback) {
        return namesModel() || fallback == null ? this : new ModelChoice(fallback, version);
    }
}
