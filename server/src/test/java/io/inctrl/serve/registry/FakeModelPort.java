package io.inctrl.serve.registry;

import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.ImageFeatures;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.models.ModelChoice;
import io.inctrl.serve.models.ModelRef;
import io.inctrl.serve.text.PromptTemplates;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Alternative;
import jakarta.inject.Inject;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;

/**
 * A tiny deterministic stand-in for the model layer: one model ({@value #MODEL}) with versions that all compute the
 * same 2×2 "patches" of 8 features from real pixel statistics, three taps, 6-d global embedding, the InCTRL residual
 * formulas on top; each version has its own bundle id (so its own encodings). Counts every call so tests can prove
 * what was (not) encoded, per version and in total. Routing: an explicit version, else the serving version (the
 * highest unless {@link #serving} is set), then the others.
 */
@Alternative
@ApplicationScoped
public class FakeModelPort implements ModelPort {

    public static final String MODEL = "fake";
    static final int PATCHES = 4;
    static final int WIDTH = 8;
    static final int EMBED = 6;
    static final int TAPS = 3;
    private static final Pattern TOKEN = Pattern.compile("[a-z]+|[0-9]|[^\\sa-z0-9]+");

    public final AtomicInteger encodeCalls = new AtomicInteger();
    public final AtomicInteger imagesEncoded = new AtomicInteger();
    public final AtomicInteger textPriorCalls = new AtomicInteger();
    public final AtomicInteger scoreCalls = new AtomicInteger();

    private final List<Version> versions = new CopyOnWriteArrayList<>();
    /** The version serving requests that name none; 0 = the highest. */
    public volatile long serving;

    /** Resolves sets for {@link #scoreQuery} (the registry under test; set by TestRegistry or injected). */
    @Inject
    jakarta.enterprise.inject.Instance<PromptSetService> registry;

    PromptSetService sets;

    @Inject
    jakarta.enterprise.inject.Instance<RecentQueries> recentQueries;

    RecentQueries recent;

    public FakeModelPort() {
        addVersion(1, "fake-bundle-1");
    }

    /** One fake version; its counters count its own work only. */
    public final class Version implements ModelVersionPort {
        private final ModelRef ref;
        private final String bundleId;
        public final AtomicInteger imagesEncoded = new AtomicInteger();

        Version(ModelRef ref, String bundleId) {
            this.ref = ref;
            this.bundleId = bundleId;
        }

        @Override
        public ModelRef ref() {
            return ref;
        }

        @Override
        public String bundleId() {
            return bundleId;
        }

        @Override
        public String encoderId() {
            return bundleId + "@fp32";
        }

        @Override
        public String precision() {
            return "fp32";
        }

        @Override
        public int inputSize() {
            return 240;
        }

        @Override
        public boolean hasTextPrior() {
            return true;
        }

        @Override
        public String modeDescription() {
            return "fake InCTRL";
        }

        @Override
        public EncodedShots encodeShots(List<byte[]> images, io.inctrl.serve.image.Inspection mode) {
            if (mode != io.inctrl.serve.image.Inspection.CENTER_CROP) {
                throw new UnsupportedOperationException("the fake model only centre-crops");
            }
            EncodedImages e = encode(images);
            imagesEncoded.addAndGet(images.size());
            return new EncodedShots(
                    e, java.util.stream.IntStream.range(0, images.size()).toArray());
        }

        /** Cached per version by template content and category, as a loaded version caches them. */
        private final java.util.Map<java.util.List<Object>, TextPrior> priors =
                new java.util.concurrent.ConcurrentHashMap<>();

        @Override
        public TextPrior textPrior(PromptTemplates templates, String category) {
            return priors.computeIfAbsent(
                    java.util.List.of(templates, category), k -> FakeModelPort.this.textPrior(templates, category));
        }

        @Override
        public List<InctrlScores> scoreEach(ImageFeatures queries, List<PromptFeatures> prompts, TextPrior prior) {
            List<InctrlScores> out = new ArrayList<>();
            for (int i = 0; i < queries.count(); i++) {
                out.add(FakeModelPort.this.score(queries.slice(i), prompts.get(i), prior));
            }
            return out;
        }
    }

    /** Adds (loads) a version; returns it. */
    public Version addVersion(long version, String bundleId) {
        Version v = new Version(new ModelRef(MODEL, version), bundleId);
        versions.add(v);
        return v;
    }

    /** Bundle id of the serving version. */
    public String bundleId() {
        return serving(MODEL).orElseThrow().bundleId();
    }

    /** Removes (unloads) a version. */
    public void removeVersion(long version) {
        versions.removeIf(v -> v.ref().version() == version);
    }

    public Version v(long version) {
        return versions.stream()
                .filter(v -> v.ref().version() == version)
                .findFirst()
                .orElseThrow();
    }

