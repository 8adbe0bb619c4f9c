package io.inctrl.serve.lifecycle;

import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Graceful drain of a stopping replica. Quarkus fires {@link ShutdownDelayInitiatedEvent} synchronously before any
 * transport closes, so blocking here (bounded by {@code inctrl.drain.timeout}) keeps the gRPC and HTTP servers up
 * while the calls already admitted are answered; meanwhile readiness is DOWN and new calls are refused.
 */
@ApplicationScoped
public class Drain {

    private static final Logger LOG = Logger.getLogger(Drain.class);

    @Inject
    DrainConfig config;

    private volatile boolean draining;
    private int openCalls; // guarded by this
    private final Set<Runnable> listeners = ConcurrentHashMap.newKeySet();

    void onShutdownRequested(@Observes ShutdownDelayInitiatedEvent event) {
        begin();
        boolean idle = awaitIdle(config.timeout());
        if (idle) {
            LOG.info("drain complete: every admitted call was answered");
        } else {
            LOG.warnf(
                    "drain timeout %s reached with %d call(s) still open; closing anyway",
                    config.timeout(), openCalls());
        }
    }

    /** Stops admitting work and tells open streams to finish what they pulled. Idempotent. */
    public void begin() {
        if (draining) {
            return;
        }
        draining = true;
        LOG.infof("draining: readiness NOT_SERVING, new calls refused, %d call(s) in flight", openCalls());
        listeners.forEach(Runnable::run);
    }

    public boolean draining() {
        return draining;
    }

    public Duration retryAfter() {
        return config.retryAfter();
    }

    /** What a call refused (or a stream ended) by the drain gets, on every transport. */
    public ServeException refusal() {
        return ServeException.retryLater(
                Reason.DRAINING, "server is draining (shutting down): retry on another replica", config.retryAfter());
    }

    /** Counts one admitted call until {@link #callEnded()}; the drain waits for the count to reach zero. */
    public synchronized void callStarted() {
        openCalls++;
    }

    public synchronized void callEnded() {
        openCalls--;
        if (openCalls <= 0) {
            notifyAll();
        }
    }

    public synchronized int openCalls() {
        return openCalls;
    }

    /** Runs {@code r} when the drain begins (at once if it already has). */
    public void onDrain(Runnable r) {
        listeners.add(r);
        if (draining) {
            r.run();
        }
    }

    public void removeListener(Runnable r) {
        listeners.remove(r);
    }

    synchronized boolean awaitIdle(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (openCalls > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }
}
