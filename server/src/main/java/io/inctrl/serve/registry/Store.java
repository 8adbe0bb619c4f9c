package io.inctrl.serve.registry;

import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.logging.InternalErrors;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Runs units of work on one JDBC connection in one transaction: commit on success, rollback on any exception, so a
 * failed registration leaves nothing behind. Works on any {@link DataSource} (Agroal in the app, plain in tests).
 * <p>
 * Failure policy: when the database cannot be reached, callers fail fast (UNAVAILABLE) for {@link #RETRY_INTERVAL_NANOS}
 * instead of each waiting out a connection timeout; messages never carry SQL, hosts or driver text (those go to the
 * log with an error id). An embedded database that closed itself (after an out-of-memory error) is fatal: it is
 * reported to {@code onFatal} so liveness turns DOWN and the process gets restarted. Inputs are bounded before they
 * get here: a value too long for its column is the caller's 400, not a store error.
 */
public final class Store {

    private static final Logger LOG = Logger.getLogger(Store.class);

    @FunctionalInterface
    public interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /** SQLSTATE for a unique-constraint violation, the same on H2 and PostgreSQL. */
    static final String UNIQUE_VIOLATION = "23505";
    /** H2: DATABASE_IS_CLOSED, DATABASE_CALLED_AT_SHUTDOWN. */
    private static final int H2_CLOSED = 90098;

    private static final int H2_CLOSED_AT_SHUTDOWN = 90121;
    static final long RETRY_INTERVAL_NANOS = 1_000_000_000L;

    private final DataSource dataSource;
    private final Consumer<Throwable> onFatal;
    private volatile long unreachableUntil = System.nanoTime();
    private volatile boolean reachable = true;
    private volatile boolean fatal;
    private volatile boolean migrated;
    private volatile long nextStartAttemptNanos = System.nanoTime();

    /** A store whose schema is already in place (tests, tools). */
    public Store(DataSource dataSource) {
        this(dataSource, t -> {});
    }

    public Store(DataSource dataSource, Consumer<Throwable> onFatal) {
        this(dataSource, onFatal, true);
    }

    /**
     * @param migrated false for the server's store, which {@link StoreStartup} opens once it has reached and migrated
     *     the database; until then every unit of work fails fast with STORE_STARTING
     */
    public Store(DataSource dataSource, Consumer<Throwable> onFatal, boolean migrated) {
        this.dataSource = dataSource;
        this.onFatal = onFatal;
        this.migrated = migrated;
    }

    public <T> T tx(Work<T> work) {
        if (!migrated) {
            throw starting();
        }
        if (!reachable && unreachableUntil - System.nanoTime() > 0) {
            throw unavailable();
        }
        try (Connection c = dataSource.getConnection()) {
            T result = inTransaction(c, work);
            markReachable();
            return result;
        } catch (SQLException e) {
            throw translate(e);
        } catch (VirtualMachineError e) {
            fatal(e);
            throw e;
        }
    }

    private static <T> T inTransaction(Connection c, Work<T> work) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            T result = work.run(c);
            c.commit();
            return result;
        } catch (Throwable t) {
            c.rollback();
            throw t;
        } finally {
            c.setAutoCommit(auto);
        }
    }

    private RuntimeException translate(SQLException e) {
        if (UNIQUE_VIOLATION.equals(e.getSQLState())) {
            markReachable();
            return new ServeException(Reason.DUPLICATE, "the name is already taken", e);
        }
        if (e.getErrorCode() == H2_CLOSED || e.getErrorCode() == H2_CLOSED_AT_SHUTDOWN) {
            fatal(e);
            return unavailable();
        }
        if (isConnectionFailure(e)) {
            if (reachable) {
                LOG.errorf(
                        "registry store unreachable (%s); failing fast, retrying every %d ms",
                        oneLine(e), RETRY_INTERVAL_NANOS / 1_000_000);
            }
            reachable = false;
            unreachableUntil = System.nanoTime() + RETRY_INTERVAL_NANOS;
            return unavailable();
        }
        String errorId = InternalErrors.log("registry store error (SQLSTATE " + e.getSQLState() + ")", e);
        return new ServeException(
                Reason.STORE_ERROR,
                "the registry store could not complete the operation: " + InternalErrors.clientMessage(errorId),
                e);
    }

    /** SQLSTATE class 08 (connection exception), or the pool giving up on acquiring a connection. */
    private static boolean isConnectionFailure(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s
                    && s.getSQLState() != null
                    && s.getSQLState().startsWith("08")) {
                return true;
            }
            if (t instanceof java.net.ConnectException
                    || t instanceof java.net.SocketTimeoutException
                    || t instanceof java.net.UnknownHostException) {
                return true;
            }
            String m = t.getMessage();
            if (m != null && m.contains("Acquisition timeout")) {
                return true;
            }
        }
        return false;
    }

    private void markReachable() {
        if (!reachable) {
            LOG.info("registry store reachable again");
            reachable = true;
        }
    }

    private void fatal(Throwable t) {
        if (!fatal) {
            fatal = true;
            LOG.error("registry store failed fatally; this replica must be restarted", t);
            onFatal.accept(t);
        }
    }

    private static ServeException unavailable() {
        return new ServeException(
                Reason.REGISTRY_UNAVAILABLE, "the prompt registry is temporarily unavailable: retry shortly");
    }

    private static String oneLine(Throwable t) {
        String m = String.valueOf(t.getMessage());
        return m.length() > 200 ? m.substring(0, 200) + "…" : m.replace('\n', ' ');
    }

    /** The schema is in place: units of work may run (see {@link StoreStartup}). */
    void markMigrated() {
        migrated = true;
    }

    /** When {@link StoreStartup} tries the database next; the retry hint of STORE_STARTING. */
    void nextStartAttemptIn(java.time.Duration delay) {
        nextStartAttemptNanos = System.nanoTime() + delay.toNanos();
    }

    /** True once the database was reached and migrated since start. */
    public boolean migrated() {
        return migrated;
    }

    private ServeException starting() {
        long ms = Math.max(0, (nextStartAttemptNanos - System.nanoTime()) / 1_000_000);
        return new ServeException(
                Reason.STORE_STARTING,
                "the prompt registry's database has not been reached since this replica started: retry shortly",
                java.time.Duration.ofMillis(ms),
                null);
    }

    /** False after a connection failure until the next successful transaction. */
    public boolean reachable() {
        return reachable;
    }

    /** True once the embedded database closed itself; only a restart recovers. */
    public boolean fatal() {
        return fatal;
    }

    /** Now, at the microsecond precision both H2 and PostgreSQL store, so what is returned equals what is read back. */
    public static Instant now() {
        return Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MICROS);
    }

    static Timestamp ts(Instant i) {
        return i == null ? null : Timestamp.from(i);
    }

    static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }
}
