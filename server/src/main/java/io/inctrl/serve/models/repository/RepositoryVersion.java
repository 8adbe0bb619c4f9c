package io.inctrl.serve.models.repository;

import java.util.Objects;
import java.util.Optional;

/**
 * One numbered version directory of a model in a repository.
 *
 * @param version positive version number (the directory name)
 * @param state AVAILABLE: verified, {@link ModelRepository#materialize} gives its directory; INVALID: see reason
 * @param reason why the version is INVALID (empty when AVAILABLE), e.g. "checksum mismatch on vision.pt (…)"
 * @param bundleId the manifest's bundle_id when the manifest could be read
 */
public record RepositoryVersion(long version, State state, Optional<String> reason, Optional<String> bundleId) {

    public enum State {
        AVAILABLE,
        INVALID
    }

    public RepositoryVersion {
        Objects.requireNonNull(state);
        Objects.requireNonNull(reason);
        Objects.requireNonNull(bundleId);
        if (version <= 0) {
            throw new IllegalArgumentException("version must be positive: " + version);
        }
        if ((state == State.INVALID) != reason.isPresent()) {
            throw new IllegalArgumentException("an INVALID version, and only that, carries a reason");
        }
    }

    public static RepositoryVersion available(long version, String bundleId) {
        return new RepositoryVersion(version, State.AVAILABLE, Optional.empty(), Optional.of(bundleId));
    }

    public static RepositoryVersion invalid(long version, String reason) {
        return new RepositoryVersion(version, State.INVALID, Optional.of(reason), Optional.empty());
    }

    public boolean available() {
        return state == State.AVAILABLE;
    }
}
