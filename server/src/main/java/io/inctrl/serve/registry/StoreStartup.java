package io.inctrl.serve.registry;

import io.quarkus.agroal.runtime.AgroalDataSourceUtil;
import io.quarkus.flyway.FlywayDataSource;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Any;
import jakarta.enterprise.inject.Default;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.time.Duration;
import org.flywaydb.core.Flyway;
import org.jboss.logging.Logger;

/**
 * Brings the registry database up without ever failing the start (issue 20 item 0): a database that starts after the
 * server, a failover or a busy node must not crash-loop a fleet. From start on, a background thread tries to reach
 * the database and apply the Flyway migrations ({@code quarkus.flyway.*migrate-at-start} is off), backing off
 * exponentially ({@code inctrl.registry.startup.*}) with one log line per failed attempt that names the next delay;
 * once migrated it fires {@link StoreReady} (bootstrap work) and opens the {@link Store}.
 * <p>
 * Meanwhile the process is live, scoring needs no store, and every store call fails fast with UNAVAILABLE
 * {@code STORE_STARTING} and a retry hint (the time to the next attempt). The replica is not ready
 * ({@code /q/health/ready}, grpc.health.v1, OIP ServerReady) until the first migration succeeded: before it no API key
 * can be verified, so it could serve no tenant. Later outages do not touch readiness (see {@link Store}).
 */
@ApplicationScoped
public class StoreStartup {

    private static final Logger LOG = Logger.getLogger(StoreStartup.class);

    @Inject
    Store store;

    @Inject
    RegistryConfig config;

    @Inject
    @Any
    Instance<Flyway> flyways;

    @Inject
    Event<StoreReady> ready;

    private final java.util.List<Runnable> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean done;
    private volatile boolean stopped;
    private volatile long started;
    private Thread thread;

    /**
     * The first attempt runs here, so a reachable database is migrated before the server reports started (as with
     * migrate-at-start); only when it fails does the start go on and the retries continue in the background.
     */
    void onStart(@Observes StartupEvent event) {
        Flyway flyway = AgroalDataSourceUtil.dataSourceIfActive("pg").isPresent()
                ? flyways.select(FlywayDataSource.FlywayDataSourceLiteral.of("pg"))
                        .get()
                : flyways.select(Default.Literal.INSTANCE).get();
        started = System.nanoTime();
        Duration delay = config.startup().initialBackoff();
        if (attempt(flyway, 1, delay)) {
            return;
        }
        thread = new Thread(() -> retry(flyway, delay), "registry-store-startup");
        thread.setDaemon(true);
        thread.start();
    }

    void onStop(@Observes ShutdownEvent event) {
        stopped = true;
        if (thread != null) {
            thread.interrupt();
        }
    }

    /** True once the database was reached, migrated and the {@link StoreReady} work done. */
    public boolean ready() {
        return done;
    }

    /** Runs {@code r} once {@link #ready()} turns true (at once if it already is). */
    public void onReady(Runnable r) {
        listeners.add(r);
        if (done) {
            r.run();
        }
    }

    private void retry(Flyway flyway, Duration firstDelay) {
        Duration delay = firstDelay;
        for (int attempt = 2; !stopped; attempt++) {
            try {
                Thread.sleep(delay.toMillis());
            } catch (InterruptedException e) {
                return; // shutting down
            }
            delay = min(delay.multipliedBy(2), config.startup().maxBackoff());
            if (attempt(flyway, attempt, delay)) {
                return;
            }
        }
    }

    /** One try; on failure logs one line naming {@code nextDelay} and returns false. */
    private boolean attempt(Flyway flyway, int attempt, Duration nextDelay) {
        try {
            int applied = flyway.migrate().migrationsExecuted;
            store.markMigrated();
            ready.fire(new StoreReady());
            done = true;
            listeners.forEach(Runnable::run);
            LOG.infof(
                    "registry store ready: reached and migrated (%d migration(s) applied) at attempt %d, %d ms after start",
                    applied, attempt, (System.nanoTime() - started) / 1_000_000);
            return true;
        } catch (RuntimeException e) {
            store.nextStartAttemptIn(nextDelay);
            // an unreachable database is the expected case (WARN); a failing migration (a schema newer than this
            // version, a changed migration) will not cure itself by waiting: ERROR, so operators see it, still retried
            LOG.logf(
                    unreachable(e) ? Logger.Level.WARN : Logger.Level.ERROR,
                    "registry store not ready (attempt %d): %s; the replica is not ready, next attempt in %d ms",
                    attempt,
                    oneLine(e),
                    nextDelay.toMillis());
            return false;
        }
    }

    /** No connection could be made (SQLSTATE class 08, refused or timed out, the pool gave up acquiring one). */
    static boolean unreachable(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.sql.SQLException s
                    && s.getSQLState() != null
                    && s.getSQLState().startsWith("08")) {
                return true;
            }
            if (t instanceof java.net.ConnectException
                    || t instanceof java.net.SocketTimeoutException
                    || t instanceof java.net.UnknownHostException
                    || (t.getMessage() != null
                            && (t.getMessage().contains("Acquisition timeout")
                                    || t.getMessage().contains("Unable to obtain connection")))) {
                return true;
            }
        }
        return false;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** The innermost cause, on one line: driver text goes to the log only (never to clients). */
    static String oneLine(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t.getClass().getSimpleName() + ": " + t.getMessage();
        m = m.replace('\n', ' ').replace('\r', ' ');
        return m.length() > 300 ? m.substring(0, 300) + "…" : m;
    }
}
