-- mindpulse schema v10: stored embeddings and discovered topics.
-- * `encoders`: each sentence encoder whose embeddings are kept (name, file sha256, dimension).
-- * `embeddings`: per post and encoder, the embedding the heads run computed, L2-normalized
--   and quantized to int8 (`vec`, `dim` bytes; value ≈ scale × byte), so topics and search
--   need no second encoder pass.
-- * `topic_builds`: one row per `mindpulse topics build`, with its parameters and counts.
-- * `built_topics`: the topics of a build: number (0 = largest), encoder space, size,
--   c-TF-IDF keywords and example post ids (JSON), optional short label.
-- * `topic_assignments`: per build and post, its topic number (-1 = left unassigned).
CREATE TABLE encoders (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    name    TEXT NOT NULL,
    sha256  TEXT NOT NULL UNIQUE,
    dim     INTEGER NOT NULL
);

CREATE TABLE embeddings (
    post_id     INTEGER NOT NULL REFERENCES posts(id),
    encoder_id  INTEGER NOT NULL REFERENCES encoders(id),
    scale       REAL NOT NULL,
    vec         BLOB NOT NULL,
    PRIMARY KEY (post_id, encoder_id)
);

CREATE TABLE topic_builds (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    built_at    TEXT NOT NULL,
    params      TEXT NOT NULL,
    posts       INTEGER NOT NULL,
    topics      INTEGER NOT NULL,
    unassigned  INTEGER NOT NULL
);

CREATE TABLE built_topics (
    build_id    INTEGER NOT NULL REFERENCES topic_builds(id),
    number      INTEGER NOT NULL,
    encoder_id  INTEGER NOT NULL REFERENCES encoders(id),
    size        INTEGER NOT NULL,
    keywords    TEXT NOT NULL,
    examples    TEXT NOT NULL,
    label       TEXT,
    PRIMARY KEY (build_id, number)
);

CREATE TABLE topic_assignments (
    build_id  INTEGER NOT NULL REFERENCES topic_builds(id),
    post_id   INTEGER NOT NULL REFERENCES posts(id),
    number    INTEGER NOT NULL,
    PRIMARY KEY (build_id, post_id)
);
CREATE INDEX topic_assignments_topic ON topic_assignments (build_id, number);
