package io.inctrl.serve.models.repository;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inctrl.serve.models.repository.ModelRepositoryException.Kind;
import io.inctrl.serve.models.repository.RepositoryVersion.State;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A repository in a temp directory made of copies of the exported tiny bundle, some of them broken. */
class LocalModelRepositoryTest {

    @TempDir
    Path root;

    private String tinyId;

    @BeforeEach
    void layout() throws IOException {
        Path model = root.resolve("tiny");
        Bundles.copyTiny(model.resolve("1"), true); // verified through its SHA256SUMS
        Bundles.copyTiny(model.resolve("2"), false); // no SHA256SUMS: the manifest is checked
        Bundles.corrupt(Bundles.copyTiny(model.resolve("3"), true).resolve("vision.pt"));
        Files.delete(Bundles.copyTiny(model.resolve("4"), false).resolve("manifest.json"));
        Bundles.setFormatVersion(Bundles.copyTiny(model.resolve("5"), true), 2);
        // not versions: ignored with a warning, as Triton does
        Files.createDirectories(model.resolve("latest"));
        Files.createDirectories(model.resolve("007"));
        Files.createDirectories(model.resolve("0"));
        Files.createDirectories(model.resolve(".hidden"));
        Files.writeString(root.resolve("README"), "not a model");
        tinyId = io.inctrl.serve.model.BundleManifest.read(Bundles.tiny()).bundleId();
    }

    @Test
    void indexListsEveryNumberedVersionWithItsStateAndReason() {
        var repo = new LocalModelRepository(root);
        assertThat(repo.index()).extracting(RepositoryModel::name).containsExactly("tiny");
        RepositoryModel tiny = repo.model("tiny").orElseThrow();
        assertThat(tiny.versions()).extracting(RepositoryVersion::version).containsExactly(1L, 2L, 3L, 4L, 5L);
        assertThat(tiny.versions())
                .extracting(RepositoryVersion::state)
                .containsExactly(State.AVAILABLE, State.AVAILABLE, State.INVALID, State.INVALID, State.INVALID);
        assertThat(tiny.version(1).orElseThrow().bundleId()).contains(tinyId);
        assertThat(tiny.version(3).orElseThrow().reason().orElseThrow()).startsWith("checksum mismatch on vision.pt");
        assertThat(tiny.version(4).orElseThrow().reason()).contains("no manifest.json");
        assertThat(tiny.version(5).orElseThrow().reason().orElseThrow())
                .startsWith("invalid manifest:")
                .contains("format_version 2");
        // default policy: the newest AVAILABLE version (3..5 are invalid)
        assertThat(tiny.selectedVersions()).containsExactly(2L);
        assertThat(tiny.invalidReason()).isEmpty();
    }

    @Test
    void materializeGivesTheVerifiedDirectoryOrATypedReason() {
        var repo = new LocalModelRepository(root);
        assertThat(repo.materialize("tiny", 1)).isEqualTo(root.resolve("tiny/1").toAbsolutePath());
        assertThat(repo.materialize("tiny", 2)).isEqualTo(root.resolve("tiny/2").toAbsolutePath());
        assertRefused(() -> repo.materialize("tiny", 3), Kind.INVALID, "checksum mismatch on vision.pt");
        assertRefused(() -> repo.materialize("tiny", 5), Kind.INVALID, "format_version 2");
        assertRefused(() -> repo.materialize("tiny", 9), Kind.NOT_FOUND, "model tiny has no version 9");
        assertRefused(() -> repo.materialize("nope", 1), Kind.NOT_FOUND, "model nope is not in repository");
        assertRefused(() -> repo.materialize("../tiny", 1), Kind.NOT_FOUND, "model ../tiny is not in repository");
    }

    @Test
    void aBundleDamagedAfterTheScanIsRefusedAtMaterialize() {
        var repo = new LocalModelRepository(root);
        assertThat(repo.materialize("tiny", 1)).exists();
        Bundles.corrupt(root.resolve("tiny/1/text.pt"));
        assertRefused(() -> repo.materialize("tiny", 1), Kind.INVALID, "checksum mismatch on text.pt");
        repo.refresh();
        assertThat(repo.model("tiny").orElseThrow().version(1).orElseThrow().state())
                .isEqualTo(State.INVALID);
    }

    @Test
    void refreshSeesNewVersionsAndConfigJsonChoosesVersions() throws IOException {
        var repo = new LocalModelRepository(root);
        Bundles.copyTiny(root.resolve("tiny/6"), true);
        assertThat(repo.model("tiny").orElseThrow().selectedVersions()).containsExactly(2L);
        repo.refresh();
        assertThat(repo.model("tiny").orElseThrow().selectedVersions()).containsExactly(6L);

        Files.writeString(
                root.resolve("tiny/config.json"), "{\"version_policy\": {\"latest\": {\"num_versions\": 2}}}");
        repo.refresh();
        assertThat(repo.model("tiny").orElseThrow().selectedVersions()).containsExactly(2L, 6L);

        Files.writeString(
                root.resolve("tiny/config.json"),
                "{\"version_policy\": {\"specific\": {\"versions\": [1, 3]}}, \"precision\": \"bf16\"}");
        repo.refresh();
        RepositoryModel tiny = repo.model("tiny").orElseThrow();
        assertThat(tiny.selectedVersions()).containsExactly(1L); // 3 is invalid
        assertThat(tiny.config().precision()).contains(ModelConfig.Precision.BF16);
    }

    @Test
    void anInvalidConfigJsonMakesTheWholeModelUnservable() throws IOException {
        Files.writeString(root.resolve("tiny/config.json"), "{\"max_batch_size\": 8}");
        var repo = new LocalModelRepository(root);
        RepositoryModel tiny = repo.model("tiny").orElseThrow();
        assertThat(tiny.invalidReason())
                .contains("config.json: unknown key \"max_batch_size\" (known: precision, version_policy)");
        assertThat(tiny.selectedVersions()).isEmpty();
        assertRefused(() -> repo.materialize("tiny", 1), Kind.INVALID, "unknown key \"max_batch_size\"");
    }

    @Test
    void aMissingRepositoryIsUnavailable() {
        assertRefused(() -> new LocalModelRepository(root.resolve("absent")), Kind.UNAVAILABLE, "does not exist");
    }

    private static void assertRefused(ThrowingCallable call, Kind kind, String reason) {
        assertThatThrownBy(call)
                .isInstanceOf(ModelRepositoryException.class)
                .hasMessageContaining(reason)
                .extracting(e -> ((ModelRepositoryException) e).kind())
                .isEqualTo(kind);
    }
}
