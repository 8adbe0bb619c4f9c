package io.inctrl.serve.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inctrl.serve.registry.FeatureCodec;
import io.inctrl.serve.registry.Precision;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Greedy k-centre coreset of prompt banks: its properties, and parity with the Python reference selection. */
class CoresetTest {

    @Test
    void selection_isTheReferenceSelection_onTheSharedFixture() throws Exception {
        JsonNode fixture;
        try (InputStream in = CoresetTest.class.getResourceAsStream("/coreset/parity.json")) {
            fixture = new ObjectMapper().readTree(in);
        }
        for (String name : List.of("projected", "plain")) {
            JsonNode c = fixture.get("cases").get(name);
            int n = c.get("n").asInt();
            int width = c.get("width").asInt();
            float[] rows = fixtureRows(
                    n, width, c.get("centres").asInt(), c.get("seed").asLong());
            int[] want = new int[fixture.get("order").get(name).size()];
            for (int i = 0; i < want.length; i++) {
                want[i] = fixture.get("order").get(name).get(i).asInt();
            }
            assertThat(Coreset.order(rows, width, c.get("budget").asInt()))
                    .as(name + " (greedy order of inctrl_export.residual.coreset_order)")
                    .containsExactly(want);
        }
    }

    @Test
    void projection_isTheReferenceMatrix() {
        float[] p = Coreset.projection(300, 128);
        float s = 1f / (float) Math.sqrt(128);
        long positive = IntStream.range(0, p.length).filter(i -> p[i] > 0).count();
        assertThat(IntStream.range(0, p.length).filter(i -> p[i] != s && p[i] != -s))
                .isEmpty();
        assertThat(positive).isBetween(p.length * 45L / 100, p.length * 55L / 100);
        // signs of inctrl_export.residual.projection(300, 128)[0, :8]
        float[] head = Arrays.copyOf(p, 8);
        for (int i = 0; i < 8; i++) {
            head[i] = Math.signum(head[i]);
        }
        assertThat(head).containsExactly(-1f, 1f, 1f, -1f, 1f, -1f, 1f, 1f);
    }

    @Test
    void coveringRadius_fallsAsTheBudgetGrows_andIsZeroWhenEverythingIsKept() {
        float[] rows = unitRows(700, 160, 3);
        float last = Float.POSITIVE_INFINITY;
        for (int budget : new int[] {5, 20, 60, 150, 400}) {
            // separate selections, not prefixes of one run: a budget-dependent start would break this
            float r = Coreset.coveringRadius(rows, 160, Coreset.select(rows, 160, budget));
            assertThat(r).as("radius at budget " + budget).isLessThanOrEqualTo(last);
            last = r;
        }
        assertThat(Coreset.coveringRadius(rows, 160, Coreset.select(rows, 160, 700)))
                .isLessThan(1e-6f);
    }

    @Test
    void greedySelection_coversBetterThanRandomSubsetsOfTheSameSize() {
        float[] rows = clusteredUnitRows(1200, 96, 40, 4);
        int budget = 60;
        float coreset = Coreset.coveringRadius(rows, 96, Coreset.select(rows, 96, budget));
        Random r = new Random(9);
        for (int trial = 0; trial < 5; trial++) {
            List<Integer> all = new ArrayList<>(IntStream.range(0, 1200).boxed().toList());
            Collections.shuffle(all, r);
            int[] random =
                    all.subList(0, budget).stream().mapToInt(Integer::intValue).toArray();
            assertThat(coreset).isLessThan(Coreset.coveringRadius(rows, 96, random));
        }
    }

    @Test
    void selection_isDeterministic_andIndependentOfRowOrder() {
        float[] rows = unitRows(500, 200, 5);
        int[] a = Coreset.select(rows, 200, 70);
        assertThat(Coreset.select(rows, 200, 70)).containsExactly(a);
        assertThat(a).isSorted().doesNotHaveDuplicates().hasSize(70);
        // the same tokens with the shots in another order: the same tokens are kept
        int[] perm = shuffled(500, 6);
        float[] permuted = new float[rows.length];
        for (int i = 0; i < 500; i++) {
            System.arraycopy(rows, perm[i] * 200, permuted, i * 200, 200);
        }
        int[] b = Coreset.select(permuted, 200, 70);
        int[] back = Arrays.stream(b).map(i -> perm[i]).sorted().toArray();
        assertThat(back).containsExactly(a);
    }

