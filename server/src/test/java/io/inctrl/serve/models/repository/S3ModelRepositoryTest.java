package io.inctrl.serve.models.repository;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inctrl.serve.models.repository.ModelRepositoryException.Kind;
import io.inctrl.serve.models.repository.RepositoryVersion.State;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;

/**
 * {@link S3ModelRepository} against a real S3 implementation: the Versity S3 Gateway (versitygw) that
 * {@code scripts/start-s3.sh --build-only} builds into build/tools (scripts/test.sh does, so CI never skips this),
 * started here on a free loopback port with its own credentials. Bundles are uploaded with the AWS SDK.
 */
class S3ModelRepositoryTest {

    private static final String ACCESS = "inctrl-test";
    private static final String SECRET = "inctrl-test-secret-" + Long.toHexString(System.nanoTime());
    private static final String BUCKET = "models";

    @TempDir
    static Path serverDir;

    private static Process server;
    private static String endpoint;
    private static S3Client uploader;

    @TempDir
    Path cache;

    @TempDir
    Path work;

    @BeforeAll
    static void startServer() throws Exception {
        Path bin = Path.of(System.getProperty("test.versitygw", "../build/tools/bin/versitygw"));
        Assumptions.assumeTrue(
                Files.isExecutable(bin),
                "S3 test server not built (" + bin.toAbsolutePath() + "): run scripts/start-s3.sh --build-only"
                        + " (scripts/test.sh does)");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Files.createDirectories(serverDir.resolve("data"));
        ProcessBuilder pb = new ProcessBuilder(
                        bin.toString(),
                        "--port",
                        "127.0.0.1:" + port,
                        "--quiet",
                        "posix",
                        serverDir.resolve("data").toString())
                .redirectErrorStream(true)
                .redirectOutput(serverDir.resolve("versitygw.log").toFile());
        pb.environment().put("ROOT_ACCESS_KEY", ACCESS);
        pb.environment().put("ROOT_SECRET_KEY", SECRET);
        server = pb.start();
        endpoint = "http://127.0.0.1:" + port;
        uploader = clientBuilder(SECRET).build();
        // ready when it answers a signed request
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (true) {
            try {
                uploader.createBucket(b -> b.bucket(BUCKET));
                break;
            } catch (RuntimeException e) {
                if (!server.isAlive() || Instant.now().isAfter(deadline)) {
                    throw new IllegalStateException(
                            "versitygw did not start: " + Files.readString(serverDir.resolve("versitygw.log")), e);
                }
                Thread.sleep(50);
            }
        }
    }

    @AfterAll
    static void stopServer() throws InterruptedException {
        if (uploader != null) {
            uploader.close();
        }
        if (server != null) {
            server.destroy();
            server.waitFor();
        }
    }

    /** The client the server would build from inctrl.models.s3.* (endpoint override, path-style, static keys). */
    private static S3ClientBuilder clientBuilder(String secret) {
        return ModelRepositoryProducer.s3ClientBuilder(TestConfigs.models(Map.of(
                        "inctrl.models.s3.endpoint", endpoint,
                        "inctrl.models.s3.access-key", ACCESS,
                        "inctrl.models.s3.secret-key", secret))
                .s3());
    }

    private S3ModelRepository repository(String prefix, Consumer<S3ClientBuilder> customize) {
        S3ClientBuilder builder = clientBuilder(SECRET);
        customize.accept(builder);
        return new S3ModelRepository(builder.build(), "s3://" + BUCKET + "/" + prefix, cache);
    }

    private static void upload(Path bundle, String keyPrefix) {
        for (String rel : Bundles.files(bundle)) {
            uploader.putObject(
                    b -> b.bucket(BUCKET).key(keyPrefix + "/" + rel), RequestBody.fromFile(bundle.resolve(rel)));
        }
    }

    private static void putText(String key, String text) {
        uploader.putObject(b -> b.bucket(BUCKET).key(key), RequestBody.fromString(text));
    }

