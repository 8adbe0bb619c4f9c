package io.inctrl.serve.models.repository;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.jboss.logging.Logger;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A model repository in S3-compatible object storage, {@code s3://bucket/prefix/<model>/<version>/...}, synced into a
 * local cache directory laid out the same way ({@code <cache>/<bucket>/<prefix>/<model>/<version>}).
 *
 * <p>Every version must carry a {@code SHA256SUMS} that lists every other object of the version; a version without
 * one, with an unlisted object, a missing file or a digest that differs is INVALID with that reason and is never
 * placed in the cache. A version is downloaded into {@code <cache>/.incoming/} and renamed into place only once
 * every file is complete and verified and its manifest reads, so an interrupted download (network, crash) never
 * appears as a version directory; leftovers are deleted on start. A version whose objects have the same ETags and
 * sizes as the cached copy is not downloaded again; versions removed from the bucket are removed from the cache.
 *
 * <p>When the bucket cannot be listed, {@link #refresh()} throws and the index stays as it was; at start the index
 * is the verified content of the cache, so a replica with a persistent cache can serve while the storage is away.
 */
public final class S3ModelRepository implements ModelRepository {

    private static final Logger LOG = Logger.getLogger(S3ModelRepository.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String INCOMING = ".incoming";
    static final String STATE = ".sync";

    /** Where a repository lives: {@code s3://bucket[/prefix]}. */
    public record Location(String bucket, String prefix) {
        /** Parses {@code s3://bucket} or {@code s3://bucket/some/prefix}. */
        public static Location parse(String uri) {
            if (!uri.startsWith("s3://")) {
                throw new IllegalArgumentException("not an s3:// URI: " + uri);
            }
            String rest = uri.substring("s3://".length());
            int slash = rest.indexOf('/');
            String bucket = slash < 0 ? rest : rest.substring(0, slash);
            String prefix = slash < 0 ? "" : rest.substring(slash + 1);
            while (prefix.endsWith("/")) {
                prefix = prefix.substring(0, prefix.length() - 1);
            }
            if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
                throw new IllegalArgumentException("'" + bucket + "' in " + uri + " is not an S3 bucket name");
            }
            if (!prefix.isEmpty()) {
                BundleChecksums.checkRelativePath(prefix, "prefix of " + uri);
            }
            return new Location(bucket, prefix);
        }

        /** The key prefix of the repository's objects: "" or "some/prefix/". */
        String keyPrefix() {
            return prefix.isEmpty() ? "" : prefix + "/";
        }

        @Override
        public String toString() {
            return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
        }
    }

    /** One object of a version as listed: key, ETag and size. */
    record RemoteObject(String key, String etag, long size) {}

    /** What a cached version was downloaded from (per file ETag and size) and its bundle id. */
    record Stamp(Map<String, List<String>> objects, String bundleId) {}

    private final S3Client s3;
    private final Location location;
    private final Path cache;
    private final BundleVerifier verifier = new BundleVerifier();
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    // model -> version -> relative path -> object, as of the last successful listing
    private Map<String, Map<Long, Map<String, RemoteObject>>> listed = Map.of();
    private volatile List<RepositoryModel> index;

    /**
     * Reads the cache only; call {@link #refresh()} to list the bucket and sync.
     *
     * @param s3 a client configured for the storage (endpoint, region, credentials); closed by {@link #close()}
     * @param uri {@code s3://bucket[/prefix]}
     * @param cacheDir local directory for verified copies; this repository uses {@code <cacheDir>/<bucket>/<prefix>}
     */
    public S3ModelRepository(S3Client s3, String uri, Path cacheDir) {
        this.s3 = s3;
        this.location = Location.parse(uri);
        Path root = cacheDir.toAbsolutePath().normalize().resolve(location.bucket);
        this.cache = location.prefix.isEmpty() ? root : root.resolve(location.prefix);
        try {
            Files.createDirectories(cache);
            deleteRecursively(cache.resolve(INCOMING)); // partial downloads of a process that was killed
            Files.createDirectories(cache.resolve(INCOMING));
        } catch (IOException e) {
            throw new ModelRepositoryException(
                    ModelRepositoryException.Kind.UNAVAILABLE,
                    "cannot use model cache directory " + cache + ": " + e.getMessage(),
                    e);
        }
        this.index = indexFromCache();
    }

    @Override
    public String location() {
        return location.toString();
    }

    /** The local directory that holds the verified copies ({@code <model>/<version>} below it). */
    public Path cacheRoot() {
        return cache;
    }

    @Override
    public List<RepositoryModel> index() {
        return index;
    }

    @Override
    public synchronized void refresh() {
        Map<String, Map<Long, Map<String, RemoteObject>>> versions = new TreeMap<>();
        Map<String, RemoteObject> configs = new TreeMap<>();
        list(versions, configs);
        List<RepositoryModel> models = new ArrayList<>();
        for (String model : union(versions.keySet(), configs.keySet())) {
            ModelConfig config = ModelConfig.DEFAULT;
            Optional<String> invalid = Optional.empty();
            try {
                config = syncConfig(model, configs.get(model));
            } catch (InvalidBundleException e) {
                invalid = Optional.of(e.getMessage());
                warnOnce("config:" + model + ":" + e.getMessage(), "model " + model + ": " + e.getMessage());
            }
            List<RepositoryVersion> out = new ArrayList<>();
            versions.getOrDefault(model, Map.of()).forEach((v, objects) -> out.add(syncVersion(model, v, objects)));
            models.add(new RepositoryModel(model, config, invalid, out));
        }
        removeUnlisted(versions, configs.keySet());
        listed = versions;
        index = List.copyOf(models);
    }

    @Override
    public synchronized Path materialize(String model, long version) {
        RepositoryModel m = model(model)
                .orElseThrow(() -> new ModelRepositoryException(
                        ModelRepositoryException.Kind.NOT_FOUND,
                        "model " + model + " is not in repository " + location + " (as of its last sync)"));
        if (m.invalidReason().isPresent()) {
            throw new ModelRepositoryException(
                    ModelRepositoryException.Kind.INVALID,
                    "model " + model + ": " + m.invalidReason().get());
        }
        RepositoryVersion v = m.version(version)
                .orElseThrow(() -> new ModelRepositoryException(
                        ModelRepositoryException.Kind.NOT_FOUND,
                        "model " + model + " has no version " + version + " in repository " + location
                                + " (as of its last sync)"));
        if (!v.available()) {
            throw new ModelRepositoryException(
                    ModelRepositoryException.Kind.INVALID,
                    "model " + model + " version " + version + " in " + location + " is invalid: "
                            + v.reason().orElseThrow());
        }
        Path dir = versionDir(model, version);
        try {
            verifier.verify(dir, true);
            return dir;
        } catch (InvalidBundleException damaged) {
            // The cached copy changed on disk since it was verified: fetch it again, once, from the last listing.
            LOG.warnf(
                    "cached copy of %s/%d is damaged (%s); downloading it again", model, version, damaged.getMessage());
            dropCached(model, version);
            Map<String, RemoteObject> objects =
                    listed.getOrDefault(model, Map.of()).get(version);
            RepositoryVersion again = objects == null
                    ? RepositoryVersion.invalid(
                            version,
                            "cached copy damaged (" + damaged.getMessage() + ") and the bucket has not been listed yet")
                    : syncVersion(model, version, objects);
            replaceInIndex(model, again);
            if (!again.available()) {
                throw new ModelRepositoryException(
                        ModelRepositoryException.Kind.INVALID,
                        "model " + model + " version " + version + " in " + location + " is invalid: "
                                + again.reason().orElseThrow());
            }
            verifier.verify(dir, true);
            return dir;
        }
    }

    @Override
    public void close() {
        s3.close();
    }

    // ---- listing ----------------------------------------------------------------------------------------------

    private void list(Map<String, Map<Long, Map<String, RemoteObject>>> versions, Map<String, RemoteObject> configs) {
        String keyPrefix = location.keyPrefix();
        try {
            var request = ListObjectsV2Request.builder()
                    .bucket(location.bucket)
                    .prefix(keyPrefix)
                    .build();
            for (S3Object o : s3.listObjectsV2Paginator(request).contents()) {
                String rel = o.key().substring(keyPrefix.length());
                if (rel.isEmpty() || rel.endsWith("/")) {
                    continue; // "directory" markers some tools create
                }
                String[] parts = rel.split("/", 3);
                if (parts.length < 2) {
                    continue; // a file beside the model directories (e.g. a README)
                }
                String model = parts[0];
                if (RepositoryNames.hidden(model)) {
                    continue;
                }
                if (!RepositoryNames.validModelName(model)) {
                    warnOnce(
                            "model:" + model,
                            "ignoring " + location + "/" + model + ": not a model name ("
                                    + RepositoryNames.MODEL_NAME_RULE + ")");
                    continue;
                }
                if (parts.length == 2) {
                    if (parts[1].equals(ModelConfig.FILE_NAME)) {
                        configs.put(model, new RemoteObject(o.key(), o.eTag(), o.size()));
                    }
                    continue;
                }
                long version = RepositoryNames.parseVersion(parts[1]);
                if (version <= 0) {
                    if (!RepositoryNames.hidden(parts[1])) {
                        warnOnce(
                                "version:" + model + "/" + parts[1],
                                "model " + model + ": ignoring '" + parts[1] + "' in " + location
                                        + ": version directories are named by positive integers");
                    }
                    continue;
                }
                versions.computeIfAbsent(model, k -> new TreeMap<>())
                        .computeIfAbsent(version, k -> new TreeMap<>())
                        .put(parts[2], new RemoteObject(o.key(), o.eTag(), o.size()));
            }
        } catch (NoSuchBucketException e) {
            throw unavailable("bucket " + location.bucket + " does not exist", e);
        } catch (S3Exception e) {
            throw unavailable(
                    "object storage refused to list " + location + ": HTTP " + e.statusCode() + " "
                            + (e.awsErrorDetails() == null
                                    ? e.getMessage()
                                    : e.awsErrorDetails().errorCode() + " "
                                            + e.awsErrorDetails().errorMessage()),
                    e);
        } catch (SdkException e) {
            throw unavailable("cannot list " + location + ": " + e.getMessage(), e);
        }
    }

    private static ModelRepositoryException unavailable(String message, Exception cause) {
        return new ModelRepositoryException(ModelRepositoryException.Kind.UNAVAILABLE, message, cause);
    }

    // ---- sync -------------------------------------------------------------------------------------------------

    private ModelConfig syncConfig(String model, RemoteObject remote) {
        Path file = cache.resolve(model).resolve(ModelConfig.FILE_NAME);
        try {
            if (remote == null) {
                Files.deleteIfExists(file);
                return ModelConfig.DEFAULT;
            }
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(cache.resolve(INCOMING), model, ".config.json");
            try {
                download(remote.key(), tmp);
                ModelConfig config = ModelConfig.parse(Files.readString(tmp));
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                return config;
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException | SdkException e) {
            throw new InvalidBundleException("cannot fetch " + ModelConfig.FILE_NAME + ": " + e.getMessage());
        }
    }

    /** Brings one version's cached copy in line with the bucket; the state says whether it can be served. */
    private RepositoryVersion syncVersion(String model, long version, Map<String, RemoteObject> objects) {
        String label = location + "/" + model + "/" + version;
        if (!objects.containsKey(BundleChecksums.FILE_NAME)) {
            dropCached(model, version);
            String reason = "no " + BundleChecksums.FILE_NAME
                    + ": bundles in object storage must carry checksums (tools/export writes them)";
            warnOnce("invalid:" + label + reason, label + " is INVALID: " + reason);
            return RepositoryVersion.invalid(version, reason);
        }
        Stamp stamp = readStamp(model, version);
        if (stamp != null
                && stamp.objects().equals(stampObjects(objects))
                && Files.isDirectory(versionDir(model, version))) {
            return RepositoryVersion.available(version, stamp.bundleId()); // unchanged: no download
        }
        dropCached(model, version);
        Path tmp = null;
        long t0 = System.nanoTime();
        try {
            tmp = Files.createTempDirectory(cache.resolve(INCOMING), model + "-" + version + "-");
            Map<String, RemoteObject> fetched = new TreeMap<>();
            fetched.put(BundleChecksums.FILE_NAME, fetch(objects.get(BundleChecksums.FILE_NAME), tmp, null));
            BundleChecksums sums = BundleChecksums.parse(
                    Files.readString(tmp.resolve(BundleChecksums.FILE_NAME)), BundleChecksums.FILE_NAME);
            for (String rel : objects.keySet()) {
                if (!rel.equals(BundleChecksums.FILE_NAME) && !sums.digests().containsKey(rel)) {
                    throw new InvalidBundleException("object " + rel + " is not listed in " + BundleChecksums.FILE_NAME
                            + " (rerun the checksum step before uploading)");
                }
            }
            long bytes = 0;
            for (Map.Entry<String, String> e : sums.digests().entrySet()) {
                RemoteObject remote = objects.get(e.getKey());
                if (remote == null) {
                    throw new InvalidBundleException(
                            BundleChecksums.FILE_NAME + " lists '" + e.getKey() + "' but the object is missing");
                }
                fetched.put(e.getKey(), fetch(remote, tmp, e));
                bytes += remote.size();
            }
            String bundleId = BundleVerifier.readManifest(tmp, label).bundleId();
            Path target = versionDir(model, version);
            Files.createDirectories(target.getParent());
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            tmp = null;
            writeStamp(model, version, new Stamp(stampObjects(fetched), bundleId));
            LOG.infof(
                    "synced %s (%s): %d files, %.1f MB in %d ms",
                    label, bundleId, fetched.size(), bytes / 1e6, (System.nanoTime() - t0) / 1_000_000);
            return RepositoryVersion.available(version, bundleId);
        } catch (InvalidBundleException e) {
            warnOnce("invalid:" + label + e.getMessage(), label + " is INVALID: " + e.getMessage());
            return RepositoryVersion.invalid(version, e.getMessage());
        } catch (SdkException | IOException | UncheckedIOException e) {
            String reason = "download failed (retried at the next sync): " + e.getMessage();
            LOG.warnf("%s: %s", label, reason);
            return RepositoryVersion.invalid(version, reason);
        } finally {
            if (tmp != null) {
                deleteQuietly(tmp);
            }
        }
    }

    /**
     * Downloads one object to {@code dir/<relative path>} and checks it against its SHA256SUMS line (when given).
     *
     * @return the object as fetched (the ETag of the response, which the stamp records)
     */
    private RemoteObject fetch(RemoteObject remote, Path dir, Map.Entry<String, String> expected) throws IOException {
        String rel = expected == null ? BundleChecksums.FILE_NAME : expected.getKey();
        Path file = dir.resolve(rel).normalize();
        if (!file.startsWith(dir)) { // parse() refuses such paths already; never write outside the download dir
            throw new InvalidBundleException("path '" + rel + "' escapes the bundle");
        }
        Files.createDirectories(file.getParent());
        MessageDigest md = BundleChecksums.newDigest();
        String etag;
        try (ResponseInputStream<GetObjectResponse> in = s3.getObject(GetObjectRequest.builder()
                        .bucket(location.bucket)
                        .key(remote.key())
                        .build());
                OutputStream out = new DigestOutputStream(Files.newOutputStream(file), md)) {
            in.transferTo(out);
            etag = in.response().eTag();
        }
        if (expected != null) {
            String actual = HexFormat.of().formatHex(md.digest());
            if (!actual.equals(expected.getValue())) {
                throw new InvalidBundleException("checksum mismatch on " + rel + " (SHA256SUMS "
                        + expected.getValue().substring(0, 12) + "…, object " + actual.substring(0, 12) + "…)");
            }
        }
        return new RemoteObject(remote.key(), etag == null ? remote.etag() : etag, Files.size(file));
    }

    private void download(String key, Path file) throws IOException {
        try (InputStream in = s3.getObject(GetObjectRequest.builder()
                        .bucket(location.bucket)
                        .key(key)
                        .build());
                OutputStream out = Files.newOutputStream(file)) {
            in.transferTo(out);
        }
    }

    private static Map<String, List<String>> stampObjects(Map<String, RemoteObject> objects) {
        Map<String, List<String>> out = new TreeMap<>();
        objects.forEach((rel, o) -> out.put(rel, List.of(String.valueOf(o.etag()), Long.toString(o.size()))));
        return out;
    }

    // ---- cache ------------------------------------------------------------------------------------------------

    private Path versionDir(String model, long version) {
        return cache.resolve(model).resolve(Long.toString(version));
    }

    private Path stampFile(String model, long version) {
        return cache.resolve(STATE).resolve(model).resolve(version + ".json");
    }

    private Stamp readStamp(String model, long version) {
        Path file = stampFile(model, version);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return JSON.readValue(file.toFile(), Stamp.class);
        } catch (IOException e) {
            return null; // unreadable: the version is downloaded again
        }
    }

    private void writeStamp(String model, long version, Stamp stamp) throws IOException {
        Path file = stampFile(model, version);
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        JSON.writeValue(tmp.toFile(), stamp);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Removes a cached version: the stamp first, so that a crash in between leaves nothing that vouches for it. */
    private void dropCached(String model, long version) {
        try {
            Files.deleteIfExists(stampFile(model, version));
            Path dir = versionDir(model, version);
            if (Files.exists(dir)) {
                // rename out of the layout first: a half-deleted directory must never look like a version
                Path trash = Files.createTempDirectory(cache.resolve(INCOMING), "old-");
                Files.move(dir, trash.resolve("v"), StandardCopyOption.ATOMIC_MOVE);
                deleteRecursively(trash);
            }
            verifier.forget(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove cached " + model + "/" + version, e);
        }
    }

    /** Drops cached versions and configs that the bucket no longer has. */
    private void removeUnlisted(Map<String, Map<Long, Map<String, RemoteObject>>> versions, Set<String> configs) {
        for (Path modelDir : children(cache)) {
            String model = modelDir.getFileName().toString();
            if (RepositoryNames.hidden(model) || !Files.isDirectory(modelDir)) {
                continue;
            }
            Map<Long, Map<String, RemoteObject>> remote = versions.getOrDefault(model, Map.of());
            for (Path child : children(modelDir)) {
                long v = RepositoryNames.parseVersion(child.getFileName().toString());
                if (v > 0 && !remote.containsKey(v)) {
                    LOG.infof("%s/%s/%d is no longer in the bucket: removed from the cache", location, model, v);
                    dropCached(model, v);
                }
            }
            if (!configs.contains(model)) {
                deleteQuietly(modelDir.resolve(ModelConfig.FILE_NAME));
            }
            if (children(modelDir).isEmpty()) {
                deleteQuietly(modelDir);
                deleteQuietly(cache.resolve(STATE).resolve(model));
            }
        }
    }

    /** The cached, stamped versions (before the bucket was listed): what this replica can serve without it. */
    private List<RepositoryModel> indexFromCache() {
        List<RepositoryModel> models = new ArrayList<>();
        for (Path modelDir : children(cache)) {
            String model = modelDir.getFileName().toString();
            if (RepositoryNames.hidden(model)
                    || !RepositoryNames.validModelName(model)
                    || !Files.isDirectory(modelDir)) {
                continue;
            }
            ModelConfig config = ModelConfig.DEFAULT;
            Optional<String> invalid = Optional.empty();
            try {
                config = ModelConfig.read(modelDir);
            } catch (InvalidBundleException e) {
                invalid = Optional.of(e.getMessage());
            }
            List<RepositoryVersion> versions = new ArrayList<>();
            for (Path child : children(modelDir)) {
                long v = RepositoryNames.parseVersion(child.getFileName().toString());
                if (v <= 0) {
                    continue;
                }
                Stamp stamp = readStamp(model, v);
                if (stamp == null) {
                    dropCached(model, v); // moved into place but not stamped (killed in between): cannot vouch for it
                } else {
                    versions.add(RepositoryVersion.available(v, stamp.bundleId()));
                }
            }
            models.add(new RepositoryModel(model, config, invalid, versions));
        }
        models.sort(Comparator.comparing(RepositoryModel::name));
        return List.copyOf(models);
    }

    private void replaceInIndex(String model, RepositoryVersion version) {
        List<RepositoryModel> models = new ArrayList<>();
        for (RepositoryModel m : index) {
            if (!m.name().equals(model)) {
                models.add(m);
                continue;
            }
            List<RepositoryVersion> versions = new ArrayList<>(m.versions());
            versions.removeIf(v -> v.version() == version.version());
            versions.add(version);
            models.add(new RepositoryModel(m.name(), m.config(), m.invalidReason(), versions));
        }
        index = List.copyOf(models);
    }

    private void warnOnce(String key, String message) {
        if (warned.add(key)) {
            LOG.warn(message);
        }
    }

    private static List<String> union(Set<String> a, Set<String> b) {
        return Stream.concat(a.stream(), b.stream()).distinct().sorted().toList();
    }

    private static List<Path> children(Path dir) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            ds.forEach(out::add);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        out.sort(Comparator.comparing(p -> p.getFileName().toString()));
        return out;
    }

    private static void deleteQuietly(Path path) {
        try {
            deleteRecursively(path);
        } catch (IOException e) {
            LOG.warnf("cannot delete %s: %s", path, e.getMessage());
        }
    }

    static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
