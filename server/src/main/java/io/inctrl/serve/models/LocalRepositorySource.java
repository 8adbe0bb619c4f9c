package io.inctrl.serve.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inctrl.serve.model.BundleException;
import io.inctrl.serve.model.BundleManifest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/** A model repository in a local directory: {@code <root>/<model>/<version>/manifest.json}, as Triton lays it out. */
final class LocalRepositorySource implements ModelSource {

    private static final Logger LOG = Logger.getLogger(LocalRepositorySource.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path root;

    LocalRepositorySource(Path root) {
        this.root = root;
    }

    @Override
    public List<Available> versions() {
        if (!Files.isDirectory(root)) {
            throw new BundleException("model repository " + root.toAbsolutePath() + " is not a directory");
        }
        List<Available> out = new ArrayList<>();
        for (Path model : list(root)) {
            if (!Files.isDirectory(model)) {
                continue;
            }
            for (Path v : list(model)) {
                String n = v.getFileName().toString();
                if (!Files.isDirectory(v)) {
                    continue;
                }
                if (!n.matches("[1-9][0-9]{0,17}")) {
                    LOG.warnf("model repository: ignoring %s (version folders are positive integers)", v);
                    continue;
                }
                ModelRef ref = new ModelRef(model.getFileName().toString(), Long.parseLong(n));
                Optional<String> problem = Optional.empty();
                try {
                    BundleManifest.read(v);
                } catch (BundleException e) {
                    problem = Optional.of(e.getMessage());
                }
                out.add(new Available(ref, problem));
            }
        }
        out.sort((a, b) -> a.ref().compareTo(b.ref()));
        return out;
    }

    @Override
    public Path materialize(ModelRef ref) {
        Path dir = root.resolve(ref.name()).resolve(Long.toString(ref.version()));
        if (!dir.normalize().startsWith(root.normalize()) || !Files.isDirectory(dir)) {
            throw new BundleException("model repository " + root + " has no " + ref);
        }
        return dir;
    }

    @Override
    public ModelSettings settings(String model) {
        Path file = root.resolve(model).resolve("config.json");
        if (!Files.isRegularFile(file)) {
            return ModelSettings.DEFAULTS;
        }
        try {
            JsonNode n = JSON.readTree(file.toFile());
            Set<String> known = Set.of("version_policy", "precision");
            Set<String> keys = new HashSet<>();
            n.fieldNames().forEachRemaining(keys::add);
            keys.removeAll(known);
            if (!keys.isEmpty()) {
                throw new BundleException(file + ": unknown keys " + keys + " (known: " + known + ")");
            }
            Optional<VersionPolicy> policy = Optional.empty();
            JsonNode p = n.get("version_policy");
            if (p != null) {
                if (p.has("latest")) {
                    policy = Optional.of(
                            new VersionPolicy.Latest(p.get("latest").path("num_versions").asInt(1)));
                } else if (p.has("all")) {
                    policy = Optional.of(new VersionPolicy.All());
                } else if (p.has("specific")) {
                    Set<Long> vs = new HashSet<>();
                    p.get("specific").path("versions").forEach(x -> vs.add(x.asLong()));
                    policy = Optional.of(new VersionPolicy.Specific(vs));
                } else {
                    throw new BundleException(file + ": version_policy must hold latest, all or specific");
                }
            }
            JsonNode precision = n.get("precision");
            return new ModelSettings(policy, Optional.ofNullable(precision).map(JsonNode::asText));
        } catch (IOException e) {
            throw new BundleException(file + " is not valid JSON: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new BundleException(file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void refresh() {
        // every call of versions() scans the directory
    }

    @Override
    public String describe() {
        return root.toAbsolutePath().normalize().toString();
    }

    private static List<Path> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
