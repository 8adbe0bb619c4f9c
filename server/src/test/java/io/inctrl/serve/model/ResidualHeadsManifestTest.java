package io.inctrl.serve.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Kind residual-heads: the heads' files and a global embedding are required, a text tower is not. */
class ResidualHeadsManifestTest {

    @TempDir
    Path dir;

    private BundleManifest write(int embedDim, String... files) throws IOException {
        return writeWith(embedDim, "\"description\": \"heads trained on pcb\"", files);
    }

    private BundleManifest writeWith(int embedDim, String weightsExtra, String... files) throws IOException {
        StringBuilder listed = new StringBuilder();
        for (String key : files) {
            String name = key + ".pt";
            Files.writeString(dir.resolve(name), "");
            listed.append(listed.length() == 0 ? "" : ", ")
                    .append('"')
                    .append(key)
                    .append("\": \"")
                    .append(name)
                    .append('"');
        }
        Files.writeString(dir.resolve("manifest.json"), """
                {"format_version": 1, "kind": "residual-heads", "bundle_id": "rh", "arch": "InceptionV3",
                 "image": {"size": 8, "mean": [0,0,0], "std": [1,1,1]},
                 "vision": {"embed_dim": %d, "width": 4, "grid": [2, 2], "tapped_blocks": [5]},
                 "weights": {"source": "trained", %s},
                 "files": {%s}}
                """.formatted(embedDim, weightsExtra, listed));
        return BundleManifest.read(dir);
    }

    @Test
    void heads_without_a_text_tower_are_a_complete_bundle() throws IOException {
        BundleManifest m = write(16, "vision", "adapter", "image_head", "holistic_head");
        assertThat(m.bundleKind()).isEqualTo(BundleKind.RESIDUAL_HEADS);
        assertThat(m.hasHeads()).isTrue();
        assertThat(m.hasTextPrior()).isFalse();
        assertThat(m.modeDescription())
                .contains("not the CLIP InCTRL checkpoint")
                .contains("no text prior");
        assertThat(m.weights().random()).isFalse();
    }

    @Test
    void trained_weights_without_a_checkpoint_are_described_by_their_source() throws IOException {
        BundleManifest m = writeWith(16, "\"seed\": 3", "vision", "adapter", "image_head", "holistic_head");
        assertThat(m.weightsDescription()).isEqualTo("trained weights").doesNotContain("null");
        assertThat(write(16, "vision", "adapter", "image_head", "holistic_head").weightsDescription())
                .isEqualTo("heads trained on pcb");
    }

    @Test
    void a_missing_head_is_named() {
        assertThatThrownBy(() -> write(16, "vision", "adapter", "image_head"))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("holistic_head");
    }

    @Test
    void heads_need_a_global_embedding() {
        assertThatThrownBy(() -> write(0, "vision", "adapter", "image_head", "holistic_head"))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("embed_dim");
    }

    @Test
    void only_the_full_method_has_a_text_prior() {
        assertThat(BundleKind.INCTRL.hasTextPrior()).isTrue();
        assertThat(BundleKind.RESIDUAL_HEADS.hasTextPrior()).isFalse();
        assertThat(BundleKind.PATCH_RESIDUAL.hasHeads()).isFalse();
        assertThatThrownBy(() -> BundleKind.of("heads")).hasMessageContaining("residual-heads");
    }
}
