package io.inctrl.serve.models.repository;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The CDI producer as the server runs it: inctrl.models.repository set, {@code Optional<ModelRepository>} injected. */
@QuarkusTest
@TestProfile(ModelRepositoryInjectionTest.LocalRepository.class)
class ModelRepositoryInjectionTest {

    /** A local repository (target/, rebuilt per run) with the tiny test bundle as model "tiny" version 1. */
    public static class LocalRepository implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Path root = Path.of("target/model-repository-injection").toAbsolutePath();
            try {
                S3ModelRepository.deleteRecursively(root);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Bundles.copyTiny(root.resolve("tiny/1"), true);
            return Map.of("inctrl.models.repository", root.toString());
        }
    }

    @Inject
    Optional<ModelRepository> repository;

    @Test
    void theConfiguredRepositoryIsInjected() {
        ModelRepository repo = repository.orElseThrow();
        assertThat(repo).isInstanceOf(LocalModelRepository.class);
        assertThat(repo.location()).endsWith("model-repository-injection");
        assertThat(repo.model("tiny").orElseThrow().selectedVersions()).containsExactly(1L);
    }
}
