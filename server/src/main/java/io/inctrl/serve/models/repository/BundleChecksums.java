package io.inctrl.serve.models.repository;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A bundle's {@code SHA256SUMS} file: one line per file, {@code <64 lowercase hex>  <relative path>} as written by
 * {@code sha256sum} (and by the exporter, {@code tools/export/inctrl_export/checksums.py}); {@code *} instead of the
 * second space (sha256sum's binary mode) is accepted. Paths use {@code /}, are relative to the bundle directory, and
 * may not leave it. The file does not list itself.
 *
 * <p>{@link #verify} checks that every listed file exists with that digest and that every other regular file in the
 * directory is listed, so a verified directory holds exactly what the checksums vouch for.
 */
public final class BundleChecksums {

    /** File name inside the bundle directory. */
    public static final String FILE_NAME = "SHA256SUMS";

    // sha256sum escapes names holding a backslash or newline with a leading '\'; such names are refused below.
    private static final Pattern LINE = Pattern.compile("([0-9a-fA-F]{64}) [ *](.+)");

    private final Map<String, String> digests; // relative path -> lowercase hex, in file order

    private BundleChecksums(Map<String, String> digests) {
        this.digests = Collections.unmodifiableMap(digests);
    }

    /** Relative path to lowercase hex digest, in the order of the file. */
    public Map<String, String> digests() {
        return digests;
    }

    /** Parses the text of a SHA256SUMS file; {@code source} names it in error messages. */
    public static BundleChecksums parse(String text, String source) {
        Map<String, String> digests = new LinkedHashMap<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("\\")) {
                throw new InvalidBundleException(
                        source + " line " + (i + 1) + ": escaped file names are not supported (rename the file)");
            }
            Matcher m = LINE.matcher(line);
            if (!m.matches()) {
                throw new InvalidBundleException(
                        source + " line " + (i + 1) + ": expected '<64 hex digits>  <relative path>'");
            }
            String path = m.group(2);
            checkRelativePath(path, source + " line " + (i + 1));
            if (digests.put(path, m.group(1).toLowerCase()) != null) {
                throw new InvalidBundleException(source + " lists '" + path + "' twice");
            }
        }
        if (digests.isEmpty()) {
            throw new InvalidBundleException(source + " lists no files");
        }
        return new BundleChecksums(digests);
    }

    /** Reads {@code dir/SHA256SUMS}, or empty when the bundle has none. */
    public static Optional<BundleChecksums> readIfPresent(Path dir) {
        Path file = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(parse(Files.readString(file, StandardCharsets.UTF_8), FILE_NAME));
        } catch (IOException e) {
            throw new InvalidBundleException("cannot read " + FILE_NAME + ": " + e.getMessage());
        }
    }

    /**
     * Refuses a path that is absolute, empty, has empty, {@code .} or {@code ..} segments, a backslash, or names
     * SHA256SUMS itself: a checksum file must not make a reader touch anything outside the bundle.
     */
    static void checkRelativePath(String path, String where) {
        if (path.startsWith("/") || path.contains("\\") || path.indexOf('\0') >= 0) {
            throw new InvalidBundleException(where + ": path '" + path + "' must be relative and use '/'");
        }
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new InvalidBundleException(where + ": path '" + path + "' escapes or is not inside the bundle");
            }
        }
        if (path.equals(FILE_NAME)) {
            throw new InvalidBundleException(where + ": " + FILE_NAME + " cannot list itself");
        }
    }

    /**
     * Checks every listed file's digest and that no unlisted regular file is present (SHA256SUMS aside).
     *
     * @throws InvalidBundleException naming the first file that is missing, differs, or is not listed
     */
    public void verify(Path dir) {
        Path base = dir.toAbsolutePath().normalize();
        for (Map.Entry<String, String> e : digests.entrySet()) {
            Path file = base.resolve(e.getKey()).normalize();
            if (!file.startsWith(base)) { // defence in depth: parse() already refused such paths
                throw new InvalidBundleException(FILE_NAME + " lists '" + e.getKey() + "' outside the bundle");
            }
            if (!Files.isRegularFile(file)) {
                throw new InvalidBundleException(FILE_NAME + " lists '" + e.getKey() + "' but the file is missing");
            }
            String actual = sha256(file);
            if (!actual.equals(e.getValue())) {
                throw new InvalidBundleException("checksum mismatch on " + e.getKey() + " (SHA256SUMS "
                        + e.getValue().substring(0, 12) + "…, file " + actual.substring(0, 12) + "…)");
            }
        }
        for (String present : listFiles(base)) {
            if (!present.equals(FILE_NAME) && !digests.containsKey(present)) {
                throw new InvalidBundleException(
                        "file " + present + " is not listed in " + FILE_NAME + " (rerun the checksum step)");
            }
        }
    }

    /** Hex SHA-256 of a file. */
    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return sha256(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** Hex SHA-256 of a stream, read to its end. */
    public static String sha256(InputStream in) throws IOException {
        MessageDigest md = newDigest();
        try (DigestInputStream din = new DigestInputStream(in, md)) {
            din.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /** Computes the checksums of every regular file under {@code dir} (SHA256SUMS aside), sorted by path. */
    public static BundleChecksums compute(Path dir) {
        Path base = dir.toAbsolutePath().normalize();
        Map<String, String> digests = new TreeMap<>();
        for (String rel : listFiles(base)) {
            if (!rel.equals(FILE_NAME)) {
                digests.put(rel, sha256(base.resolve(rel)));
            }
        }
        return new BundleChecksums(new LinkedHashMap<>(digests));
    }

    /** The file's text in sha256sum format. */
    public String format() {
        StringBuilder sb = new StringBuilder();
        digests.forEach((path, hex) -> sb.append(hex).append("  ").append(path).append('\n'));
        return sb.toString();
    }

    /** Writes {@code dir/SHA256SUMS} for the files now in {@code dir} (tests and tools; the exporter writes its own). */
    public static BundleChecksums write(Path dir) {
        BundleChecksums sums = compute(dir);
        try {
            Path tmp = dir.resolve(FILE_NAME + ".tmp");
            Files.writeString(tmp, sums.format(), StandardCharsets.UTF_8);
            Files.move(tmp, dir.resolve(FILE_NAME), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(FILE_NAME), e);
        }
        return sums;
    }

    /** Regular files under {@code base}, as '/'-separated relative paths (symbolic links are not followed). */
    static List<String> listFiles(Path base) {
        List<String> out = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(base)) {
            walk.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                    .forEach(p -> out.add(base.relativize(p).toString().replace('\\', '/')));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + base, e);
        }
        Collections.sort(out);
        return out;
    }
}
