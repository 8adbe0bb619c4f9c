/**
 * Where model bundles come from: a model repository laid out as Triton's ({@code <model>/<version>/manifest.json},
 * optional {@code <model>/config.json}), in a local directory ({@link
 * io.inctrl.serve.models.repository.LocalModelRepository}) or S3-compatible object storage synced into a local cache
 * ({@link io.inctrl.serve.models.repository.S3ModelRepository}). Versions are verified against their
 * {@code SHA256SUMS} ({@link io.inctrl.serve.models.repository.BundleChecksums}) and their manifest; an invalid or
 * incomplete version is listed with its reason and never handed out. Loading and serving are not done here: this
 * package reads {@link io.inctrl.serve.model.BundleManifest} for validation only and touches no engine.
 */
package io.inctrl.serve.models.repository;
