package io.inctrl.serve.registry;

/**
 * Per-tenant limits; exceeding one is RESOURCE_EXHAUSTED / HTTP 429. Values are checked where they enter (tenant
 * creation and quota updates, see {@code TenantService}), not here, so that a row stored by an older version with an
 * out-of-range value can still be read, listed and corrected.
 */
public record Quotas(int maxPromptSets, int maxShotsPerSet, double requestsPerSecond) {}
