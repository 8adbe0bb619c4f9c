package io.inctrl.serve.audit;

import java.time.Instant;

/**
 * One recorded change (or refused attempt). {@code outcome} is {@value #OK} or the refusal's reason code
 * ({@code NOT_FOUND}, {@code DUPLICATE_NAME} ...); {@code action} is an {@link AuditAction} code.
 */
public record AuditEntry(
        long id, Instant time, Origin origin, String tenantId, String action, String targetId, String outcome) {

    public static final String OK = "ok";
}
