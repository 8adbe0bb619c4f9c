package io.inctrl.serve.registry;

import java.time.Instant;

public record Tenant(String id, String name, Quotas quotas, Instant createdAt) {}