    /** Counts GetObject calls per key suffix, so a test can tell what was downloaded. */
    private static final class GetCounter implements ExecutionInterceptor {
        final Map<String, AtomicInteger> gets = new HashMap<>();

        @Override
        public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
            if (context.request() instanceof GetObjectRequest get) {
                synchronized (gets) {
                    gets.computeIfAbsent(get.key(), k -> new AtomicInteger()).incrementAndGet();
                }
            }
        }

        int total() {
            synchronized (gets) {
                return gets.values().stream().mapToInt(AtomicInteger::get).sum();
            }
        }
    }

    @Test
    void syncsAVerifiedBundleOnceAndServesItFromTheCache() {
        Path bundle = Bundles.copyTiny(work.resolve("tiny"), true);
        upload(bundle, "sync/tiny/1");
        putText("sync/tiny/config.json", "{\"version_policy\": {\"all\": {}}}");
        putText("sync/README.txt", "files beside the models are ignored");
        GetCounter counter = new GetCounter();

        try (S3ModelRepository repo =
                repository("sync", b -> b.overrideConfiguration(o -> o.addExecutionInterceptor(counter)))) {
            assertThat(repo.index()).isEmpty(); // nothing cached, nothing listed yet
            repo.refresh();
            RepositoryModel tiny = repo.model("tiny").orElseThrow();
            assertThat(tiny.config().versionPolicy()).isEqualTo(new ModelConfig.VersionPolicy.All());
            RepositoryVersion v1 = tiny.version(1).orElseThrow();
            assertThat(v1.state()).isEqualTo(State.AVAILABLE);
            assertThat(v1.bundleId())
                    .contains(io.inctrl.serve.model.BundleManifest.read(bundle).bundleId());

            Path dir = repo.materialize("tiny", 1);
            assertThat(dir).isEqualTo(repo.cacheRoot().resolve("tiny/1"));
            assertThat(Bundles.files(dir)).isEqualTo(Bundles.files(bundle)); // exactly the bundle, SHA256SUMS included
            for (String rel : Bundles.files(bundle)) {
                assertThat(BundleChecksums.sha256(dir.resolve(rel)))
                        .isEqualTo(BundleChecksums.sha256(bundle.resolve(rel)));
            }
            int afterFirstSync = counter.total();
            assertThat(afterFirstSync).isEqualTo(Bundles.files(bundle).size() + 1); // every file + config.json

            repo.refresh(); // unchanged: only config.json is fetched again
            assertThat(counter.total()).isEqualTo(afterFirstSync + 1);
        }

        // A restarted replica on the same cache: serves from it before listing, and does not download again.
        GetCounter second = new GetCounter();
        try (S3ModelRepository repo =
                repository("sync", b -> b.overrideConfiguration(o -> o.addExecutionInterceptor(second)))) {
            assertThat(repo.model("tiny").orElseThrow().version(1).orElseThrow().available())
                    .isTrue();
            assertThat(repo.materialize("tiny", 1)).isDirectory();
            repo.refresh();
            assertThat(second.gets).containsOnlyKeys("sync/tiny/config.json");
        }
    }

    @Test
    void aCorruptedCopyIsInvalidWithItsReasonAndNeverMaterialised() throws IOException {
        upload(Bundles.copyTiny(work.resolve("good"), true), "corrupt/tiny/1");
        Path bad = Bundles.copyTiny(work.resolve("bad"), true); // SHA256SUMS of the good files ...
        Bundles.corrupt(bad.resolve("vision.pt")); // ... then one byte changes, as a broken upload would
        upload(bad, "corrupt/tiny/2");
        Path unsummed = Bundles.copyTiny(work.resolve("unsummed"), false);
        upload(unsummed, "corrupt/tiny/3");
        Path extra = Bundles.copyTiny(work.resolve("extra"), true);
        Files.writeString(extra.resolve("extra.bin"), "not vouched for");
        upload(extra, "corrupt/tiny/4");
        Path wrongFormat = Bundles.copyTiny(work.resolve("v2format"), true);
        Bundles.setFormatVersion(wrongFormat, 2);
        upload(wrongFormat, "corrupt/tiny/5");

        try (S3ModelRepository repo = repository("corrupt", b -> {})) {
            repo.refresh();
            RepositoryModel tiny = repo.model("tiny").orElseThrow();
            assertThat(tiny.versions())
                    .extracting(RepositoryVersion::state)
                    .containsExactly(State.AVAILABLE, State.INVALID, State.INVALID, State.INVALID, State.INVALID);
            assertThat(tiny.version(2).orElseThrow().reason().orElseThrow())
                    .startsWith("checksum mismatch on vision.pt");
            assertThat(tiny.version(3).orElseThrow().reason().orElseThrow())
                    .startsWith("no SHA256SUMS: bundles in object storage must carry checksums");
            assertThat(tiny.version(4).orElseThrow().reason().orElseThrow())
                    .startsWith("object extra.bin is not listed in SHA256SUMS");
            assertThat(tiny.version(5).orElseThrow().reason().orElseThrow())
                    .contains("format_version 2")
                    .contains("s3://models/corrupt/tiny/5")
                    .doesNotContain(S3ModelRepository.INCOMING);
            assertThat(tiny.selectedVersions()).containsExactly(1L); // latest 1 among the valid ones

            assertThatThrownBy(() -> repo.materialize("tiny", 2))
                    .isInstanceOf(ModelRepositoryException.class)
                    .hasMessageContaining(
                            "model tiny version 2 in s3://models/corrupt is invalid: checksum mismatch on vision.pt")
                    .extracting(e -> ((ModelRepositoryException) e).kind())
                    .isEqualTo(Kind.INVALID);
            assertThatThrownBy(() -> repo.materialize("tiny", 7))
                    .extracting(e -> ((ModelRepositoryException) e).kind())
                    .isEqualTo(Kind.NOT_FOUND);
            assertThat(repo.cacheRoot().resolve("tiny")).isDirectoryNotContaining(p -> !p.endsWith("1"));
            assertThat(repo.cacheRoot().resolve(S3ModelRepository.INCOMING)).isEmptyDirectory();

            // the cached copy damaged on disk after the sync: materialize notices and fetches it again
            Bundles.corrupt(repo.cacheRoot().resolve("tiny/1/text.pt"));
            Path again = repo.materialize("tiny", 1);
            assertThat(BundleChecksums.sha256(again.resolve("text.pt")))
                    .isEqualTo(BundleChecksums.sha256(work.resolve("good/text.pt")));

            // a version removed from the bucket leaves the cache at the next sync
            for (String rel : Bundles.files(work.resolve("good"))) {
                uploader.deleteObject(b -> b.bucket(BUCKET).key("corrupt/tiny/1/" + rel));
            }
            repo.refresh();
            assertThat(repo.model("tiny").orElseThrow().version(1)).isEmpty();
            assertThat(repo.cacheRoot().resolve("tiny/1")).doesNotExist();
        }
    }

    /** Cuts the body of GetObject responses for one key after a few bytes, as a dropped connection does. */
    private static final class CutDownload implements ExecutionInterceptor {
        private final String keySuffix;

        CutDownload(String keySuffix) {
            this.keySuffix = keySuffix;
        }

        @Override
        public Optional<InputStream> modifyHttpResponseContent(
                Context.ModifyHttpResponse context, ExecutionAttributes attributes) {
            Optional<InputStream> body = context.responseBody();
            if (!(context.request() instanceof GetObjectRequest get)
                    || !get.key().endsWith(keySuffix)) {
                return body;
            }
            return body.map(in -> new FilterInputStream(in) {
                private long left = 4096;

                @Override
                public int read() throws IOException {
                    if (left-- <= 0) {
                        throw new IOException("connection reset (cut by the test)");
                    }
                    return super.read();
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (left <= 0) {
                        throw new IOException("connection reset (cut by the test)");
                    }
                    int n = super.read(b, off, (int) Math.min(len, left));
                    left -= Math.max(n, 0);
                    return n;
                }
            });
        }
    }

    @Test
    void anInterruptedDownloadNeverAppearsAsAVersionDirectory() throws IOException {
        Path bundle = Bundles.copyTiny(work.resolve("tiny"), true);
        upload(bundle, "cut/tiny/1");

        try (S3ModelRepository repo = repository(
                "cut", b -> b.overrideConfiguration(o -> o.addExecutionInterceptor(new CutDownload("/vision.pt"))))) {
            repo.refresh();
            RepositoryVersion v1 = repo.model("tiny").orElseThrow().version(1).orElseThrow();
            assertThat(v1.state()).isEqualTo(State.INVALID);
            assertThat(v1.reason().orElseThrow())
                    .startsWith("download failed (retried at the next sync)")
                    .contains("connection reset (cut by the test)");
            assertThat(repo.cacheRoot().resolve("tiny/1")).doesNotExist();
            assertThat(repo.cacheRoot().resolve(S3ModelRepository.INCOMING)).isEmptyDirectory();
            assertThatThrownBy(() -> repo.materialize("tiny", 1))
                    .extracting(e -> ((ModelRepositoryException) e).kind())
                    .isEqualTo(Kind.INVALID);
        }

        // A process killed mid-download leaves a partial directory in .incoming, or a version moved into place
        // without its stamp: a new start deletes both and lists nothing it cannot vouch for.
        Path cacheRoot = cache.resolve(BUCKET).resolve("cut");
        Path partial = cacheRoot.resolve(S3ModelRepository.INCOMING).resolve("tiny-1-123");
        Files.createDirectories(partial);
        Files.writeString(partial.resolve("vision.pt"), "half");
        Bundles.copyTree(bundle, cacheRoot.resolve("tiny/1"));
        try (S3ModelRepository repo = repository("cut", b -> {})) {
            assertThat(repo.index()).allSatisfy(m -> assertThat(m.versions()).isEmpty());
            assertThat(cacheRoot.resolve("tiny/1")).doesNotExist();
            assertThat(cacheRoot.resolve(S3ModelRepository.INCOMING)).isEmptyDirectory();

            repo.refresh(); // the connection is fine now
            assertThat(repo.model("tiny").orElseThrow().selectedVersions()).containsExactly(1L);
            assertThat(Bundles.files(repo.materialize("tiny", 1))).isEqualTo(Bundles.files(bundle));
        }
    }

    @Test
    void wrongCredentialsOrAMissingBucketAreUnavailableAndKeepTheIndex() {
        upload(Bundles.copyTiny(work.resolve("tiny"), true), "creds/tiny/1");
        try (S3ModelRepository good = repository("creds", b -> {})) {
            good.refresh();
        }
        try (S3ModelRepository repo =
                new S3ModelRepository(clientBuilder("wrong-secret").build(), "s3://models/creds", cache)) {
            List<RepositoryModel> before = repo.index(); // from the cache
            assertThat(before).hasSize(1);
            assertThatThrownBy(repo::refresh)
                    .isInstanceOf(ModelRepositoryException.class)
                    .hasMessageContaining("object storage refused to list s3://models/creds: HTTP 403")
                    .extracting(e -> ((ModelRepositoryException) e).kind())
                    .isEqualTo(Kind.UNAVAILABLE);
            assertThat(repo.index()).isEqualTo(before);
            assertThat(repo.materialize("tiny", 1)).isDirectory(); // served from the verified cache meanwhile
        }
        try (S3ModelRepository repo =
                new S3ModelRepository(clientBuilder(SECRET).build(), "s3://no-such-bucket", cache)) {
            assertThatThrownBy(repo::refresh).hasMessageContaining("bucket no-such-bucket does not exist");
        }
    }
}
