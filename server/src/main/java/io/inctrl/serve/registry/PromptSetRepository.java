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

/** Prompt sets, their original shots and encoded features. Every lookup by id also filters by tenant. */
public class PromptSetRepository {

    private static final String COLS = "id, tenant_id, name, category, template_id, template_version, shot_count, "
            + "feature_precision, bundle_id, version, calibration, threshold_override, created_at, updated_at, "
            + "target_fpr, inspection";

    /** Refits rows stored before per-set targets (no target_fpr, no fit method) on read; null leaves rows as stored. */
    private final Calibrator calibrator;

    public PromptSetRepository(Calibrator calibrator) {
        this.calibrator = calibrator;
    }

    /** Reads rows exactly as stored (tests of the store itself). */
    public PromptSetRepository() {
        this(null);
    }

    public void insert(Connection c, PromptSet p) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement("INSERT INTO prompt_sets (" + COLS + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")) {
            ps.setString(1, p.id());
            ps.setString(2, p.tenantId());
            ps.setString(3, p.name());
            ps.setString(4, p.category());
            ps.setString(5, TemplateSet.BUILT_IN_ID.equals(p.templateId()) ? null : p.templateId());
            ps.setLong(6, p.templateVersion());
            ps.setInt(7, p.shotCount());
            ps.setString(8, p.precision().name());
            ps.setString(9, p.bundleId());
            ps.setLong(10, p.version());
            ps.setString(11, Json.write(p.calibration()));
            setFloat(ps, 12, p.thresholdOverride());
            ps.setTimestamp(13, Store.ts(p.createdAt()));
            ps.setTimestamp(14, Store.ts(p.updatedAt()));
            setFloat(ps, 15, p.calibration().targetFpr());
            ps.setString(16, p.inspection().wireName());
            ps.executeUpdate();
        }
    }

    public void insertShots(Connection c, String id, List<byte[]> images) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement("INSERT INTO prompt_set_shots (prompt_set_id, idx, image) VALUES (?,?,?)")) {
            for (int i = 0; i < images.size(); i++) {
                ps.setString(1, id);
                ps.setInt(2, i);
                ps.setBytes(3, images.get(i));
                ps.executeUpdate();
            }
        }
    }

    public void replaceFeatures(Connection c, String id, List<FeatureCodec.Part> parts) throws SQLException {
        try (PreparedStatement del = c.prepareStatement("DELETE FROM prompt_set_features WHERE prompt_set_id = ?")) {
            del.setString(1, id);
            del.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO prompt_set_features "
                + "(prompt_set_id, kind, layer, rows_count, cols_count, dtype, data) VALUES (?,?,?,?,?,?,?)")) {
            for (FeatureCodec.Part p : parts) {
                ps.setString(1, id);
                ps.setString(2, p.kind());
                ps.setInt(3, p.layer());
                ps.setInt(4, p.rows());
                ps.setInt(5, p.cols());
                ps.setString(6, p.dtype().name());
                ps.setBytes(7, p.data());
                ps.executeUpdate();
            }
        }
    }

    /** Rewrites everything an (re-)encoding changes; the caller passes the bumped version. */
    public boolean updateEncoding(Connection c, PromptSet p) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE prompt_sets SET bundle_id = ?, feature_precision = ?, "
                + "template_version = ?, calibration = ?, version = ?, updated_at = ?, target_fpr = ? "
                + "WHERE id = ? AND tenant_id = ?")) {
            ps.setString(1, p.bundleId());
            ps.setString(2, p.precision().name());
            ps.setLong(3, p.templateVersion());
            ps.setString(4, Json.write(p.calibration()));
            ps.setLong(5, p.version());
            ps.setTimestamp(6, Store.ts(p.updatedAt()));
            setFloat(ps, 7, p.calibration().targetFpr());
            ps.setString(8, p.id());
            ps.setString(9, p.tenantId());
            return ps.executeUpdate() == 1;
        }
    }

    public boolean updateThreshold(Connection c, String tenantId, String id, Float threshold, Instant now)
            throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement("UPDATE prompt_sets SET threshold_override = ?, version = version + 1, "
                        + "updated_at = ? WHERE id = ? AND tenant_id = ?")) {
            setFloat(ps, 1, threshold);
            ps.setTimestamp(2, Store.ts(now));
            ps.setString(3, id);
            ps.setString(4, tenantId);
            return ps.executeUpdate() == 1;
        }
    }

    /**
     * Stores a calibration fitted for another target (no re-encoding: the shot scores are unchanged). Leaves the
     * version alone: it goes with {@link #updateThreshold} in the same transaction, one bump per change.
     */
    public boolean updateCalibration(Connection c, String tenantId, String id, Calibration cal, Instant now)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE prompt_sets SET calibration = ?, target_fpr = ?, "
                + "updated_at = ? WHERE id = ? AND tenant_id = ?")) {
            ps.setString(1, Json.write(cal));
            setFloat(ps, 2, cal.targetFpr());
            ps.setTimestamp(3, Store.ts(now));
            ps.setString(4, id);
            ps.setString(5, tenantId);
            return ps.executeUpdate() == 1;
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

    public List<byte[]> shots(Connection c, String id) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement("SELECT image FROM prompt_set_shots WHERE prompt_set_id = ? ORDER BY idx")) {
            ps.setString(1, id);
            List<byte[]> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getBytes(1));
                }
            }
            return out;
        }
    }

    public List<FeatureCodec.Part> features(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT kind, layer, rows_count, cols_count, dtype, data "
                + "FROM prompt_set_features WHERE prompt_set_id = ?")) {
            ps.setString(1, id);
            List<FeatureCodec.Part> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new FeatureCodec.Part(
                            rs.getString(1),
                            rs.getInt(2),
                            rs.getInt(3),
                            rs.getInt(4),
                            Precision.valueOf(rs.getString(5)),
                            rs.getBytes(6)));
                }
            }
            return out;
        }
    }

    /** Total stored bytes of the feature blobs and of the shot images of one set. */
    public long[] storedBytes(Connection c, String id) throws SQLException {
        long[] out = new long[2];
        for (FeatureCodec.Part p : features(c, id)) {
            out[0] += p.data().length;
        }
        for (byte[] s : shots(c, id)) {
            out[1] += s.length;
        }
        return out;
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
                float t = rs.getFloat(12);
                Float override = rs.wasNull() ? null : t;
                float tf = rs.getFloat(15);
                Float target = rs.wasNull() ? null : tf;
                Calibration cal = Json.calibration(rs.getString(11));
                if (calibrator != null && (target == null || cal.method() == null || !target.equals(cal.targetFpr()))) {
                    // Stored before per-set targets: the server default applies, fitted from the stored shot scores.
                    cal = calibrator.retarget(cal, target == null ? calibrator.defaultTargetFpr() : target);
                }
                out.add(new PromptSet(
                        rs.getString(1),
                        rs.getString(2),
                        rs.getString(3),
                        rs.getString(4),
                        templateId == null ? TemplateSet.BUILT_IN_ID : templateId,
                        rs.getLong(6),
                        rs.getInt(7),
                        Precision.valueOf(rs.getString(8)),
                        rs.getString(9),
                        rs.getLong(10),
                        cal,
                        override,
                        Store.instant(rs.getTimestamp(13)),
                        Store.instant(rs.getTimestamp(14)),
                        Inspection.parse(rs.getString(16))));
            }
        }
        return out;
    }

    private static void setFloat(PreparedStatement ps, int i, Float v) throws SQLException {
        if (v == null) {
            ps.setNull(i, java.sql.Types.REAL);
        } else {
            ps.setFloat(i, v);
        }
    }
}
