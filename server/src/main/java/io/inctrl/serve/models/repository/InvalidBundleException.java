package io.inctrl.serve.models.repository;

/**
 * A bundle version in a repository fails verification (checksums, manifest, layout). The message is the human reason
 * that {@link RepositoryVersion#reason()} reports, e.g. "checksum mismatch on vision.pt (…)".
 */
public class InvalidBundleException extends RuntimeException {
    public InvalidBundleException(String reason) {
        super(reason);
    }
}
