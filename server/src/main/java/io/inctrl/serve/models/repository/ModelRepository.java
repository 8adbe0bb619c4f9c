package io.inctrl.serve.models.repository;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where model bundles come from: a directory laid out as Triton's model repository,
 * {@code <repository>/<model>/<version>/manifest.json} (version = a positive integer directory name; other entries
 * are ignored with a warning), with an optional {@code <repository>/<model>/config.json} ({@link ModelConfig}).
 *
 * <p>Implementations: {@link LocalModelRepository} (a directory, e.g. a mounted volume) and {@link S3ModelRepository}
 * (S3-compatible object storage, synced into a local cache). A repository never hands out a bundle that failed
 * verification or is incomplete: such versions are listed as INVALID with the reason. Thread-safe.
 */
public interface ModelRepository extends AutoCloseable {

    /** What this repository reads, for logs and the API (e.g. {@code /models} or {@code s3://bucket/prefix}). */
    String location();

    /** Every model with every numbered version and its state, as of the last {@link #refresh()} (sorted by name). */
    List<RepositoryModel> index();

    /** One model of {@link #index()}. */
    default Optional<RepositoryModel> model(String name) {
        return index().stream().filter(m -> m.name().equals(name)).findFirst();
    }

    /**
     * A local directory holding exactly that version, verified (its SHA256SUMS when it has one, and the manifest).
     *
     * @throws ModelRepositoryException NOT_FOUND (no such model/version), INVALID (with the reason) or UNAVAILABLE
     */
    Path materialize(String model, long version);

    /**
     * Rescans the repository (a local directory) or re-syncs it (object storage: lists the bucket, downloads new or
     * changed versions, drops removed ones). On failure the previous index stays.
     *
     * @throws ModelRepositoryException UNAVAILABLE when the repository cannot be read at all
     */
    void refresh();

    @Override
    default void close() {}
}