    @Test
    void reduce_isExactAtOrBelowTheBudget_andBoundsEveryTapAbove() {
        float[][] taps = {unitRows(12 * 9, 32, 7), unitRows(12 * 9, 32, 8)};
        PromptFeatures full = new PromptFeatures(12, 9, 32, taps, new float[] {1f, 2f});
        assertThat(Coreset.reduce(full, 108)).isSameAs(full);
        assertThat(Coreset.reduce(full, 1000)).isSameAs(full);
        PromptFeatures reduced = Coreset.reduce(full, 40);
        assertThat(reduced.shots()).isEqualTo(12);
        assertThat(reduced.rows(0)).isEqualTo(40);
        assertThat(reduced.rows(1)).isEqualTo(40);
        assertThat(reduced.prototype()).containsExactly(1f, 2f);
        // kept rows are rows of the full bank, in their original order
        int[] sel = Coreset.select(taps[0], 32, 40);
        for (int i = 0; i < 40; i++) {
            assertThat(Arrays.copyOfRange(reduced.tokens()[0], i * 32, (i + 1) * 32))
                    .containsExactly(Arrays.copyOfRange(taps[0], sel[i] * 32, (sel[i] + 1) * 32));
        }
        assertThatThrownBy(() -> Coreset.reduce(full, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void withoutShot_dropsExactlyTheKeptRowsOfThatShot() {
        int patches = 9;
        float[][] taps = {unitRows(5 * patches, 16, 11)};
        PromptFeatures full = new PromptFeatures(5, patches, 16, taps, new float[0]);
        Coreset.Reduction r = Coreset.reduceTracked(full, 20);
        int[] shotOfView = {0, 1, 2, 3, 4};
        PromptFeatures loo = Coreset.withoutShot(r, patches, shotOfView, 2, new float[0]);
        long fromShot2 =
                Arrays.stream(r.kept()[0]).filter(i -> i / patches == 2).count();
        assertThat(fromShot2)
                .as("the coreset keeps some rows of every shot here")
                .isPositive();
        assertThat(loo.rows(0)).isEqualTo(20 - fromShot2);
        // every remaining row is a kept row of another shot
        for (int i = 0; i < loo.rows(0); i++) {
            float[] row = Arrays.copyOfRange(loo.tokens()[0], i * 16, (i + 1) * 16);
            boolean found = false;
            for (int k : r.kept()[0]) {
                if (k / patches != 2 && Arrays.equals(row, Arrays.copyOfRange(taps[0], k * 16, (k + 1) * 16))) {
                    found = true;
                }
            }
            assertThat(found).isTrue();
        }
        // below the budget nothing was reduced: leaving a shot out drops all of its rows
        Coreset.Reduction whole = Coreset.reduceTracked(full, 1000);
        assertThat(whole.kept()[0]).isNull();
        assertThat(Coreset.withoutShot(whole, patches, shotOfView, 0, new float[0])
                        .rows(0))
                .isEqualTo(4 * patches);
    }

    @Test
    void reducedBanks_roundTripThroughTheStoreFormat_withTheirOwnRowCountPerTap() {
        float[][] taps = {unitRows(300, 16, 1), unitRows(100, 16, 2)}; // taps of different sizes after a reduction
        PromptFeatures f = Coreset.reduce(new PromptFeatures(3, 16, taps, new float[] {0.5f}), 150);
        assertThat(f.rows(0)).isEqualTo(150);
        assertThat(f.rows(1)).isEqualTo(100);
        PromptFeatures back = FeatureCodec.roundTrip(f, Precision.FP32);
        assertThat(back.rows(0)).isEqualTo(150);
        assertThat(back.rows(1)).isEqualTo(100);
        assertThat(back.shots()).isEqualTo(3);
        assertThat(back.tokens()[0]).containsExactly(f.tokens()[0]);
        assertThat(back.tokens()[1]).containsExactly(f.tokens()[1]);
    }

    /**
     * Through the engine of the default bundle (patch residual: the score is max M): a reduced bank can only raise a query's residual (its rows are a subset),
     * by at most what the covering radius allows, and the budget at the full size changes nothing.
     */
    @Test
    void engineScores_withAReducedBank_areBoundedByTheCoveringRadius() {
        try (InctrlEngine engine =
                InctrlEngine.load(java.nio.file.Path.of("../models/nsfwjs-inception-v3"), Device.cpu(), 1L << 28)) {
            int size = engine.manifest().image().size();
            Random r = new Random(4);
            List<float[]> shots = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                shots.add(pixels(r, size));
            }
            EncodedImages enc = engine.encode(shots);
            PromptFeatures full = enc.pool();
            ImageFeatures query = engine.encode(List.of(pixels(r, size))).features();
            int budget = full.rows(0) / 4;
            PromptFeatures reduced = Coreset.reduce(full, budget);
            InctrlScores exact =
                    engine.score(query, List.of(full), List.of(TextPrior.NONE)).get(0);
            InctrlScores cut = engine.score(query, List.of(reduced), List.of(TextPrior.NONE))
                    .get(0);
            float radius = 0;
            for (int l = 0; l < full.tokens().length; l++) {
                radius = Math.max(
                        radius,
                        Coreset.coveringRadius(
                                full.tokens()[l],
                                full.width(),
                                Coreset.select(full.tokens()[l], full.width(), budget)));
            }
            float[] me = exact.map();
            float[] mc = cut.map();
            for (int j = 0; j < me.length; j++) {
                assertThat(mc[j]).isGreaterThanOrEqualTo(me[j] - 1e-5f);
                // √m_cut ≤ √m_exact + √radius per tap (triangle inequality); the mean over taps keeps the bound
                float bound = (float) Math.pow(Math.sqrt(me[j]) + Math.sqrt(radius), 2);
                assertThat(mc[j]).isLessThanOrEqualTo(bound + 1e-5f);
            }
            assertThat(engine.score(query, List.of(Coreset.reduce(full, full.rows(0))), List.of(TextPrior.NONE))
                            .get(0)
                            .map())
                    .containsExactly(me);
        }
    }

    // ---- inputs

    /** CoresetTest's twin of tests/test_residual.py fixture_rows: the same float32 bits from integer hashes. */
    static float[] fixtureRows(int n, int width, int centres, long seed) {
        float[] c = hashUniform(centres * width, 0, seed);
        float[] noise = hashUniform(n * width, centres * width, seed);
        float[] out = new float[n * width];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < width; j++) {
                out[i * width + j] = c[(i % centres) * width + j] + noise[i * width + j] / 8f;
            }
        }
        return out;
    }

