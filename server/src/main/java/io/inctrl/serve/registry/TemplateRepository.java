package io.inctrl.serve.registry;

import io.inctrl.serve.text.PromptTemplates;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Template sets. Every query filters by tenant, so another tenant's set reads exactly like a missing one. */
public class TemplateRepository {

    private static final String COLS =
            "id, tenant_id, name, normal_states, anomalous_states, templates, version, created_at, updated_at";

    public void insert(Connection c, TemplateSet t) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement("INSERT INTO template_sets (" + COLS + ") VALUES (?,?,?,?,?,?,?,?,?)")) {
            ps.setString(1, t.id());
            ps.setString(2, t.tenantId());
            ps.setString(3, t.name());
            ps.setString(4, Json.write(t.templates().normalStates()));
            ps.setString(5, Json.write(t.templates().anomalousStates()));
            ps.setString(6, Json.write(t.templates().templates()));
            ps.setLong(7, t.version());
            ps.setTimestamp(8, Store.ts(t.createdAt()));
            ps.setTimestamp(9, Store.ts(t.updatedAt()));
            ps.executeUpdate();
        }
    }

    /** Replaces name and lists; the caller passes the bumped version. */
    public boolean update(Connection c, TemplateSet t) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE template_sets SET name = ?, normal_states = ?, "
                + "anomalous_states = ?, templates = ?, version = ?, updated_at = ? WHERE id = ? AND tenant_id = ?")) {
            ps.setString(1, t.name());
            ps.setString(2, Json.write(t.templates().normalStates()));
            ps.setString(3, Json.write(t.templates().anomalousStates()));
            ps.setString(4, Json.write(t.templates().templates()));
            ps.setLong(5, t.version());
            ps.setTimestamp(6, Store.ts(t.updatedAt()));
            ps.setString(7, t.id());
            ps.setString(8, t.tenantId());
            return ps.executeUpdate() == 1;
        }
    }

    public Optional<TemplateSet> find(Connection c, String tenantId, String id) throws SQLException {
        return query(c, "SELECT " + COLS + " FROM template_sets WHERE tenant_id = ? AND id = ?", tenantId, id).stream()
                .findFirst();
    }

    public boolean nameTaken(Connection c, String tenantId, String name, String exceptId) throws SQLException {
        return query(c, "SELECT " + COLS + " FROM template_sets WHERE tenant_id = ? AND name = ?", tenantId, name)
                .stream()
                .anyMatch(t -> !t.id().equals(exceptId));
    }

    public List<TemplateSet> list(Connection c, String tenantId) throws SQLException {
        return query(c, "SELECT " + COLS + " FROM template_sets WHERE tenant_id = ? ORDER BY created_at, id", tenantId);
    }

    public boolean delete(Connection c, String tenantId, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM template_sets WHERE tenant_id = ? AND id = ?")) {
            ps.setString(1, tenantId);
            ps.setString(2, id);
            return ps.executeUpdate() == 1;
        }
    }

    public int usageCount(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM prompt_sets WHERE template_id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private List<TemplateSet> query(Connection c, String sql, String... args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setString(i + 1, args[i]);
            }
            List<TemplateSet> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    PromptTemplates pt = new PromptTemplates(
                            Json.strings(rs.getString(4)),
                            Json.strings(rs.getString(5)),
                            Json.strings(rs.getString(6)));
                    out.add(new TemplateSet(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getString(3),
                            pt,
                            rs.getLong(7),
                            Store.instant(rs.getTimestamp(8)),
                            Store.instant(rs.getTimestamp(9))));
                }
            }
            return out;
        }
    }
}
