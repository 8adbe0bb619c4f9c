package io.inctrl.serve.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Expected outputs written by the exporter's plain-Python reference ({@code --fixtures-data}). */
public final class Fixtures {

    public record Image(String path, Map<String, float[]> arrays) {}

    public record Case(String name, String category, String query, List<String> shots, Map<String, float[]> arrays) {
        public float scalar(String key) {
            return arrays.get(key)[0];
        }
    }

    public record Prompts(
            String category, List<String> normal, List<String> anomalous, long[] ids, Map<String, float[]> arrays) {}

    private final Path dir;
    private final JsonNode index;

    public Fixtures(Path bundleDir) {
        this.dir = bundleDir.resolve("fixtures");
        try {
            this.index =
                    new ObjectMapper().readTree(dir.resolve("fixtures.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read fixtures in " + dir, e);
        }
    }

    public Map<String, Image> images() {
        Map<String, Image> out = new HashMap<>();
        for (JsonNode n : index.get("images")) {
            out.put(
                    n.get("path").asText(),
                    new Image(n.get("path").asText(), floats(n.get("file").asText())));
        }
        return out;
    }

    public List<Case> cases() {
        List<Case> out = new ArrayList<>();
        for (JsonNode n : index.get("cases")) {
            List<String> shots = new ArrayList<>();
            n.get("shots").forEach(s -> shots.add(s.asText()));
            out.add(new Case(
                    n.get("name").asText(),
                    n.get("category").asText(),
                    n.get("query").asText(),
                    shots,
                    floats(n.get("file").asText())));
        }
        return out;
    }

    public List<Prompts> prompts() {
        List<Prompts> out = new ArrayList<>();
        for (JsonNode n : index.get("prompts")) {
            List<String> normal = new ArrayList<>();
            List<String> anomalous = new ArrayList<>();
            n.get("normal").forEach(s -> normal.add(s.asText()));
            n.get("anomalous").forEach(s -> anomalous.add(s.asText()));
            String file = n.get("file").asText();
            out.add(new Prompts(n.get("category").asText(), normal, anomalous, longs(file, "ids"), floats(file)));
        }
        return out;
    }

    private Map<String, float[]> floats(String file) {
        Map<String, float[]> out = new HashMap<>();
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            for (NDArray a : decode(m, file)) {
                if (a.getDataType().isFloating()) {
                    out.put(
                            a.getName(),
                            a.toType(ai.djl.ndarray.types.DataType.FLOAT32, false)
                                    .toFloatArray());
                }
            }
        }
        return out;
    }

    private long[] longs(String file, String name) {
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            for (NDArray a : decode(m, file)) {
                if (name.equals(a.getName())) {
                    return a.toLongArray();
                }
            }
        }
        throw new IllegalStateException(file + " has no array " + name);
    }

    private NDList decode(NDManager m, String file) {
        try {
            return NDList.decode(m, Files.readAllBytes(dir.resolve(file)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
