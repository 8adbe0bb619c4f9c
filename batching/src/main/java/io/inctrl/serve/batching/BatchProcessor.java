package io.inctrl.serve.batching;

import java.util.List;

/**
 * Runs one batch on one device. Each worker owns its own instance (DJL predictors are not thread-safe),
 * so implementations need not be thread-safe.
 *
 * @param <I> one job's input
 * @param <O> one job's output
 */
@FunctionalInterface
public interface BatchProcessor<I, O> extends AutoCloseable {

    /**
     * Computes one output per input, in input order.
     *
     * @throws Exception any failure; the batcher retries the batch once elsewhere and rebuilds this processor
     */
    List<O> process(List<I> batch) throws Exception;

    /** Releases device resources; called before the worker rebuilds its processor and at shutdown. */
    @Override
    default void close() throws Exception {}
}
