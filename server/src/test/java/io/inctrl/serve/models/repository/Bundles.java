package io.inctrl.serve.models.repository;

import io.inctrl.serve.testing.TestAssets;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Copies of the exported tiny test bundle (build/assets/tiny) to build repositories from, and ways to break them. */
final class Bundles {

    private Bundles() {}

    static Path tiny() {
        return TestAssets.bundle("tiny");
    }

    /** A copy of the tiny bundle at {@code dst} (created), with a SHA256SUMS when {@code checksums}. */
    static Path copyTiny(Path dst, boolean checksums) {
        copyTree(tiny(), dst);
        try {
            Files.deleteIfExists(dst.resolve(BundleChecksums.FILE_NAME)); // the exporter may already have written one
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (checksums) {
            BundleChecksums.write(dst);
        }
        return dst;
    }

    static void copyTree(Path src, Path dst) {
        try (Stream<Path> walk = Files.walk(src)) {
            for (Path p : walk.toList()) {
                Path target = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Flips one byte in the middle of a file, keeping its size (what a bit rot or a bad upload does). */
    static void corrupt(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            bytes[bytes.length / 2] ^= 0x5A;
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Rewrites manifest.json with another format_version (and keeps SHA256SUMS matching when present). */
    static void setFormatVersion(Path bundle, int version) {
        try {
            Path manifest = bundle.resolve("manifest.json");
            String text =
                    Files.readString(manifest).replaceFirst("\"format_version\": *1", "\"format_version\": " + version);
            Files.writeString(manifest, text);
            if (Files.exists(bundle.resolve(BundleChecksums.FILE_NAME))) {
                BundleChecksums.write(bundle);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<String> files(Path dir) {
        return BundleChecksums.listFiles(dir);
    }
}
