package io.inctrl.serve.batching;

/** The job's batch failed on its worker (and on the retry, where there was one); the cause is attached. */
public final class WorkerUnavailableException extends BatcherException {

    public WorkerUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
