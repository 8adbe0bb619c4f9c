-- Prompt sets belong to a model, not to a bundle: their encodings are stored per encoder (bundle id @ compute
-- precision, i.e. per model version) side by side, so versions of a model serve one set concurrently without touching
-- each other's features, calibration, threshold or version. A set's shots are kept as revisions (a set that grows gets
-- revision r+1; rolling back points the set at an older revision, whose encodings are still stored).
-- Portable SQL: H2 2.x (embedded default) and PostgreSQL 15.

-- The model a set is registered for (NULL = the server's default model, as for every set stored before models),
-- its current shot revision, and when a query last used it (background encoding takes recently used sets first).
ALTER TABLE prompt_sets ADD COLUMN model VARCHAR(128);
ALTER TABLE prompt_sets ADD COLUMN revision BIGINT DEFAULT 1 NOT NULL;
ALTER TABLE prompt_sets ADD COLUMN last_used_at TIMESTAMP WITH TIME ZONE;

-- The revisions of a set's shots: 1 at registration, one more per growth or removal; the set points at one (a roll
-- back points it at an older one). reason: created | shots-added | shots-removed.
CREATE TABLE prompt_set_revisions (
    prompt_set_id VARCHAR(40) NOT NULL REFERENCES prompt_sets (id) ON DELETE CASCADE,
    revision      BIGINT      NOT NULL,
    shot_count    INTEGER     NOT NULL,
    reason        VARCHAR(32) NOT NULL,
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (prompt_set_id, revision)
);
INSERT INTO prompt_set_revisions (prompt_set_id, revision, shot_count, reason, created_at)
    SELECT id, 1, shot_count, 'created', created_at FROM prompt_sets;

-- Which stored shots (prompt_set_shots.idx) make up each revision of a set.
CREATE TABLE prompt_set_revision_shots (
    prompt_set_id VARCHAR(40) NOT NULL REFERENCES prompt_sets (id) ON DELETE CASCADE,
    revision      BIGINT      NOT NULL,
    idx           INTEGER     NOT NULL,
    PRIMARY KEY (prompt_set_id, revision, idx)
);
INSERT INTO prompt_set_revision_shots (prompt_set_id, revision, idx)
    SELECT prompt_set_id, 1, idx FROM prompt_set_shots;

-- One encoding of one revision of a set by one encoder. state ENCODING = claimed by `owner` (a replica) until
-- `lease_until`; READY = features and calibration stored; FAILED = `error` says why (tried again after a while).
-- model/model_version name the version that produced it (NULL for encodings stored before models existed).
-- version increases on every change of this encoding (features, threshold override): the feature-cache key.
CREATE TABLE prompt_set_encodings (
    prompt_set_id      VARCHAR(40)     NOT NULL REFERENCES prompt_sets (id) ON DELETE CASCADE,
    revision           BIGINT          NOT NULL,
    encoder            VARCHAR(300)    NOT NULL,
    model              VARCHAR(128),
    model_version      BIGINT,
    bundle_id          VARCHAR(256)    NOT NULL,
    compute_precision  VARCHAR(8)      NOT NULL,
    state              VARCHAR(16)     NOT NULL,
    owner              VARCHAR(128),
    lease_until        TIMESTAMP WITH TIME ZONE,
    template_version   BIGINT          NOT NULL,
    calibration        VARCHAR(200000),
    threshold_override REAL,
    version            BIGINT          NOT NULL,
    error              VARCHAR(512),
    created_at         TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at         TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (prompt_set_id, revision, encoder)
);
INSERT INTO prompt_set_encodings (prompt_set_id, revision, encoder, model, model_version, bundle_id,
                                  compute_precision, state, owner, lease_until, template_version, calibration,
                                  threshold_override, version, error, created_at, updated_at)
    SELECT id, 1, bundle_id || '@fp32', NULL, NULL, bundle_id, 'fp32', 'READY', NULL, NULL, template_version,
           calibration, threshold_override, version, NULL, created_at, updated_at
    FROM prompt_sets;

-- Encoded features of one encoding: one row per tapped layer ('tokens') plus the adapted prototype ('prototype').
CREATE TABLE prompt_set_encoding_features (
    prompt_set_id VARCHAR(40)  NOT NULL,
    revision      BIGINT       NOT NULL,
    encoder       VARCHAR(300) NOT NULL,
    kind          VARCHAR(16)  NOT NULL,
    layer         INTEGER      NOT NULL,
    rows_count    INTEGER      NOT NULL,
    cols_count    INTEGER      NOT NULL,
    dtype         VARCHAR(8)   NOT NULL,
    data          BYTEA        NOT NULL,
    PRIMARY KEY (prompt_set_id, revision, encoder, kind, layer),
    CONSTRAINT prompt_set_encoding_features_encoding FOREIGN KEY (prompt_set_id, revision, encoder)
        REFERENCES prompt_set_encodings (prompt_set_id, revision, encoder) ON DELETE CASCADE
);
INSERT INTO prompt_set_encoding_features (prompt_set_id, revision, encoder, kind, layer, rows_count, cols_count,
                                          dtype, data)
    SELECT f.prompt_set_id, 1, p.bundle_id || '@fp32', f.kind, f.layer, f.rows_count, f.cols_count, f.dtype, f.data
    FROM prompt_set_features f JOIN prompt_sets p ON p.id = f.prompt_set_id;
DROP TABLE prompt_set_features;

-- Now per encoding.
ALTER TABLE prompt_sets DROP COLUMN calibration;
ALTER TABLE prompt_sets DROP COLUMN threshold_override;
ALTER TABLE prompt_sets DROP COLUMN bundle_id;
ALTER TABLE prompt_sets DROP COLUMN template_version;

-- Audit entries name what a system action did beyond its target (e.g. which model version encoded a set).
ALTER TABLE audit_log ADD COLUMN detail VARCHAR(256);

-- Roll-out state per model, shared by the replicas: which version serves requests that name no version, which one
-- takes a canary share, which one scores a shadow sample. 0 = none.
CREATE TABLE model_rollouts (
    model            VARCHAR(128) PRIMARY KEY,
    serving_version  BIGINT       NOT NULL,
    previous_version BIGINT       NOT NULL,
    canary_version   BIGINT       NOT NULL,
    canary_percent   REAL         NOT NULL,
    shadow_version   BIGINT       NOT NULL,
    shadow_percent   REAL         NOT NULL,
    updated_at       TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Shadow scores: a sampled request scored by the version that answered it (baseline) and by the shadow version
-- (candidate), for the per-set comparison report. Bounded per set and version pair by the server.
CREATE TABLE shadow_results (
    id                BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    prompt_set_id     VARCHAR(40)  NOT NULL REFERENCES prompt_sets (id) ON DELETE CASCADE,
    model             VARCHAR(128) NOT NULL,
    baseline_version  BIGINT       NOT NULL,
    candidate_version BIGINT       NOT NULL,
    baseline_score    REAL         NOT NULL,
    candidate_score   REAL         NOT NULL,
    recorded_at       TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX shadow_results_set ON shadow_results (prompt_set_id, model, baseline_version, candidate_version);
