-- mindpulse schema v3 (MySQL/MariaDB): scale-out scoring. Same logical schema as sqlite/ and
-- postgres/ (see sqlite/0003_scale_out.sql for what each table is for).
CREATE TABLE scorers (
    id            BIGINT AUTO_INCREMENT PRIMARY KEY,
    model_id      VARCHAR(191) NOT NULL,
    version       VARCHAR(191) NOT NULL,
    model_sha256  VARCHAR(64),
    created_at    DATETIME(6) NOT NULL,
    UNIQUE KEY scorers_model_version (model_id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO scorers (model_id, version, model_sha256, created_at)
SELECT model_id, version, MAX(model_sha256), MIN(started_at) FROM runs
WHERE kind = 'score' AND model_id IS NOT NULL AND version IS NOT NULL
GROUP BY model_id, version;

ALTER TABLE runs
    ADD COLUMN scorer_id BIGINT NULL,
    ADD COLUMN owner VARCHAR(255) NULL,
    ADD COLUMN heartbeat_ms BIGINT NULL,
    ADD CONSTRAINT runs_scorer FOREIGN KEY (scorer_id) REFERENCES scorers(id);
UPDATE runs r JOIN scorers s ON s.model_id = r.model_id AND s.version = r.version
SET r.scorer_id = s.id WHERE r.kind = 'score';

CREATE TABLE scores_v3 (
    id         BIGINT AUTO_INCREMENT PRIMARY KEY,
    post_id    BIGINT NOT NULL,
    scorer_id  BIGINT NOT NULL,
    dimension  VARCHAR(64) NOT NULL,
    value      DOUBLE NOT NULL,
    scale      VARCHAR(32) NOT NULL,
    label      VARCHAR(64),
    rationale  TEXT,
    run_id     BIGINT NOT NULL,
    meta       TEXT,
    UNIQUE KEY scores_post_scorer_dimension (post_id, scorer_id, dimension),
    KEY scores_scorer (scorer_id, dimension),
    KEY scores_run_v3 (run_id),
    CONSTRAINT scores_v3_post FOREIGN KEY (post_id) REFERENCES posts(id),
    CONSTRAINT scores_v3_scorer FOREIGN KEY (scorer_id) REFERENCES scorers(id),
    CONSTRAINT scores_v3_run FOREIGN KEY (run_id) REFERENCES runs(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
-- Rows that two runs of one scorer wrote for the same post and dimension: the first is kept.
INSERT IGNORE INTO scores_v3 (id, post_id, scorer_id, dimension, value, scale, label, rationale, run_id, meta)
SELECT s.id, s.post_id, r.scorer_id, s.dimension, s.value, s.scale, s.label, s.rationale, s.run_id, s.meta
FROM scores s JOIN runs r ON r.id = s.run_id
WHERE r.scorer_id IS NOT NULL
ORDER BY s.id;
DROP TABLE scores;
RENAME TABLE scores_v3 TO scores;

CREATE TABLE score_leases (
    id             BIGINT AUTO_INCREMENT PRIMARY KEY,
    scorer_id      BIGINT NOT NULL,
    run_id         BIGINT,
    owner          VARCHAR(255) NOT NULL,
    n_posts        BIGINT NOT NULL DEFAULT 0,
    first_post_id  BIGINT,
    last_post_id   BIGINT,
    claimed_ms     BIGINT NOT NULL,
    heartbeat_ms   BIGINT NOT NULL,
    expires_ms     BIGINT NOT NULL,
    takeovers      BIGINT NOT NULL DEFAULT 0,
    KEY score_leases_expiry (scorer_id, expires_ms),
    KEY score_leases_owner (owner),
    CONSTRAINT score_leases_scorer FOREIGN KEY (scorer_id) REFERENCES scorers(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE score_claims (
    scorer_id  BIGINT NOT NULL,
    post_id    BIGINT NOT NULL,
    lease_id   BIGINT NOT NULL,
    PRIMARY KEY (scorer_id, post_id),
    KEY score_claims_lease (lease_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
