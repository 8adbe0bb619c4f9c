package io.inctrl.serve.model;

import static io.inctrl.serve.model.AbstractEngineParityTest.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.inctrl.serve.registry.FeatureCodec;
import io.inctrl.serve.registry.Precision;
import io.inctrl.serve.testing.Fixtures;
import io.inctrl.serve.testing.TestAssets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Kind residual-heads (tiny random bundle) vs the exporter's eager Python reference: g, ψ(g), every tap, the
 * prototype, M, s_p, s_i, s_h and the final score; s_a must be absent, and batching must not change a result.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResidualHeadsBundleParityTest {

    private static final float TOL = AbstractEngineParityTest.TOL;
    private static final List<TextPrior> NO_PRIOR = List.of(TextPrior.NONE);

    private InctrlEngine engine;
    private Fixtures fixtures;
    private Map<String, Fixtures.Image> images;

    @BeforeAll
    void load() {
        var bundle = TestAssets.bundle("residual-heads-tiny");
        engine = InctrlEngine.load(bundle, Device.cpu(), 1L << 30);
        fixtures = new Fixtures(bundle);
        images = fixtures.images();
        assertThat(engine.manifest().bundleKind()).isEqualTo(BundleKind.RESIDUAL_HEADS);
    }

    @AfterAll
    void close() {
        if (engine != null) {
            engine.close();
        }
    }

    @Test
    void vision_features_and_adapter_match_reference_per_image() {
        for (Fixtures.Image img : images.values()) {
            EncodedImages e = engine.encode(List.of(img.arrays().get("pixels")));
            assertClose(img.path() + " g", e.features().g(), img.arrays().get("g"), TOL);
            assertClose(img.path() + " psi", e.adapted(), img.arrays().get("psi"), TOL);
            int taps = e.features().taps().length;
            assertThat(taps).isEqualTo(engine.manifest().vision().tappedBlocks().size());
            for (int l = 0; l < taps; l++) {
                assertClose(
                        img.path() + " tap" + l,
                        e.features().taps()[l],
                        img.arrays().get("tap" + l),
                        TOL);
            }
        }
    }

    @Test
    void every_intermediate_and_final_score_match_reference_without_a_text_prior() {
        assertThat(fixtures.cases()).isNotEmpty();
        for (Fixtures.Case c : fixtures.cases()) {
            PromptFeatures prompts = encodeShots(c.shots());
            assertClose(c.name() + " proto", prompts.prototype(), c.arrays().get("proto"), TOL);
            InctrlScores s = engine.encodeAndScore(List.of(pixels(c.query())), List.of(prompts), NO_PRIOR)
                    .get(0);
            assertClose(c.name() + " M", s.map(), c.arrays().get("M"), TOL);
            assertThat(s.sP()).as(c.name() + " s_p").isCloseTo(c.scalar("s_p"), Offset.offset(TOL));
            assertThat(s.sI()).as(c.name() + " s_i").isCloseTo(c.scalar("s_i"), Offset.offset(TOL));
            assertThat(s.sH()).as(c.name() + " s_h").isCloseTo(c.scalar("s_h"), Offset.offset(TOL));
            assertThat(s.score()).as(c.name() + " score").isCloseTo(c.scalar("score"), Offset.offset(TOL));
            assertThat(s.sA()).as(c.name() + " s_a").isNull();
            assertThat(s.score()).isCloseTo((s.sH() + s.sP()) / 2f, Offset.offset(1e-6f));
        }
    }

    @Test
    void the_text_prior_is_none_whatever_the_sentences() {
        assertThat(engine.textPrior(List.of("a photo of a pcb."), List.of("a photo of a damaged pcb.")))
                .isSameAs(TextPrior.NONE);
        assertThat(engine.tokenizer()).isEmpty();
    }

    @Test
    void batched_inference_with_mixed_prompt_sets_equals_one_by_one() {
        List<float[]> queries = new ArrayList<>();
        List<PromptFeatures> prompts = new ArrayList<>();
        for (Fixtures.Case c : fixtures.cases()) {
            queries.add(pixels(c.query()));
            prompts.add(encodeShots(c.shots()));
        }
        queries.add(queries.get(1));
        prompts.add(prompts.get(0));
        List<InctrlScores> batched =
                engine.encodeAndScore(queries, prompts, Collections.nCopies(queries.size(), TextPrior.NONE));
        for (int i = 0; i < queries.size(); i++) {
            InctrlScores one = engine.encodeAndScore(List.of(queries.get(i)), List.of(prompts.get(i)), NO_PRIOR)
                    .get(0);
            assertClose("M[" + i + "]", batched.get(i).map(), one.map(), 1e-5f);
            assertThat(batched.get(i).score()).as("score " + i).isCloseTo(one.score(), Offset.offset(1e-5f));
            assertThat(batched.get(i).sI()).as("s_i " + i).isCloseTo(one.sI(), Offset.offset(1e-5f));
            assertThat(batched.get(i).sH()).as("s_h " + i).isCloseTo(one.sH(), Offset.offset(1e-5f));
        }
    }

    @Test
    void shot_order_does_not_change_any_output() {
        Fixtures.Case c = fixtures.cases().stream()
                .filter(x -> x.shots().size() >= 2)
                .findFirst()
                .orElseThrow();
        List<String> shuffled = new ArrayList<>(c.shots());
        Collections.shuffle(shuffled, new Random(5));
        Collections.reverse(shuffled);
        InctrlScores a = engine.encodeAndScore(List.of(pixels(c.query())), List.of(encodeShots(c.shots())), NO_PRIOR)
                .get(0);
        InctrlScores b = engine.encodeAndScore(List.of(pixels(c.query())), List.of(encodeShots(shuffled)), NO_PRIOR)
                .get(0);
        assertThat(b.score()).isCloseTo(a.score(), Offset.offset(1e-6f));
        assertThat(b.sI()).isCloseTo(a.sI(), Offset.offset(1e-6f));
    }

    @Test
    void registered_features_round_trip_through_the_store_in_fp32_and_fp16() {
        // A registered set is stored encoded; g's adapted prototype must survive it like kind inctrl's.
        Fixtures.Case c = fixtures.cases().get(0);
        PromptFeatures f = encodeShots(c.shots());
        assertThat(f.prototype()).hasSize(engine.manifest().vision().embedDim());
        float[] query = pixels(c.query());
        InctrlScores ref =
                engine.encodeAndScore(List.of(query), List.of(f), NO_PRIOR).get(0);

        PromptFeatures exact = FeatureCodec.roundTrip(f, Precision.FP32);
        assertThat(exact.prototype()).containsExactly(f.prototype());
        InctrlScores s32 =
                engine.encodeAndScore(List.of(query), List.of(exact), NO_PRIOR).get(0);
        assertThat(s32.score()).isEqualTo(ref.score());
        assertThat(s32.sI()).isEqualTo(ref.sI());

        PromptFeatures half = FeatureCodec.roundTrip(f, Precision.FP16);
        assertClose("fp16 proto", half.prototype(), f.prototype(), 2e-3f);
        InctrlScores s16 =
                engine.encodeAndScore(List.of(query), List.of(half), NO_PRIOR).get(0);
        assertThat(s16.sI()).isCloseTo(ref.sI(), Offset.offset(2e-3f));
        assertThat(s16.sH()).isCloseTo(ref.sH(), Offset.offset(2e-3f));
        assertThat(s16.score()).isCloseTo(ref.score(), Offset.offset(2e-3f));
        assertThat(s16.sA()).isNull();
    }

    private PromptFeatures encodeShots(List<String> shots) {
        List<float[]> px = new ArrayList<>();
        shots.forEach(s -> px.add(pixels(s)));
        return engine.encode(px).pool();
    }

    private float[] pixels(String path) {
        Fixtures.Image img = images.get(path);
        assertThat(img).as("fixture image " + path).isNotNull();
        return img.arrays().get("pixels");
    }
}
