-- mindpulse schema v1 (SQLite). Same logical schema as mysql/ and postgres/.
CREATE TABLE sources (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    platform    TEXT,
    created_at  TEXT NOT NULL
);

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL,
    source_id     INTEGER REFERENCES sources(id),
    model_id      TEXT,
    model_sha256  TEXT,
    version       TEXT,
    params        TEXT,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    status        TEXT NOT NULL,
    n_input       INTEGER NOT NULL DEFAULT 0,
    n_accepted    INTEGER NOT NULL DEFAULT 0,
    n_duplicate   INTEGER NOT NULL DEFAULT 0,
    n_rejected    INTEGER NOT NULL DEFAULT 0,
    n_failed      INTEGER NOT NULL DEFAULT 0,
    note          TEXT
);

CREATE TABLE topics (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    platform    TEXT NOT NULL,
    keyword     TEXT NOT NULL,
    rank        INTEGER,
    heat        INTEGER,
    label       TEXT,
    note        TEXT,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    UNIQUE (platform, keyword)
);

CREATE TABLE topic_ranks (
    topic_id  INTEGER NOT NULL REFERENCES topics(id),
    seen_at   TEXT NOT NULL,
    rank      INTEGER,
    heat      INTEGER,
    PRIMARY KEY (topic_id, seen_at)
);

CREATE TABLE authors (
    platform         TEXT NOT NULL,
    pseudonym        TEXT NOT NULL,
    verified_type    INTEGER,
    follower_bucket  TEXT,
    region           TEXT,
    first_seen       TEXT NOT NULL,
    last_seen        TEXT NOT NULL,
    PRIMARY KEY (platform, pseudonym)
) WITHOUT ROWID;

CREATE TABLE posts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    platform            TEXT NOT NULL,
    platform_id         TEXT NOT NULL,
    source_id           INTEGER REFERENCES sources(id),
    run_id              INTEGER REFERENCES runs(id),
    kind                TEXT NOT NULL,
    parent_platform_id  TEXT,
    root_platform_id    TEXT,
    author              TEXT,
    text                TEXT NOT NULL,
    lang                TEXT,
    created_at          TEXT,
    collected_at        TEXT NOT NULL,
    repost_count        INTEGER NOT NULL DEFAULT 0,
    comment_count       INTEGER NOT NULL DEFAULT 0,
    like_count          INTEGER NOT NULL DEFAULT 0,
    region              TEXT,
    content_hash        TEXT NOT NULL,
    simhash             INTEGER,
    dup_group           TEXT,
    dup_kind            TEXT,
    raw                 TEXT,
    UNIQUE (platform, platform_id)
);
CREATE INDEX posts_created_at ON posts (created_at);
CREATE INDEX posts_parent ON posts (platform, parent_platform_id);

CREATE TABLE post_topics (
    post_id   INTEGER NOT NULL REFERENCES posts(id),
    topic_id  INTEGER NOT NULL REFERENCES topics(id),
    PRIMARY KEY (post_id, topic_id)
) WITHOUT ROWID;
CREATE INDEX post_topics_topic ON post_topics (topic_id);

CREATE TABLE scores (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id    INTEGER NOT NULL REFERENCES posts(id),
    dimension  TEXT NOT NULL,
    value      REAL NOT NULL,
    scale      TEXT NOT NULL,
    label      TEXT,
    rationale  TEXT,
    run_id     INTEGER NOT NULL REFERENCES runs(id),
    meta       TEXT,
    UNIQUE (post_id, dimension, run_id)
);
CREATE INDEX scores_run ON scores (run_id, dimension);
