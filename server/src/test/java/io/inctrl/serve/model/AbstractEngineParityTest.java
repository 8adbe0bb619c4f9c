package io.inctrl.serve.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import io.inctrl.serve.testing.Fixtures;
import io.inctrl.serve.testing.TestAssets;
import io.inctrl.serve.text.PromptTemplates;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Java inference vs the exporter's plain-Python reference at batch size 1 (spec §13): every intermediate is compared,
 * not only the final score. Inputs are the reference's own preprocessed pixels, so this isolates the model path.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class AbstractEngineParityTest {

    static final float TOL = 1e-4f;

    private InctrlEngine engine;
    private Fixtures fixtures;
    private Map<String, Fixtures.Image> images;
    private final Map<String, TextPrior> priors = new HashMap<>();

    abstract String variant();

    @BeforeAll
    void load() {
        Path bundle = TestAssets.bundle(variant());
        engine = InctrlEngine.load(bundle, Device.cpu(), 1L << 30);
        fixtures = new Fixtures(bundle);
        images = fixtures.images();
    }

    @AfterAll
    void close() {
        if (engine != null) {
            engine.close();
        }
    }

    @Test
    void vision_features_match_reference_per_image() {
        for (Fixtures.Image img : images.values()) {
            ImageFeatures f = engine.encode(List.of(img.arrays().get("pixels"))).features();
            assertClose(img.path() + " g", f.g(), img.arrays().get("g"), TOL);
            for (int l = 0; l < 3; l++) {
                assertClose(img.path() + " tap" + l, f.taps()[l], img.arrays().get("tap" + l), TOL);
            }
        }
    }

    @Test
    void token_ids_match_open_clip_for_every_default_sentence() {
        PromptTemplates defaults = PromptTemplates.defaults();
        for (Fixtures.Prompts p : fixtures.prompts()) {
            assertThat(defaults.normalSentences(p.category()))
                    .as(p.category() + " normal")
                    .isEqualTo(p.normal());
            assertThat(defaults.anomalousSentences(p.category()))
                    .as(p.category() + " anomalous")
                    .isEqualTo(p.anomalous());
            List<String> all = new ArrayList<>(p.normal());
            all.addAll(p.anomalous());
            assertThat(engine.tokenizer().orElseThrow().encodeFixed(all))
                    .as(p.category() + " ids")
                    .isEqualTo(p.ids());
        }
    }

    @Test
    void text_prior_matches_reference() {
        for (Fixtures.Prompts p : fixtures.prompts()) {
            TextPrior t = prior(p.category());
            assertClose(p.category() + " t_n", t.normal(), p.arrays().get("t_n"), TOL);
            assertClose(p.category() + " t_a", t.anomalous(), p.arrays().get("t_a"), TOL);
        }
    }

    @Test
    void every_intermediate_and_final_score_match_reference() {
        for (Fixtures.Case c : fixtures.cases()) {
            PromptFeatures prompts = encodeShots(c.shots());
            assertClose(c.name() + " proto", prompts.prototype(), c.arrays().get("proto"), TOL);
            InctrlScores s = engine.encodeAndScore(
                            List.of(pixels(c.query())), List.of(prompts), List.of(prior(c.category())))
                    .get(0);
            assertClose(c.name() + " M", s.map(), c.arrays().get("M"), TOL);
            assertThat(s.sP())
                    .as(c.name() + " s_p")
                    .isCloseTo(c.scalar("s_p"), org.assertj.core.data.Offset.offset(TOL));
            assertThat(s.sI())
                    .as(c.name() + " s_i")
                    .isCloseTo(c.scalar("s_i"), org.assertj.core.data.Offset.offset(TOL));
            assertThat(s.sA())
                    .as(c.name() + " s_a")
                    .isCloseTo(c.scalar("s_a"), org.assertj.core.data.Offset.offset(TOL));
            assertThat(s.sH())
                    .as(c.name() + " s_h")
                    .isCloseTo(c.scalar("s_h"), org.assertj.core.data.Offset.offset(TOL));
            assertThat(s.score())
                    .as(c.name() + " score")
                    .isCloseTo(c.scalar("score"), org.assertj.core.data.Offset.offset(TOL));
        }
    }

    @Test
    void query_as_its_own_single_shot_has_zero_residual() {
        Fixtures.Case c = fixtures.cases().get(0);
        PromptFeatures self = encodeShots(List.of(c.query()));
        InctrlScores s = engine.encodeAndScore(List.of(pixels(c.query())), List.of(self), List.of(prior(c.category())))
                .get(0);
        for (float v : s.map()) {
            assertThat(v).isBetween(0f, 1e-5f);
        }
        assertThat(s.sP()).isLessThan(1e-5f);
    }

    @Test
    void shot_order_does_not_change_any_output() {
        Fixtures.Case c = fixtures.cases().stream()
                .filter(x -> x.shots().size() >= 2)
                .findFirst()
                .orElseThrow();
        List<String> shuffled = new ArrayList<>(c.shots());
        Collections.shuffle(shuffled, new Random(3));
        Collections.reverse(shuffled);
        TextPrior prior = prior(c.category());
        InctrlScores a = engine.encodeAndScore(
                        List.of(pixels(c.query())), List.of(encodeShots(c.shots())), List.of(prior))
                .get(0);
        InctrlScores b = engine.encodeAndScore(
                        List.of(pixels(c.query())), List.of(encodeShots(shuffled)), List.of(prior))
                .get(0);
        assertClose("M", a.map(), b.map(), 1e-6f);
        assertThat(b.score()).isCloseTo(a.score(), org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(b.sI()).isCloseTo(a.sI(), org.assertj.core.data.Offset.offset(1e-6f));
    }

    @Test
    void batched_inference_with_mixed_prompt_sets_equals_one_by_one() {
        List<Fixtures.Case> cases = fixtures.cases();
        List<float[]> queries = new ArrayList<>();
        List<PromptFeatures> prompts = new ArrayList<>();
        List<TextPrior> textPriors = new ArrayList<>();
        for (Fixtures.Case c : cases) {
            queries.add(pixels(c.query()));
            prompts.add(encodeShots(c.shots()));
            textPriors.add(prior(c.category()));
        }
        // the same prompt object twice in the batch exercises the grouped matmul path too
        queries.add(pixels(cases.get(1).query()));
        prompts.add(prompts.get(0));
        textPriors.add(textPriors.get(0));
        List<InctrlScores> batched = engine.encodeAndScore(queries, prompts, textPriors);
        for (int i = 0; i < queries.size(); i++) {
            InctrlScores one = engine.encodeAndScore(
                            List.of(queries.get(i)), List.of(prompts.get(i)), List.of(textPriors.get(i)))
                    .get(0);
            assertClose("M[" + i + "]", batched.get(i).map(), one.map(), 1e-5f);
            assertThat(batched.get(i).score())
                    .as("score " + i)
                    .isCloseTo(one.score(), org.assertj.core.data.Offset.offset(1e-5f));
            assertThat(batched.get(i).sI())
                    .as("s_i " + i)
                    .isCloseTo(one.sI(), org.assertj.core.data.Offset.offset(1e-5f));
            assertThat(batched.get(i).sA())
                    .as("s_a " + i)
                    .isCloseTo(one.sA(), org.assertj.core.data.Offset.offset(1e-5f));
        }
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

    private TextPrior prior(String category) {
        return priors.computeIfAbsent(
                category,
                c -> engine.textPrior(
                        PromptTemplates.defaults().normalSentences(c),
                        PromptTemplates.defaults().anomalousSentences(c)));
    }

    static void assertClose(String what, float[] actual, float[] expected, float tol) {
        assertThat(actual).as(what + " length").hasSize(expected.length);
        float worst = 0;
        int at = -1;
        for (int i = 0; i < actual.length; i++) {
            float d = Math.abs(actual[i] - expected[i]);
            if (!(d <= worst)) {
                worst = d;
                at = i;
            }
        }
        assertThat(worst).as(what + ": max |Δ| at index " + at).isLessThanOrEqualTo(tol);
    }
}
