package io.inctrl.serve.models.repository;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * A model's optional {@code <repository>/<model>/config.json}. Every key is optional; an unknown key is refused (a
 * misspelt policy must not silently serve the wrong versions):
 *
 * <pre>{@code
 * {
 *   "version_policy": {"latest": {"num_versions": 2}}      // default: latest 1, as Triton
 *                   | {"specific": {"versions": [3, 5]}}
 *                   | {"all": {}},
 *   "precision": "fp32" | "bf16" | "int8"                  // default: absent (the server's choice)
 * }
 * }</pre>
 *
 * @param versionPolicy which AVAILABLE versions the server serves
 * @param precision the reduced-precision variant to run, when the config names one (issue 21)
 */
public record ModelConfig(VersionPolicy versionPolicy, Optional<Precision> precision) {

    public static final String FILE_NAME = "config.json";

    /** No config.json: the newest available version, precision left to the server. */
    public static final ModelConfig DEFAULT = new ModelConfig(new VersionPolicy.Latest(1), Optional.empty());

    private static final Set<String> KEYS = Set.of("version_policy", "precision");
    private static final ObjectMapper JSON = new ObjectMapper();

    public enum Precision {
        FP32,
        BF16,
        INT8;

        /** The name used in config.json (lowercase). */
        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Which versions of a model are served (Triton's {@code version_policy}). */
    public sealed interface VersionPolicy {
        /** The versions to serve among {@code available} (ascending on return). */
        List<Long> select(List<Long> available);

        /** The {@code num_versions} highest available versions. */
        record Latest(int numVersions) implements VersionPolicy {
            public Latest {
                if (numVersions < 1) {
                    throw new IllegalArgumentException("num_versions must be >= 1");
                }
            }

            @Override
            public List<Long> select(List<Long> available) {
                List<Long> sorted = new ArrayList<>(new TreeSet<>(available));
                return sorted.subList(Math.max(0, sorted.size() - numVersions), sorted.size());
            }
        }

        /** Exactly these versions, those of them that are available. */
        record Specific(List<Long> versions) implements VersionPolicy {
            public Specific {
                versions = List.copyOf(new TreeSet<>(versions));
            }

            @Override
            public List<Long> select(List<Long> available) {
                return available.stream()
                        .filter(versions::contains)
                        .distinct()
                        .sorted()
                        .toList();
            }
        }

        /** Every available version. */
        record All() implements VersionPolicy {
            @Override
            public List<Long> select(List<Long> available) {
                return available.stream().distinct().sorted().toList();
            }
        }
    }

    /** Reads {@code modelDir/config.json}, or {@link #DEFAULT} when there is none. */
    public static ModelConfig read(Path modelDir) {
        Path file = modelDir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            return DEFAULT;
        }
        try {
            return parse(Files.readString(file));
        } catch (IOException e) {
            throw new InvalidBundleException("cannot read " + FILE_NAME + ": " + e.getMessage());
        }
    }

    /**
     * Parses the text of a config.json.
     *
     * @throws InvalidBundleException with a message naming the offending key and what is accepted
     */
    public static ModelConfig parse(String text) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new InvalidBundleException(FILE_NAME + " is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new InvalidBundleException(FILE_NAME + " must hold a JSON object");
        }
        unknownKeys(root, KEYS, FILE_NAME);
        VersionPolicy policy = DEFAULT.versionPolicy();
        if (root.has("version_policy")) {
            policy = versionPolicy(root.get("version_policy"));
        }
        Optional<Precision> precision = Optional.empty();
        if (root.has("precision")) {
            JsonNode p = root.get("precision");
            String name = p.isTextual() ? p.asText() : p.toString();
            precision = Optional.of(
                    switch (name) {
                        case "fp32" -> Precision.FP32;
                        case "bf16" -> Precision.BF16;
                        case "int8" -> Precision.INT8;
                        default ->
                            throw new InvalidBundleException(
                                    FILE_NAME + ": precision " + name + " is not one of \"fp32\", \"bf16\", \"int8\"");
                    });
        }
        return new ModelConfig(policy, precision);
    }

    private static VersionPolicy versionPolicy(JsonNode node) {
        String where = FILE_NAME + ": version_policy";
        if (!node.isObject() || node.size() != 1) {
            throw new InvalidBundleException(
                    where
                            + " must hold exactly one of {\"latest\": {\"num_versions\": N}}, {\"specific\": {\"versions\": [..]}}, {\"all\": {}}");
        }
        Map.Entry<String, JsonNode> only = node.fields().next();
        JsonNode body = only.getValue();
        if (!body.isObject()) {
            throw new InvalidBundleException(where + "." + only.getKey() + " must be an object");
        }
        switch (only.getKey()) {
            case "latest" -> {
                unknownKeys(body, Set.of("num_versions"), where + ".latest");
                JsonNode n = body.get("num_versions");
                if (n == null || !n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() < 1) {
                    throw new InvalidBundleException(where + ".latest.num_versions must be an integer >= 1");
                }
                return new VersionPolicy.Latest(n.asInt());
            }
            case "specific" -> {
                unknownKeys(body, Set.of("versions"), where + ".specific");
                JsonNode list = body.get("versions");
                if (list == null || !list.isArray() || list.isEmpty()) {
                    throw new InvalidBundleException(
                            where + ".specific.versions must be a non-empty list of positive integers");
                }
                List<Long> versions = new ArrayList<>();
                for (JsonNode v : list) {
                    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 1) {
                        throw new InvalidBundleException(
                                where + ".specific.versions holds " + v + "; versions are positive integers");
                    }
                    versions.add(v.asLong());
                }
                versions.sort(Comparator.naturalOrder());
                return new VersionPolicy.Specific(versions);
            }
            case "all" -> {
                unknownKeys(body, Set.of(), where + ".all");
                return new VersionPolicy.All();
            }
            default ->
                throw new InvalidBundleException(
                        where + ": unknown policy \"" + only.getKey() + "\" (latest, specific or all)");
        }
    }

    private static void unknownKeys(JsonNode object, Set<String> known, String where) {
        for (Iterator<String> it = object.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!known.contains(key)) {
                String accepted =
                        known.isEmpty() ? "takes no keys" : "known: " + String.join(", ", new TreeSet<>(known));
                throw new InvalidBundleException(where + ": unknown key \"" + key + "\" (" + accepted + ")");
            }
        }
    }
}
