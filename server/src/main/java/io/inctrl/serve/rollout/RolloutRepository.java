package io.inctrl.serve.rollout;

import io.inctrl.serve.models.Rollout;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The model_rollouts and shadow_results tables. Stateless: every method takes the transaction's connection. */
class RolloutRepository {

    Optional<Rollout> find(Connection c, String model) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT serving_version, previous_version, canary_version, "
                + "canary_percent, shadow_version, shadow_percent FROM model_rollouts WHERE model = ?")) {
            ps.setString(1, model);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new Rollout(
                        rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getFloat(4), rs.getLong(5), rs.getFloat(6)));
            }
        }
    }

    void upsert(Connection c, String model, Rollout r, Instant now) throws SQLException {
        try (PreparedStatement up = c.prepareStatement("UPDATE model_rollouts SET serving_version = ?, "
                + "previous_version = ?, canary_version = ?, canary_percent = ?, shadow_version = ?, shadow_percent = ?, "
                + "updated_at = ? WHERE model = ?")) {
            bind(up, r, now);
            up.setString(8, model);
            if (up.executeUpdate() == 1) {
                return;
            }
        }
        try (PreparedStatement ins = c.prepareStatement("INSERT INTO model_rollouts (serving_version, "
                + "previous_version, canary_version, canary_percent, shadow_version, shadow_percent, updated_at, model) "
                + "VALUES (?,?,?,?,?,?,?,?)")) {
            bind(ins, r, now);
            ins.setString(8, model);
            ins.executeUpdate();
        }
    }

    private static void bind(PreparedStatement ps, Rollout r, Instant now) throws SQLException {
        ps.setLong(1, r.servingVersion());
        ps.setLong(2, r.previousVersion());
        ps.setLong(3, r.canaryVersion());
        ps.setFloat(4, (float) r.canaryPercent());
        ps.setLong(5, r.shadowVersion());
        ps.setFloat(6, (float) r.shadowPercent());
        ps.setTimestamp(7, Timestamp.from(now));
    }

    /** One shadow sample. */
    record ShadowRow(
            String setId,
            String model,
            long baseline,
            long candidate,
            float baselineScore,
            float candidateScore,
            Instant at) {}

    void insertShadow(Connection c, List<ShadowRow> rows) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO shadow_results (prompt_set_id, model, "
                + "baseline_version, candidate_version, baseline_score, candidate_score, recorded_at) "
                + "SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM prompt_sets WHERE id = ?)")) {
            for (ShadowRow r : rows) {
                ps.setString(1, r.setId());
                ps.setString(2, r.model());
                ps.setLong(3, r.baseline());
                ps.setLong(4, r.candidate());
                ps.setFloat(5, r.baselineScore());
                ps.setFloat(6, r.candidateScore());
                ps.setTimestamp(7, Timestamp.from(r.at()));
                ps.setString(8, r.setId());
                ps.executeUpdate();
            }
        }
    }

    /** Keeps the newest {@code keep} samples of one set and version pair. */
    void trimShadow(Connection c, String setId, String model, long baseline, long candidate, int keep)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM shadow_results WHERE prompt_set_id = ? "
                + "AND model = ? AND baseline_version = ? AND candidate_version = ? AND id < (SELECT COALESCE(MIN(id), 0) "
                + "FROM (SELECT id FROM shadow_results WHERE prompt_set_id = ? AND model = ? AND baseline_version = ? "
                + "AND candidate_version = ? ORDER BY id DESC LIMIT ?) newest)")) {
            for (int k = 0; k < 2; k++) {
                ps.setString(1 + 4 * k, setId);
                ps.setString(2 + 4 * k, model);
                ps.setLong(3 + 4 * k, baseline);
                ps.setLong(4 + 4 * k, candidate);
            }
            ps.setInt(9, keep);
            ps.executeUpdate();
        }
    }

    /** [baseline score, candidate score] pairs of one set and version pair, newest first. */
    List<float[]> shadowPairs(Connection c, String setId, String model, long baseline, long candidate, int limit)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT baseline_score, candidate_score FROM shadow_results "
                + "WHERE prompt_set_id = ? AND model = ? AND baseline_version = ? AND candidate_version = ? "
                + "ORDER BY id DESC LIMIT ?")) {
            ps.setString(1, setId);
            ps.setString(2, model);
            ps.setLong(3, baseline);
            ps.setLong(4, candidate);
            ps.setInt(5, limit);
            List<float[]> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new float[] {rs.getFloat(1), rs.getFloat(2)});
                }
            }
            return out;
        }
    }
}
