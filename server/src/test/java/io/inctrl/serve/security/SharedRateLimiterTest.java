package io.inctrl.serve.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.agroal.api.AgroalDataSource;
import io.agroal.api.configuration.supplier.AgroalDataSourceConfigurationSupplier;
import io.agroal.api.security.NamePrincipal;
import io.agroal.api.security.SimplePassword;
import io.inctrl.serve.registry.TestStores;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Two limiters on one PostgreSQL database stand for two replicas: together they admit one tenant quota, while two
 * in-memory limiters admit two. Runs against the real database (INCTRL_TEST_PG_URL) in a schema of its own.
 */
@EnabledIf("io.inctrl.serve.security.SharedRateLimiterTest#pgConfigured")
class SharedRateLimiterTest {

    private static final String SCHEMA =
            "rate_limit_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    private static final double RPS = 20;
    private static final long HAMMER_NANOS = Duration.ofSeconds(2).toNanos();

    private static PGSimpleDataSource db;
    /** Pooled like the app's Agroal datasource: a fresh connection per call would measure login, not the limiter. */
    private static AgroalDataSource pool;

    static boolean pgConfigured() {
        String url = TestStores.pgUrl();
        return url != null && !url.isBlank();
    }

    @BeforeAll
    static void migrate() {
        db = new PGSimpleDataSource();
        db.setURL(TestStores.pgUrl());
        db.setUser("inctrl");
        db.setPassword("inctrl");
        db.setCurrentSchema(SCHEMA);
        // the app's pg datasource migrates both locations; so does this test, into its own schema
        Flyway.configure()
                .dataSource(db)
                .schemas(SCHEMA)
                .createSchemas(true)
                .locations("classpath:db/migration", "classpath:db/postgresql")
                .load()
                .migrate();
        String url = TestStores.pgUrl() + (TestStores.pgUrl().contains("?") ? "&" : "?") + "currentSchema=" + SCHEMA;
        try {
            pool = AgroalDataSource.from(new AgroalDataSourceConfigurationSupplier()
                    .connectionPoolConfiguration(p -> p.maxSize(8)
                            .connectionFactoryConfiguration(f -> f.jdbcUrl(url)
                                    .principal(new NamePrincipal("inctrl"))
                                    .credential(new SimplePassword("inctrl")))));
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @AfterAll
    static void dropSchema() throws SQLException {
        if (pool != null) {
            pool.close();
        }
        if (db != null) {
            try (Connection c = db.getConnection()) {
                c.createStatement().execute("DROP SCHEMA " + SCHEMA + " CASCADE");
            }
        }
    }

    private record Hammered(long admitted, long attempts, double seconds) {}

    /** Every limiter is called from its own two threads, as fast as it answers, for two seconds. */
    private static Hammered hammer(String tenant, TenantRateLimiter... replicas) throws InterruptedException {
        AtomicInteger admitted = new AtomicInteger();
        AtomicInteger attempts = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime();
        for (TenantRateLimiter r : replicas) {
            for (int i = 0; i < 2; i++) {
                Thread t = new Thread(() -> {
                    while (System.nanoTime() - start < HAMMER_NANOS) {
                        attempts.incrementAndGet();
                        if (r.tryAcquire(tenant, RPS)) {
                            admitted.incrementAndGet();
                        }
                    }
                });
                t.start();
                threads.add(t);
            }
        }
        for (Thread t : threads) {
            t.join();
        }
        return new Hammered(admitted.get(), attempts.get(), (System.nanoTime() - start) / 1e9);
    }

    @Test
    void twoReplicasOnOneDatabase_admitOneQuota() throws InterruptedException {
        SharedRateLimiter a = new SharedRateLimiter(pool, Duration.ofSeconds(5));
        SharedRateLimiter b = new SharedRateLimiter(pool, Duration.ofSeconds(5));
        Hammered h = hammer("tenant-" + UUID.randomUUID(), a, b);
        System.out.println("shared: " + h);

        double quota = RPS + RPS * h.seconds(); // burst + refill over the window
        assertThat(h.attempts())
                .as("the database must answer far more calls than the quota for the count to mean anything")
                .isGreaterThan((long) (3 * quota));
        assertThat(h.admitted())
                .as("admitted by both replicas within %.2f s", h.seconds())
                .isLessThanOrEqualTo((long) (quota + 3))
                .isGreaterThanOrEqualTo((long) (0.8 * quota));
        assertThat(a.failingOpen()).isFalse();
        assertThat(b.failingOpen()).isFalse();
    }

    @Test
    void twoInMemoryReplicas_admitTwoQuotas() throws InterruptedException {
        Hammered h = hammer("tenant-" + UUID.randomUUID(), new LocalRateLimiter(), new LocalRateLimiter());
        System.out.println("in memory: " + h);

        double quota = RPS + RPS * h.seconds();
        // each replica's own full bucket at least (a refill share depends on how the threads were scheduled, which a
        // loaded machine decides), and never more than two quotas
        assertThat(h.admitted()).isGreaterThanOrEqualTo((long) (2 * RPS)).isLessThanOrEqualTo((long) (2 * quota + 3));
    }

    @Test
    void databaseOutage_failsOpenToLocalBuckets_probesOncePerRetryInterval_andLogsOnce() {
        SwitchableDataSource ds = new SwitchableDataSource(db);
        SharedRateLimiter limiter = new SharedRateLimiter(ds, Duration.ofHours(1));
        String tenant = "tenant-" + UUID.randomUUID();
        List<LogRecord> warnings = new ArrayList<>();
        Handler capture = capture(warnings);
        try {
            assertThat(limiter.tryAcquire(tenant, 5)).isTrue();
            int before = ds.connections.get();
            ds.down.set(true);

            int admitted = 0;
            for (int i = 0; i < 200; i++) {
                admitted += limiter.tryAcquire(tenant, 5) ? 1 : 0;
            }
            // the in-memory bucket (burst 5) takes over; the database is tried once, not 200 times
            assertThat(admitted).isBetween(5, 6);
            assertThat(ds.connections.get() - before).isEqualTo(1);
            assertThat(limiter.failingOpen()).isTrue();
            assertThat(warnings).hasSize(1);
        } finally {
            detach(capture);
        }
    }

    @Test
    void afterTheOutage_theSharedBucketsAreUsedAgain() throws SQLException {
        SwitchableDataSource ds = new SwitchableDataSource(db);
        SharedRateLimiter limiter = new SharedRateLimiter(ds, Duration.ZERO);
        String tenant = "tenant-" + UUID.randomUUID();
        ds.down.set(true);
        for (int i = 0; i < 3; i++) {
            limiter.tryAcquire(tenant, 5);
        }
        assertThat(limiter.failingOpen()).isTrue();
        assertThat(rows(tenant)).isZero();

        ds.down.set(false);
        assertThat(limiter.tryAcquire(tenant, 5)).isTrue();
        assertThat(limiter.failingOpen()).isFalse();
        assertThat(rows(tenant)).isEqualTo(1);
    }

    @Test
    void fractionalRate_hasABurstOfOne() {
        SharedRateLimiter limiter = new SharedRateLimiter(db, Duration.ofSeconds(5));
        String tenant = "tenant-" + UUID.randomUUID();
        assertThat(limiter.tryAcquire(tenant, 0.2)).isTrue();
        assertThat(limiter.tryAcquire(tenant, 0.2)).isFalse();
        // a quota change starts a bucket of the new shape
        assertThat(limiter.tryAcquire(tenant, 2)).isTrue();
        assertThat(limiter.tryAcquire(tenant, 2)).isTrue();
        assertThat(limiter.tryAcquire(tenant, 2)).isFalse();
    }

    private static int rows(String tenant) throws SQLException {
        try (Connection c = db.getConnection();
                var ps = c.prepareStatement("SELECT count(*) FROM " + SharedRateLimiter.TABLE + " WHERE id LIKE ?")) {
            ps.setString(1, tenant + "@%");
            try (var rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private static Handler capture(List<LogRecord> into) {
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                    synchronized (into) {
                        into.add(r);
                    }
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger.getLogger(SharedRateLimiter.class.getName()).addHandler(h);
        return h;
    }

    private static void detach(Handler h) {
        Logger.getLogger(SharedRateLimiter.class.getName()).removeHandler(h);
    }

    /** A datasource that can be switched off (connection refused) and counts how often it is asked. */
    private static final class SwitchableDataSource implements DataSource {
        final DataSource target;
        final AtomicBoolean down = new AtomicBoolean();
        final AtomicInteger connections = new AtomicInteger();

        SwitchableDataSource(DataSource target) {
            this.target = target;
        }

        @Override
        public Connection getConnection() throws SQLException {
            connections.incrementAndGet();
            if (down.get()) {
                throw new SQLException("Connection refused (test outage)", "08001");
            }
            return target.getConnection();
        }

        @Override
        public Connection getConnection(String user, String password) throws SQLException {
            return getConnection();
        }

        @Override
        public PrintWriter getLogWriter() {
            return null;
        }

        @Override
        public void setLogWriter(PrintWriter out) {}

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
        public <T> T unwrap(Class<T> iface) throws SQLException {
            throw new SQLException("not a wrapper");
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) {
            return false;
        }
    }
}