    private List<Version> loaded() {
        List<Version> out = new ArrayList<>(versions);
        out.sort((a, b) -> Long.compare(b.ref().version(), a.ref().version()));
        return out;
    }

    @Override
    public List<ModelVersionPort> candidates(ModelChoice choice) {
        String name = choice.namesModel() ? choice.name() : MODEL;
        if (!MODEL.equals(name)) {
            throw new ServeException(Reason.MODEL_NOT_FOUND, "model '" + name + "' not found");
        }
        if (choice.version() > 0) {
            return List.of(loaded().stream()
                    .filter(v -> v.ref().version() == choice.version())
                    .findFirst()
                    .orElseThrow(() -> new ServeException(
                            Reason.MODEL_VERSION_NOT_LOADED, "version " + choice.version() + " is not loaded")));
        }
        List<ModelVersionPort> out = new ArrayList<>();
        serving(MODEL).ifPresent(out::add);
        loaded().stream().filter(v -> !out.contains(v)).forEach(out::add);
        if (out.isEmpty()) {
            throw new ServeException(Reason.MODEL_NOT_LOADED, "no version loaded");
        }
        return out;
    }

    @Override
    public Optional<ModelVersionPort> serving(String model) {
        if (!MODEL.equals(model)) {
            return Optional.empty();
        }
        List<Version> l = loaded();
        return l.stream()
                .filter(v -> v.ref().version() == serving)
                .findFirst()
                .or(() -> l.stream().findFirst())
                .map(ModelVersionPort.class::cast);
    }

    @Override
    public Optional<ModelVersionPort> version(ModelRef ref) {
        return versions.stream().filter(v -> v.ref().equals(ref)).findFirst().map(ModelVersionPort.class::cast);
    }

    @Override
    public List<ModelVersionPort> versions(String model) {
        return MODEL.equals(model) ? List.copyOf(loaded()) : List.of();
    }

    @Override
    public List<ModelVersionPort> allVersions() {
        return List.copyOf(loaded());
    }

