package io.inctrl.serve.audit;

import java.time.Instant;

/**
 * A page of the audit log, newest first: optional tenant, action and time range [{@code since}, {@code until}), and
 * {@code beforeId} to continue after the last entry of the previous page (entries are numbered as they are written).
 */
public record AuditQuery(String tenantId, String action, Instant since, Instant until, Long beforeId, int limit) {}
