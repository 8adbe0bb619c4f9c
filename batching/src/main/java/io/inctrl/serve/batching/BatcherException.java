package io.inctrl.serve.batching;

/**
 * Base of the batcher's failure causes. Each subclass maps to one transport status (for example
 * RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, UNAVAILABLE) in the server's API layer.
 */
public abstract class BatcherException extends RuntimeException {

    protected BatcherException(String message, Throwable cause) {
        super(message, cause);
    }
}