    private static float[] hashUniform(int count, int offset, long seed) {
        float[] u = new float[count];
        for (int e = 0; e < count; e++) {
            long z = seed + (offset + e + 1L) * 0x9E3779B97F4A7C15L;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z = z ^ (z >>> 31);
            u[e] = (float) (z >>> 40) / 16777216f - 0.5f;
        }
        return u;
    }

    private static float[] unitRows(int n, int width, long seed) {
        Random r = new Random(seed);
        float[] out = new float[n * width];
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int j = 0; j < width; j++) {
                float v = (float) r.nextGaussian();
                out[i * width + j] = v;
                norm += v * v;
            }
            for (int j = 0; j < width; j++) {
                out[i * width + j] /= (float) Math.sqrt(norm);
            }
        }
        return out;
    }

    private static float[] clusteredUnitRows(int n, int width, int clusters, long seed) {
        float[] centres = unitRows(clusters, width, seed);
        Random r = new Random(seed + 1);
        float[] out = new float[n * width];
        // uneven cluster sizes: random subsets over-sample the big clusters and miss small ones
        for (int i = 0; i < n; i++) {
            int c = (int) Math.floor(clusters * Math.pow(r.nextDouble(), 3));
            double norm = 0;
            for (int j = 0; j < width; j++) {
                float v = centres[c * width + j] + 0.05f * (float) r.nextGaussian();
                out[i * width + j] = v;
                norm += v * v;
            }
            for (int j = 0; j < width; j++) {
                out[i * width + j] /= (float) Math.sqrt(norm);
            }
        }
        return out;
    }

    private static int[] shuffled(int n, long seed) {
        List<Integer> l = new ArrayList<>(IntStream.range(0, n).boxed().toList());
        Collections.shuffle(l, new Random(seed));
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    private static float[] pixels(Random r, int size) {
        float[] p = new float[3 * size * size];
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) r.nextGaussian();
        }
        return p;
    }
}
