package io.inctrl.serve.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/** The bundle's {@code manifest.json} (docs/bundle-format.md). */
@JsonIgnoreProperties(ignoreUnknown = true)
public record BundleManifest(
        int formatVersion,
        String kind,
        String bundleId,
        String arch,
        String variant,
        Image image,
        Vision vision,
        Text text,
        Weights weights,
        Map<String, String> files,
        Map<String, Variant> variants) {

    public static final int FORMAT_VERSION = 1;

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Image(int size, String resize, String crop, float[] mean, float[] std) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Vision(int embedDim, int width, int[] grid, List<Integer> tappedBlocks, List<String> tappedLayers) {
        public int patches() {
            return grid[0] * grid[1];
        }
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Text(int contextLength, int vocabSize, long sotToken, long eotToken, float temperature) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Weights(String source, Long seed, String checkpointSha256, String description) {
        public boolean random() {
            return "random-init".equals(source);
        }
    }

    /**
     * A reduced-precision copy of some towers (docs/bundle-format.md, "Precision variants"): {@code files} maps module
     * keys ({@code vision}, {@code vision_cpu}, {@code text}) to files; modules it does not list run at fp32. The
     * deviations were measured by the exporter against fp32 on {@code imageSet}; {@code parityBound} is what the
     * parity tier holds the variant to, per output (score, s_p, s_i, s_a, s_h, map).
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Variant(
            Map<String, String> files,
            String method,
            Map<String, Double> maxAbsDiff,
            Map<String, Double> batchedMaxAbsDiff,
            Map<String, Double> fp32ShotsMaxAbsDiff,
            Map<String, Double> parityBound,
            String imageSet,
            List<String> cpuFlagsAny) {

        /** Measured max |Δ| of {@code output} vs fp32, or empty when the exporter did not record it. */
        public Optional<Double> maxAbsDiff(String output) {
            return Optional.ofNullable(maxAbsDiff == null ? null : maxAbsDiff.get(output));
        }

        /** The parity bound of {@code output}, or empty when the exporter did not record one. */
        public Optional<Double> parityBound(String output) {
            return Optional.ofNullable(parityBound == null ? null : parityBound.get(output));
        }

        /** CPU flags of which the host needs one (int8: VNNI), empty when any CPU runs it. */
        public List<String> requiredCpuFlags() {
            return cpuFlagsAny == null ? List.of() : cpuFlagsAny;
        }
    }

    /** Module keys a variant may replace: the towers whose forwards dominate a request. */
    static final Set<String> VARIANT_MODULES = Set.of("vision", "vision_cpu", "text", "text_cpu");

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** Reads and validates {@code dir/manifest.json}; every problem is reported with the file it concerns. */
    public static BundleManifest read(Path dir) {
        Path file = dir.resolve("manifest.json");
        if (!Files.isRegularFile(file)) {
            throw new BundleException("no manifest.json in bundle directory " + dir.toAbsolutePath());
        }
        BundleManifest m;
        try {
            m = JSON.readValue(file.toFile(), BundleManifest.class);
        } catch (IOException e) {
            throw new BundleException("cannot parse " + file + ": " + e.getMessage(), e);
        }
        m.validate(dir);
        return m;
    }

    private void validate(Path dir) {
        if (formatVersion != FORMAT_VERSION) {
            throw new BundleException("bundle " + dir + " has format_version " + formatVersion
                    + "; this server reads version " + FORMAT_VERSION);
        }
        BundleKind.of(kind);
        if (bundleId == null || bundleId.isBlank()) {
            throw new BundleException("manifest has no bundle_id");
        }
        if (image == null
                || image.mean == null
                || image.mean.length != 3
                || image.std == null
                || image.std.length != 3) {
            throw new BundleException("manifest image section needs size, mean[3] and std[3]");
        }
        if (vision == null
                || vision.grid == null
                || vision.grid.length != 2
                || vision.tappedBlocks == null
                || vision.tappedBlocks.isEmpty()) {
            throw new BundleException("manifest vision section needs embed_dim, width, grid[2] and tapped_blocks");
        }
        if (hasTextPrior() && (text == null || text.contextLength <= 2)) {
            throw new BundleException("manifest text section needs context_length, sot_token, eot_token, temperature");
        }
        if (hasHeads() && vision.embedDim <= 0) {
            throw new BundleException("manifest vision.embed_dim must be > 0 for kind '" + kind
                    + "' (the size of the global embedding g the heads read)");
        }
        if (weights == null || weights.source == null) {
            throw new BundleException("manifest has no weights.source (checkpoint or random-init)");
        }
        List<String> required = switch (bundleKind()) {
            case INCTRL -> List.of("vision", "text", "adapter", "image_head", "holistic_head", "tokenizer");
            case RESIDUAL_HEADS -> List.of("vision", "adapter", "image_head", "holistic_head");
            case PATCH_RESIDUAL -> List.of("vision");
        };
        for (String key : required) {
            String name = files == null ? null : files.get(key);
            if (name == null || !Files.isRegularFile(dir.resolve(name))) {
                throw new BundleException("bundle " + dir + " lacks its '" + key + "' file (" + name + ")");
            }
        }
        for (String key : required) { // an optional CPU copy that is listed must exist, else CPU loads fail late
            String name = files.get(cpuKey(key));
            if (name != null && !Files.isRegularFile(dir.resolve(name))) {
                throw new BundleException(
                        "bundle " + dir + " lists '" + cpuKey(key) + "' (" + name + ") but the file is missing");
            }
        }
        validateVariants(dir);
    }

    private void validateVariants(Path dir) {
        if (variants == null) {
            return;
        }
        for (ComputePrecision p : offeredVariants()) {
            Variant v = variants.get(p.wireName());
            if (v == null || v.files() == null || v.files().isEmpty()) {
                throw new BundleException("bundle " + dir + ": variant '" + p + "' lists no files");
            }
            if (!v.files().containsKey("vision") && !v.files().containsKey("vision_cpu")) {
                throw new BundleException("bundle " + dir + ": variant '" + p + "' has no vision file");
            }
            for (Map.Entry<String, String> f : v.files().entrySet()) {
                if (!VARIANT_MODULES.contains(f.getKey()) || (f.getKey().startsWith("text") && !hasTextPrior())) {
                    throw new BundleException("bundle " + dir + ": variant '" + p + "' lists module '" + f.getKey()
                            + "', which a variant cannot replace in a '" + kind + "' bundle");
                }
                if (f.getValue() == null || !Files.isRegularFile(dir.resolve(f.getValue()))) {
                    throw new BundleException("bundle " + dir + " lists '" + f.getKey() + "' (" + f.getValue()
                            + ") for precision " + p + " but the file is missing");
                }
            }
        }
    }

    /** Variants this server knows; a newer exporter's other precisions are not offered (and do not fail the bundle). */
    private List<ComputePrecision> offeredVariants() {
        if (variants == null) {
            return List.of();
        }
        return EnumSet.complementOf(EnumSet.of(ComputePrecision.FP32)).stream()
                .filter(p -> variants.containsKey(p.wireName()))
                .toList();
    }

    /** The precisions this bundle can run at: fp32 always, plus every variant the exporter wrote. */
    public Set<ComputePrecision> precisions() {
        EnumSet<ComputePrecision> out = EnumSet.of(ComputePrecision.FP32);
        out.addAll(offeredVariants());
        return Collections.unmodifiableSet(out);
    }

    /** The variant of {@code precision} (empty for fp32, which is the bundle's own files, and for one not offered). */
    public Optional<Variant> variant(ComputePrecision precision) {
        return precision == ComputePrecision.FP32 || !precisions().contains(precision)
                ? Optional.empty()
                : Optional.of(variants.get(precision.wireName()));
    }

    /** The offered precisions as their wire names, e.g. "fp32, bf16" (for messages). */
    public String precisionNames() {
        return precisions().stream().map(ComputePrecision::wireName).collect(Collectors.joining(", "));
    }

    /**
     * Fails with a BundleException naming the bundle and the precisions it has unless {@code precision} can run on
     * the device kind (variants that list only CPU files, such as int8, cannot run on accelerators).
     */
    public void requirePrecision(Path dir, ComputePrecision precision, boolean cpu) {
        if (!precisions().contains(precision)) {
            throw new BundleException("bundle " + bundleId + " (" + dir + ") offers precisions " + precisionNames()
                    + "; it has no " + precision + " variant (add one with: cd tools/export && python -m "
                    + "inctrl_export.precision --bundle <dir> --precisions " + precision + " ...)");
        }
        Variant v = variant(precision).orElse(null);
        if (v != null && !cpu && !v.files().containsKey("vision")) {
            throw new BundleException("bundle " + bundleId + " (" + dir + "): its " + precision
                    + " variant runs on CPUs only (files " + v.files().values() + ")");
        }
    }

    /**
     * The file that serves module {@code key} at {@code precision}: the variant's CPU copy on a CPU, else its portable
     * file; modules the variant does not list (the heads, the tokenizer) are the fp32 ones, chosen as {@link #fileKey}.
     */
    public Path moduleFile(Path dir, String key, ComputePrecision precision, boolean cpu) {
        requirePrecision(dir, precision, cpu); // never a silent fp32 fallback for a precision the bundle lacks
        Variant v = variant(precision).orElse(null);
        if (v != null) {
            String name = cpu && v.files().containsKey(cpuKey(key))
                    ? v.files().get(cpuKey(key))
                    : v.files().get(key);
            if (name != null) {
                return dir.resolve(name);
            }
            if (v.files().containsKey(cpuKey(key))) {
                throw new BundleException(
                        "bundle " + bundleId + ": the " + precision + " variant of '" + key + "' runs on CPUs only");
            }
        }
        return file(dir, fileKey(key, cpu));
    }

    public BundleKind bundleKind() {
        return BundleKind.of(kind);
    }

    /** True when the bundle has the learned heads ψ, η, φ (kinds inctrl and residual-heads). */
    public boolean hasHeads() {
        return bundleKind().hasHeads();
    }

    /** True only for the full InCTRL method, whose CLIP text tower gives the prior s_a (category and templates matter). */
    public boolean hasTextPrior() {
        return bundleKind().hasTextPrior();
    }

    /** How the API, logs and console name what this bundle computes. */
    public String modeDescription() {
        return switch (bundleKind()) {
            case INCTRL -> "InCTRL (" + arch + ")";
            case RESIDUAL_HEADS ->
                "InCTRL-style residual heads on " + arch
                        + " — not the CLIP InCTRL checkpoint; no text prior (final score = (s_h + s_p) / 2)";
            case PATCH_RESIDUAL -> "generic patch residual on " + arch + " features — not InCTRL (final score = s_p)";
        };
    }

    public Path file(Path dir, String key) {
        return dir.resolve(files.get(key));
    }

    /** Manifest key of the CPU-optimised copy of a module (docs/bundle-format.md, "Optimised CPU copies"). */
    static String cpuKey(String key) {
        return key + "_cpu";
    }

    /**
     * The file to load for module {@code key}: its CPU-optimised copy when running on the CPU and the bundle ships one,
     * else the portable file (the copy has CPU-specific constants baked in, so accelerators always get the portable one).
     */
    public String fileKey(String key, boolean cpu) {
        return cpu && files.get(cpuKey(key)) != null ? cpuKey(key) : key;
    }

    /** One line for logs and the API: what produced these weights. */
    public String weightsDescription() {
        if (weights.description != null && !weights.description.isBlank()) {
            return weights.description;
        }
        if (weights.random()) {
            return "random-init seed=" + weights.seed;
        }
        // Trained heads (kind residual-heads) have no upstream checkpoint to cite; name the source instead of "null".
        return weights.checkpointSha256 == null
                ? weights.source + " weights"
                : "checkpoint sha256=" + weights.checkpointSha256;
    }
}
