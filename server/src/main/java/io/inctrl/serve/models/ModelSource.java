package io.inctrl.serve.models;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where model versions come from: the single configured bundle, or a model repository. A version is offered only
 * once it is complete and verified; problems are reported, never loaded.
 */
public interface ModelSource {

    /** One version as the source sees it: {@code problem} is empty when it can be loaded. */
    record Available(ModelRef ref, Optional<String> problem) {
        public boolean valid() {
            return problem.isEmpty();
        }
    }

    /** Per-model settings (the repository's {@code <model>/config.json}); empty fields = the server defaults. */
    record ModelSettings(Optional<VersionPolicy> versionPolicy, Optional<String> precision) {
        public static final ModelSettings DEFAULTS = new ModelSettings(Optional.empty(), Optional.empty());
    }

    /** Every model and version the source holds, valid or not. */
    List<Available> versions();

    /** A verified local directory holding exactly {@code ref}'s bundle. */
    Path materialize(ModelRef ref);

    ModelSettings settings(String model);

    /** Re-reads the source (a rescan, or a sync of remote storage). */
    void refresh();

    /** Names the source in logs and the API, e.g. a directory or {@code s3://bucket/prefix}. */
    String describe();
}
