package io.inctrl.serve.models.repository;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * A model directory of a repository: its name, its {@code config.json} (defaults when absent) and every numbered
 * version, sorted ascending.
 *
 * @param name directory name = model name
 * @param config the model's config.json, or {@link ModelConfig#DEFAULT}; when the file is invalid, DEFAULT and
 *     {@code invalidReason} says why
 * @param invalidReason present when the model as a whole cannot be served (an invalid config.json): no version of it
 *     may be loaded, whatever the versions' own state
 * @param versions every positive-integer subdirectory, ascending
 */
public record RepositoryModel(
        String name, ModelConfig config, Optional<String> invalidReason, List<RepositoryVersion> versions) {

    public RepositoryModel {
        versions = versions.stream()
                .sorted(Comparator.comparingLong(RepositoryVersion::version))
                .toList();
    }

    public Optional<RepositoryVersion> version(long version) {
        return versions.stream().filter(v -> v.version() == version).findFirst();
    }

    /**
     * The versions to serve: the config's version policy applied to the AVAILABLE versions ("latest N" counts
     * available versions only, so an invalid newest version leaves the previous one served; a "specific" version that
     * is missing or invalid is left out, and {@link #version} tells why). Empty when the model itself is invalid.
     */
    public List<Long> selectedVersions() {
        if (invalidReason.isPresent()) {
            return List.of();
        }
        return config.versionPolicy()
                .select(versions.stream()
                        .filter(RepositoryVersion::available)
                        .map(RepositoryVersion::version)
                        .toList());
    }
}
