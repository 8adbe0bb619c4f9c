-- PostgreSQL only (migrated by the pg datasource alone, see quarkus.flyway.pg.locations): per-tenant request-rate
-- buckets shared by all replicas. Layout required by Bucket4j's PostgreSQL proxy manager (SharedRateLimiter);
-- id = tenant id + "@" + rate, state = Bucket4j's serialized bucket, expires_at = epoch millis when it is full again.
CREATE TABLE rate_limit_buckets (
    id         VARCHAR(128) PRIMARY KEY,
    state      BYTEA,
    expires_at BIGINT
);
