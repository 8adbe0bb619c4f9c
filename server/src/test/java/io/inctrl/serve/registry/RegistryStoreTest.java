package io.inctrl.serve.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.models.ModelChoice;
import io.inctrl.serve.models.ModelsConfig;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
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
            PromptSetDetails p = r.register(t, "line-1", "metal_nut", null, TestImages.normals(4), fp16);
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
        PromptSetDetails p = r.register(t, "s", "screw", null, TestImages.normals(3), false);
        long shots = r.counters.shotImagesEncoded.get();
        int modelText = r.model.textPriorCalls.get();
        int modelImages = r.model.imagesEncoded.get();
        for (int i = 0; i < 5; i++) {
            r.sets.score(t, p.id(), TestImages.normal(100 + i));
        }
        assertThat(r.counters.shotImagesEncoded.get()).isEqualTo(shots);
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
                2,
                Precision.FP32,
                FakeModelPort.MODEL,
                1,
                null,
                1,
                Instant.now(),
                Instant.now(),
                null);
        assertThatThrownBy(() -> r.store.tx(c -> {
                    repo.insert(c, p);
                    repo.insertShots(c, "p1", 0, TestImages.normals(2));
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
                    2,
                    Precision.FP32,
                    FakeModelPort.MODEL,
                    1,
                    null,
                    1,
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
        assertThatThrownBy(() -> r.register(t, "s", "screw", null, shots, false))
                .isInstanceOfSatisfying(
                        ServeException.class, e -> assertThat(e.reason()).isEqualTo("UNDECODABLE_IMAGE"));
        assertThat(count(r, "prompt_sets")).isZero();
        assertThat(count(r, "prompt_set_shots")).isZero();
        assertThat(count(r, "prompt_set_encoding_features")).isZero();
    }

    @ParameterizedTest
    @MethodSource("stores")
    void otherTenant_seesNothing(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String a = r.tenant("a");
        String b = r.tenant("b");
        PromptSetDetails p = r.register(a, "s", "screw", null, TestImages.normals(2), false);
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
                () -> r.register(b, "x", "screw", tpl.id(), TestImages.normals(2), false),
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
        PromptSetDetails p32 = r.register(t, "fp32", "screw", null, TestImages.normals(4), false);
        PromptSetDetails p16 = r.register(t, "fp16", "screw", null, TestImages.normals(4), true);
        long b32 = r.sets.storedBytes(t, p32.id())[0];
        long b16 = r.sets.storedBytes(t, p16.id())[0];
        assertThat(b16 * 2).isEqualTo(b32);
        assertThat(p32.calibration().fp16MaxAbsDiff()).isNull();
        assertThat(p16.calibration().fp16MaxAbsDiff()).isNotNull().isBetween(0f, 1e-2f);
        float s32 = r.sets.score(t, p32.id(), TestImages.anomalous(3)).scores().score();
        float s16 = r.sets.score(t, p16.id(), TestImages.anomalous(3)).scores().score();
        assertThat(Math.abs(s32 - s16)).isLessThan(1e-2f);
    }

    /**
     * A new version of the set's model serves it only once it has encoded it: until then the old version answers, and
     * each version keeps its own encoding, calibration, threshold and version (no thrashing between them).
     */
    @ParameterizedTest
    @MethodSource("stores")
    void newVersion_servesOnlyOnceEncoded_andTheOldVersionsEncodingIsUntouched(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        PromptSetDetails p = r.register(t, "s", "screw", null, TestImages.normals(3), false);
        Encoding v1 = p.encoding("fake-bundle-1@fp32").orElseThrow();
        r.sets.setThreshold(Origin.SYSTEM, t, p.id(), 0.42f); // the v1 operator's choice
        Encoding v1Before = r.sets.get(t, p.id()).encoding(v1.encoder()).orElseThrow();

        FakeModelPort.Version v2 = r.model.addVersion(2, "fake-bundle-2"); // the highest: serves by default
        assertThat(r.sets.get(t, p.id()).stale()).isTrue();
        long encoded = r.counters.shotImagesEncoded.get();
        for (int i = 0; i < 3; i++) {
            ResolvedPromptSet res = r.sets.resolve(t, p.id());
            assertThat(res.servedBy().ref().version()).isEqualTo(1); // v2 has not encoded it: v1 answers
            assertThat(res.threshold()).contains(0.42f);
        }
        assertThat(r.counters.shotImagesEncoded.get()).isEqualTo(encoded); // nothing encoded on the request path

        // the background encoder's step for v2
        assertThat(r.encodings.tryEncode(p.id(), v2, "background")).isEqualTo(Encodings.Outcome.ENCODED);
        assertThat(r.encodings.tryEncode(p.id(), v2, "background")).isEqualTo(Encodings.Outcome.READY);
        assertThat(v2.imagesEncoded.get()).isEqualTo(3);
        ResolvedPromptSet res = r.sets.resolve(t, p.id());
        assertThat(res.servedBy().ref().version()).isEqualTo(2);
        assertThat(res.threshold())
                .isEqualTo(Optional.ofNullable(res.encoding().calibration().suggestedThreshold()));
        PromptSetDetails after = r.sets.get(t, p.id());
        assertThat(after.stale()).isFalse();
        assertThat(after.encoding(v1.encoder())).contains(v1Before); // version, calibration, override: as they were
        assertThat(after.bundleId()).isEqualTo("fake-bundle-2");
        // an explicit version is served by that version
        assertThat(r.sets.resolve(t, p.id(), ModelChoice.of("", 1), null)
                        .servedBy()
                        .ref()
                        .version())
                .isEqualTo(1);
        assertThat(r.sets.resolve(t, p.id(), ModelChoice.of("", 1), null).threshold())
                .contains(0.42f);
        // a threshold on v2 leaves v1's alone
        r.sets.setThreshold(Origin.SYSTEM, t, p.id(), 0.7f, null, ModelChoice.of("", 2));
        assertThat(r.sets.resolve(t, p.id(), ModelChoice.of("", 1), null).threshold())
                .contains(0.42f);
        assertThat(r.sets.resolve(t, p.id()).threshold()).contains(0.7f);
        assertThat(r.audit
                        .list(new io.inctrl.serve.audit.AuditQuery(t, "prompt_set.encode", null, null, null, 10))
                        .items())
                .singleElement()
                .satisfies(e -> assertThat(e.detail()).contains("version=2"));
    }

    /** With only a version that never encoded the set, the first request encodes it there, once. */
    @ParameterizedTest
    @MethodSource("stores")
    void onlyAnUnencodedVersionLoaded_theFirstRequestEncodesItOnce(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        PromptSetDetails p = r.register(t, "s", "screw", null, TestImages.normals(3), false);
        r.model.removeVersion(1);
        FakeModelPort.Version v2 = r.model.addVersion(2, "fake-bundle-2");
        ResolvedPromptSet res = r.sets.resolve(t, p.id());
        assertThat(res.servedBy().ref().version()).isEqualTo(2);
        r.sets.resolve(t, p.id());
        r.sets.score(t, p.id(), TestImages.normal(9));
        assertThat(v2.imagesEncoded.get()).isEqualTo(3 + 1); // the shots once, then the query
        PromptSetDetails d = r.sets.get(t, p.id());
        assertThat(d.encodings()).hasSize(2).allMatch(Encoding::ready);
        assertThat(d.encoding("fake-bundle-1@fp32")).isPresent(); // kept, ready for a roll-back
    }

    @ParameterizedTest
    @MethodSource("stores")
    void onMissingReject_refusesWithARetryHint_untilTheBackgroundEncoderGotThere(String kind) {
        TestRegistry r = new TestRegistry(
                TestStores.fresh(kind, dir), new FakeModelPort(), ModelsConfig.OnMissing.REJECT, 1 << 30);
        String t = r.tenant("acme");
        PromptSetDetails p = r.register(t, "s", "screw", null, TestImages.normals(2), false);
        r.model.removeVersion(1);
        FakeModelPort.Version v2 = r.model.addVersion(2, "other");
        assertThatThrownBy(() -> r.sets.resolve(t, p.id())).isInstanceOfSatisfying(ServeException.class, e -> {
            assertThat(e.code()).isEqualTo(ServeException.Code.UNAVAILABLE);
            assertThat(e.reason()).isEqualTo("PROMPT_SET_ENCODING");
            assertThat(e.retryAfter()).isPresent();
        });
        assertThat(v2.imagesEncoded.get()).isZero();
        r.encodings.tryEncode(p.id(), v2, "background");
        assertThat(r.sets.resolve(t, p.id()).promptSet().id()).isEqualTo(p.id());
        assertThat(r.sets.reencode(Origin.SYSTEM, t, p.id()).bundleId()).isEqualTo("other");
    }

    /**
     * A set grows from production: a scored query confirmed as normal by its id (no re-upload) and uploaded shots make
     * new revisions; every revision keeps its encodings, so rolling back scores exactly as before (bit for bit).
     */
    @ParameterizedTest
    @MethodSource("stores")
    void growConfirmRemoveAndRollBack_revisionsKeepTheirScoresBitForBit(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme", new Quotas(10, 8, 1000));
        PromptSetDetails p = r.register(t, "s", "screw", null, TestImages.normals(4), false);
        byte[] probe = TestImages.anomalous(3);
        PromptSetService.ScoreResult before = r.sets.score(t, p.id(), probe);
        PromptSetService.ScoreResult scored = r.sets.score(t, p.id(), TestImages.normal(50));
        assertThat(scored.queryId()).isNotNull();

        PromptSetDetails grown = r.sets.addShots(Origin.SYSTEM, t, p.id(), List.of(), List.of(scored.queryId()));
        assertThat(grown.set().revision()).isEqualTo(2);
        assertThat(grown.set().shotCount()).isEqualTo(5);
        assertThat(grown.calibration().shotScores()).hasSize(5);
        assertThat(grown.set().version()).isGreaterThan(p.set().version());
        PromptSetService.ScoreResult after = r.sets.score(t, p.id(), probe);
        assertThat(after.scores().score()).isNotEqualTo(before.scores().score()); // the new shot counts

        PromptSetDetails more = r.sets.addShots(
                Origin.SYSTEM, t, p.id(), List.of(TestImages.normal(60), TestImages.normal(61)), List.of());
        assertThat(more.set().shotCount()).isEqualTo(7);
        PromptSetDetails fewer = r.sets.removeShots(Origin.SYSTEM, t, p.id(), List.of(0, 6));
        assertThat(fewer.set().revision()).isEqualTo(4);
        assertThat(fewer.set().shotCount()).isEqualTo(5);
        assertThat(r.sets.revisions(t, p.id()))
                .extracting(PromptSetRepository.Revision::reason)
                .containsExactly("created", "shots-added", "shots-added", "shots-removed");

        long encodedBefore = r.counters.shotImagesEncoded.get();
        PromptSetDetails back = r.sets.rollback(Origin.SYSTEM, t, p.id(), 1);
        assertThat(back.set().revision()).isEqualTo(1);
        assertThat(back.set().shotCount()).isEqualTo(4);
        PromptSetService.ScoreResult again = r.sets.score(t, p.id(), probe);
        assertThat(again.scores().score()).isEqualTo(before.scores().score());
        assertThat(again.scores().map()).containsExactly(before.scores().map());
        assertThat(again.threshold()).isEqualTo(before.threshold());
        assertThat(r.counters.shotImagesEncoded.get()).isEqualTo(encodedBefore); // nothing encoded for it
        assertThat(r.sets.rollback(Origin.SYSTEM, t, p.id(), 2).set().shotCount())
                .isEqualTo(5);
        assertThat(r.sets.score(t, p.id(), probe).scores().score())
                .isEqualTo(after.scores().score());

        assertThatThrownBy(() -> r.sets.addShots(Origin.SYSTEM, t, p.id(), List.of(), List.of("no-such-query")))
                .isInstanceOfSatisfying(
                        ServeException.class, e -> assertThat(e.reason()).isEqualTo("QUERY_NOT_RETAINED"));
        assertThatThrownBy(() -> r.sets.addShots(Origin.SYSTEM, t, p.id(), TestImages.normals(4), List.of()))
                .as("over the tenant's 8 shots per set")
                .isInstanceOfSatisfying(
                        ServeException.class, e -> assertThat(e.reason()).isEqualTo("TOO_MANY_SHOTS"));
        assertThatThrownBy(() -> r.sets.removeShots(Origin.SYSTEM, t, p.id(), List.of(0, 1, 2, 3, 4)))
                .isInstanceOfSatisfying(
                        ServeException.class, e -> assertThat(e.reason()).isEqualTo("NO_SHOTS"));
        assertThatThrownBy(() -> r.sets.rollback(Origin.SYSTEM, t, p.id(), 9))
                .isInstanceOfSatisfying(
                        ServeException.class, e -> assertThat(e.reason()).isEqualTo("REVISION_NOT_FOUND"));
        assertThat(r.sets.get(t, p.id()).set().revision()).isEqualTo(2); // refused changes changed nothing
        assertThat(r.audit
                        .list(new io.inctrl.serve.audit.AuditQuery(t, null, null, null, null, 50))
                        .items())
                .extracting(e -> e.action() + " " + e.outcome())
                .contains("prompt_set.shots.add ok", "prompt_set.shots.remove ok", "prompt_set.rollback ok");
    }

    /** Above the memory-bank budget a set is served from a coreset of its tokens; its calibration uses that bank. */
    @ParameterizedTest
    @MethodSource("stores")
    void aSetOverTheMemoryBankBudget_storesAndServesItsCoreset(String kind) {
        TestRegistry r = new TestRegistry(
                TestStores.fresh(kind, dir), new FakeModelPort(), ModelsConfig.OnMissing.ENCODE, 1 << 30, 10);
        String t = r.tenant("acme");
        PromptSetDetails p = r.register(t, "s", "screw", null, TestImages.normals(6), false); // 6 x 4 rows per tap
        ResolvedPromptSet res = r.sets.resolve(t, p.id());
        for (int l = 0; l < res.features().tokens().length; l++) {
            assertThat(res.features().rows(l)).isEqualTo(10);
        }
        assertThat(p.calibration().shotScores()).hasSize(6).allMatch(x -> x >= 0 && x <= 1);
        // read back from the store by a fresh replica: the same bank
        TestRegistry again = new TestRegistry(
                TestStores.reopen(kind, dir), new FakeModelPort(), ModelsConfig.OnMissing.ENCODE, 1 << 30, 10);
        assertThat(again.sets.resolve(t, p.id()).features().tokens())
                .isDeepEqualTo(res.features().tokens());
    }

    @ParameterizedTest
    @MethodSource("stores")
    void calibration_flagsOutlierShot_andThresholdSeparates(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        List<byte[]> shots = new ArrayList<>(TestImages.normals(5));
        shots.add(TestImages.anomalous(1));
        PromptSetDetails mixed = r.register(t, "mixed", "screw", null, shots, false);
        assertThat(mixed.calibration().shotScores()).hasSize(6);
        assertThat(mixed.calibration().outlierShots())
                .as(mixed.calibration().toString())
                .containsExactly(5);
        assertThat(mixed.calibration().warnings()).anyMatch(w -> w.startsWith("shot 5 (0-based) looks unlike"));

        PromptSetDetails clean = r.register(t, "clean", "screw", null, TestImages.normals(6), false);
        assertThat(clean.calibration().outlierShots()).isEmpty();
        float thr = clean.calibration().suggestedThreshold();
        TailFit fit = TailFit.fit(clean.calibration().shotScores(), 0.2, 2);
        assertThat(clean.calibration().method()).isEqualTo(TailFit.METHOD);
        assertThat(clean.calibration().targetFpr()).isEqualTo(0.05f); // the configured default
        assertThat(thr).isCloseTo((float) fit.threshold(0.05), org.assertj.core.data.Offset.offset(1e-6f));
        PromptSetService.ScoreResult bad = r.sets.score(t, clean.id(), TestImages.anomalous(9));
        assertThat(bad.anomalous()).contains(true);
        assertThat(bad.threshold()).contains(thr);

        PromptSetDetails overridden = r.sets.setThreshold(Origin.SYSTEM, t, clean.id(), 0.999f);
        assertThat(overridden.threshold()).contains(0.999f);
        assertThat(r.sets.threshold(t, clean.id())).contains(0.999f);
        assertThat(r.sets.resolve(t, clean.id()).threshold()).contains(0.999f);
        assertThat(r.sets.setThreshold(Origin.SYSTEM, t, clean.id(), null).threshold())
                .contains(thr);

        PromptSetDetails single = r.register(t, "k1", "screw", null, TestImages.normals(1), false);
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
        PromptSetDetails strict = r.register(t, "strict", "screw", null, shots, false, 0.01f);
        PromptSetDetails loose = r.register(t, "loose", "screw", null, shots, false, 0.2f);
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
        PromptSetDetails moved = r.sets.setThreshold(Origin.SYSTEM, t, strict.id(), null, 0.2f);
        assertThat(r.counters.shotImagesEncoded.get()).isEqualTo(encoded);
        assertThat(moved.calibration().targetFpr()).isEqualTo(0.2f);
        assertThat(moved.calibration().suggestedThreshold())
                .isEqualTo(loose.calibration().suggestedThreshold());
        assertThat(moved.set().version()).isGreaterThan(strict.set().version());
        assertThat(r.sets.resolve(t, strict.id()).threshold())
                .contains(loose.calibration().suggestedThreshold());
        // reopened: the target is stored
        TestRegistry again = new TestRegistry(TestStores.reopen(kind, dir));
        assertThat(again.sets.get(t, strict.id()).calibration()).isEqualTo(moved.calibration());
        // re-encoding keeps the set's target
        assertThat(r.sets.reencode(Origin.SYSTEM, t, strict.id()).calibration().targetFpr())
                .isEqualTo(0.2f);

        // an override is evaluated on the fitted tail; a threshold-only change keeps the target
        PromptSetDetails over = r.sets.setThreshold(Origin.SYSTEM, t, loose.id(), 0.9f);
        assertThat(over.calibration().targetFpr()).isEqualTo(0.2f);
        assertThat(over.calibration().expectedFprAt(over.threshold().orElseThrow()))
                .isLessThan(0.01f);

        for (Float bad : new Float[] {0f, 0.5f, -0.01f, Float.NaN, Float.POSITIVE_INFINITY}) {
            assertThatThrownBy(() -> r.register(t, "bad", "screw", null, shots, false, bad))
                    .as("%s", bad)
                    .isInstanceOfSatisfying(
                            ServeException.class, e -> assertThat(e.reason()).isEqualTo("INVALID_TARGET_FPR"));
            assertThatThrownBy(() -> r.sets.setThreshold(Origin.SYSTEM, t, loose.id(), null, bad))
                    .isInstanceOfSatisfying(
                            ServeException.class, e -> assertThat(e.reason()).isEqualTo("INVALID_TARGET_FPR"));
        }
        // refused changes changed nothing
        assertThat(r.sets.get(t, loose.id()).primary().orElseThrow().thresholdOverride())
                .isEqualTo(0.9f);
    }

    @ParameterizedTest
    @MethodSource("stores")
    void cache_invalidatedOnUpdateAndDelete_andBoundedInBytes(String kind) {
        // room for about two 3-shot sets
        long oneSet =
                new FakeModelPort().encodeImages(TestImages.normals(3)).pool().sizeInBytes();
        TestRegistry r = new TestRegistry(
                TestStores.fresh(kind, dir), new FakeModelPort(), ModelsConfig.OnMissing.ENCODE, oneSet * 2 + 10);
        String t = r.tenant("acme");
        PromptSetDetails a = r.register(t, "a", "screw", null, TestImages.normals(3), false);
        PromptSetDetails b = r.register(t, "b", "screw", null, TestImages.normals(3), false);
        PromptSetDetails c = r.register(t, "c", "screw", null, TestImages.normals(3), false);
        assertThat(r.cache.bytes()).isLessThanOrEqualTo(oneSet * 2 + 10);
        assertThat(r.cache.size()).isEqualTo(2); // one of the three went
        // a changed encoding (threshold: its version) is read again, not served from the old entry
        r.sets.resolve(t, c.id());
        long misses = r.counters.featureCacheMisses.get();
        r.sets.setThreshold(Origin.SYSTEM, t, c.id(), 0.4f);
        r.sets.resolve(t, c.id());
        assertThat(r.counters.featureCacheMisses.get()).isEqualTo(misses + 1);
        assertThat(r.cache.contains(c.id())).isTrue();
        r.sets.delete(Origin.SYSTEM, t, c.id());
        assertThat(r.cache.contains(c.id())).isFalse();
        assertThat(r.cache.bytes()).isLessThanOrEqualTo(oneSet * 2 + 10);
    }

    @ParameterizedTest
    @MethodSource("stores")
    void listPages_andDuplicateNames(String kind) {
        TestRegistry r = new TestRegistry(TestStores.fresh(kind, dir));
        String t = r.tenant("acme");
        for (int i = 0; i < 5; i++) {
            r.register(t, "set-" + i, "screw", null, TestImages.normals(1), false);
        }
        List<String> names = new ArrayList<>();
        String token = null;
        int pages = 0;
        do {
            PromptSetService.Page page = r.sets.list(t, 2, token);
            page.items().forEach(p -> names.add(p.set().name()));
            token = page.nextPageToken();
            pages++;
        } while (!token.isEmpty());
        assertThat(pages).isEqualTo(3);
        assertThat(names).containsExactlyInAnyOrder("set-0", "set-1", "set-2", "set-3", "set-4");
        assertThatThrownBy(() -> r.register(t, "set-1", "screw", null, TestImages.normals(1), false))
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
        assertThatThrownBy(() -> r.register(t, "big", "screw", null, TestImages.normals(4), false))
                .isInstanceOfSatisfying(ServeException.class, e -> {
                    assertThat(e.code()).isEqualTo(ServeException.Code.INVALID_ARGUMENT);
                    assertThat(e.reason()).isEqualTo("TOO_MANY_SHOTS");
                });
        r.register(t, "one", "screw", null, TestImages.normals(3), false);
        assertThatThrownBy(() -> r.register(t, "two", "screw", null, TestImages.normals(2), false))
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
