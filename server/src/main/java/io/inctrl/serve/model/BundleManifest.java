package io.inctrl.serve.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

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
        Map<String, String> files) {

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
