package io.inctrl.serve.registry;

import io.inctrl.serve.audit.AuditEntry;
import io.inctrl.serve.audit.AuditQuery;
import io.inctrl.serve.audit.Origin;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** The audit_log table. Stateless: every method takes the transaction's connection. */
public class AuditRepository {

    private static final String COLS = "id, occurred_at, actor_kind, actor_tenant_id, actor_key_id, tenant_id, action, "
            + "target_id, remote_address, outcome, request_id, detail";

    /** Column widths (V2__create_audit_log.sql): client-supplied values are cut to fit rather than fail the change. */
    static final int TARGET_CHARS = 160;

    static final int ADDRESS_CHARS = 64;
    static final int OUTCOME_CHARS = 64;
    static final int REQUEST_ID_CHARS = 160;
    static final int DETAIL_CHARS = 256;

    public void insert(
            Connection c, Instant time, Origin o, String tenantId, String action, String target, String outcome)
            throws SQLException {
        insert(c, time, o, tenantId, action, target, outcome, null);
    }

    /** {@code detail}: what the change did beyond its target, written by the server (never client text). */
    public void insert(
            Connection c,
            Instant time,
            Origin o,
            String tenantId,
            String action,
            String target,
            String outcome,
            String detail)
            throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement("INSERT INTO audit_log (occurred_at, actor_kind, actor_tenant_id,"
                        + " actor_key_id, tenant_id, action, target_id, remote_address, outcome, request_id, detail)"
                        + " VALUES (?,?,?,?,?,?,?,?,?,?,?)")) {
            ps.setTimestamp(1, Store.ts(time));
            ps.setString(2, o.actor().code());
            ps.setString(3, o.actorTenantId());
            ps.setString(4, o.actorKeyId());
            ps.setString(5, tenantId);
            ps.setString(6, action);
            ps.setString(7, cut(target, TARGET_CHARS));
            ps.setString(8, cut(o.remoteAddress(), ADDRESS_CHARS));
            ps.setString(9, cut(outcome, OUTCOME_CHARS));
            ps.setString(10, cut(o.requestId(), REQUEST_ID_CHARS));
            ps.setString(11, cut(detail, DETAIL_CHARS));
            ps.executeUpdate();
        }
    }

    /** Newest first, at most {@code q.limit()} entries. */
    public List<AuditEntry> list(Connection c, AuditQuery q) throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT " + COLS + " FROM audit_log WHERE 1 = 1");
        List<Object> args = new ArrayList<>();
        if (q.tenantId() != null) {
            sql.append(" AND tenant_id = ?");
            args.add(q.tenantId());
        }
        if (q.action() != null) {
            sql.append(" AND action = ?");
            args.add(q.action());
        }
        if (q.since() != null) {
            sql.append(" AND occurred_at >= ?");
            args.add(Store.ts(q.since()));
        }
        if (q.until() != null) {
            sql.append(" AND occurred_at < ?");
            args.add(Store.ts(q.until()));
        }
        if (q.beforeId() != null) {
            sql.append(" AND id < ?");
            args.add(q.beforeId());
        }
        sql.append(" ORDER BY id DESC LIMIT ?");
        args.add(q.limit());
        try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
            for (int i = 0; i < args.size(); i++) {
                ps.setObject(i + 1, args.get(i));
            }
            List<AuditEntry> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Origin o = new Origin(
                            Origin.Actor.ofCode(rs.getString(3)),
                            rs.getString(4),
                            rs.getString(5),
                            rs.getString(9),
                            rs.getString(11));
                    out.add(new AuditEntry(
                            rs.getLong(1),
                            Store.instant(rs.getTimestamp(2)),
                            o,
                            rs.getString(6),
                            rs.getString(7),
                            rs.getString(8),
                            rs.getString(10),
                            rs.getString(12)));
                }
            }
            return out;
        }
    }

    /** Deletes entries that occurred before {@code cutoff}; returns how many. */
    public int deleteBefore(Connection c, Instant cutoff) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM audit_log WHERE occurred_at < ?")) {
            ps.setTimestamp(1, Store.ts(cutoff));
            return ps.executeUpdate();
        }
    }

    private static String cut(String s, int max) {
        return s == null || s.length() <= max ? s : s.substring(0, max);
    }
}
