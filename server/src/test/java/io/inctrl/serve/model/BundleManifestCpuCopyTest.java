package io.inctrl.serve.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which vision file a device gets: the frozen CPU copy only on the CPU, and only when the bundle lists it. */
class BundleManifestCpuCopyTest {

    @TempDir
    Path dir;

    private BundleManifest write(String files) throws IOException {
        Files.writeString(dir.resolve("manifest.json"), """
                {"format_version": 1, "kind": "patch-residual", "bundle_id": "b",
                 "image": {"size": 8, "mean": [0,0,0], "std": [1,1,1]},
                 "vision": {"embed_dim": 0, "width": 4, "grid": [2, 2], "tapped_blocks": [1]},
                 "weights": {"source": "pretrained"},
                 "files": %s}
                """.formatted(files));
        return BundleManifest.read(dir);
    }

    @Test
    void cpu_gets_the_copy_and_accelerators_the_portable_file() throws IOException {
        Files.writeString(dir.resolve("vision.pt"), "");
        Files.writeString(dir.resolve("vision.cpu.pt"), "");
        BundleManifest m = write("{\"vision\": \"vision.pt\", \"vision_cpu\": \"vision.cpu.pt\"}");
        assertThat(m.fileKey("vision", true)).isEqualTo("vision_cpu");
        assertThat(m.file(dir, m.fileKey("vision", true))).isEqualTo(dir.resolve("vision.cpu.pt"));
        assertThat(m.fileKey("vision", false)).isEqualTo("vision");
    }

    @Test
    void bundles_without_a_copy_serve_the_portable_file_everywhere() throws IOException {
        Files.writeString(dir.resolve("vision.pt"), "");
        BundleManifest m = write("{\"vision\": \"vision.pt\"}");
        assertThat(m.fileKey("vision", true)).isEqualTo("vision");
    }

    @Test
    void a_listed_copy_that_is_missing_is_refused_at_read() {
        assertThatThrownBy(() -> {
                    Files.writeString(dir.resolve("vision.pt"), "");
                    write("{\"vision\": \"vision.pt\", \"vision_cpu\": \"vision.cpu.pt\"}");
                })
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("vision_cpu");
    }
}
