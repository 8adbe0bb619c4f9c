package io.inctrl.serve.models;

import io.inctrl.serve.model.BundleException;
import io.inctrl.serve.model.BundleManifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** The zero-configuration source: one bundle directory served as model {@code name}, version 1. */
final class SingleBundleSource implements ModelSource {

    private final Path dir;
    private final ModelRef ref;

    SingleBundleSource(Path dir, String name) {
        this.dir = dir;
        this.ref = new ModelRef(name, 1);
    }

    /** The directory's own name (e.g. {@code nsfwjs-inception-v3}), the model name clients see. */
    static String defaultName(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        return abs.getFileName() == null ? "default" : abs.getFileName().toString();
    }

    @Override
    public List<Available> versions() {
        Optional<String> problem = Optional.empty();
        if (!Files.isDirectory(dir)) {
            problem = Optional.of("bundle directory " + dir.toAbsolutePath() + " does not exist");
        } else {
            try {
                BundleManifest.read(dir);
            } catch (BundleException e) {
                problem = Optional.of(e.getMessage());
            }
        }
        return List.of(new Available(ref, problem));
    }

    @Override
    public Path materialize(ModelRef r) {
        if (!r.equals(ref)) {
            throw new BundleException("this server serves only " + ref + " (inctrl.model.bundle); no " + r);
        }
        return dir;
    }

    @Override
    public ModelSettings settings(String model) {
        return ModelSettings.DEFAULTS;
    }

    @Override
    public void refresh() {
        // nothing to re-read: the bundle directory is read when loaded
    }

    @Override
    public String describe() {
        return "bundle " + dir.toAbsolutePath().normalize();
    }
}
