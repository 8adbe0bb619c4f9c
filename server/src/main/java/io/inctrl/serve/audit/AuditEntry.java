package io.inctrl.serve.audit;

import java.time.Instant;

/**
 * One recorded change (or refused attempt). {@code outcome} is {@value #OK} or the refusal's reason code
 * ({@code NOT_FOUND}, {@code DUPLICATE_NAME} ...); {@code action} is an {@link AuditAction} code; {@code detail} says
 * what a change did beyond its target (e.g. which model version encoded a set), null for most entries.
 */
public record AuditEntry(
        long id,
        Instant time,
        Origin origin,
        String tenantId,
        String action,
        String targetId,
        String outcome,
        String detail) {

    public static final String OK = "ok";

    public AuditEntry(
            long id, Instant time, Origin origin, String tenantId, String action, String targetId, String outcome) {
        this(id, time, origin, tenantId, action, targetId, outcome, null);
    }
}
