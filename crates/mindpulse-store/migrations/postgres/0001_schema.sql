-- mindpulse schema v1 (PostgreSQL). Same logical schema as sqlite/ and mysql/.
CREATE TABLE sources (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    platform    TEXT,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE runs (
    id            BIGSERIAL PRIMARY KEY,
    kind          TEXT NOT NULL,
    source_id     BIGINT REFERENCES sources(id),
    model_id      TEXT,
    model_sha256  TEXT,
    version       TEXT,
    params        TEXT,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    status        TEXT NOT NULL,
    n_input       BIGINT NOT NULL DEFAULT 0,
    n_accepted    BIGINT NOT NULL DEFAULT 0,
    n_duplicate   BIGINT NOT NULL DEFAULT 0,
    n_rejected    BIGINT NOT NULL DEFAULT 0,
    n_failed      BIGINT NOT NULL DEFAULT 0,
    note          TEXT
);

CREATE TABLE topics (
    id          BIGSERIAL PRIMARY KEY,
    platform    TEXT NOT NULL,
    keyword     TEXT NOT NULL,
    rank        BIGINT,
    heat        BIGINT,
    label       TEXT,
    note        TEXT,
    first_seen  TIMESTAMPTZ NOT NULL,
    last_seen   TIMESTAMPTZ NOT NULL,
    UNIQUE (platform, keyword)
);

CREATE TABLE topic_ranks (
    topic_id  BIGINT NOT NULL REFERENCES topics(id),
    seen_at   TIMESTAMPTZ NOT NULL,
    rank      BIGINT,
    heat      BIGINT,
    PRIMARY KEY (topic_id, seen_at)
);

CREATE TABLE authors (
    platform         TEXT NOT NULL,
    pseudonym        TEXT NOT NULL,
    verified_type    BIGINT,
    follower_bucket  TEXT,
    region           TEXT,
    first_seen       TIMESTAMPTZ NOT NULL,
    last_seen        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (platform, pseudonym)
);

CREATE TABLE posts (
    id                  BIGSERIAL PRIMARY KEY,
    platform            TEXT NOT NULL,
    platform_id         TEXT NOT NULL,
    source_id           BIGINT REFERENCES sources(id),
    run_id              BIGINT REFERENCES runs(id),
    kind                TEXT NOT NULL,
    parent_platform_id  TEXT,
    root_platform_id    TEXT,
    author              TEXT,
    text                TEXT NOT NULL,
    lang                TEXT,
    created_at          TIMESTAMPTZ,
    collected_at        TIMESTAMPTZ NOT NULL,
    repost_count        BIGINT NOT NULL DEFAULT 0,
    comment_count       BIGINT NOT NULL DEFAULT 0,
    like_count          BIGINT NOT NULL DEFAULT 0,
    region              TEXT,
    content_hash        TEXT NOT NULL,
    simhash             BIGINT,
    dup_group           TEXT,
    dup_kind            TEXT,
    raw                 TEXT,
    UNIQUE (platform, platform_id)
);
CREATE INDEX posts_created_at ON posts (created_at);
CREATE INDEX posts_parent ON posts (platform, parent_platform_id);

CREATE TABLE post_topics (
    post_id   BIGINT NOT NULL REFERENCES posts(id),
    topic_id  BIGINT NOT NULL REFERENCES topics(id),
    PRIMARY KEY (post_id, topic_id)
);
CREATE INDEX post_topics_topic ON post_topics (topic_id);

CREATE TABLE scores (
    id         BIGSERIAL PRIMARY KEY,
    post_id    BIGINT NOT NULL REFERENCES posts(id),
    dimension  TEXT NOT NULL,
    value      DOUBLE PRECISION NOT NULL,
    scale      TEXT NOT NULL,
    label      TEXT,
    rationale  TEXT,
    run_id     BIGINT NOT NULL REFERENCES runs(id),
    meta       TEXT,
    UNIQUE (post_id, dimension, run_id)
);
CREATE INDEX scores_run ON scores (run_id, dimension);
