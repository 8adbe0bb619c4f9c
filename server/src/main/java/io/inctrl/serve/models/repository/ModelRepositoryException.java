package io.inctrl.serve.models.repository;

/**
 * A model version cannot be listed or materialised. {@link #kind()} says which answer a caller should give (gRPC /
 * REST): {@code NOT_FOUND}, {@code FAILED_PRECONDITION} for an invalid bundle, {@code UNAVAILABLE} for storage that
 * cannot be reached; the message is the reason, naming the model, the version and the repository.
 */
public class ModelRepositoryException extends RuntimeException {

    public enum Kind {
        /** No such model, or no such version of it, in the repository. */
        NOT_FOUND,
        /** The version exists but is not a valid bundle (checksums, manifest, config.json); see the message. */
        INVALID,
        /** The repository's storage could not be read (directory missing, object storage unreachable). */
        UNAVAILABLE
    }

    private final Kind kind;

    public ModelRepositoryException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public ModelRepositoryException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
