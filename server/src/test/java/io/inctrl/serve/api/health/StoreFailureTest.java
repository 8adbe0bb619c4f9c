package io.inctrl.serve.api.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.lifecycle.FatalErrors;
import io.inctrl.serve.registry.Store;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The probe's zombie: after an out-of-memory error the embedded H2 database closed itself, every registry call failed,
 * and health kept answering 200. A closed store is now fatal (liveness DOWN → restart); an unreachable one fails fast.
 */
class StoreFailureTest {

    @TempDir
    Path dir;

    @Test
    void an_embedded_store_that_closed_itself_turns_liveness_down() {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:file:" + dir.resolve("registry").toAbsolutePath());
        FatalErrors fatal = new FatalErrors();
        Store store = new Store(ds, fatal::record);
        LivenessCheck liveness = new LivenessCheck();
        liveness.fatalErrors = fatal;
        Boolean resultSet = store.tx(c -> c.createStatement().execute("SELECT 1"));
        assertThat(resultSet).isTrue();
        assertThat(liveness.call().getStatus()).isEqualTo(HealthCheckResponse.Status.UP);

        // what H2 does after an OutOfMemoryError: it closes the database under the open connections
        DataSource closing = new ClosingDataSource(ds);
        Store broken = new Store(closing, fatal::record);
        assertThatThrownBy(() -> broken.tx(c -> c.createStatement().execute("SELECT 1")))
                .isInstanceOf(ServeException.class)
                .hasMessageNotContaining("SELECT")
                .hasMessageNotContaining("jdbc");
        assertThat(broken.fatal()).isTrue();
        assertThat(liveness.call().getStatus()).isEqualTo(HealthCheckResponse.Status.DOWN);
    }

    @Test
    void an_unreachable_store_fails_fast_for_a_while_instead_of_waiting_on_every_call() {
        AtomicInteger attempts = new AtomicInteger();
        DataSource down = (DataSource) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {DataSource.class}, (proxy, method, args) -> {
                    if (method.getName().equals("getConnection")) {
                        attempts.incrementAndGet();
                        throw new SQLException("Connection to db.internal:5432 refused", "08001");
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        Store store = new Store(down);
        for (int i = 0; i < 50; i++) {
            assertThatThrownBy(() -> store.tx(c -> 1)).isInstanceOfSatisfying(ServeException.class, e -> {
                assertThat(e.code()).isEqualTo(ServeException.Code.UNAVAILABLE);
                assertThat(e.getMessage()).doesNotContain("db.internal").doesNotContain("5432");
            });
        }
        assertThat(attempts.get()).isEqualTo(1);
        assertThat(store.reachable()).isFalse();
        assertThat(store.fatal()).isFalse();
    }

    /** Shuts the H2 database down on the first connection handed out, as H2 itself does after an OOM. */
    private record ClosingDataSource(JdbcDataSource delegate) implements DataSource {
        @Override
        public java.sql.Connection getConnection() throws SQLException {
            java.sql.Connection c = delegate.getConnection();
            try (java.sql.Connection other = delegate.getConnection()) {
                other.createStatement().execute("SHUTDOWN");
            }
            return c;
        }

        @Override
        public java.sql.Connection getConnection(String u, String p) throws SQLException {
            return getConnection();
        }

        @Override
        public java.io.PrintWriter getLogWriter() {
            return null;
        }

        @Override
        public void setLogWriter(java.io.PrintWriter out) {}

        @Override
        public void setLoginTimeout(int seconds) {}

        @Override
        public int getLoginTimeout() {
            return 0;
        }

        @Override
        public java.util.logging.Logger getParentLogger() {
            return java.util.logging.Logger.getGlobal();
        }

        @Override
        public <T> T unwrap(Class<T> iface) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) {
            return false;
        }
    }
}
