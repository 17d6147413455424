-- mindpulse schema v3 (SQLite): scale-out scoring. Same logical schema as mysql/ and postgres/.
--
-- * `scorers`: one row per (model id, version) — the identity a score belongs to. Scores are
--   unique per (post, scorer, dimension), not per run, so a batch finished twice (a worker that
--   stalled past its lease while another took it over) writes nothing twice.
-- * `runs` gain the scorer, the worker that runs them and a heartbeat (milliseconds since the
--   epoch by the database clock, so machines with skewed clocks agree on what is stale).
-- * `score_leases` / `score_claims`: batches of posts claimed by one worker until a deadline;
--   a post is claimed by at most one live lease per scorer (the primary key).
CREATE TABLE scorers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id      TEXT NOT NULL,
    version       TEXT NOT NULL,
    model_sha256  TEXT,
    created_at    TEXT NOT NULL,
    UNIQUE (model_id, version)
);
INSERT INTO scorers (model_id, version, model_sha256, created_at)
SELECT model_id, version, MAX(model_sha256), MIN(started_at) FROM runs
WHERE kind = 'score' AND model_id IS NOT NULL AND version IS NOT NULL
GROUP BY model_id, version;

ALTER TABLE runs ADD COLUMN scorer_id INTEGER REFERENCES scorers(id);
ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN heartbeat_ms INTEGER;
UPDATE runs SET scorer_id = (SELECT s.id FROM scorers s WHERE s.model_id = runs.model_id AND s.version = runs.version)
WHERE kind = 'score';

CREATE TABLE scores_v3 (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id    INTEGER NOT NULL REFERENCES posts(id),
    scorer_id  INTEGER NOT NULL REFERENCES scorers(id),
    dimension  TEXT NOT NULL,
    value      REAL NOT NULL,
    scale      TEXT NOT NULL,
    label      TEXT,
    rationale  TEXT,
    run_id     INTEGER NOT NULL REFERENCES runs(id),
    meta       TEXT,
    UNIQUE (post_id, scorer_id, dimension)
);
-- Rows that two runs of one scorer wrote for the same post and dimension: the first is kept.
INSERT INTO scores_v3 (id, post_id, scorer_id, dimension, value, scale, label, rationale, run_id, meta)
SELECT s.id, s.post_id, r.scorer_id, s.dimension, s.value, s.scale, s.label, s.rationale, s.run_id, s.meta
FROM scores s JOIN runs r ON r.id = s.run_id
WHERE r.scorer_id IS NOT NULL AND s.id IN (
    SELECT MIN(s2.id) FROM scores s2 JOIN runs r2 ON r2.id = s2.run_id GROUP BY s2.post_id, r2.scorer_id, s2.dimension
);
DROP TABLE scores;
ALTER TABLE scores_v3 RENAME TO scores;
CREATE INDEX scores_scorer ON scores (scorer_id, dimension);
CREATE INDEX scores_run ON scores (run_id);

CREATE TABLE score_leases (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    scorer_id      INTEGER NOT NULL REFERENCES scorers(id),
    run_id         INTEGER,
    owner          TEXT NOT NULL,
    n_posts        INTEGER NOT NULL DEFAULT 0,
    first_post_id  INTEGER,
    last_post_id   INTEGER,
    claimed_ms     INTEGER NOT NULL,
    heartbeat_ms   INTEGER NOT NULL,
    expires_ms     INTEGER NOT NULL,
    takeovers      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX score_leases_expiry ON score_leases (scorer_id, expires_ms);
CREATE INDEX score_leases_owner ON score_leases (owner);

CREATE TABLE score_claims (
    scorer_id  INTEGER NOT NULL,
    post_id    INTEGER NOT NULL,
    lease_id   INTEGER NOT NULL,
    PRIMARY KEY (scorer_id, post_id)
) WITHOUT ROWID;
CREATE INDEX score_claims_lease ON score_claims (lease_id);
