package io.inctrl.serve.models.repository;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BundleChecksumsTest {

    private static final String HEX = "a".repeat(64);

    @TempDir
    Path tmp;

    /** The file coreutils' sha256sum writes is what we read, and what we write is byte-identical to it. */
    @Test
    void readsAndWritesTheFormatOfCoreutilsSha256sum() throws Exception {
        Path bundle = Bundles.copyTiny(tmp.resolve("b"), false);
        List<String> cmd = new ArrayList<>(List.of("sha256sum", "--"));
        cmd.addAll(Bundles.files(bundle)); // sorted, '/'-separated relative paths, nested fixtures/ included
        Process p = new ProcessBuilder(cmd)
                .directory(bundle.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String coreutils = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isZero();
        Files.writeString(bundle.resolve(BundleChecksums.FILE_NAME), coreutils);

        BundleChecksums sums = BundleChecksums.readIfPresent(bundle).orElseThrow();
        assertThat(sums.digests()).containsKeys("manifest.json", "vision.pt", "fixtures/fixtures.json");
        assertThatCode(() -> sums.verify(bundle)).doesNotThrowAnyException();
        assertThat(BundleChecksums.compute(bundle).format()).isEqualTo(coreutils);
    }

    /** The committed default bundle carries checksums that match: a file added or changed there needs them rewritten. */
    @Test
    void theCommittedDefaultBundleVerifies() {
        Path bundle = Path.of("../models/nsfwjs-inception-v3");
        BundleChecksums sums = BundleChecksums.readIfPresent(bundle)
                .orElseThrow(() -> new AssertionError("models/nsfwjs-inception-v3 has no SHA256SUMS: run "
                        + "(cd tools/export && python -m inctrl_export.checksums ../../models/nsfwjs-inception-v3)"));
        assertThat(sums.digests()).containsKeys("manifest.json", "vision.pt", "vision.cpu.pt", "LICENSE");
        assertThatCode(() -> sums.verify(bundle)).doesNotThrowAnyException();
    }

    @Test
    void aChangedByteIsACheckSumMismatchNamingTheFile() {
        Path bundle = Bundles.copyTiny(tmp.resolve("b"), true);
        Bundles.corrupt(bundle.resolve("vision.pt"));
        BundleChecksums sums = BundleChecksums.readIfPresent(bundle).orElseThrow();
        assertThatThrownBy(() -> sums.verify(bundle))
                .isInstanceOf(InvalidBundleException.class)
                .hasMessageStartingWith("checksum mismatch on vision.pt");
    }

    @Test
    void aMissingListedFileAndAnUnlistedFileAreRefused() throws IOException {
        Path bundle = Bundles.copyTiny(tmp.resolve("b"), true);
        Files.delete(bundle.resolve("fixtures/fixtures.json"));
        assertThatThrownBy(() ->
                        BundleChecksums.readIfPresent(bundle).orElseThrow().verify(bundle))
                .hasMessage("SHA256SUMS lists 'fixtures/fixtures.json' but the file is missing");

        Path other = Bundles.copyTiny(tmp.resolve("c"), true);
        Files.writeString(other.resolve("extra.bin"), "not vouched for");
        assertThatThrownBy(
                        () -> BundleChecksums.readIfPresent(other).orElseThrow().verify(other))
                .hasMessageContaining("file extra.bin is not listed in SHA256SUMS");
    }

    @ParameterizedTest
    @ValueSource(strings = {"../outside", "/etc/passwd", "a//b", "./manifest.json", "a/../../b", "a\\b", "SHA256SUMS"})
    void pathsThatLeaveTheBundleOrAreNotPlainAreRefused(String path) {
        assertThatThrownBy(() -> BundleChecksums.parse(HEX + "  " + path + "\n", "SHA256SUMS"))
                .isInstanceOf(InvalidBundleException.class)
                .hasMessageContaining("SHA256SUMS line 1");
    }

    @Test
    void malformedFilesAreRefusedWithTheLine() {
        assertThatThrownBy(() -> BundleChecksums.parse(HEX + "  a\nnot a checksum line\n", "SHA256SUMS"))
                .hasMessage("SHA256SUMS line 2: expected '<64 hex digits>  <relative path>'");
        assertThatThrownBy(() -> BundleChecksums.parse("abc  a\n", "SHA256SUMS"))
                .hasMessageContaining("line 1");
        assertThatThrownBy(() -> BundleChecksums.parse("\\" + HEX + "  a\\nb\n", "SHA256SUMS"))
                .hasMessageContaining("escaped file names are not supported");
        assertThatThrownBy(() -> BundleChecksums.parse(HEX + "  a\n" + HEX + "  a\n", "SHA256SUMS"))
                .hasMessage("SHA256SUMS lists 'a' twice");
        assertThatThrownBy(() -> BundleChecksums.parse("\n", "SHA256SUMS")).hasMessage("SHA256SUMS lists no files");
    }

    @Test
    void binaryModeMarkerUppercaseHexAndCrlfAreAccepted() {
        BundleChecksums sums =
                BundleChecksums.parse(HEX.toUpperCase() + " *vision.pt\r\n" + HEX + "  dir/x y.bin\r\n", "SHA256SUMS");
        assertThat(sums.digests()).containsEntry("vision.pt", HEX).containsEntry("dir/x y.bin", HEX);
    }
}
