package io.inctrl.serve.models.repository;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inctrl.serve.models.repository.ModelConfig.Precision;
import io.inctrl.serve.models.repository.ModelConfig.VersionPolicy;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ModelConfigTest {

    private static final List<Long> AVAILABLE = List.of(1L, 2L, 4L, 7L);

    @Test
    void versionPoliciesSelectAsTritons() {
        assertThat(ModelConfig.DEFAULT.versionPolicy().select(AVAILABLE)).containsExactly(7L);
        ModelConfig latest2 = ModelConfig.parse("{\"version_policy\": {\"latest\": {\"num_versions\": 2}}}");
        assertThat(latest2.versionPolicy()).isEqualTo(new VersionPolicy.Latest(2));
        assertThat(latest2.versionPolicy().select(AVAILABLE)).containsExactly(4L, 7L);
        assertThat(new VersionPolicy.Latest(9).select(AVAILABLE)).containsExactly(1L, 2L, 4L, 7L);

        ModelConfig specific = ModelConfig.parse("{\"version_policy\": {\"specific\": {\"versions\": [4, 3, 1]}}}");
        assertThat(specific.versionPolicy().select(AVAILABLE)).containsExactly(1L, 4L); // 3 is not available

        ModelConfig all = ModelConfig.parse("{\"version_policy\": {\"all\": {}}}");
        assertThat(all.versionPolicy().select(AVAILABLE)).containsExactly(1L, 2L, 4L, 7L);
        assertThat(all.precision()).isEmpty();
    }

    @Test
    void precisionAndDefaults() {
        assertThat(ModelConfig.parse("{}")).isEqualTo(ModelConfig.DEFAULT);
        assertThat(ModelConfig.parse("{\"precision\": \"bf16\"}").precision()).isEqualTo(Optional.of(Precision.BF16));
        assertThat(ModelConfig.parse("{\"precision\": \"int8\"}").precision()).contains(Precision.INT8);
        assertThat(ModelConfig.parse("{\"precision\": \"fp32\"}").precision()).contains(Precision.FP32);
        assertThat(Precision.BF16.configName()).isEqualTo("bf16");
    }

    @Test
    void unknownKeysAndBadValuesAreRefusedClearly() {
        assertThatThrownBy(() -> ModelConfig.parse("{\"version_polcy\": {\"all\": {}}}"))
                .isInstanceOf(InvalidBundleException.class)
                .hasMessage("config.json: unknown key \"version_polcy\" (known: precision, version_policy)");
        assertThatThrownBy(() -> ModelConfig.parse("{\"version_policy\": {\"latest\": {\"num_version\": 2}}}"))
                .hasMessage("config.json: version_policy.latest: unknown key \"num_version\" (known: num_versions)");
        assertThatThrownBy(() -> ModelConfig.parse("{\"version_policy\": {\"all\": {\"x\": 1}}}"))
                .hasMessage("config.json: version_policy.all: unknown key \"x\" (takes no keys)");
        assertThatThrownBy(() -> ModelConfig.parse("{\"version_policy\": {\"newest\": {}}}"))
                .hasMessageContaining("unknown policy \"newest\"");
        assertThatThrownBy(() -> ModelConfig.parse("{\"version_policy\": {\"all\": {}, \"latest\": {}}}"))
                .hasMessageContaining("exactly one of");
        assertThatThrownBy(() -> ModelConfig.parse("{\"version_policy\": {\"latest\": {\"num_versions\": 0}}}"))
                .hasMessageContaining("num_versions must be an integer >= 1");
        assertThatThrownBy(() -> ModelConfig.parse("{\"version_policy\": {\"latest\": {\"num_versions\": 1.5}}}"))
                .hasMessageContaining("num_versions must be an integer >= 1");
        assertThatThrownBy(() -> ModelConfig.parse("{\"version_policy\": {\"specific\": {\"versions\": [1, -2]}}}"))
                .hasMessageContaining("holds -2");
        assertThatThrownBy(() -> ModelConfig.parse("{\"version_policy\": {\"specific\": {\"versions\": []}}}"))
                .hasMessageContaining("non-empty list");
        assertThatThrownBy(() -> ModelConfig.parse("{\"precision\": \"fp16\"}"))
                .hasMessage("config.json: precision fp16 is not one of \"fp32\", \"bf16\", \"int8\"");
        assertThatThrownBy(() -> ModelConfig.parse("[1]")).hasMessage("config.json must hold a JSON object");
        assertThatThrownBy(() -> ModelConfig.parse("{\"precision\": "))
                .hasMessageStartingWith("config.json is not valid JSON");
    }
}
