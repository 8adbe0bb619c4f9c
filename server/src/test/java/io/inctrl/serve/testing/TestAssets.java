package io.inctrl.serve.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Where the exported test bundles and the shared sample images are; fails loudly when they are missing. */
public final class TestAssets {

    private TestAssets() {}

    public static Path assetsDir() {
        return Paths.get(System.getProperty("test.assets.dir", "../build/assets"));
    }

    /** A bundle produced by scripts/prepare-test-assets.sh: "tiny" or "full". */
    public static Path bundle(String variant) {
        Path dir = assetsDir().resolve(variant);
        if (!Files.isRegularFile(dir.resolve("manifest.json"))) {
            throw new IllegalStateException("test bundle " + dir.toAbsolutePath() + " is missing: run "
                    + "scripts/prepare-test-assets.sh (the README's test command does this)");
        }
        return dir;
    }

    public static Path dataDir() {
        Path dir = Paths.get(System.getProperty("test.data.dir", "../../shared/data"));
        if (!Files.isRegularFile(dir.resolve("manifest.csv"))) {
            throw new IllegalStateException("sample data " + dir.toAbsolutePath() + " is missing (expected shared/data"
                    + " beside the checkout)");
        }
        return dir;
    }
}
