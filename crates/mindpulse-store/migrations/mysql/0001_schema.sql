-- mindpulse schema v1 (MySQL / MariaDB). Same logical schema as sqlite/ and postgres/.
-- Tables use utf8mb4_unicode_520_ci: sqlx cannot decode _bin-collated VARCHARs as text (sqlx#3387),
-- so ids and topic keywords compare case-insensitively on MySQL/MariaDB.
CREATE TABLE sources (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    name        VARCHAR(255) NOT NULL UNIQUE,
    kind        VARCHAR(32) NOT NULL,
    platform    VARCHAR(32),
    created_at  DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE runs (
    id            BIGINT AUTO_INCREMENT PRIMARY KEY,
    kind          VARCHAR(16) NOT NULL,
    source_id     BIGINT,
    model_id      VARCHAR(255),
    model_sha256  CHAR(64),
    version       VARCHAR(255),
    params        MEDIUMTEXT,
    started_at    DATETIME(6) NOT NULL,
    finished_at   DATETIME(6),
    status        VARCHAR(16) NOT NULL,
    n_input       BIGINT NOT NULL DEFAULT 0,
    n_accepted    BIGINT NOT NULL DEFAULT 0,
    n_duplicate   BIGINT NOT NULL DEFAULT 0,
    n_rejected    BIGINT NOT NULL DEFAULT 0,
    n_failed      BIGINT NOT NULL DEFAULT 0,
    note          TEXT,
    CONSTRAINT runs_source FOREIGN KEY (source_id) REFERENCES sources(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE topics (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    platform    VARCHAR(32) NOT NULL,
    keyword     VARCHAR(191) NOT NULL,
    `rank`      BIGINT,
    heat        BIGINT,
    label       VARCHAR(64),
    note        TEXT,
    first_seen  DATETIME(6) NOT NULL,
    last_seen   DATETIME(6) NOT NULL,
    UNIQUE KEY topics_platform_keyword (platform, keyword)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE topic_ranks (
    topic_id  BIGINT NOT NULL,
    seen_at   DATETIME(6) NOT NULL,
    `rank`    BIGINT,
    heat      BIGINT,
    PRIMARY KEY (topic_id, seen_at),
    CONSTRAINT topic_ranks_topic FOREIGN KEY (topic_id) REFERENCES topics(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE authors (
    platform         VARCHAR(32) NOT NULL,
    pseudonym        VARCHAR(64) NOT NULL,
    verified_type    BIGINT,
    follower_bucket  VARCHAR(16),
    region           VARCHAR(128),
    first_seen       DATETIME(6) NOT NULL,
    last_seen        DATETIME(6) NOT NULL,
    PRIMARY KEY (platform, pseudonym)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE posts (
    id                  BIGINT AUTO_INCREMENT PRIMARY KEY,
    platform            VARCHAR(32) NOT NULL,
    platform_id         VARCHAR(128) NOT NULL,
    source_id           BIGINT,
    run_id              BIGINT,
    kind                VARCHAR(16) NOT NULL,
    parent_platform_id  VARCHAR(128),
    root_platform_id    VARCHAR(128),
    author              VARCHAR(64),
    text                MEDIUMTEXT NOT NULL,
    lang                VARCHAR(16),
    created_at          DATETIME(6),
    collected_at        DATETIME(6) NOT NULL,
    repost_count        BIGINT NOT NULL DEFAULT 0,
    comment_count       BIGINT NOT NULL DEFAULT 0,
    like_count          BIGINT NOT NULL DEFAULT 0,
    region              VARCHAR(128),
    content_hash        CHAR(32) NOT NULL,
    simhash             BIGINT,
    dup_group           CHAR(32),
    dup_kind            VARCHAR(8),
    raw                 MEDIUMTEXT,
    UNIQUE KEY posts_platform_id (platform, platform_id),
    KEY posts_created_at (created_at),
    KEY posts_parent (platform, parent_platform_id),
    CONSTRAINT posts_source FOREIGN KEY (source_id) REFERENCES sources(id),
    CONSTRAINT posts_run FOREIGN KEY (run_id) REFERENCES runs(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE post_topics (
    post_id   BIGINT NOT NULL,
    topic_id  BIGINT NOT NULL,
    PRIMARY KEY (post_id, topic_id),
    KEY post_topics_topic (topic_id),
    CONSTRAINT post_topics_post FOREIGN KEY (post_id) REFERENCES posts(id),
    CONSTRAINT post_topics_topic_fk FOREIGN KEY (topic_id) REFERENCES topics(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE scores (
    id         BIGINT AUTO_INCREMENT PRIMARY KEY,
    post_id    BIGINT NOT NULL,
    dimension  VARCHAR(64) NOT NULL,
    value      DOUBLE NOT NULL,
    scale      VARCHAR(32) NOT NULL,
    label      VARCHAR(64),
    rationale  TEXT,
    run_id     BIGINT NOT NULL,
    meta       TEXT,
    UNIQUE KEY scores_post_dim_run (post_id, dimension, run_id),
    KEY scores_run (run_id, dimension),
    CONSTRAINT scores_post FOREIGN KEY (post_id) REFERENCES posts(id),
    CONSTRAINT scores_run_fk FOREIGN KEY (run_id) REFERENCES runs(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
