-- mindpulse schema v8: rollups and alerts.
-- * `rollups`: posts counted per UTC hour (`slot`, hours since 1970-01-01T00:00Z) × metric
--   (`scorer_id` 0 and `dimension` '' for volume; else one scorer's scores on one dimension)
--   × group kind (`none`; `region` with the region in `grp`; `topic` with the keyword in
--   `grp`) × platform × language × duplicate or not, with what the corrected estimators need:
--   posts, flagged posts, sums of probabilities and of their squares. No unique key: rows are
--   written only by the grouped statements of a refresh, which first deletes its hours.
-- * `rollup_state`: one row. `built` = 1 when the rollups are current (a database that had
--   posts before this version gets them with `mindpulse rollups rebuild`); `version` counts
--   refreshes (its row lock serializes refreshers on the server backends).
-- * `alerts`: one row per episode (consecutive alerting buckets of one series), keyed by a
--   hash of rule, metric, group and first bucket, so re-scanning the same data adds nothing.
-- * `alert_reviews`: every review action (status, note, reviewer, time); an alert's status is
--   its latest action's, `new` without one. Nothing is overwritten.
-- * `notifications`: the webhook outbox; undelivered rows are retried on the next scan.
CREATE TABLE rollups (
    scorer_id  INTEGER NOT NULL,
    dimension  TEXT NOT NULL,
    grp_kind   TEXT NOT NULL,
    grp        TEXT,
    slot       INTEGER NOT NULL,
    platform   TEXT NOT NULL,
    lang       TEXT,
    dup        INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    flagged    INTEGER NOT NULL,
    sum_p      REAL NOT NULL,
    sum_p2     REAL NOT NULL
);
CREATE INDEX rollups_metric_slot ON rollups (scorer_id, dimension, grp_kind, slot);
CREATE INDEX rollups_slot ON rollups (slot);

CREATE TABLE rollup_state (
    id       INTEGER PRIMARY KEY,
    built    INTEGER NOT NULL,
    version  INTEGER NOT NULL
);
INSERT INTO rollup_state (id, built, version)
SELECT 1, CASE WHEN EXISTS (SELECT 1 FROM posts) THEN 0 ELSE 1 END, 0;

CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key_hash      TEXT NOT NULL UNIQUE,
    rule          TEXT NOT NULL,
    metric        TEXT NOT NULL,
    group_by      TEXT,
    grp           TEXT,
    bucket_by     TEXT NOT NULL,
    zone          TEXT NOT NULL,
    first_bucket  TEXT NOT NULL,
    last_bucket   TEXT NOT NULL,
    peak_bucket   TEXT NOT NULL,
    level         TEXT NOT NULL,
    detector      TEXT NOT NULL,
    params        TEXT NOT NULL,
    observed      REAL NOT NULL,
    expected      REAL,
    score         REAL,
    p_value       REAL,
    evidence      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX alerts_first_bucket ON alerts (first_bucket);

CREATE TABLE alert_reviews (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id  INTEGER NOT NULL REFERENCES alerts(id),
    status    TEXT NOT NULL,
    note      TEXT,
    reviewer  TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX alert_reviews_alert ON alert_reviews (alert_id, id);

CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id    INTEGER NOT NULL REFERENCES alerts(id),
    hook        TEXT NOT NULL,
    event       TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    UNIQUE (alert_id, hook, event)
);
CREATE INDEX notifications_status ON notifications (status);
