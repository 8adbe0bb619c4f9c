package io.inctrl.serve.models.repository;

import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.jboss.logging.Logger;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/**
 * Builds the configured {@link ModelRepository}: inject {@code Optional<ModelRepository>}, empty when
 * {@code inctrl.models.repository} is not set. The repository is created on first injection (a local one scans its
 * directory then; an S3 one reads its cache and syncs on {@link ModelRepository#refresh()}) and closed at shutdown.
 */
public class ModelRepositoryProducer {

    private static final Logger LOG = Logger.getLogger(ModelRepositoryProducer.class);

    // Singleton, not ApplicationScoped: Optional is final and cannot be proxied.
    @Produces
    @Singleton
    Optional<ModelRepository> modelRepository(ModelsConfig config) {
        return create(config);
    }

    void close(@Disposes Optional<ModelRepository> repository) {
        repository.ifPresent(ModelRepository::close);
    }

    /** The repository that {@code config} describes, or empty when none is configured. */
    public static Optional<ModelRepository> create(ModelsConfig config) {
        Optional<String> location = config.repository().map(String::trim).filter(s -> !s.isEmpty());
        if (location.isEmpty()) {
            return Optional.empty();
        }
        String where = location.get();
        if (where.startsWith("s3://")) {
            ModelsConfig.S3 s3 = config.s3();
            S3ModelRepository repo = new S3ModelRepository(s3Client(s3), where, Path.of(s3.cacheDir()));
            LOG.infof(
                    "model repository %s (endpoint %s, cache %s)",
                    where, s3.endpoint().orElse("AWS"), repo.cacheRoot());
            return Optional.of(repo);
        }
        if (where.contains("://")) {
            throw new IllegalArgumentException(
                    "inctrl.models.repository=" + where + ": give a local directory or an s3://bucket/prefix URI");
        }
        LocalModelRepository repo = new LocalModelRepository(Path.of(where));
        LOG.infof("model repository %s (local directory)", repo.location());
        return Optional.of(repo);
    }

    /** An S3 client for {@code s3}: endpoint override, path-style, region, static or default-chain credentials. */
    public static S3Client s3Client(ModelsConfig.S3 s3) {
        return s3ClientBuilder(s3).build();
    }

    /** The builder behind {@link #s3Client}, for callers that add to it (tests add execution interceptors). */
    public static S3ClientBuilder s3ClientBuilder(ModelsConfig.S3 s3) {
        var builder = S3Client.builder()
                .httpClientBuilder(UrlConnectionHttpClient.builder()
                        .connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(Duration.ofSeconds(60)))
                .region(Region.of(s3.region()))
                .forcePathStyle(s3.pathStyle())
                .credentialsProvider(credentials(s3))
                // Bundles carry their own SHA-256 sums, verified on every file; the SDK's optional CRC checksums
                // (aws-chunked uploads, checksum headers) are not implemented by every S3-compatible server.
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
        s3.endpoint().ifPresent(e -> builder.endpointOverride(URI.create(e)));
        return builder;
    }

    private static AwsCredentialsProvider credentials(ModelsConfig.S3 s3) {
        if (s3.accessKey().isPresent() != s3.secretKey().isPresent()) {
            throw new IllegalArgumentException(
                    "inctrl.models.s3.access-key and inctrl.models.s3.secret-key go together: set both or neither");
        }
        if (s3.accessKey().isPresent()) {
            return StaticCredentialsProvider.create(AwsBasicCredentials.create(
                    s3.accessKey().get(), s3.secretKey().get()));
        }
        return DefaultCredentialsProvider.builder().build();
    }
}
