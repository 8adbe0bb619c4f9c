package io.inctrl.serve.models.repository;

import io.inctrl.serve.model.BundleException;
import io.inctrl.serve.model.BundleManifest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Verifies a version directory (SHA256SUMS, then the manifest through {@link BundleManifest#read}) and remembers
 * the result per directory until a file's size or modification time changes, so that index() and materialize() do
 * not re-hash hundreds of MB on every call.
 */
final class BundleVerifier {

    private record Outcome(String fingerprint, String bundleId, String reason) {}

    private final Map<Path, Outcome> cache = new ConcurrentHashMap<>();

    /**
     * @param checksumsRequired object storage requires SHA256SUMS; a local directory is verified only when it has one
     * @return the manifest's bundle_id
     * @throws InvalidBundleException with the reason
     */
    String verify(Path dir, boolean checksumsRequired) {
        Path key = dir.toAbsolutePath().normalize();
        String fingerprint = fingerprint(key);
        Outcome known = cache.get(key);
        if (known == null || !known.fingerprint.equals(fingerprint)) {
            known = check(key, checksumsRequired, fingerprint);
            cache.put(key, known);
        }
        if (known.reason != null) {
            throw new InvalidBundleException(known.reason);
        }
        return known.bundleId;
    }

    void forget(Path dir) {
        cache.remove(dir.toAbsolutePath().normalize());
    }

    private static Outcome check(Path dir, boolean checksumsRequired, String fingerprint) {
        try {
            requireManifestFile(dir);
            var sums = BundleChecksums.readIfPresent(dir);
            if (sums.isEmpty() && checksumsRequired) {
                throw new InvalidBundleException("no " + BundleChecksums.FILE_NAME
                        + ": bundles in object storage must carry checksums (tools/export writes them)");
            }
            sums.ifPresent(s -> s.verify(dir));
            BundleManifest manifest = readManifest(dir, dir.toString());
            return new Outcome(fingerprint, manifest.bundleId(), null);
        } catch (InvalidBundleException e) {
            return new Outcome(fingerprint, null, e.getMessage());
        } catch (UncheckedIOException e) {
            return new Outcome(
                    fingerprint, null, "cannot read the bundle: " + e.getCause().getMessage());
        }
    }

    private static void requireManifestFile(Path dir) {
        if (!Files.isRegularFile(dir.resolve("manifest.json"))) {
            throw new InvalidBundleException("no manifest.json");
        }
    }

    /**
     * The manifest, validated as the server will load it; every problem as an {@link InvalidBundleException} whose
     * message names the bundle as {@code label} (a download's temporary directory means nothing to an operator).
     */
    static BundleManifest readManifest(Path dir, String label) {
        requireManifestFile(dir);
        try {
            return BundleManifest.read(dir);
        } catch (BundleException e) {
            String message = e.getMessage()
                    .replace(dir.toAbsolutePath().toString(), label)
                    .replace(dir.toString(), label);
            throw new InvalidBundleException("invalid manifest: " + message);
        }
    }

    /** Path, size, mtime and inode of every file: any change to the directory's content changes it. */
    private static String fingerprint(Path dir) {
        if (!Files.isDirectory(dir)) {
            return "missing";
        }
        StringBuilder sb = new StringBuilder();
        List<String> files = BundleChecksums.listFiles(dir);
        for (String rel : files) {
            try {
                BasicFileAttributes a =
                        Files.readAttributes(dir.resolve(rel), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                sb.append(rel)
                        .append('\0')
                        .append(a.size())
                        .append('\0')
                        .append(a.lastModifiedTime().toInstant())
                        .append('\0')
                        .append(a.fileKey())
                        .append('\n');
            } catch (IOException e) {
                sb.append(rel).append("\0unreadable\n");
            }
        }
        return sb.toString();
    }
}
