package io.inctrl.serve.batching;

/** The job's deadline passed before it reached a processor; it was dropped without being computed. */
public final class DeadlineExceededException extends BatcherException {

    public DeadlineExceededException(String message) {
        super(message, null);
    }
}
