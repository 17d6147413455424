-- mindpulse schema v3 (PostgreSQL): scale-out scoring. Same logical schema as sqlite/ and mysql/
-- (see sqlite/0003_scale_out.sql for what each table is for).
CREATE TABLE scorers (
    id            BIGSERIAL PRIMARY KEY,
    model_id      TEXT NOT NULL,
    version       TEXT NOT NULL,
    model_sha256  TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (model_id, version)
);
INSERT INTO scorers (model_id, version, model_sha256, created_at)
SELECT model_id, version, MAX(model_sha256), MIN(started_at) FROM runs
WHERE kind = 'score' AND model_id IS NOT NULL AND version IS NOT NULL
GROUP BY model_id, version;

ALTER TABLE runs ADD COLUMN scorer_id BIGINT REFERENCES scorers(id);
ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN heartbeat_ms BIGINT;
UPDATE runs SET scorer_id = s.id FROM scorers s
WHERE runs.kind = 'score' AND s.model_id = runs.model_id AND s.version = runs.version;

ALTER TABLE scores ADD COLUMN scorer_id BIGINT REFERENCES scorers(id);
UPDATE scores SET scorer_id = r.scorer_id FROM runs r WHERE r.id = scores.run_id;
-- Rows that two runs of one scorer wrote for the same post and dimension: the first is kept.
DELETE FROM scores s USING scores t
WHERE s.post_id = t.post_id AND s.scorer_id = t.scorer_id AND s.dimension = t.dimension AND s.id > t.id;
DELETE FROM scores WHERE scorer_id IS NULL;
ALTER TABLE scores ALTER COLUMN scorer_id SET NOT NULL;
ALTER TABLE scores DROP CONSTRAINT scores_post_id_dimension_run_id_key;
ALTER TABLE scores ADD CONSTRAINT scores_post_scorer_dimension UNIQUE (post_id, scorer_id, dimension);
DROP INDEX scores_run;
CREATE INDEX scores_scorer ON scores (scorer_id, dimension);
CREATE INDEX scores_run ON scores (run_id);

CREATE TABLE score_leases (
    id             BIGSERIAL PRIMARY KEY,
    scorer_id      BIGINT NOT NULL REFERENCES scorers(id),
    run_id         BIGINT,
    owner          TEXT NOT NULL,
    n_posts        BIGINT NOT NULL DEFAULT 0,
    first_post_id  BIGINT,
    last_post_id   BIGINT,
    claimed_ms     BIGINT NOT NULL,
    heartbeat_ms   BIGINT NOT NULL,
    expires_ms     BIGINT NOT NULL,
    takeovers      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX score_leases_expiry ON score_leases (scorer_id, expires_ms);
CREATE INDEX score_leases_owner ON score_leases (owner);

CREATE TABLE score_claims (
    scorer_id  BIGINT NOT NULL,
    post_id    BIGINT NOT NULL,
    lease_id   BIGINT NOT NULL,
    PRIMARY KEY (scorer_id, post_id)
);
CREATE INDEX score_claims_lease ON score_claims (lease_id);
