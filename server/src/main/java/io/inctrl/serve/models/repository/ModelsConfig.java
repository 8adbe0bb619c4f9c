package io.inctrl.serve.models.repository;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.Optional;

/**
 * {@code inctrl.models.*}: where model bundles come from. Without {@code inctrl.models.repository} the server serves
 * the single bundle {@code inctrl.model.bundle} (the zero-configuration default). Every key can be set through the
 * environment, e.g. {@code INCTRL_MODELS_REPOSITORY}, {@code INCTRL_MODELS_S3_ENDPOINT}.
 */
@ConfigMapping(prefix = "inctrl.models")
public interface ModelsConfig {

    /**
     * The model repository: a local directory ({@code /models}, laid out {@code <model>/<version>/manifest.json}) or
     * S3-compatible object storage ({@code s3://bucket/prefix}, same layout below the prefix, synced into
     * {@code inctrl.models.s3.cache-dir}). Absent: no repository.
     */
    Optional<String> repository();

    /** Object storage settings, used when {@link #repository()} is an {@code s3://} URI. */
    S3 s3();

    interface S3 {
        /**
         * Endpoint of an S3-compatible server, e.g. {@code http://minio.storage:9000}; absent = AWS S3 (or the SDK's
         * {@code AWS_ENDPOINT_URL}).
         */
        Optional<String> endpoint();

        /** Region the requests are signed for (S3-compatible servers usually accept any; AWS needs the bucket's). */
        @WithDefault("us-east-1")
        String region();

        /**
         * Path-style requests ({@code endpoint/bucket/key}) instead of virtual-hosted ones ({@code bucket.endpoint/key}):
         * on by default because most S3-compatible servers need it; AWS S3 accepts both.
         */
        @WithDefault("true")
        boolean pathStyle();

        /**
         * Access key id; with {@link #secretKey()}. Absent (both): the AWS default chain (environment
         * {@code AWS_ACCESS_KEY_ID} / {@code AWS_SECRET_ACCESS_KEY} / {@code AWS_SESSION_TOKEN}, system properties,
         * {@code ~/.aws} profiles, container and instance credentials).
         */
        Optional<String> accessKey();

        /** Secret access key; with {@link #accessKey()}. */
        Optional<String> secretKey();

        /**
         * Local directory for the verified copies of the bundles (one subdirectory per bucket and prefix). On a
         * persistent volume a restarted replica serves what it has while the storage is unreachable.
         */
        @WithDefault("${inctrl.registry.data-dir:./data}/model-cache")
        String cacheDir();
    }
}
