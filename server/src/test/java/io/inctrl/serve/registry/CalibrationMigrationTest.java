package io.inctrl.serve.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.inctrl.serve.audit.Origin;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * V4 (per-set target false-positive rate) on a database holding a prompt set stored before it: the row reads with
 * the default target, fitted from its stored shot scores, and a later target change is stored in the new column.
 */
class CalibrationMigrationTest {

    @TempDir
    Path dir;

    static List<String> stores() {
        return TestStores.kinds();
    }

    @ParameterizedTest
    @MethodSource("stores")
    void rowStoredBeforeV4_getsTheDefaultTargetOnRead(String kind) throws Exception {
        DataSource ds = TestStores.open(kind, dir);
        Flyway before = Flyway.configure()
                .dataSource(ds)
                .locations(TestStores.locations(kind))
                .cleanDisabled(false)
                .target("2")
                .load();
        if (kind.equals("postgresql")) {
            before.clean();
        }
        before.migrate();
        TestRegistry r = new TestRegistry(ds);
        String t = r.tenant("acme");
        String oldJson = "{\"shotScores\":[0.11,0.14,0.12,0.18],\"suggestedThreshold\":0.2,\"outlierShots\":[],"
                + "\"warnings\":[],\"fp16MaxAbsDiff\":null}"; // as written by the max-based calibration
        r.store.tx(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO prompt_sets (id, tenant_id, name, category, "
                            + "template_id, template_version, shot_count, feature_precision, bundle_id, version, calibration, "
                            + "threshold_override, created_at, updated_at) VALUES (?,?,?,?,NULL,0,4,'FP32','b',1,?,NULL,?,?)")) {
                ps.setString(1, "old-1");
                ps.setString(2, t);
                ps.setString(3, "old");
                ps.setString(4, "screw");
                ps.setString(5, oldJson);
                ps.setTimestamp(6, Timestamp.from(Instant.parse("2026-01-01T00:00:00Z")));
                ps.setTimestamp(7, Timestamp.from(Instant.parse("2026-01-01T00:00:00Z")));
                ps.executeUpdate();
            }
            return null;
        });

        TestStores.reopen(kind, dir); // the app's start: migrates to the latest version
        assertThat(targetColumn(r, "old-1")).isNull();

        PromptSetDetails p = r.sets.get(t, "old-1");
        // the migrated row is the encoding of bundle 'b', kept beside the versions loaded now
        assertThat(p.encodings()).singleElement().satisfies(e -> {
            assertThat(e.encoder()).isEqualTo("b@fp32");
            assertThat(e.model()).isNull();
            assertThat(e.ready()).isTrue();
        });
        Calibration c = p.calibration();
        assertThat(c.method()).isEqualTo(TailFit.METHOD);
        assertThat(c.targetFpr()).isEqualTo(0.05f);
        assertThat(c.shotScores()).containsExactly(0.11f, 0.14f, 0.12f, 0.18f);
        float expected = (float) TailFit.fit(c.shotScores(), 0.2, 2).threshold(0.05);
        assertThat(c.suggestedThreshold()).isEqualTo(expected).isNotEqualTo(0.2f);
        assertThat(p.threshold()).contains(expected);
        assertThat(r.sets.list(t, 10, null).items().get(0).calibration()).isEqualTo(c);

        PromptSetDetails moved = r.sets.setThreshold(Origin.SYSTEM, t, "old-1", null, 0.1f);
        assertThat(targetColumn(r, "old-1")).isEqualTo(0.1f);
        assertThat(moved.calibration().targetFpr()).isEqualTo(0.1f);
        assertThat(moved.calibration().suggestedThreshold()).isLessThan(expected);
    }

    private static Float targetColumn(TestRegistry r, String id) {
        return r.store.tx(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT target_fpr FROM prompt_sets WHERE id = ?")) {
                ps.setString(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    float v = rs.getFloat(1);
                    return rs.wasNull() ? null : v;
                }
            }
        });
    }
}
