package io.inctrl.serve.registry;

/** Per-tenant limits; exceeding one is RESOURCE_EXHAUSTED / HTTP 429. */
public record Quotas(int maxPromptSets, int maxShotsPerSet, double requestsPerSecond) {

    public Quotas {
        if (maxPromptSets < 0 || maxShotsPerSet < 1 || requestsPerSecond <= 0) {
            throw RegistryException.invalid("INVALID_QUOTAS",
                    "quotas need maxPromptSets >= 0, maxShotsPerSet >= 1 and requestsPerSecond > 0");
        }
    }
}
