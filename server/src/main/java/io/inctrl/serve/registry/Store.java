package io.inctrl.serve.registry;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;

/**
 * Runs units of work on one JDBC connection in one transaction: commit on success, rollback on any exception, so a
 * failed registration leaves nothing behind. Works on any {@link DataSource} (Agroal in the app, plain in tests).
 */
public final class Store {

    @FunctionalInterface
    public interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /** SQLSTATE for a unique-constraint violation, the same on H2 and PostgreSQL. */
    static final String UNIQUE_VIOLATION = "23505";

    private final DataSource dataSource;

    public Store(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public <T> T tx(Work<T> work) {
        try (Connection c = dataSource.getConnection()) {
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
        } catch (SQLException e) {
            if (UNIQUE_VIOLATION.equals(e.getSQLState())) {
                throw new RegistryException(RegistryException.Kind.ALREADY_EXISTS, "DUPLICATE", "the name is already taken", e);
            }
            throw new RegistryException(RegistryException.Kind.UNAVAILABLE, "STORE_ERROR", "registry store error: " + e.getMessage(), e);
        }
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
