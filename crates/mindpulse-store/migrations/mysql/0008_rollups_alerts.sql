-- mindpulse schema v8 (MySQL/MariaDB): rollups and alerts (see sqlite/0008_rollups_alerts.sql).
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
    sum_p      DOUBLE NOT NULL,
    sum_p2     DOUBLE NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
CREATE INDEX rollups_metric_slot ON rollups (scorer_id, dimension, grp_kind, slot);
CREATE INDEX rollups_slot ON rollups (slot);

CREATE TABLE rollup_state (
    id       INTEGER PRIMARY KEY,
    built    SMALLINT NOT NULL,
    version  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO rollup_state (id, built, version)
SELECT 1, CASE WHEN EXISTS (SELECT 1 FROM posts) THEN 0 ELSE 1 END, 0;

CREATE TABLE alerts (
    id            BIGINT AUTO_INCREMENT PRIMARY KEY,
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
    observed      DOUBLE NOT NULL,
    expected      DOUBLE,
    score         DOUBLE,
    p_value       DOUBLE,
    evidence      TEXT NOT NULL,
    created_at    DATETIME(6) NOT NULL,
    updated_at    DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
CREATE INDEX alerts_first_bucket ON alerts (first_bucket);

CREATE TABLE alert_reviews (
    id        BIGINT AUTO_INCREMENT PRIMARY KEY,
    alert_id  BIGINT NOT NULL REFERENCES alerts(id),
    status    VARCHAR(16) NOT NULL,
    note      TEXT,
    reviewer  VARCHAR(128) NOT NULL,
    at        DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
CREATE INDEX alert_reviews_alert ON alert_reviews (alert_id, id);

CREATE TABLE notifications (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    alert_id    BIGINT NOT NULL REFERENCES alerts(id),
    hook        VARCHAR(128) NOT NULL,
    event       VARCHAR(16) NOT NULL,
    status      VARCHAR(16) NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  DATETIME(6) NOT NULL,
    sent_at     DATETIME(6),
    UNIQUE (alert_id, hook, event)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
CREATE INDEX notifications_status ON notifications (status);
