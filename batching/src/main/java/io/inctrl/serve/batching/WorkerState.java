package io.inctrl.serve.batching;

/** Life cycle of one device worker, reported through {@link BatchListener#onWorkerStateChanged}. */
public enum WorkerState {
    /** Building its first processor. */
    STARTING,
    /** Has a processor and takes batches. */
    READY,
    /** Its processor failed; rebuilding it from the factory before taking more work. */
    RECOVERING,
    /** The thread has ended. */
    STOPPED
}
