package io.inctrl.serve.registry;

import java.time.Instant;

/** A stored API key without its secret: only the hash is kept, the prefix lets people recognise it. */
public record ApiKeyInfo(String id, String tenantId, String prefix, Instant createdAt, Instant revokedAt) {

    public boolean active() {
        return revokedAt == null;
    }
}
