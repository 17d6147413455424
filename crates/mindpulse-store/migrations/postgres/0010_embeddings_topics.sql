-- mindpulse schema v10 (PostgreSQL): embeddings and topics (see sqlite/0010_embeddings_topics.sql).
CREATE TABLE encoders (
    id      BIGSERIAL PRIMARY KEY,
    name    TEXT NOT NULL,
    sha256  VARCHAR(64) NOT NULL UNIQUE,
    dim     BIGINT NOT NULL
);

CREATE TABLE embeddings (
    post_id     BIGINT NOT NULL REFERENCES posts(id),
    encoder_id  BIGINT NOT NULL REFERENCES encoders(id),
    scale       DOUBLE PRECISION NOT NULL,
    vec         BYTEA NOT NULL,
    PRIMARY KEY (post_id, encoder_id)
);

CREATE TABLE topic_builds (
    id          BIGSERIAL PRIMARY KEY,
    built_at    TIMESTAMPTZ NOT NULL,
    params      TEXT NOT NULL,
    posts       BIGINT NOT NULL,
    topics      BIGINT NOT NULL,
    unassigned  BIGINT NOT NULL
);

CREATE TABLE built_topics (
    build_id    BIGINT NOT NULL REFERENCES topic_builds(id),
    number      BIGINT NOT NULL,
    encoder_id  BIGINT NOT NULL REFERENCES encoders(id),
    size        BIGINT NOT NULL,
    keywords    TEXT NOT NULL,
    examples    TEXT NOT NULL,
    label       TEXT,
    PRIMARY KEY (build_id, number)
);

CREATE TABLE topic_assignments (
    build_id  BIGINT NOT NULL REFERENCES topic_builds(id),
    post_id   BIGINT NOT NULL REFERENCES posts(id),
    number    BIGINT NOT NULL,
    PRIMARY KEY (build_id, post_id)
);
CREATE INDEX topic_assignments_topic ON topic_assignments (build_id, number);
