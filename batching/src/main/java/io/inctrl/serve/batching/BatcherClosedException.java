package io.inctrl.serve.batching;

/** The batcher was closed before it accepted or finished this job. */
public final class BatcherClosedException extends BatcherException {

    public BatcherClosedException(String message) {
        super(message, null);
    }

    public BatcherClosedException(String message, Throwable cause) {
        super(message, cause);
    }
}
