package io.inctrl.serve.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.model.InctrlScores;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The registry's storage contract, run against every store of {@link TestStores#kinds()} (H2 always, PostgreSQL
 * when INCTRL_TEST_PG_URL is set): durability, atomicity, tenant scoping, precision, stale handling, caching.
 */
class RegistryStoreTest {

    @TempDir
    Path dir;

    static List<String> stores() {
        return TestStores.kinds();
    }

    @ParameterizedTest
    @MethodSource("stores")
    void registerReopenScore_sameResult(String kind) {
        for (boolean fp16 : new boolean[] {false, true}) {
            DataSource ds = TestStores.fresh(kind, dir.resolve("a" + fp16));
            TestRegistry r = new TestRegistry(ds);
            String t = r.tenant("acme");
            PromptSet p = r.sets.register(Origin.SYSTEM, t, "line-1", "metal_nut", null, TestImages.normals(4), fp16);
            InctrlScores before =
                    r.sets.score(t, p.id(), TestImages.anomalous(7)).scores();

            // A new process: fresh caches, fresh model instance, the same database.
            TestRegistry again = new TestRegistry(TestStores.reopen(kind, dir.resolve("a" + fp16)));
            PromptSetService.ScoreResult after = again.sets.score(t, p.id(), TestImages.anomalous(7));
            assertThat(after.scores().score()).isEqualTo(before.score());
            assertThat(after.scores().map()).containsExactly(before.map());
            assertThat(again.sets.get(t, p.id())).isEqualTo(p);
            assertThat(again.counters.shotImagesEncoded.get()).isZero();
            assertThat(again.counters.featureCacheMisses.get()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @MethodSource("stores")
    void scoreById_neverReencodesShotsOrText(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        PromptSet p = r.sets.register(Origin.SYSTEM, t, "s", "screw", null, TestImages.normals(3), false);
        long shots = r.counters.shotImagesEncoded.get();
        long text = r.counters.textPriorsEncoded.get();
        int modelText = r.model.textPriorCalls.get();
        int modelImages = r.model.imagesEncoded.get();
        for (int i = 0; i < 5; i++) {
            r.sets.score(t, p.id(), TestImages.normal(100 + i));
        }
        assertThat(r.counters.shotImagesEncoded.get()).isEqualTo(shots);
        assertThat(r.counters.textPriorsEncoded.get()).isEqualTo(text);
        assertThat(r.model.textPriorCalls.get()).isEqualTo(modelText);
        assertThat(r.model.imagesEncoded.get() - modelImages).isEqualTo(5); // the queries only
        assertThat(r.counters.queryImagesEncoded.get()).isEqualTo(5);
        assertThat(r.counters.featureCacheHits.get()).isEqualTo(5);
        assertThat(r.counters.featureCacheMisses.get()).isZero();
    }

    @ParameterizedTest
    @MethodSource("stores")
    void failureInsideTransaction_leavesNothing(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        PromptSetRepository repo = new PromptSetRepository();
        PromptSet p = new PromptSet(
                "p1",
                t,
                "n",
                "c",
                TemplateSet.BUILT_IN_ID,
                0,
                2,
                Precision.FP32,
                "b",
                1,
                new Calibration(List.of(), null, List.of(), List.of(), null),
                null,
                Instant.now(),
                Instant.now());
        assertThatThrownBy(() -> r.store.tx(c -> {
                    repo.insert(c, p);
                    repo.insertShots(c, "p1", TestImages.normals(2));
                    throw new IllegalStateException("disk full");
                }))
                .hasMessage("disk full");
        assertThat(count(r, "prompt_sets")).isZero();
        assertThat(count(r, "prompt_set_shots")).isZero();
    }

    @ParameterizedTest
    @MethodSource("stores")
    void inspectionMode_roundTripsAndDefaultsToCentreCrop(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        PromptSetRepository repo = new PromptSetRepository();
        for (io.inctrl.serve.image.Inspection mode : io.inctrl.serve.image.Inspection.values()) {
            PromptSet p = new PromptSet(
                    "p-" + mode,
                    t,
                    "n-" + mode,
                    "c",
                    TemplateSet.BUILT_IN_ID,
                    0,
                    2,
                    Precision.FP32,
                    "b",
                    1,
                    new Calibration(List.of(), null, List.of(), List.of(), null),
                    null,
                    Instant.now(),
                    Instant.now(),
                    mode);
            r.store.tx(c -> {
                repo.insert(c, p);
                return null;
            });
            PromptSet read = r.store.tx(c -> repo.find(c, t, "p-" + mode).orElseThrow());
            assertThat(read.inspection()).isEqualTo(mode);
        }
        // a row written without the column (as before the migration) reads as the centre crop
        r.store.tx(c -> {
            try (var st = c.createStatement()) {
                st.executeUpdate("UPDATE prompt_sets SET inspection = DEFAULT WHERE id = 'p-TILES'");
            }
            return null;
        });
        assertThat(r.store.tx(c -> repo.find(c, t, "p-TILES").orElseThrow()).inspection())
                .isEqualTo(io.inctrl.serve.image.Inspection.CENTER_CROP);
    }

    @ParameterizedTest
    @MethodSource("stores")
    void undecodableLastShot_nothingStored(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        List<byte[]> shots = new ArrayList<>(TestImages.normals(3));
        shots.add(TestImages.undecodable());
        assertThatThrownBy(() -> r.sets.register(Origin.SYSTEM, t, "s", "screw", null, shots, false))
                .isInstanceOfSatisfying(
                        ServeException.class, e -> assertThat(e.reason()).isEqualTo("UNDECODABLE_IMAGE"));
        assertThat(count(r, "prompt_sets")).isZero();
        assertThat(count(r, "prompt_set_shots")).isZero();
        assertThat(count(r, "prompt_set_features")).isZero();
    }

    @ParameterizedTest
    @MethodSource("stores")
    void otherTenant_seesNothing(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String a = r.tenant("a");
        String b = r.tenant("b");
        PromptSet p = r.sets.register(Origin.SYSTEM, a, "s", "screw", null, TestImages.normals(2), false);
        TemplateSet tpl = r.templates.create(
                Origin.SYSTEM, a, "mine", List.of("{}"), List.of("broken {}"), List.of("a photo of a {}."));
        String missing = "no-such-id";
        for (String id : List.of(p.id(), missing)) {
            assertNotFound(() -> r.sets.get(b, id), "prompt set '" + id + "' not found");
            assertNotFound(() -> r.sets.resolve(b, id), "prompt set '" + id + "' not found");
            assertNotFound(() -> r.sets.score(b, id, TestImages.normal(1)), "prompt set '" + id + "' not found");
            assertNotFound(() -> r.sets.setThreshold(Origin.SYSTEM, b, id, 0.5f), "prompt set '" + id + "' not found");
            assertNotFound(() -> r.sets.reencode(Origin.SYSTEM, b, id), "prompt set '" + id + "' not found");
            assertNotFound(() -> r.sets.delete(Origin.SYSTEM, b, id), "prompt set '" + id + "' not found");
        }
        for (String id : List.of(tpl.id(), missing)) {
            assertNotFound(() -> r.templates.get(b, id), "template set '" + id + "' not found");
            assertNotFound(() -> r.templates.delete(Origin.SYSTEM, b, id), "template set '" + id + "' not found");
        }
        assertNotFound(
                () -> r.sets.register(Origin.SYSTEM, b, "x", "screw", tpl.id(), TestImages.normals(2), false),
                "template set '" + tpl.id() + "' not found");
        assertThat(r.sets.list(b, 10, null).items()).isEmpty();
        assertThat(r.templates.list(b)).isEmpty();
        // and the owner still has everything
        assertThat(r.sets.get(a, p.id()).threshold()).isEqualTo(p.threshold());
        assertThat(r.templates.list(a)).hasSize(1);
    }

    @ParameterizedTest
    @MethodSource("stores")
    void fp16_halvesFeatureBytes_andReportsScoreDiff(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        PromptSet p32 = r.sets.register(Origin.SYSTEM, t, "fp32", "screw", null, TestImages.normals(4), false);
        PromptSet p16 = r.sets.register(Origin.SYSTEM, t, "fp16", "screw", null, TestImages.normals(4), true);
        long b32 = r.sets.storedBytes(t, p32.id())[0];
        long b16 = r.sets.storedBytes(t, p16.id())[0];
        assertThat(b16 * 2).isEqualTo(b32);
        assertThat(p32.calibration().fp16MaxAbsDiff()).isNull();
        assertThat(p16.calibration().fp16MaxAbsDiff()).isNotNull().isBetween(0f, 1e-2f);
        float s32 = r.sets.score(t, p32.id(), TestImages.anomalous(3)).scores().score();
        float s16 = r.sets.score(t, p16.id(), TestImages.anomalous(3)).scores().score();
        assertThat(Math.abs(s32 - s16)).isLessThan(1e-2f);
    }

    @ParameterizedTest
    @MethodSource("stores")
    void staleBundle_reencodedFromStoredOriginals(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        PromptSet p = r.sets.register(Origin.SYSTEM, t, "s", "screw", null, TestImages.normals(3), false);
        r.model.bundleId = "fake-bundle-2";
        long encoded = r.counters.shotImagesEncoded.get();
        ResolvedPromptSet res = r.sets.resolve(t, p.id());
        assertThat(res.promptSet().bundleId()).isEqualTo("fake-bundle-2");
        assertThat(res.promptSet().version()).isEqualTo(p.version() + 1);
        assertThat(r.counters.shotImagesEncoded.get() - encoded).isEqualTo(3);
        assertThat(r.counters.reencodes.get()).isEqualTo(1);
        r.sets.resolve(t, p.id());
        assertThat(r.counters.reencodes.get()).isEqualTo(1); // once only
        assertThat(r.sets.get(t, p.id()).bundleId()).isEqualTo("fake-bundle-2");
    }

    @ParameterizedTest
    @MethodSource("stores")
    void staleBundle_rejectedWhenConfigured(String kind) {
        DataSource ds = TestStores.fresh(kind, dir);
        TestRegistry r = new TestRegistry(ds, new FakeModelPort(), RegistryConfig.StalePolicy.REJECT, 1 << 30);
        String t = r.tenant("acme");
        PromptSet p = r.sets.register(Origin.SYSTEM, t, "s", "screw", null, TestImages.normals(2), false);
        r.model.bundleId = "other";
        assertThatThrownBy(() -> r.sets.resolve(t, p.id())).isInstanceOfSatisfying(ServeException.class, e -> {
            assertThat(e.code()).isEqualTo(ServeException.Code.FAILED_PRECONDITION);
            assertThat(e.reason()).isEqualTo("STALE_PROMPT_SET");
        });
        assertThat(r.sets.reencode(Origin.SYSTEM, t, p.id()).bundleId()).isEqualTo("other");
        assertThat(r.sets.resolve(t, p.id()).promptSet().bundleId()).isEqualTo("other");
    }

    @ParameterizedTest
    @MethodSource("stores")
    void calibration_flagsOutlierShot_andThresholdSeparates(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        List<byte[]> shots = new ArrayList<>(TestImages.normals(5));
        shots.add(TestImages.anomalous(1));
        PromptSet mixed = r.sets.register(Origin.SYSTEM, t, "mixed", "screw", null, shots, false);
        assertThat(mixed.calibration().shotScores()).hasSize(6);
        assertThat(mixed.calibration().outlierShots())
                .as(mixed.calibration().toString())
                .containsExactly(5);
        assertThat(mixed.calibration().warnings()).anyMatch(w -> w.startsWith("shot 5 looks unlike"));

        PromptSet clean = r.sets.register(Origin.SYSTEM, t, "clean", "screw", null, TestImages.normals(6), false);
        assertThat(clean.calibration().outlierShots()).isEmpty();
        float thr = clean.calibration().suggestedThreshold();
        TailFit fit = TailFit.fit(clean.calibration().shotScores(), 0.2, 2);
        assertThat(clean.calibration().method()).isEqualTo(TailFit.METHOD);
        assertThat(clean.calibration().targetFpr()).isEqualTo(0.05f); // the configured default
        assertThat(thr).isCloseTo((float) fit.threshold(0.05), org.assertj.core.data.Offset.offset(1e-6f));
        PromptSetService.ScoreResult bad = r.sets.score(t, clean.id(), TestImages.anomalous(9));
        assertThat(bad.anomalous()).contains(true);
        assertThat(bad.threshold()).contains(thr);

        PromptSet overridden = r.sets.setThreshold(Origin.SYSTEM, t, clean.id(), 0.999f);
        assertThat(overridden.threshold()).contains(0.999f);
        assertThat(r.sets.threshold(t, clean.id())).contains(0.999f);
        assertThat(r.sets.resolve(t, clean.id()).threshold()).contains(0.999f);
        assertThat(r.sets.setThreshold(Origin.SYSTEM, t, clean.id(), null).threshold())
                .contains(thr);

        PromptSet single = r.sets.register(Origin.SYSTEM, t, "k1", "screw", null, TestImages.normals(1), false);
        assertThat(single.calibration().suggestedThreshold()).isNull();
        assertThat(single.threshold()).isEmpty();
        assertThat(r.sets.score(t, single.id(), TestImages.normal(3)).anomalous())
                .isEmpty();
    }

    @ParameterizedTest
    @MethodSource("stores")
    void targetFpr_perSetAtCreation_changeableLater_keptOnReencode(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        List<byte[]> shots = TestImages.normals(4);
        PromptSet strict = r.sets.register(Origin.SYSTEM, t, "strict", "screw", null, shots, false, 0.01f);
        PromptSet loose = r.sets.register(Origin.SYSTEM, t, "loose", "screw", null, shots, false, 0.2f);
        assertThat(strict.calibration().shotScores())
                .isEqualTo(loose.calibration().shotScores());
        assertThat(strict.calibration().targetFpr()).isEqualTo(0.01f);
        assertThat(loose.calibration().targetFpr()).isEqualTo(0.2f);
        assertThat(strict.calibration().suggestedThreshold())
                .isGreaterThan(loose.calibration().suggestedThreshold());
        assertThat(strict.calibration().expectedFprAt(strict.threshold().orElseThrow()))
                .isCloseTo(0.01f, org.assertj.core.data.Offset.offset(1e-4f));

        // Changing the target refits from the stored scores: same result as registering with it, no encoding.
        long encoded = r.counters.shotImagesEncoded.get();
        PromptSet moved = r.sets.setThreshold(Origin.SYSTEM, t, strict.id(), null, 0.2f);
        assertThat(r.counters.shotImagesEncoded.get()).isEqualTo(encoded);
        assertThat(moved.calibration().targetFpr()).isEqualTo(0.2f);
        assertThat(moved.calibration().suggestedThreshold())
                .isEqualTo(loose.calibration().suggestedThreshold());
        assertThat(moved.version()).isGreaterThan(strict.version());
        assertThat(r.sets.resolve(t, strict.id()).threshold())
                .contains(loose.calibration().suggestedThreshold());
        // reopened: the target is stored
        TestRegistry again = new TestRegistry(TestStores.reopen(kind, dir));
        assertThat(again.sets.get(t, strict.id()).calibration()).isEqualTo(moved.calibration());
        // re-encoding keeps the set's target
        assertThat(r.sets.reencode(Origin.SYSTEM, t, strict.id()).calibration().targetFpr())
                .isEqualTo(0.2f);

        // an override is evaluated on the fitted tail; a threshold-only change keeps the target
        PromptSet over = r.sets.setThreshold(Origin.SYSTEM, t, loose.id(), 0.9f);
        assertThat(over.calibration().targetFpr()).isEqualTo(0.2f);
        assertThat(over.calibration().expectedFprAt(over.threshold().orElseThrow()))
                .isLessThan(0.01f);

        for (Float bad : new Float[] {0f, 0.5f, -0.01f, Float.NaN, Float.POSITIVE_INFINITY}) {
            assertThatThrownBy(() -> r.sets.register(Origin.SYSTEM, t, "bad", "screw", null, shots, false, bad))
                    .as("%s", bad)
                    .isInstanceOfSatisfying(
                            ServeException.class, e -> assertThat(e.reason()).isEqualTo("INVALID_TARGET_FPR"));
            assertThatThrownBy(() -> r.sets.setThreshold(Origin.SYSTEM, t, loose.id(), null, bad))
                    .isInstanceOfSatisfying(
                            ServeException.class, e -> assertThat(e.reason()).isEqualTo("INVALID_TARGET_FPR"));
        }
        assertThat(r.sets.get(t, loose.id()).thresholdOverride()).isEqualTo(0.9f); // refused change changed nothing
    }

    @ParameterizedTest
    @MethodSource("stores")
    void cache_invalidatedOnUpdateAndDelete_andBoundedInBytes(String kind) {
        // room for about two 3-shot sets
        long oneSet =
                new FakeModelPort().encodeImages(TestImages.normals(3)).pool().sizeInBytes();
        TestRegistry r = new TestRegistry(
                TestStores.fresh(kind, dir), new FakeModelPort(), RegistryConfig.StalePolicy.REENCODE, oneSet * 2 + 10);
        String t = r.tenant("acme");
        PromptSet a = r.sets.register(Origin.SYSTEM, t, "a", "screw", null, TestImages.normals(3), false);
        PromptSet b = r.sets.register(Origin.SYSTEM, t, "b", "screw", null, TestImages.normals(3), false);
        PromptSet c = r.sets.register(Origin.SYSTEM, t, "c", "screw", null, TestImages.normals(3), false);
        assertThat(r.cache.bytes()).isLessThanOrEqualTo(oneSet * 2 + 10);
        assertThat(r.cache.contains(a.id())).isFalse(); // least recently used went first
        assertThat(r.cache.contains(c.id())).isTrue();
        r.sets.setThreshold(Origin.SYSTEM, t, c.id(), 0.4f);
        assertThat(r.cache.contains(c.id())).isFalse();
        r.sets.resolve(t, c.id());
        assertThat(r.cache.contains(c.id())).isTrue();
        r.sets.delete(Origin.SYSTEM, t, c.id());
        assertThat(r.cache.contains(c.id())).isFalse();
        assertThat(r.cache.contains(b.id())).isTrue();
    }

    @ParameterizedTest
    @MethodSource("stores")
    void listPages_andDuplicateNames(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        for (int i = 0; i < 5; i++) {
            r.sets.register(Origin.SYSTEM, t, "set-" + i, "screw", null, TestImages.normals(1), false);
        }
        List<String> names = new ArrayList<>();
        String token = null;
        int pages = 0;
        do {
            PromptSetService.Page page = r.sets.list(t, 2, token);
            page.items().forEach(p -> names.add(p.name()));
            token = page.nextPageToken();
            pages++;
        } while (!token.isEmpty());
        assertThat(pages).isEqualTo(3);
        assertThat(names).containsExactlyInAnyOrder("set-0", "set-1", "set-2", "set-3", "set-4");
        assertThatThrownBy(
                        () -> r.sets.register(Origin.SYSTEM, t, "set-1", "screw", null, TestImages.normals(1), false))
                .isInstanceOfSatisfying(
                        ServeException.class, e -> assertThat(e.code()).isEqualTo(ServeException.Code.ALREADY_EXISTS));
        assertThat(count(r, "prompt_sets")).isEqualTo(5);
        assertThat(count(r, "prompt_set_shots")).isEqualTo(5);
    }

    @ParameterizedTest
    @MethodSource("stores")
    void quotas_enforced(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("small", new Quotas(1, 3, 10));
        assertThatThrownBy(() -> r.sets.register(Origin.SYSTEM, t, "big", "screw", null, TestImages.normals(4), false))
                .isInstanceOfSatisfying(ServeException.class, e -> {
                    assertThat(e.code()).isEqualTo(ServeException.Code.INVALID_ARGUMENT);
                    assertThat(e.reason()).isEqualTo("TOO_MANY_SHOTS");
                });
        r.sets.register(Origin.SYSTEM, t, "one", "screw", null, TestImages.normals(3), false);
        assertThatThrownBy(() -> r.sets.register(Origin.SYSTEM, t, "two", "screw", null, TestImages.normals(2), false))
                .isInstanceOfSatisfying(ServeException.class, e -> {
                    assertThat(e.code()).isEqualTo(ServeException.Code.FAILED_PRECONDITION);
                    assertThat(e.reason()).isEqualTo("TOO_MANY_PROMPT_SETS");
                    assertThat(e.retryAfter()).isEmpty();
                });
        assertThat(count(r, "prompt_sets")).isEqualTo(1);
    }

    /** Was a 503 whose body held the whole SQL INSERT: a list too long for its column is refused before the store. */
    @ParameterizedTest
    @MethodSource("stores")
    void templateListTooLongToStore_isInvalidArgumentBeforeTheStore(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("big");
        List<String> templates = new ArrayList<>();
        for (int i = 0; i < 700; i++) { // about 222,000 characters of JSON: more than the 200,000 column
            templates.add("a photo of a {} " + "w".repeat(300) + i); // one fake token per word: sentences fit 77
        }
        assertThatThrownBy(
                        () -> r.templates.create(Origin.SYSTEM, t, "big", List.of("{}"), List.of("bad {}"), templates))
                .isInstanceOfSatisfying(ServeException.class, e -> {
                    assertThat(e.code()).isEqualTo(ServeException.Code.INVALID_ARGUMENT);
                    assertThat(e.reason()).isEqualTo("TEMPLATE_TOO_LARGE");
                    assertThat(e.getMessage()).contains("100000").doesNotContain("INSERT");
                });
        assertThat(count(r, "template_sets")).isZero();
    }

    /** A database error reaches the caller as UNAVAILABLE with an error id; SQL and driver text stay in the log. */
    @ParameterizedTest
    @MethodSource("stores")
    void storeError_givesAnErrorIdButNoSqlOrDriverText(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        assertThatThrownBy(() -> r.store.tx(c -> c.createStatement()
                        .executeUpdate("INSERT INTO no_such_table (secret_column) VALUES ('db-host.internal')")))
                .isInstanceOfSatisfying(ServeException.class, e -> {
                    assertThat(e.code()).isEqualTo(ServeException.Code.UNAVAILABLE);
                    assertThat(e.getMessage())
                            .containsPattern("error id [0-9a-f]{12}")
                            .doesNotContainIgnoringCase("insert")
                            .doesNotContain("no_such_table")
                            .doesNotContain("db-host")
                            .doesNotContain("SQLException");
                });
    }

    private static void assertNotFound(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String message) {
        assertThatThrownBy(call).isInstanceOfSatisfying(ServeException.class, e -> {
            assertThat(e.code()).isEqualTo(ServeException.Code.NOT_FOUND);
            assertThat(e.getMessage()).isEqualTo(message);
        });
    }

    private static int count(TestRegistry r, String table) {
        return r.store.tx(c -> {
            try (ResultSet rs = c.createStatement().executeQuery("SELECT COUNT(*) FROM " + table)) {
                rs.next();
                return rs.getInt(1);
            }
        });
    }
}
