/**
 * The audit log's vocabulary: who changed what ({@link io.inctrl.serve.audit.Origin}, {@link
 * io.inctrl.serve.audit.AuditAction}), the stored {@link io.inctrl.serve.audit.AuditEntry} and its retention
 * settings. Plain values with no dependencies: the registry records entries in the changes' own transactions.
 */
package io.inctrl.serve.audit;