    @Override
    public int[] imageSize(byte[] image, String what) {
        try {
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(image));
            if (img != null) {
                return new int[] {img.getWidth(), img.getHeight()};
            }
        } catch (IOException e) {
            // refused below
        }
        throw ServeException.invalid(Reason.UNDECODABLE_IMAGE, what + " cannot be decoded");
    }

    @Override
    public String defaultModel() {
        return MODEL;
    }

    /** The Score use case by id, on the fake: the set as the registry resolves it, scored by its version. */
    @Override
    public ScoredQuery scoreQuery(String tenant, String promptSetId, byte[] image, ModelChoice choice) {
        PromptSetService s = sets != null ? sets : registry.get();
        ResolvedPromptSet r = s.resolve(tenant, promptSetId, choice, null);
        EncodedImages q = r.servedBy().encodeImages(List.of(image));
        InctrlScores scores = r.servedBy().score(q.features(), r.features(), r.prior());
        RecentQueries kept = recent != null ? recent : recentQueries.get();
        String queryId = kept.retain(tenant, promptSetId, image, scores.score());
        return new ScoredQuery(
                scores, r.threshold(), r.servedBy().ref(), r.servedBy().bundleId(), queryId);
    }

    public EncodedImages encodeImages(List<byte[]> images) {
        return encode(images);
    }

    private EncodedImages encode(List<byte[]> images) {
        encodeCalls.incrementAndGet();
        int n = images.size();
        float[] g = new float[n * EMBED];
        float[][] taps = new float[TAPS][n * PATCHES * WIDTH];
        for (int i = 0; i < n; i++) {
            BufferedImage img;
            try {
                img = ImageIO.read(new ByteArrayInputStream(images.get(i)));
            } catch (IOException | RuntimeException e) {
                img = null;
            }
            if (img == null) {
                throw ServeException.invalid(
                        io.inctrl.serve.error.Reason.UNDECODABLE_IMAGE, "image " + i + " cannot be decoded");
            }
            imagesEncoded.incrementAndGet();
            double[] total = new double[4];
            for (int p = 0; p < PATCHES; p++) {
                double[] s = stats(img, p % 2, p / 2);
                for (int k = 0; k < 4; k++) {
                    total[k] += s[k] / PATCHES;
                }
                for (int l = 0; l < TAPS; l++) {
                    float[] v = {
                        (float) (s[0] - 0.45),
                        (float) (s[1] - 0.4),
                        (float) (s[2] - 0.35),
                        (float) s[3] * 4,
                        (float) ((s[0] - 0.5) * (s[1] - 0.5)),
                        (float) ((s[2] - 0.4) * (l + 1)),
                        0.05f,
                        0.02f * (l + 1)
                    };
                    normalize(v);
                    System.arraycopy(v, 0, taps[l], (i * PATCHES + p) * WIDTH, WIDTH);
                }
            }
            float[] gi = {(float) total[0], (float) total[1], (float) total[2], (float) total[3], 0.5f, 0.25f};
            System.arraycopy(gi, 0, g, i * EMBED, EMBED);
        }
        float[] adapted = new float[g.length]; // ψ = ReLU here
        for (int i = 0; i < g.length; i++) {
            adapted[i] = Math.max(0, g[i]);
        }
        return new EncodedImages(new ImageFeatures(n, EMBED, PATCHES, WIDTH, g, taps), adapted);
    }

    public TextPrior textPrior(PromptTemplates templates, String category) {
        textPriorCalls.incrementAndGet();
        return new TextPrior(embed(templates.normalSentences(category)), embed(templates.anomalousSentences(category)));
    }

    public InctrlScores score(ImageFeatures q, PromptFeatures p, TextPrior prior) {
        scoreCalls.incrementAndGet();
        float[] map = new float[PATCHES];
        for (int l = 0; l < TAPS; l++) {
            int refs = p.rows(l);
            for (int j = 0; j < PATCHES; j++) {
                double best = Double.MAX_VALUE;
                for (int t = 0; t < refs; t++) {
                    double dot = 0;
                    for (int d = 0; d < WIDTH; d++) {
                        dot += q.taps()[l][j * WIDTH + d] * p.tokens()[l][t * WIDTH + d];
                    }
                    best = Math.min(best, 0.5 * (1 - dot));
                }
                map[j] += (float) (best / TAPS);
            }
        }
        float sP = 0;
        float mean = 0;
        for (float m : map) {
            sP = Math.max(sP, m);
            mean += m / PATCHES;
        }
        float[] g = q.g(0);
        float l1 = 0;
        for (int d = 0; d < EMBED; d++) {
            l1 += Math.abs(p.prototype()[d] - Math.max(0, g[d]));
        }
        float sI = sigmoid(4 * l1 - 2);
        normalize(g);
        double dn = 0;
        double da = 0;
        for (int d = 0; d < EMBED; d++) {
            dn += g[d] * prior.normal()[d];
            da += g[d] * prior.anomalous()[d];
        }
        float sA = sigmoid((float) (10 * (da - dn)));
        float sH = sigmoid(20 * mean + sI + sA - 2);
        return new InctrlScores((sH + sP) / 2, sH, sP, sI, sA, map, 2, 2);
    }

    @Override
    public int maxTokens(String sentence) {
        Matcher m = TOKEN.matcher(sentence.toLowerCase(Locale.ROOT));
        int n = 2;
        while (m.find()) {
            n++;
        }
        return n;
    }

    /** Mean RGB in [0,1] and luminance std of one quadrant. */
    private static double[] stats(BufferedImage img, int qx, int qy) {
        int w = img.getWidth();
        int h = img.getHeight();
        int x0 = qx * w / 2;
        int x1 = Math.max(x0 + 1, (qx + 1) * w / 2);
        int y0 = qy * h / 2;
        int y1 = Math.max(y0 + 1, (qy + 1) * h / 2);
        double r = 0, gg = 0, b = 0, l2 = 0, l = 0;
        int n = 0;
        for (int y = y0; y < Math.min(y1, h); y++) {
            for (int x = x0; x < Math.min(x1, w); x++) {
                int rgb = img.getRGB(x, y);
                double cr = ((rgb >> 16) & 255) / 255.0, cg = ((rgb >> 8) & 255) / 255.0, cb = (rgb & 255) / 255.0;
                double lum = 0.299 * cr + 0.587 * cg + 0.114 * cb;
                r += cr;
                gg += cg;
                b += cb;
                l += lum;
                l2 += lum * lum;
                n++;
            }
        }
        double ml = l / n;
        return new double[] {r / n, gg / n, b / n, Math.sqrt(Math.max(0, l2 / n - ml * ml))};
    }

    private static float[] embed(List<String> sentences) {
        float[] v = new float[EMBED];
        for (String s : sentences) {
            int h = s.hashCode();
            for (int d = 0; d < EMBED; d++) {
                v[d] += ((h >> (d * 5)) & 31) / 31f;
            }
        }
        normalize(v);
        return v;
    }

    private static void normalize(float[] v) {
        double n = 0;
        for (float x : v) {
            n += x * x;
        }
        n = Math.sqrt(n);
        if (n > 0) {
            for (int i = 0; i < v.length; i++) {
                v[i] /= (float) n;
            }
        }
    }

    private static float sigmoid(float x) {
        return (float) (1 / (1 + Math.exp(-x)));
    }
}
