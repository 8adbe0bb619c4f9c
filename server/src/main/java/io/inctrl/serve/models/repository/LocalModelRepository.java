package io.inctrl.serve.models.repository;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * A model repository in a local directory (a mounted volume, an image layer, the cache of
 * {@link S3ModelRepository}): {@code <root>/<model>/<version>/manifest.json}. A version with a SHA256SUMS file is
 * verified against it (every listed file, no unlisted file); one without is checked through its manifest only. The
 * directories are served in place, never copied.
 */
public final class LocalModelRepository implements ModelRepository {

    private static final Logger LOG = Logger.getLogger(LocalModelRepository.class);

    private final Path root;
    private final BundleVerifier verifier = new BundleVerifier();
    private final Set<Path> warned = ConcurrentHashMap.newKeySet(); // each ignored entry is logged once
    private volatile List<RepositoryModel> index = List.of();

    /** Scans {@code root} once; later changes are seen after {@link #refresh()} (or by {@link #materialize}). */
    public LocalModelRepository(Path root) {
        this.root = root.toAbsolutePath().normalize();
        refresh();
    }

    @Override
    public String location() {
        return root.toString();
    }

    @Override
    public List<RepositoryModel> index() {
        return index;
    }

    @Override
    public synchronized void refresh() {
        if (!Files.isDirectory(root)) {
            throw new ModelRepositoryException(
                    ModelRepositoryException.Kind.UNAVAILABLE,
                    "model repository " + root + " does not exist or is not a directory");
        }
        List<RepositoryModel> models = new ArrayList<>();
        for (Path dir : children(root)) {
            String name = dir.getFileName().toString();
            if (!Files.isDirectory(dir) || RepositoryNames.hidden(name)) {
                continue; // files beside the model directories (a README) and hidden ones are not models
            }
            if (!RepositoryNames.validModelName(name)) {
                warnOnce(dir, "ignoring " + dir + ": not a model name (" + RepositoryNames.MODEL_NAME_RULE + ")");
                continue;
            }
            models.add(scanModel(name, dir));
        }
        models.sort(Comparator.comparing(RepositoryModel::name));
        index = List.copyOf(models);
    }

    private RepositoryModel scanModel(String name, Path dir) {
        ModelConfig config = ModelConfig.DEFAULT;
        Optional<String> invalid = Optional.empty();
        try {
            config = ModelConfig.read(dir);
        } catch (InvalidBundleException e) {
            invalid = Optional.of(e.getMessage());
            warnOnce(dir.resolve(ModelConfig.FILE_NAME), "model " + name + ": " + e.getMessage());
        }
        List<RepositoryVersion> versions = new ArrayList<>();
        for (Path child : children(dir)) {
            String entry = child.getFileName().toString();
            if (!Files.isDirectory(child) || RepositoryNames.hidden(entry)) {
                continue; // config.json and other files
            }
            long version = RepositoryNames.parseVersion(entry);
            if (version <= 0) {
                warnOnce(
                        child,
                        "model " + name + ": ignoring directory '" + entry
                                + "': version directories are named by positive integers");
                continue;
            }
            versions.add(verify(name, version, child));
        }
        return new RepositoryModel(name, config, invalid, versions);
    }

    private RepositoryVersion verify(String model, long version, Path dir) {
        try {
            return RepositoryVersion.available(version, verifier.verify(dir, false));
        } catch (InvalidBundleException e) {
            warnOnce(dir, "model " + model + " version " + version + " is INVALID: " + e.getMessage());
            return RepositoryVersion.invalid(version, e.getMessage());
        }
    }

    @Override
    public synchronized Path materialize(String model, long version) {
        // The directory may have changed since the last scan (a volume updated in place): look again, re-verify.
        Path modelDir = RepositoryNames.validModelName(model) ? root.resolve(model) : null;
        if (modelDir == null || !Files.isDirectory(modelDir)) {
            throw new ModelRepositoryException(
                    ModelRepositoryException.Kind.NOT_FOUND, "model " + model + " is not in repository " + root);
        }
        Path dir = modelDir.resolve(Long.toString(version));
        if (version <= 0 || !Files.isDirectory(dir)) {
            throw new ModelRepositoryException(
                    ModelRepositoryException.Kind.NOT_FOUND,
                    "model " + model + " has no version " + version + " in repository " + root);
        }
        try {
            ModelConfig.read(modelDir);
        } catch (InvalidBundleException e) {
            throw new ModelRepositoryException(
                    ModelRepositoryException.Kind.INVALID, "model " + model + ": " + e.getMessage());
        }
        try {
            verifier.verify(dir, false);
        } catch (InvalidBundleException e) {
            throw new ModelRepositoryException(
                    ModelRepositoryException.Kind.INVALID,
                    "model " + model + " version " + version + " is invalid: " + e.getMessage());
        }
        return dir;
    }

    private void warnOnce(Path what, String message) {
        if (warned.add(what)) {
            LOG.warn(message);
        }
    }

    private static List<Path> children(Path dir) {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            ds.forEach(out::add);
        } catch (IOException e) {
            throw new ModelRepositoryException(
                    ModelRepositoryException.Kind.UNAVAILABLE, "cannot list " + dir + ": " + e.getMessage(), e);
        }
        out.sort(Comparator.comparing(p -> p.getFileName().toString()));
        return out;
    }
}
