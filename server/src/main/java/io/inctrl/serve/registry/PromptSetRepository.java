package io.inctrl.serve.registry;

import io.inctrl.serve.image.Inspection;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Prompt sets, their original shots and the revisions that group them. Every lookup a tenant makes also filters by
 * tenant; the background encoder reads across tenants ({@link #pendingFor}).
 */
public class PromptSetRepository {

    private static final String COLS = "id, tenant_id, name, category, template_id, shot_count, feature_precision, "
            + "model, revision, target_fpr, version, created_at, updated_at, inspection";

    public void insert(Connection c, PromptSet p) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement("INSERT INTO prompt_sets (" + COLS + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)")) {
            ps.setString(1, p.id());
            ps.setString(2, p.tenantId());
            ps.setString(3, p.name());
            ps.setString(4, p.category());
            ps.setString(5, TemplateSet.BUILT_IN_ID.equals(p.templateId()) ? null : p.templateId());
            ps.setInt(6, p.shotCount());
            ps.setString(7, p.precision().name());
            ps.setString(8, p.model());
            ps.setLong(9, p.revision());
            setFloat(ps, 10, p.targetFpr());
            ps.setLong(11, p.version());
            ps.setTimestamp(12, Store.ts(p.createdAt()));
            ps.setTimestamp(13, Store.ts(p.updatedAt()));
            ps.setString(14, p.inspection().wireName());
            ps.executeUpdate();
        }
    }

    /** Stores shot images under indices {@code firstIdx, firstIdx + 1, ...}; returns those indices. */
    public List<Integer> insertShots(Connection c, String id, int firstIdx, List<byte[]> images) throws SQLException {
        List<Integer> out = new ArrayList<>(images.size());
        try (PreparedStatement ps =
                c.prepareStatement("INSERT INTO prompt_set_shots (prompt_set_id, idx, image) VALUES (?,?,?)")) {
            for (int i = 0; i < images.size(); i++) {
                ps.setString(1, id);
                ps.setInt(2, firstIdx + i);
                ps.setBytes(3, images.get(i));
                ps.executeUpdate();
                out.add(firstIdx + i);
            }
        }
        return out;
    }

    /** One revision of a set's shots. */
    public record Revision(long revision, int shotCount, String reason, Instant createdAt) {}

    /** Records {@code revision}: why it was made and which stored shots make it up, in order. */
    public void insertRevision(
            Connection c, String id, long revision, List<Integer> shotIdx, String reason, Instant now)
            throws SQLException {
        try (PreparedStatement r = c.prepareStatement("INSERT INTO prompt_set_revisions (prompt_set_id, revision, "
                + "shot_count, reason, created_at) VALUES (?,?,?,?,?)")) {
            r.setString(1, id);
            r.setLong(2, revision);
            r.setInt(3, shotIdx.size());
            r.setString(4, reason);
            r.setTimestamp(5, Store.ts(now));
            r.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO prompt_set_revision_shots (prompt_set_id, revision, idx) VALUES (?,?,?)")) {
            for (int idx : shotIdx) {
                ps.setString(1, id);
                ps.setLong(2, revision);
                ps.setInt(3, idx);
                ps.executeUpdate();
            }
        }
    }

    /** Every revision of a set, oldest first. */
    public List<Revision> revisions(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT revision, shot_count, reason, created_at "
                + "FROM prompt_set_revisions WHERE prompt_set_id = ? ORDER BY revision")) {
            ps.setString(1, id);
            List<Revision> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Revision(
                            rs.getLong(1), rs.getInt(2), rs.getString(3), Store.instant(rs.getTimestamp(4))));
                }
            }
            return out;
        }
    }

    /** The highest shot index stored for a set (every revision's), -1 when none. */
    public int maxShotIdx(Connection c, String id) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement("SELECT COALESCE(MAX(idx), -1) FROM prompt_set_shots WHERE prompt_set_id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /**
     * Points the set at {@code revision} (a new one, or an older one on roll-back) with its shot count; one version
     * increment. False when the set is gone.
     */
    public boolean setRevision(Connection c, String tenantId, String id, long revision, int shotCount, Instant now)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE prompt_sets SET revision = ?, shot_count = ?, "
                + "version = version + 1, updated_at = ? WHERE id = ? AND tenant_id = ?")) {
            ps.setLong(1, revision);
            ps.setInt(2, shotCount);
            ps.setTimestamp(3, Store.ts(now));
            ps.setString(4, id);
            ps.setString(5, tenantId);
            return ps.executeUpdate() == 1;
        }
    }

    /** Stored shot indices of a revision, in order. */
    public List<Integer> revisionShots(Connection c, String id, long revision) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT idx FROM prompt_set_revision_shots "
                + "WHERE prompt_set_id = ? AND revision = ? ORDER BY idx")) {
            ps.setString(1, id);
            ps.setLong(2, revision);
            List<Integer> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getInt(1));
                }
            }
            return out;
        }
    }

    /** The images of a revision's shots, in the revision's order. */
    public List<byte[]> shots(Connection c, String id, long revision) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT s.image FROM prompt_set_shots s "
                + "JOIN prompt_set_revision_shots r ON r.prompt_set_id = s.prompt_set_id AND r.idx = s.idx "
                + "WHERE s.prompt_set_id = ? AND r.revision = ? ORDER BY s.idx")) {
            ps.setString(1, id);
            ps.setLong(2, revision);
            List<byte[]> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getBytes(1));
                }
            }
            return out;
        }
    }

    public Optional<PromptSet> find(Connection c, String tenantId, String id) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement("SELECT " + COLS + " FROM prompt_sets WHERE tenant_id = ? AND id = ?")) {
            ps.setString(1, tenantId);
            ps.setString(2, id);
            return read(ps).stream().findFirst();
        }
    }

    /** Any tenant's set (the background encoder, which works for every tenant). */
    public Optional<PromptSet> findById(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COLS + " FROM prompt_sets WHERE id = ?")) {
            ps.setString(1, id);
            return read(ps).stream().findFirst();
        }
    }

    public boolean nameTaken(Connection c, String tenantId, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM prompt_sets WHERE tenant_id = ? AND name = ?")) {
            ps.setString(1, tenantId);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** A page ordered by (created_at, id); stable across inserts of later sets. */
    public List<PromptSet> list(Connection c, String tenantId, int offset, int limit) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT " + COLS + " FROM prompt_sets WHERE tenant_id = ? ORDER BY created_at, id LIMIT ? OFFSET ?")) {
            ps.setString(1, tenantId);
            ps.setInt(2, limit);
            ps.setInt(3, offset);
            return read(ps);
        }
    }

    public int count(Connection c, String tenantId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM prompt_sets WHERE tenant_id = ?")) {
            ps.setString(1, tenantId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /** One increment of the set's version for a change a tenant made. */
    public boolean touchVersion(Connection c, String tenantId, String id, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE prompt_sets SET version = version + 1, updated_at = ? WHERE id = ? AND tenant_id = ?")) {
            ps.setTimestamp(1, Store.ts(now));
            ps.setString(2, id);
            ps.setString(3, tenantId);
            return ps.executeUpdate() == 1;
        }
    }

    /** Stores a new target false-positive rate (the caller bumps the version in the same transaction). */
    public boolean updateTargetFpr(Connection c, String tenantId, String id, float targetFpr) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement("UPDATE prompt_sets SET target_fpr = ? WHERE id = ? AND tenant_id = ?")) {
            ps.setFloat(1, targetFpr);
            ps.setString(2, id);
            ps.setString(3, tenantId);
            return ps.executeUpdate() == 1;
        }
    }

    /** When a query last used the set; only ever moves forward. */
    public void touchUsed(Connection c, String id, Instant when) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE prompt_sets SET last_used_at = ? "
                + "WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)")) {
            ps.setTimestamp(1, Store.ts(when));
            ps.setString(2, id);
            ps.setTimestamp(3, Store.ts(when));
            ps.executeUpdate();
        }
    }

    /**
     * Sets of {@code model} (with {@code isDefault}: also the sets registered without a model) whose current revision
     * has no encoding by {@code encoder} that is READY, claimed under a live lease, or failed since
     * {@code failedRetryAfter}: what the background encoder has left to do for one version, most recently used first.
     */
    public List<String> pendingFor(
            Connection c,
            String model,
            boolean isDefault,
            String encoder,
            Instant now,
            Instant failedRetryAfter,
            int limit)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT p.id FROM prompt_sets p "
                + "WHERE (p.model = ? OR (p.model IS NULL AND ?)) AND NOT EXISTS (SELECT 1 FROM prompt_set_encodings e "
                + "WHERE e.prompt_set_id = p.id AND e.revision = p.revision AND e.encoder = ? AND (e.state = 'READY' "
                + "OR (e.state = 'ENCODING' AND e.lease_until > ?) OR (e.state = 'FAILED' AND e.updated_at > ?))) "
                + "ORDER BY p.last_used_at DESC NULLS LAST, p.created_at, p.id LIMIT ?")) {
            ps.setString(1, model);
            ps.setBoolean(2, isDefault);
            ps.setString(3, encoder);
            ps.setTimestamp(4, Store.ts(now));
            ps.setTimestamp(5, Store.ts(failedRetryAfter));
            ps.setInt(6, limit);
            List<String> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        }
    }

    /** [sets of the model, of which encoded READY by {@code encoder} at their current revision]. */
    public long[] encodedCount(Connection c, String model, boolean isDefault, String encoder) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*), COUNT(e.encoder) FROM prompt_sets p "
                + "LEFT JOIN prompt_set_encodings e ON e.prompt_set_id = p.id AND e.revision = p.revision "
                + "AND e.encoder = ? AND e.state = 'READY' WHERE (p.model = ? OR (p.model IS NULL AND ?))")) {
            ps.setString(1, encoder);
            ps.setString(2, model);
            ps.setBoolean(3, isDefault);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new long[] {rs.getLong(1), rs.getLong(2)};
            }
        }
    }

    /** Total stored bytes of the original images of one set (every revision's). */
    public long shotBytes(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT COALESCE(SUM(OCTET_LENGTH(image)), 0) FROM prompt_set_shots WHERE prompt_set_id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    public boolean delete(Connection c, String tenantId, String id) throws SQLException {
        // Children are removed by ON DELETE CASCADE.
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM prompt_sets WHERE tenant_id = ? AND id = ?")) {
            ps.setString(1, tenantId);
            ps.setString(2, id);
            return ps.executeUpdate() == 1;
        }
    }

    private List<PromptSet> read(PreparedStatement ps) throws SQLException {
        List<PromptSet> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                String templateId = rs.getString(5);
                float tf = rs.getFloat(10);
                Float target = rs.wasNull() ? null : tf;
                out.add(new PromptSet(
                        rs.getString(1),
                        rs.getString(2),
                        rs.getString(3),
                        rs.getString(4),
                        templateId == null ? TemplateSet.BUILT_IN_ID : templateId,
                        rs.getInt(6),
                        Precision.valueOf(rs.getString(7)),
                        rs.getString(8),
                        rs.getLong(9),
                        target,
                        rs.getLong(11),
                        Store.instant(rs.getTimestamp(12)),
                        Store.instant(rs.getTimestamp(13)),
                        Inspection.parse(rs.getString(14))));
            }
        }
        return out;
    }

    static void setFloat(PreparedStatement ps, int i, Float v) throws SQLException {
        if (v == null) {
            ps.setNull(i, java.sql.Types.REAL);
        } else {
            ps.setFloat(i, v);
        }
    }
}
