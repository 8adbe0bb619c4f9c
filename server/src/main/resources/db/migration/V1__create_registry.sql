-- Prompt registry schema. Portable SQL: runs unchanged on H2 2.x (embedded default) and PostgreSQL 15.
-- BYTEA is native on PostgreSQL and an alias of VARBINARY on H2, so no per-vendor scripts are needed.

CREATE TABLE tenants (
    id                  VARCHAR(40)  PRIMARY KEY,
    name                VARCHAR(128) NOT NULL UNIQUE,
    max_prompt_sets     INTEGER      NOT NULL,
    max_shots_per_set   INTEGER      NOT NULL,
    requests_per_second REAL         NOT NULL,
    created_at          TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Only the SHA-256 of a key is stored; key_prefix lets operators recognise a key without revealing it.
CREATE TABLE api_keys (
    id          VARCHAR(40) PRIMARY KEY,
    tenant_id   VARCHAR(40) NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key_hash    VARCHAR(64) NOT NULL UNIQUE,
    key_prefix  VARCHAR(16) NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    revoked_at  TIMESTAMP WITH TIME ZONE
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

-- Lists are stored as JSON arrays of strings.
CREATE TABLE template_sets (
    id               VARCHAR(40)     PRIMARY KEY,
    tenant_id        VARCHAR(40)     NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name             VARCHAR(128)    NOT NULL,
    normal_states    VARCHAR(200000) NOT NULL,
    anomalous_states VARCHAR(200000) NOT NULL,
    templates        VARCHAR(200000) NOT NULL,
    version          BIGINT          NOT NULL,
    created_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT template_sets_name UNIQUE (tenant_id, name)
);

CREATE TABLE prompt_sets (
    id                 VARCHAR(40)     PRIMARY KEY,
    tenant_id          VARCHAR(40)     NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name               VARCHAR(128)    NOT NULL,
    category           VARCHAR(128)    NOT NULL,
    template_id        VARCHAR(40)     REFERENCES template_sets (id),
    template_version   BIGINT          NOT NULL,
    shot_count         INTEGER         NOT NULL,
    feature_precision  VARCHAR(8)      NOT NULL,
    bundle_id          VARCHAR(256)    NOT NULL,
    version            BIGINT          NOT NULL,
    calibration        VARCHAR(200000) NOT NULL,
    threshold_override REAL,
    created_at         TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at         TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT prompt_sets_name UNIQUE (tenant_id, name)
);
CREATE INDEX prompt_sets_tenant ON prompt_sets (tenant_id);

-- The original shot images, kept for re-encoding with another bundle and for display.
CREATE TABLE prompt_set_shots (
    prompt_set_id VARCHAR(40) NOT NULL REFERENCES prompt_sets (id) ON DELETE CASCADE,
    idx           INTEGER     NOT NULL,
    image         BYTEA       NOT NULL,
    PRIMARY KEY (prompt_set_id, idx)
);

-- Encoded features: one row per tapped layer (kind 'tokens', [rows = 225*K, cols = C] unit-norm) plus the
-- adapted prototype (kind 'prototype', [1, embed]); little-endian fp32 or fp16 as named by dtype.
CREATE TABLE prompt_set_features (
    prompt_set_id VARCHAR(40) NOT NULL REFERENCES prompt_sets (id) ON DELETE CASCADE,
    kind          VARCHAR(16) NOT NULL,
    layer         INTEGER     NOT NULL,
    rows_count    INTEGER     NOT NULL,
    cols_count    INTEGER     NOT NULL,
    dtype         VARCHAR(8)  NOT NULL,
    data          BYTEA       NOT NULL,
    PRIMARY KEY (prompt_set_id, kind, layer)
);
