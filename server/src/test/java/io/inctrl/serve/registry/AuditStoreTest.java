package io.inctrl.serve.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inctrl.serve.audit.AuditEntry;
import io.inctrl.serve.audit.AuditQuery;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The audit log's storage contract on every store of {@link TestStores#kinds()} (H2 always, PostgreSQL when
 * INCTRL_TEST_PG_URL is set): entries written with the change, refused attempts, filters, pages, retention.
 */
class AuditStoreTest {

    static final Origin KEY = new Origin(Origin.Actor.KEY, "t-acme", "key-1", "192.0.2.4", "req-1");

    @TempDir
    Path dir;

    static List<String> stores() {
        return TestStores.kinds();
    }

    static List<String> actions(List<AuditEntry> entries) {
        return entries.stream().map(e -> e.action() + " " + e.outcome()).toList();
    }

    static AuditQuery all(String tenantId) {
        return new AuditQuery(tenantId, null, null, null, null, 0);
    }

    @ParameterizedTest
    @MethodSource("stores")
    void changesAndRefusals_recordedWithOrigin(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        String other = r.tenant("other");
        PromptSetDetails p = r.sets.register(
                KEY,
                t,
                new PromptSetService.NewPromptSet("s", "screw", null, TestImages.normals(2), false, null, null, null));
        r.sets.setThreshold(KEY, t, p.id(), 0.3f);
        assertThatThrownBy(() -> r.sets.delete(KEY, other, p.id())).isInstanceOf(ServeException.class);
        r.sets.delete(KEY, t, p.id());

        List<AuditEntry> mine = r.audit.list(all(t)).items();
        assertThat(actions(mine))
                .containsExactly("prompt_set.delete ok", "prompt_set.threshold ok", "prompt_set.create ok");
        AuditEntry created = mine.get(2);
        assertThat(created.origin()).isEqualTo(KEY);
        assertThat(created.tenantId()).isEqualTo(t);
        assertThat(created.targetId()).isEqualTo(p.id());
        assertThat(created.time()).isBetween(Instant.now().minusSeconds(60), Instant.now());
        assertThat(actions(r.audit.list(all(other)).items())).containsExactly("prompt_set.delete NOT_FOUND");
        assertThat(r.audit.list(all(null)).items()).hasSize(4);
    }

    @ParameterizedTest
    @MethodSource("stores")
    void auditWriteFailure_rollsTheChangeBack(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        r.audit.entries = new AuditRepository() {
            @Override
            public void insert(
                    Connection c,
                    Instant time,
                    Origin o,
                    String tenantId,
                    String action,
                    String target,
                    String outcome,
                    String detail)
                    throws SQLException {
                throw new SQLException("audit table unavailable", "58000");
            }
        };
        assertThatThrownBy(() -> r.sets.register(
                        KEY,
                        t,
                        new PromptSetService.NewPromptSet(
                                "s", "screw", null, TestImages.normals(2), false, null, null, null)))
                .isInstanceOfSatisfying(
                        ServeException.class, e -> assertThat(e.reasonCode()).isEqualTo(Reason.STORE_ERROR));
        assertThat(r.sets.list(t, 0, null).items()).isEmpty(); // no change without its entry
        assertThat(r.counters.auditWriteFailures.get()).isEqualTo(1); // the refusal's entry: logged and counted
    }

    @ParameterizedTest
    @MethodSource("stores")
    void filtersPagesAndRetention(String kind) throws InterruptedException {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        String first = r.templates
                .create(KEY, t, "a", List.of("{}"), List.of("broken {}"), List.of("a photo of a {}."))
                .id();
        Thread.sleep(5);
        Instant middle = Store.now();
        Thread.sleep(5);
        for (String name : List.of("b", "c", "d")) {
            r.templates.create(KEY, t, name, List.of("{}"), List.of("broken {}"), List.of("a photo of a {}."));
        }
        r.templates.delete(KEY, t, first);

        AuditTrail.Page creates = r.audit.list(new AuditQuery(t, "template.create", null, null, null, 2));
        assertThat(creates.items()).hasSize(2);
        assertThat(creates.more()).isTrue();
        AuditTrail.Page rest = r.audit.list(new AuditQuery(
                t, "template.create", null, null, creates.items().get(1).id(), 2));
        assertThat(rest.items()).hasSize(2);
        assertThat(rest.more()).isFalse();
        assertThat(rest.items().get(1).targetId()).isEqualTo(first);
        assertThat(r.audit.list(new AuditQuery(t, null, null, middle, null, 0)).items())
                .extracting(AuditEntry::targetId)
                .containsExactly(first);
        assertThat(actions(r.audit
                        .list(new AuditQuery(t, null, middle, null, null, 0))
                        .items()))
                .hasSize(4)
                .startsWith("template.delete ok");

        // retention 1 day, "now" one day after the middle: only the first creation is older
        assertThat(r.audit.purge(middle.plus(Duration.ofDays(1)), Duration.ofDays(1)))
                .isEqualTo(1);
        assertThat(r.audit.list(all(t)).items()).hasSize(4);
        assertThat(r.counters.auditEntriesPurged.get()).isEqualTo(1);
    }
}
