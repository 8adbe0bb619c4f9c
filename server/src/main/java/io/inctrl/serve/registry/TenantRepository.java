package io.inctrl.serve.registry;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Tenants and their API keys (hashes only). Stateless: every method takes the transaction's connection. */
public class TenantRepository {

    private static final String TENANT_COLS =
            "id, name, max_prompt_sets, max_shots_per_set, requests_per_second, created_at";

    public void insert(Connection c, Tenant t) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement("INSERT INTO tenants (" + TENANT_COLS + ") VALUES (?,?,?,?,?,?)")) {
            ps.setString(1, t.id());
            ps.setString(2, t.name());
            ps.setInt(3, t.quotas().maxPromptSets());
            ps.setInt(4, t.quotas().maxShotsPerSet());
            ps.setFloat(5, (float) t.quotas().requestsPerSecond());
            ps.setTimestamp(6, Store.ts(t.createdAt()));
            ps.executeUpdate();
        }
    }

    public Optional<Tenant> find(Connection c, String id) throws SQLException {
        List<Tenant> l = query(c, "SELECT " + TENANT_COLS + " FROM tenants WHERE id = ?", id);
        return l.stream().findFirst();
    }

    public Optional<Tenant> findByName(Connection c, String name) throws SQLException {
        return query(c, "SELECT " + TENANT_COLS + " FROM tenants WHERE name = ?", name).stream()
                .findFirst();
    }

    public List<Tenant> list(Connection c) throws SQLException {
        return query(c, "SELECT " + TENANT_COLS + " FROM tenants ORDER BY created_at, id");
    }

    public boolean updateQuotas(Connection c, String id, Quotas q) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE tenants SET max_prompt_sets = ?, max_shots_per_set = ?, requests_per_second = ? WHERE id = ?")) {
            ps.setInt(1, q.maxPromptSets());
            ps.setInt(2, q.maxShotsPerSet());
            ps.setFloat(3, (float) q.requestsPerSecond());
            ps.setString(4, id);
            return ps.executeUpdate() == 1;
        }
    }

    public boolean delete(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM tenants WHERE id = ?")) {
            ps.setString(1, id);
            return ps.executeUpdate() == 1;
        }
    }

    public void insertKey(Connection c, ApiKeyInfo k, String hash) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO api_keys (id, tenant_id, key_hash, key_prefix, created_at, revoked_at) VALUES (?,?,?,?,?,?)")) {
            ps.setString(1, k.id());
            ps.setString(2, k.tenantId());
            ps.setString(3, hash);
            ps.setString(4, k.prefix());
            ps.setTimestamp(5, Store.ts(k.createdAt()));
            ps.setTimestamp(6, Store.ts(k.revokedAt()));
            ps.executeUpdate();
        }
    }

    /** Tenant id of an active (unrevoked) key with this hash. */
    public Optional<String> tenantOfKey(Connection c, String hash) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement("SELECT tenant_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL")) {
            ps.setString(1, hash);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        }
    }

    /** The active (unrevoked) key with this hash: its id names the caller in the audit log. */
    public Optional<ApiKeyInfo> activeKey(Connection c, String hash) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT id, tenant_id, key_prefix, created_at, revoked_at"
                + " FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL")) {
            ps.setString(1, hash);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next()
                        ? Optional.of(new ApiKeyInfo(
                                rs.getString(1),
                                rs.getString(2),
                                rs.getString(3),
                                Store.instant(rs.getTimestamp(4)),
                                Store.instant(rs.getTimestamp(5))))
                        : Optional.empty();
            }
        }
    }

    public List<ApiKeyInfo> keys(Connection c, String tenantId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT id, tenant_id, key_prefix, created_at, revoked_at FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id")) {
            ps.setString(1, tenantId);
            List<ApiKeyInfo> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new ApiKeyInfo(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getString(3),
                            Store.instant(rs.getTimestamp(4)),
                            Store.instant(rs.getTimestamp(5))));
                }
            }
            return out;
        }
    }

    /** Revokes a key of this tenant; false when no such active key (including another tenant's). */
    public boolean revokeKey(Connection c, String tenantId, String keyId, java.time.Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL")) {
            ps.setTimestamp(1, Store.ts(now));
            ps.setString(2, keyId);
            ps.setString(3, tenantId);
            return ps.executeUpdate() == 1;
        }
    }

    private List<Tenant> query(Connection c, String sql, String... args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setString(i + 1, args[i]);
            }
            List<Tenant> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Tenant(
                            rs.getString(1),
                            rs.getString(2),
                            new Quotas(rs.getInt(3), rs.getInt(4), rs.getFloat(5)),
                            Store.instant(rs.getTimestamp(6))));
                }
            }
            return out;
        }
    }
}
