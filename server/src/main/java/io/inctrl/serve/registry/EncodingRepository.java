package io.inctrl.serve.registry;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Encodings of prompt sets per encoder, their features, and the claims that let a fleet of replicas encode each one
 * once: a claim is a row in state ENCODING owned by one replica until its lease ends. Every write that completes or
 * changes a claimed row checks the owner, so a replica that lost its claim (lease expired, another took over) writes
 * nothing.
 */
public class EncodingRepository {

    private static final String COLS = "prompt_set_id, revision, encoder, model, model_version, bundle_id, "
            + "compute_precision, state, owner, lease_until, template_version, calibration, threshold_override, "
            + "version, error, created_at, updated_at";

    /** Who encodes: the identity of an encoder plus the model version that computes it. */
    public record Encoder(String encoder, String model, long modelVersion, String bundleId, String computePrecision) {}

    /** Encodings of one revision of a set, every state. */
    public List<Encoding> list(Connection c, String setId, long revision) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COLS
                + " FROM prompt_set_encodings WHERE prompt_set_id = ? AND revision = ? ORDER BY created_at, encoder")) {
            ps.setString(1, setId);
            ps.setLong(2, revision);
            return read(ps);
        }
    }

    public Optional<Encoding> find(Connection c, String setId, long revision, String encoder) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COLS
                + " FROM prompt_set_encodings WHERE prompt_set_id = ? AND revision = ? AND encoder = ?")) {
            ps.setString(1, setId);
            ps.setLong(2, revision);
            ps.setString(3, encoder);
            return read(ps).stream().findFirst();
        }
    }

    /** A new row claimed by {@code owner}; fails with a unique violation when another replica inserted it first. */
    public void insertClaim(
            Connection c, String setId, long revision, Encoder e, String owner, Instant leaseUntil, Instant now)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO prompt_set_encodings (" + COLS
                + ") VALUES (?,?,?,?,?,?,?,'ENCODING',?,?,0,NULL,NULL,0,NULL,?,?)")) {
            ps.setString(1, setId);
            ps.setLong(2, revision);
            ps.setString(3, e.encoder());
            ps.setString(4, e.model());
            ps.setLong(5, e.modelVersion());
            ps.setString(6, e.bundleId());
            ps.setString(7, e.computePrecision());
            ps.setString(8, owner);
            ps.setTimestamp(9, Store.ts(leaseUntil));
            ps.setTimestamp(10, Store.ts(now));
            ps.setTimestamp(11, Store.ts(now));
            ps.executeUpdate();
        }
    }

    /**
     * Takes over {@code seen} (an expired claim, or a failure old enough to try again) if nobody changed it since it
     * was read; true when this replica now holds it.
     */
    public boolean takeOver(Connection c, Encoding seen, Encoder e, String owner, Instant leaseUntil, Instant now)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE prompt_set_encodings SET state = 'ENCODING', owner = ?, "
                + "lease_until = ?, model = ?, model_version = ?, updated_at = ?, error = NULL "
                + "WHERE prompt_set_id = ? AND revision = ? AND encoder = ? AND state = ? AND updated_at = ?")) {
            ps.setString(1, owner);
            ps.setTimestamp(2, Store.ts(leaseUntil));
            ps.setString(3, e.model());
            ps.setLong(4, e.modelVersion());
            ps.setTimestamp(5, Store.ts(now));
            ps.setString(6, seen.promptSetId());
            ps.setLong(7, seen.revision());
            ps.setString(8, seen.encoder());
            ps.setString(9, seen.state().name());
            ps.setTimestamp(10, Store.ts(seen.updatedAt()));
            return ps.executeUpdate() == 1;
        }
    }

    /** Extends a claim this replica holds; false when it no longer holds it. */
    public boolean renew(Connection c, String setId, long revision, String encoder, String owner, Instant leaseUntil)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE prompt_set_encodings SET lease_until = ? "
                + "WHERE prompt_set_id = ? AND revision = ? AND encoder = ? AND state = 'ENCODING' AND owner = ?")) {
            ps.setTimestamp(1, Store.ts(leaseUntil));
            ps.setString(2, setId);
            ps.setLong(3, revision);
            ps.setString(4, encoder);
            ps.setString(5, owner);
            return ps.executeUpdate() == 1;
        }
    }

    /**
     * Completes a claim: READY with its calibration, version + 1. False (nothing written) when this replica no longer
     * holds the claim; the caller then must not write features either.
     */
    public boolean complete(
            Connection c,
            String setId,
            long revision,
            String encoder,
            String owner,
            long templateVersion,
            Calibration calibration,
            Instant now)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE prompt_set_encodings SET state = 'READY', owner = NULL, "
                + "lease_until = NULL, template_version = ?, calibration = ?, version = version + 1, error = NULL, "
                + "updated_at = ? WHERE prompt_set_id = ? AND revision = ? AND encoder = ? AND state = 'ENCODING' "
                + "AND owner = ?")) {
            ps.setLong(1, templateVersion);
            ps.setString(2, Json.write(calibration));
            ps.setTimestamp(3, Store.ts(now));
            ps.setString(4, setId);
            ps.setLong(5, revision);
            ps.setString(6, encoder);
            ps.setString(7, owner);
            return ps.executeUpdate() == 1;
        }
    }

    /** Records a failed claim (the error is a short message for operators, never SQL or a stack trace). */
    public void fail(Connection c, String setId, long revision, String encoder, String owner, String error, Instant now)
            throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement("UPDATE prompt_set_encodings SET state = 'FAILED', owner = NULL, "
                        + "lease_until = NULL, error = ?, updated_at = ? WHERE prompt_set_id = ? AND revision = ? "
                        + "AND encoder = ? AND state = 'ENCODING' AND owner = ?")) {
            ps.setString(1, error.length() > 500 ? error.substring(0, 500) : error);
            ps.setTimestamp(2, Store.ts(now));
            ps.setString(3, setId);
            ps.setLong(4, revision);
            ps.setString(5, encoder);
            ps.setString(6, owner);
            ps.executeUpdate();
        }
    }

    /**
     * Writes a fresh encoding of a READY row in place (an explicit re-encode): features are replaced by the caller in
     * the same transaction; version + 1. False when the row does not exist.
     */
    public boolean replaceReady(
            Connection c, String setId, long revision, Encoder e, long templateVersion, Calibration cal, Instant now)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE prompt_set_encodings SET model = ?, model_version = ?, "
                + "template_version = ?, calibration = ?, version = version + 1, updated_at = ?, state = 'READY', "
                + "owner = NULL, lease_until = NULL, error = NULL "
                + "WHERE prompt_set_id = ? AND revision = ? AND encoder = ?")) {
            ps.setString(1, e.model());
            ps.setLong(2, e.modelVersion());
            ps.setLong(3, templateVersion);
            ps.setString(4, Json.write(cal));
            ps.setTimestamp(5, Store.ts(now));
            ps.setString(6, setId);
            ps.setLong(7, revision);
            ps.setString(8, e.encoder());
            return ps.executeUpdate() == 1;
        }
    }

    /** A READY encoding written in one go (registration, where nobody else can know the set yet). */
    public void insertReady(
            Connection c, String setId, long revision, Encoder e, long templateVersion, Calibration cal, Instant now)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO prompt_set_encodings (" + COLS
                + ") VALUES (?,?,?,?,?,?,?,'READY',NULL,NULL,?,?,NULL,1,NULL,?,?)")) {
            ps.setString(1, setId);
            ps.setLong(2, revision);
            ps.setString(3, e.encoder());
            ps.setString(4, e.model());
            ps.setLong(5, e.modelVersion());
            ps.setString(6, e.bundleId());
            ps.setString(7, e.computePrecision());
            ps.setLong(8, templateVersion);
            ps.setString(9, Json.write(cal));
            ps.setTimestamp(10, Store.ts(now));
            ps.setTimestamp(11, Store.ts(now));
            ps.executeUpdate();
        }
    }

    /** Sets or clears the threshold override of one READY encoding; version + 1. */
    public boolean updateThreshold(
            Connection c, String setId, long revision, String encoder, Float threshold, Instant now)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE prompt_set_encodings SET threshold_override = ?, "
                + "version = version + 1, updated_at = ? WHERE prompt_set_id = ? AND revision = ? AND encoder = ? "
                + "AND state = 'READY'")) {
            PromptSetRepository.setFloat(ps, 1, threshold);
            ps.setTimestamp(2, Store.ts(now));
            ps.setString(3, setId);
            ps.setLong(4, revision);
            ps.setString(5, encoder);
            return ps.executeUpdate() == 1;
        }
    }

    /** Stores a calibration refitted for another target (no re-encoding; shot scores unchanged). */
    public void updateCalibration(Connection c, String setId, long revision, String encoder, Calibration cal)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE prompt_set_encodings SET calibration = ? "
                + "WHERE prompt_set_id = ? AND revision = ? AND encoder = ?")) {
            ps.setString(1, Json.write(cal));
            ps.setString(2, setId);
            ps.setLong(3, revision);
            ps.setString(4, encoder);
            ps.executeUpdate();
        }
    }

    public void replaceFeatures(
            Connection c, String setId, long revision, String encoder, List<FeatureCodec.Part> parts)
            throws SQLException {
        try (PreparedStatement del = c.prepareStatement("DELETE FROM prompt_set_encoding_features "
                + "WHERE prompt_set_id = ? AND revision = ? AND encoder = ?")) {
            del.setString(1, setId);
            del.setLong(2, revision);
            del.setString(3, encoder);
            del.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO prompt_set_encoding_features (prompt_set_id, "
                + "revision, encoder, kind, layer, rows_count, cols_count, dtype, data) VALUES (?,?,?,?,?,?,?,?,?)")) {
            for (FeatureCodec.Part p : parts) {
                ps.setString(1, setId);
                ps.setLong(2, revision);
                ps.setString(3, encoder);
                ps.setString(4, p.kind());
                ps.setInt(5, p.layer());
                ps.setInt(6, p.rows());
                ps.setInt(7, p.cols());
                ps.setString(8, p.dtype().name());
                ps.setBytes(9, p.data());
                ps.executeUpdate();
            }
        }
    }

    public List<FeatureCodec.Part> features(Connection c, String setId, long revision, String encoder)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT kind, layer, rows_count, cols_count, dtype, data "
                + "FROM prompt_set_encoding_features WHERE prompt_set_id = ? AND revision = ? AND encoder = ?")) {
            ps.setString(1, setId);
            ps.setLong(2, revision);
            ps.setString(3, encoder);
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

    /** Bytes of every stored feature blob of one set (all revisions and encoders). */
    public long featureBytes(Connection c, String setId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT COALESCE(SUM(OCTET_LENGTH(data)), 0) FROM prompt_set_encoding_features WHERE prompt_set_id = ?")) {
            ps.setString(1, setId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static List<Encoding> read(PreparedStatement ps) throws SQLException {
        List<Encoding> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                float t = rs.getFloat(13);
                Float override = rs.wasNull() ? null : t;
                String cal = rs.getString(12);
                out.add(new Encoding(
                        rs.getString(1),
                        rs.getLong(2),
                        rs.getString(3),
                        rs.getString(4),
                        rs.getLong(5),
                        rs.getString(6),
                        rs.getString(7),
                        Encoding.State.valueOf(rs.getString(8)),
                        rs.getString(9),
                        Store.instant(rs.getTimestamp(10)),
                        rs.getLong(11),
                        cal == null ? null : Json.calibration(cal),
                        override,
                        rs.getLong(14),
                        rs.getString(15),
                        Store.instant(rs.getTimestamp(16)),
                        Store.instant(rs.getTimestamp(17))));
            }
        }
        return out;
    }
}
