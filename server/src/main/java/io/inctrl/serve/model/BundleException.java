package io.inctrl.serve.model;

/** A model bundle is missing, malformed or cannot be loaded. */
public class BundleException extends RuntimeException {
    public BundleException(String message) {
        super(message);
    }

    public BundleException(String message, Throwable cause) {
        super(message, cause);
    }
}
