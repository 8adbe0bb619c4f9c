package io.inctrl.serve.models.repository;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelRepositoryProducerTest {

    @TempDir
    Path tmp;

    @Test
    void noRepositoryConfiguredMeansNone() {
        assertThat(ModelRepositoryProducer.create(TestConfigs.models(Map.of()))).isEmpty();
        assertThat(ModelRepositoryProducer.create(TestConfigs.models(Map.of("inctrl.models.repository", " "))))
                .isEmpty();
    }

    @Test
    void aPathIsALocalRepository() {
        Bundles.copyTiny(tmp.resolve("repo/tiny/1"), true);
        ModelRepository repo = ModelRepositoryProducer.create(TestConfigs.models(
                        Map.of("inctrl.models.repository", tmp.resolve("repo").toString())))
                .orElseThrow();
        assertThat(repo).isInstanceOf(LocalModelRepository.class);
        assertThat(repo.model("tiny").orElseThrow().selectedVersions()).containsExactly(1L);
    }

    @Test
    void anS3UriIsSyncedIntoTheCacheUnderTheRegistryDataDirByDefault() {
        ModelsConfig config = TestConfigs.models(Map.of(
                "inctrl.models.repository", "s3://models/prod/v2",
                "inctrl.registry.data-dir", tmp.toString(),
                "inctrl.models.s3.endpoint", "http://127.0.0.1:1",
                "inctrl.models.s3.access-key", "k",
                "inctrl.models.s3.secret-key", "s"));
        assertThat(config.s3().region()).isEqualTo("us-east-1");
        assertThat(config.s3().pathStyle()).isTrue();
        try (ModelRepository repo = ModelRepositoryProducer.create(config).orElseThrow()) {
            assertThat(repo.location()).isEqualTo("s3://models/prod/v2");
            assertThat(((S3ModelRepository) repo).cacheRoot())
                    .isEqualTo(tmp.resolve("model-cache/models/prod/v2").toAbsolutePath());
            assertThat(repo.index()).isEmpty(); // nothing synced yet, and nothing contacted
        }
    }

    @Test
    void halfGivenCredentialsAndOtherSchemesAreRefused() {
        assertThatThrownBy(() -> ModelRepositoryProducer.create(TestConfigs.models(Map.of(
                        "inctrl.models.repository", "s3://models",
                        "inctrl.models.s3.cache-dir", tmp.toString(),
                        "inctrl.models.s3.access-key", "k"))))
                .hasMessageContaining("set both or neither");
        assertThatThrownBy(() -> ModelRepositoryProducer.create(
                        TestConfigs.models(Map.of("inctrl.models.repository", "gs://models"))))
                .hasMessageContaining("give a local directory or an s3://bucket/prefix URI");
        assertThatThrownBy(() -> S3ModelRepository.Location.parse("s3://Models_Bad/x"))
                .hasMessageContaining("is not an S3 bucket name");
        assertThatThrownBy(() -> S3ModelRepository.Location.parse("s3://models/../x"))
                .hasMessageContaining("escapes");
    }
}
