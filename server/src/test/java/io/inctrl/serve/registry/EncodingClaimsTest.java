package io.inctrl.serve.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inctrl.serve.audit.AuditEntry;
import io.inctrl.serve.audit.AuditQuery;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.models.ModelChoice;
import io.inctrl.serve.models.ModelsConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Two replicas on one store (two registries, each with its own caches and model, on the same database) running a new
 * model version: each prompt set is encoded once for it, whichever replica and however many requests get there first;
 * a claim left behind by a replica that died is taken over once its lease ends.
 */
class EncodingClaimsTest {

    @TempDir
    Path dir;

    static List<String> stores() {
        return TestStores.kinds();
    }

    @ParameterizedTest
    @MethodSource("stores")
    void concurrentFirstRequestsOnTwoReplicas_encodeTheSetOnce(String kind) throws Exception {
        TestRegistry a = new TestRegistry(TestStores.fresh(kind, dir));
        String t = a.tenant("acme");
        String id =
                a.register(t, "s", "screw", null, TestImages.normals(4), false).id();
        TestRegistry b = new TestRegistry(TestStores.reopen(kind, dir));
        // both replicas were restarted onto version 2 only
        for (TestRegistry r : List.of(a, b)) {
            r.model.removeVersion(1);
            r.model.addVersion(2, "fake-bundle-2");
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<ResolvedPromptSet>> results = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                TestRegistry r = i % 2 == 0 ? a : b;
                Callable<ResolvedPromptSet> call = () -> {
                    start.await();
                    return r.sets.resolve(t, id);
                };
                results.add(pool.submit(call));
            }
            start.countDown();
            for (Future<ResolvedPromptSet> f : results) {
                assertThat(f.get(2, TimeUnit.MINUTES).servedBy().ref().version())
                        .isEqualTo(2);
            }
        } finally {
            pool.shutdownNow();
        }
        int encodedImages =
                a.model.v(2).imagesEncoded.get() + b.model.v(2).imagesEncoded.get();
        assertThat(encodedImages).isEqualTo(4); // the 4 shots, once, on one replica
        List<AuditEntry> encodes = a.audit
                .list(new AuditQuery(t, "prompt_set.encode", null, null, null, 10))
                .items();
        assertThat(encodes)
                .singleElement()
                .satisfies(e -> assertThat(e.detail()).contains("version=2"));
        // the version-1 encoding is still there, untouched, for a roll-back
        assertThat(a.sets.get(t, id).encoding("fake-bundle-1@fp32")).isPresent();
    }

    @ParameterizedTest
    @MethodSource("stores")
    void aClaimOfADeadReplica_isTakenOverAfterItsLease_andALiveOneIsWaitedFor(String kind) {
        TestRegistry r = new TestRegistry(
                TestStores.fresh(kind, dir), new FakeModelPort(), ModelsConfig.OnMissing.ENCODE, 1 << 30);
        String t = r.tenant("acme");
        PromptSetDetails p = r.register(t, "s", "screw", null, TestImages.normals(2), false);
        FakeModelPort.Version v2 = r.model.addVersion(2, "fake-bundle-2");
        // another replica claimed the encoding and is working on it (lease far ahead): a request with a deadline
        // gets a retry hint, nothing is encoded here
        claim(r, p, v2, "other-replica", Instant.now().plusSeconds(600));
        assertThatThrownBy(() -> r.sets.resolve(
                        t, p.id(), ModelChoice.of("", 2), Instant.now().plusMillis(300)))
                .isInstanceOfSatisfying(ServeException.class, e -> {
                    assertThat(e.code()).isEqualTo(ServeException.Code.UNAVAILABLE);
                    assertThat(e.reason()).isEqualTo("PROMPT_SET_ENCODING");
                    assertThat(e.retryAfter()).isPresent();
                });
        assertThat(v2.imagesEncoded.get()).isZero();
        // that replica died: once its lease is over, the next request takes the claim over and encodes
        r.store.tx(c -> {
            try (var ps = c.prepareStatement("UPDATE prompt_set_encodings SET lease_until = ? WHERE encoder = ?")) {
                ps.setTimestamp(1, java.sql.Timestamp.from(Instant.now().minus(Duration.ofSeconds(1))));
                ps.setString(2, v2.encoderId());
                ps.executeUpdate();
            }
            return null;
        });
        ResolvedPromptSet res = r.sets.resolve(t, p.id(), ModelChoice.of("", 2), null);
        assertThat(res.servedBy().ref().version()).isEqualTo(2);
        assertThat(res.encoding().ready()).isTrue();
        assertThat(v2.imagesEncoded.get()).isEqualTo(2);
    }

    private static void claim(TestRegistry r, PromptSetDetails p, ModelVersionPort v, String owner, Instant lease) {
        r.store.tx(c -> {
            new EncodingRepository()
                    .insertClaim(c, p.id(), p.set().revision(), Encodings.encoderOf(v), owner, lease, Store.now());
            return null;
        });
    }
}
