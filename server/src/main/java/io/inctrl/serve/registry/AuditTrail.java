package io.inctrl.serve.registry;

import io.inctrl.serve.audit.AuditAction;
import io.inctrl.serve.audit.AuditEntry;
import io.inctrl.serve.audit.AuditQuery;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;

/**
 * Records the changes of the registry and tenant use cases and reads them back.
 * <p>
 * Failure policy: a successful change writes its entry inside the change's own transaction ({@link #recordChange}),
 * so the two commit together; if the entry cannot be written the change rolls back and the caller gets the store
 * error. Changes are rare admin operations on the same database, so this costs one insert, and no change can ever be
 * made without its entry (an asynchronous writer would need a durable outbox for that). A refused attempt
 * ({@link #attempt}) changed nothing, so its entry is best effort: a failed write is logged and counted
 * ({@code inctrl.audit.write.failures}), never turned into the caller's error.
 * <p>
 * Runs on the caller's thread like every {@link Store} call; the transports call the use cases on worker threads.
 */
@ApplicationScoped
public class AuditTrail {

    private static final Logger LOG = Logger.getLogger(AuditTrail.class);

    /** Most entries one page returns. */
    public static final int MAX_PAGE_SIZE = 500;

    @Inject
    Store store;

    @Inject
    AuditRepository entries;

    @Inject
    RegistryCounters counters;

    /** Writes the entry of a successful change on the change's transaction. */
    public void recordChange(Connection c, Origin o, AuditAction a, String tenantId, String targetId)
            throws SQLException {
        entries.insert(c, Store.now(), o, tenantId, a.code, targetId, AuditEntry.OK);
    }

    /** As above with a server-written {@code detail} (e.g. {@code model=m version=2}). */
    public void recordChange(Connection c, Origin o, AuditAction a, String tenantId, String targetId, String detail)
            throws SQLException {
        entries.insert(c, Store.now(), o, tenantId, a.code, targetId, AuditEntry.OK, detail);
    }

    /** The shape of every id the server issues (UUIDs, "default"): anything else in a refused attempt is client text. */
    private static final Pattern ISSUED_ID = Pattern.compile("[A-Za-z0-9._:-]{1,64}");

    /** Recorded instead of a tenant or target id that no server could have issued. */
    static final String NOT_AN_ID = "(not an id)";

    /**
     * Runs a change (which records itself with {@link #recordChange}); when it is refused, records the attempt with
     * the refusal's reason as outcome, then rethrows. A refused attempt's ids come from the client (a path segment, a
     * message field) and were not found or not accepted: they are recorded only when they have the shape of an id
     * the server issues, else as {@value #NOT_AN_ID}, so no caller writes text of its choosing into the log.
     */
    public <T> T attempt(Origin o, AuditAction a, String tenantId, String targetId, Supplier<T> change) {
        try {
            return change.get();
        } catch (RuntimeException e) {
            String outcome = e instanceof ServeException s ? s.reason() : Reason.INTERNAL.name();
            String tenant = issuedIdOrMarker(tenantId);
            String target = issuedIdOrMarker(targetId);
            try {
                store.tx(c -> {
                    entries.insert(c, Store.now(), o, tenant, a.code, target, outcome);
                    return null;
                });
            } catch (RuntimeException writeFailure) {
                counters.auditWriteFailures.incrementAndGet();
                LOG.warnf(
                        "audit entry of a refused %s (tenant %s, outcome %s) could not be written: %s",
                        a.code, tenant, outcome, writeFailure.getMessage());
            }
            throw e;
        }
    }

    static String issuedIdOrMarker(String id) {
        return id == null || ISSUED_ID.matcher(id).matches() ? id : NOT_AN_ID;
    }

    /** Entries newest first; {@code more} when older ones match too (continue with the last entry's id). */
    public record Page(List<AuditEntry> items, boolean more) {}

    /** A page of entries, newest first; {@code limit} is 100 when 0 and capped at {@value #MAX_PAGE_SIZE}. */
    public Page list(AuditQuery q) {
        int limit = q.limit() <= 0 ? 100 : Math.min(q.limit(), MAX_PAGE_SIZE);
        AuditQuery oneMore = new AuditQuery(q.tenantId(), q.action(), q.since(), q.until(), q.beforeId(), limit + 1);
        List<AuditEntry> found = store.tx(c -> entries.list(c, oneMore));
        return found.size() > limit ? new Page(List.copyOf(found.subList(0, limit)), true) : new Page(found, false);
    }

    /** Deletes the entries older than {@code now - retention}; returns how many. */
    public int purge(Instant now, java.time.Duration retention) {
        int n = store.tx(c -> entries.deleteBefore(c, now.minus(retention)));
        counters.auditEntriesPurged.addAndGet(n);
        if (n > 0) {
            LOG.infof("audit log: purged %d entries older than %s", n, retention);
        }
        return n;
    }
}
