package io.inctrl.serve.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which precisions a manifest offers, which file serves each module at each precision, and what is refused. */
class BundleManifestPrecisionTest {

    @TempDir
    Path dir;

    @BeforeEach
    void files() throws IOException {
        for (String f : new String[] {"vision.pt", "vision.cpu.pt", "vision.bf16.pt", "vision.bf16.cpu.pt", "v8.pt"}) {
            Files.writeString(dir.resolve(f), "");
        }
    }

    private BundleManifest write(String variants) throws IOException {
        Files.writeString(
                dir.resolve("manifest.json"), """
                {"format_version": 1, "kind": "patch-residual", "bundle_id": "b7",
                 "image": {"size": 8, "mean": [0,0,0], "std": [1,1,1]},
                 "vision": {"embed_dim": 0, "width": 4, "grid": [2, 2], "tapped_blocks": [1]},
                 "weights": {"source": "pretrained"},
                 "files": {"vision": "vision.pt", "vision_cpu": "vision.cpu.pt"}%s}
                """.formatted(variants == null ? "" : ", \"variants\": " + variants));
        return BundleManifest.read(dir);
    }

    private static final String BOTH = """
            {"bf16": {"files": {"vision": "vision.bf16.pt", "vision_cpu": "vision.bf16.cpu.pt"},
                      "max_abs_diff": {"score": 0.0012, "map": 0.003}, "parity_bound": {"score": 0.005},
                      "image_set": "shared/data"},
             "int8": {"files": {"vision_cpu": "v8.pt"}, "cpu_flags_any": ["avx512_vnni", "avx_vnni"]},
             "fp4": {"files": {"vision": "from-a-newer-exporter.pt"}}}""";

    @Test
    void a_bundle_without_variants_offers_fp32_only_and_serves_its_own_files() throws IOException {
        BundleManifest m = write(null);
        assertThat(m.precisions()).containsExactly(ComputePrecision.FP32);
        assertThat(m.moduleFile(dir, "vision", ComputePrecision.FP32, true)).isEqualTo(dir.resolve("vision.cpu.pt"));
        assertThat(m.moduleFile(dir, "vision", ComputePrecision.FP32, false)).isEqualTo(dir.resolve("vision.pt"));
        assertThatThrownBy(() -> m.moduleFile(dir, "vision", ComputePrecision.BF16, true))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("bundle b7")
                .hasMessageContaining("offers precisions fp32;")
                .hasMessageContaining("no bf16 variant");
    }

    @Test
    void variants_are_parsed_with_their_measurements_and_unknown_ones_are_not_offered() throws IOException {
        BundleManifest m = write(BOTH);
        assertThat(m.precisions()).containsExactly(ComputePrecision.FP32, ComputePrecision.BF16, ComputePrecision.INT8);
        assertThat(m.precisionNames()).isEqualTo("fp32, bf16, int8");
        BundleManifest.Variant bf16 = m.variant(ComputePrecision.BF16).orElseThrow();
        assertThat(bf16.maxAbsDiff("score")).contains(0.0012);
        assertThat(bf16.parityBound("score")).contains(0.005);
        assertThat(bf16.parityBound("s_a")).isEmpty();
        assertThat(bf16.imageSet()).isEqualTo("shared/data");
        assertThat(m.variant(ComputePrecision.FP32)).isEmpty();
        assertThat(m.variant(ComputePrecision.INT8).orElseThrow().requiredCpuFlags())
                .containsExactly("avx512_vnni", "avx_vnni");
    }

    @Test
    void cpu_gets_the_variant_cpu_copy_accelerators_its_portable_file_and_cpu_only_variants_are_refused_there()
            throws IOException {
        BundleManifest m = write(BOTH);
        assertThat(m.moduleFile(dir, "vision", ComputePrecision.BF16, true))
                .isEqualTo(dir.resolve("vision.bf16.cpu.pt"));
        assertThat(m.moduleFile(dir, "vision", ComputePrecision.BF16, false)).isEqualTo(dir.resolve("vision.bf16.pt"));
        assertThat(m.moduleFile(dir, "vision", ComputePrecision.INT8, true)).isEqualTo(dir.resolve("v8.pt"));
        assertThatThrownBy(() -> m.requirePrecision(dir, ComputePrecision.INT8, false))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("runs on CPUs only");
    }

    @Test
    void a_listed_variant_file_that_is_missing_is_refused_at_read() throws IOException {
        Files.delete(dir.resolve("v8.pt"));
        assertThatThrownBy(() -> write(BOTH))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("v8.pt")
                .hasMessageContaining("int8");
    }

    @Test
    void a_variant_cannot_replace_the_heads_or_a_text_tower_the_kind_does_not_have() {
        assertThatThrownBy(
                        () -> write("{\"bf16\": {\"files\": {\"vision\": \"vision.bf16.pt\", \"text\": \"v8.pt\"}}}"))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("'text'");
        assertThatThrownBy(() -> write("{\"bf16\": {\"files\": {\"adapter\": \"v8.pt\"}}}"))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("no vision file");
    }

    @Test
    void int8_needs_one_of_its_cpu_flags_when_the_flags_are_known() throws IOException {
        BundleManifest.Variant int8 = write(BOTH).variant(ComputePrecision.INT8).orElseThrow();
        assertThatThrownBy(
                        () -> CpuFlags.require("b7", ComputePrecision.INT8, int8, Optional.of(Set.of("avx2", "fma"))))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("avx512_vnni")
                .hasMessageContaining("choose bf16 or fp32");
        CpuFlags.require("b7", ComputePrecision.INT8, int8, Optional.of(Set.of("avx2", "avx_vnni")));
        CpuFlags.require("b7", ComputePrecision.INT8, int8, Optional.empty()); // unknown host: warned, not refused
    }

    @Test
    void cpu_flags_are_read_from_the_first_flags_line() throws IOException {
        Path cpuinfo = dir.resolve("cpuinfo");
        Files.writeString(cpuinfo, "processor\t: 0\nflags\t\t: fpu sse2 avx512_vnni\nprocessor\t: 1\n");
        assertThat(CpuFlags.read(cpuinfo)).contains(Set.of("fpu", "sse2", "avx512_vnni"));
        assertThat(CpuFlags.read(dir.resolve("absent"))).isEmpty();
    }

    @Test
    void precision_names_parse_case_insensitively_and_unknown_ones_list_the_valid_ones() {
        assertThat(ComputePrecision.of("BF16")).isEqualTo(ComputePrecision.BF16);
        assertThat(ComputePrecision.of(" int8 ")).isEqualTo(ComputePrecision.INT8);
        assertThat(ComputePrecision.FP32.wireName()).isEqualTo("fp32");
        assertThatThrownBy(() -> ComputePrecision.of("fp16"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("fp32, bf16, int8");
    }
}
