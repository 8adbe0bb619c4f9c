package io.inctrl.serve.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import io.inctrl.serve.testing.Fixtures;
import io.inctrl.serve.testing.TestAssets;
import io.inctrl.serve.text.PromptTemplates;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The parity tier of one reduced precision: the engine loaded at that precision vs the exporter's fp32 reference
 * fixtures, on every score-level output, within the bound the exporter measured and wrote into the manifest (per
 * output; docs/bundle-format.md, "Precision variants"); and batched = one by one within the same bound.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class AbstractPrecisionParityTest {

    /** fp32 TorchScript vs the Python reference differs by ~1e-7: a variant that differs less is not running. */
    private static final double REALLY_REDUCED = 1e-5;

    private Path bundle;
    private InctrlEngine engine;
    private BundleManifest.Variant variant;
    private Fixtures fixtures;
    private Map<String, Fixtures.Image> images;
    private final Map<String, TextPrior> priors = new HashMap<>();
    private boolean refusedHere;

    abstract String bundleName();

    abstract ComputePrecision precision();

    @BeforeAll
    void load() {
        bundle = TestAssets.bundle(bundleName());
        variant = BundleManifest.read(bundle)
                .variant(precision())
                .orElseThrow(() -> new AssertionError(
                        bundle + " has no " + precision() + " variant: run scripts/prepare-test-assets.sh"));
        Set<String> host = CpuFlags.host().orElse(null);
        if (host != null
                && !variant.requiredCpuFlags().isEmpty()
                && variant.requiredCpuFlags().stream().noneMatch(host::contains)) {
            // int8 on a CPU without VNNI: the load must be refused (what this host can check); the rest is skipped
            assertThatThrownBy(() -> InctrlEngine.load(bundle, Device.cpu(), 1L << 20, precision()))
                    .isInstanceOf(BundleException.class)
                    .hasMessageContaining("choose bf16 or fp32");
            refusedHere = true;
            return;
        }
        engine = InctrlEngine.load(bundle, Device.cpu(), 1L << 30, precision());
        fixtures = new Fixtures(bundle);
        images = fixtures.images();
    }

    @BeforeEach
    void runsHere() {
        Assumptions.assumeFalse(
                refusedHere,
                precision() + " needs one of " + variant.requiredCpuFlags()
                        + ", which this CPU lacks (the refusal was checked)");
    }

    @AfterAll
    void close() {
        if (engine != null) {
            engine.close();
        }
    }

    @Test
    void engine_runs_the_requested_precision_and_the_manifest_records_its_measurement() {
        assertThat(engine.precision()).isEqualTo(precision());
        assertThat(engine.manifest().precisions()).contains(ComputePrecision.FP32, precision());
        assertThat(variant.imageSet()).isNotBlank();
        for (String out : outputs(fixtures.cases().get(0))) {
            assertThat(variant.maxAbsDiff(out)).as("max_abs_diff." + out).isPresent();
            assertThat(variant.parityBound(out)).as("parity_bound." + out).isPresent();
            assertThat(variant.parityBound(out).orElseThrow())
                    .as("parity_bound." + out + " covers the measured max |Δ|")
                    .isGreaterThanOrEqualTo(variant.maxAbsDiff(out).orElseThrow());
        }
    }

    @Test
    void every_score_output_is_within_the_manifest_bound_of_the_fp32_reference() {
        Map<String, Double> worst = new LinkedHashMap<>();
        for (Fixtures.Case c : fixtures.cases()) {
            InctrlScores s = engine.encodeAndScore(
                            List.of(pixels(c.query())), List.of(encodeShots(c.shots())), List.of(prior(c)))
                    .get(0);
            Map<String, float[]> got = outputsOf(s);
            for (String out : outputs(c)) {
                double d = maxAbs(got.get(out), c.arrays().get(fixtureKey(out)));
                assertThat(d)
                        .as("%s %s at %s: |Δ| vs fp32 reference", c.name(), out, precision())
                        .isLessThanOrEqualTo(bound(out));
                worst.merge(out, d, Math::max);
            }
        }
        // a silent fallback to the fp32 files would pass the bounds above; it cannot pass this
        assertThat(worst.values().stream()
                        .mapToDouble(Double::doubleValue)
                        .max()
                        .orElse(0))
                .as("largest deviation over %s (%s really runs at %s)", worst, bundleName(), precision())
                .isGreaterThan(REALLY_REDUCED);
    }

    @Test
    void batched_inference_equals_one_by_one_within_the_bound() {
        List<Fixtures.Case> cases = fixtures.cases();
        List<float[]> queries = new ArrayList<>();
        List<PromptFeatures> prompts = new ArrayList<>();
        List<TextPrior> textPriors = new ArrayList<>();
        for (Fixtures.Case c : cases) {
            queries.add(pixels(c.query()));
            prompts.add(encodeShots(c.shots()));
            textPriors.add(prior(c));
        }
        List<InctrlScores> batched = engine.encodeAndScore(queries, prompts, textPriors);
        for (int i = 0; i < queries.size(); i++) {
            InctrlScores one = engine.encodeAndScore(
                            List.of(queries.get(i)), List.of(prompts.get(i)), List.of(textPriors.get(i)))
                    .get(0);
            Map<String, float[]> a = outputsOf(batched.get(i));
            Map<String, float[]> b = outputsOf(one);
            for (String out : outputs(cases.get(i))) {
                assertThat(maxAbs(a.get(out), b.get(out)))
                        .as("%s %s batched vs one by one", cases.get(i).name(), out)
                        .isLessThanOrEqualTo(bound(out));
            }
        }
    }

    @Test
    void a_precision_the_bundle_does_not_offer_is_refused_naming_the_bundle_and_what_it_has() {
        EnumSet<ComputePrecision> missing =
                EnumSet.complementOf(EnumSet.copyOf(engine.manifest().precisions()));
        for (ComputePrecision p : missing) {
            assertThatThrownBy(() -> InctrlEngine.load(bundle, Device.cpu(), 1L << 20, p))
                    .isInstanceOf(BundleException.class)
                    .hasMessageContaining(engine.manifest().bundleId())
                    .hasMessageContaining(
                            "offers precisions " + engine.manifest().precisionNames())
                    .hasMessageContaining("no " + p.wireName() + " variant");
        }
    }

    /** The score-level outputs this bundle's fixture case has (s_a only with a text tower, s_i/s_h with heads). */
    private static List<String> outputs(Fixtures.Case c) {
        List<String> out = new ArrayList<>(List.of("score", "s_p", "map"));
        for (String k : List.of("s_i", "s_a", "s_h")) {
            if (c.arrays().containsKey(k)) {
                out.add(k);
            }
        }
        return out;
    }

    private static String fixtureKey(String out) {
        return out.equals("map") ? "M" : out;
    }

    private static Map<String, float[]> outputsOf(InctrlScores s) {
        Map<String, float[]> m = new HashMap<>();
        m.put("score", new float[] {s.score()});
        m.put("s_p", new float[] {s.sP()});
        m.put("map", s.map());
        if (s.sI() != null) {
            m.put("s_i", new float[] {s.sI()});
        }
        if (s.sA() != null) {
            m.put("s_a", new float[] {s.sA()});
        }
        if (s.sH() != null) {
            m.put("s_h", new float[] {s.sH()});
        }
        return m;
    }

    private double bound(String out) {
        return variant.parityBound(out)
                .orElseThrow(() -> new AssertionError(
                        "manifest of " + bundle + " has no parity_bound." + out + " for " + precision()));
    }

    private static double maxAbs(float[] a, float[] b) {
        assertThat(a).as("output").isNotNull().hasSize(b.length);
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs((double) a[i] - b[i]));
        }
        return worst;
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

    private TextPrior prior(Fixtures.Case c) {
        if (!engine.manifest().hasTextPrior()) {
            return TextPrior.NONE;
        }
        return priors.computeIfAbsent(
                c.category(),
                k -> engine.textPrior(
                        PromptTemplates.defaults().normalSentences(k),
                        PromptTemplates.defaults().anomalousSentences(k)));
    }
}
