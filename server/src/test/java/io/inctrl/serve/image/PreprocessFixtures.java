package io.inctrl.serve.image;

import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Locates and reads the fixtures written by server/src/test/python/make_preprocess_fixtures.py. */
final class PreprocessFixtures {

    static final String SCRIPT = "server/src/test/python/make_preprocess_fixtures.py";

    private PreprocessFixtures() {}

    /** The fixture dir; fails (never skips) with the command to run when it is missing. */
    static Path dir() {
        return dir(System.getProperty("test.assets.dir"));
    }

    static Path dir(String assets) {
        Path dir = assets == null ? null : Path.of(assets, "preprocess");
        if (dir == null || !Files.isRegularFile(dir.resolve("index.json"))) {
            fail("Preprocessing parity fixtures are missing ("
                    + (dir == null
                            ? "system property test.assets.dir" + " is not set"
                            : dir.resolve("index.json") + " not found")
                    + "). Generate them with:\n"
                    + "  /tmp/pyt/venv/bin/python " + SCRIPT + " " + (assets == null ? "<repo>/build/assets" : assets)
                    + "\n(needs pillow 13.0.0, torch 2.7.1, torchvision 0.22.1)");
        }
        return dir;
    }

    static JsonNode index() {
        try {
            return new ObjectMapper().readTree(dir().resolve("index.json").toFile());
        } catch (IOException e) {
            throw new AssertionError("cannot read fixture index: " + e, e);
        }
    }

    static byte[] bytes(String file) {
        try {
            return Files.readAllBytes(dir().resolve(file));
        } catch (IOException e) {
            throw new AssertionError("cannot read fixture " + file + ": " + e, e);
        }
    }

    static float[] floats(String file) {
        ByteBuffer bb = ByteBuffer.wrap(bytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[bb.remaining() / 4];
        bb.asFloatBuffer().get(out);
        return out;
    }
}
