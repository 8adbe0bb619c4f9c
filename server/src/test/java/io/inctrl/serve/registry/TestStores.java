package io.inctrl.serve.registry;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The stores every registry contract test runs against: embedded H2 always, PostgreSQL when
 * {@code INCTRL_TEST_PG_URL} (system property or environment; user/password inctrl/inctrl) is set.
 */
public final class TestStores {

    private TestStores() {}

    public static String pgUrl() {
        String url = System.getProperty("INCTRL_TEST_PG_URL");
        return url != null && !url.isBlank() ? url : System.getenv("INCTRL_TEST_PG_URL");
    }

    /** Parameter source: "h2", and "postgresql" when configured. */
    public static List<String> kinds() {
        List<String> out = new ArrayList<>(List.of("h2"));
        String pg = pgUrl();
        if (pg != null && !pg.isBlank()) {
            out.add("postgresql");
        }
        return out;
    }

    /** A datasource on the store's database; H2 lives in {@code dir}, so reopening the same dir finds the data. */
    public static DataSource open(String kind, Path dir) {
        if (kind.equals("h2")) {
            JdbcDataSource ds = new JdbcDataSource();
            ds.setURL("jdbc:h2:file:" + dir.resolve("registry").toAbsolutePath());
            ds.setUser("inctrl");
            ds.setPassword("inctrl");
            return ds;
        }
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setURL(pgUrl());
        ds.setUser("inctrl");
        ds.setPassword("inctrl");
        return ds;
    }

    /**
     * The app's migration locations for the store (quarkus.flyway.pg.locations): a PostgreSQL database migrated
     * without the PostgreSQL-only scripts would refuse the app's later start (a skipped version below an applied one).
     */
    static String[] locations(String kind) {
        return kind.equals("postgresql")
                ? new String[] {"classpath:db/migration", "classpath:db/postgresql"}
                : new String[] {"classpath:db/migration"};
    }

    /** Opens an empty, migrated store (PostgreSQL is cleaned first: tests share one database). */
    public static DataSource fresh(String kind, Path dir) {
        DataSource ds = open(kind, dir);
        Flyway fw = Flyway.configure()
                .dataSource(ds)
                .locations(locations(kind))
                .cleanDisabled(false)
                .load();
        if (kind.equals("postgresql")) {
            fw.clean();
        }
        fw.migrate();
        return ds;
    }

    /** Migrates only (what the app does at start on an existing database). */
    public static DataSource reopen(String kind, Path dir) {
        DataSource ds = open(kind, dir);
        Flyway.configure().dataSource(ds).locations(locations(kind)).load().migrate();
        return ds;
    }
}
