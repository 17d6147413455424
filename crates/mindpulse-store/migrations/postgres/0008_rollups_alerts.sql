-- mindpulse schema v8 (PostgreSQL): rollups and alerts (see sqlite/0008_rollups_alerts.sql).
CREATE TABLE rollups (
    scorer_id  BIGINT NOT NULL,
    dimension  VARCHAR(64) NOT NULL,
    grp_kind   VARCHAR(8) NOT NULL,
    grp        TEXT,
    slot       BIGINT NOT NULL,
    platform   TEXT NOT NULL,
    lang       TEXT,
    dup        SMALLINT NOT NULL,
    n          BIGINT NOT NULL,
    flagged    BIGINT NOT NULL,
    sum_p      DOUBLE PRECISION NOT NULL,
    sum_p2     DOUBLE PRECISION NOT NULL
);
CREATE INDEX rollups_metric_slot ON rollups (scorer_id, dimension, grp_kind, slot);
CREATE INDEX rollups_slot ON rollups (slot);

CREATE TABLE rollup_state (
    id       INTEGER PRIMARY KEY,
    built    SMALLINT NOT NULL,
    version  BIGINT NOT NULL
);
INSERT INTO rollup_state (id, built, version)
SELECT 1, CASE WHEN EXISTS (SELECT 1 FROM posts) THEN 0 ELSE 1 END, 0;

CREATE TABLE alerts (
    id            BIGSERIAL PRIMARY KEY,
    key_hash      VARCHAR(64) NOT NULL UNIQUE,
    rule          VARCHAR(128) NOT NULL,
    metric        VARCHAR(64) NOT NULL,
    group_by      VARCHAR(16),
    grp           TEXT,
    bucket_by     VARCHAR(8) NOT NULL,
    zone          VARCHAR(64) NOT NULL,
    first_bucket  VARCHAR(40) NOT NULL,
    last_bucket   VARCHAR(40) NOT NULL,
    peak_bucket   VARCHAR(40) NOT NULL,
    level         VARCHAR(8) NOT NULL,
    detector      VARCHAR(32) NOT NULL,
    params        TEXT NOT NULL,
    observed      DOUBLE PRECISION NOT NULL,
    expected      DOUBLE PRECISION,
    score         DOUBLE PRECISION,
    p_value       DOUBLE PRECISION,
    evidence      TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX alerts_first_bucket ON alerts (first_bucket);

CREATE TABLE alert_reviews (
    id        BIGSERIAL PRIMARY KEY,
    alert_id  BIGINT NOT NULL REFERENCES alerts(id),
    status    VARCHAR(16) NOT NULL,
    note      TEXT,
    reviewer  VARCHAR(128) NOT NULL,
    at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX alert_reviews_alert ON alert_reviews (alert_id, id);

CREATE TABLE notifications (
    id          BIGSERIAL PRIMARY KEY,
    alert_id    BIGINT NOT NULL REFERENCES alerts(id),
    hook        VARCHAR(128) NOT NULL,
    event       VARCHAR(16) NOT NULL,
    status      VARCHAR(16) NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    sent_at     TIMESTAMPTZ,
    UNIQUE (alert_id, hook, event)
);
CREATE INDEX notifications_status ON notifications (status);
