-- mindpulse schema v10 (MySQL/MariaDB): embeddings and topics (see sqlite/0010_embeddings_topics.sql).
CREATE TABLE encoders (
    id      BIGINT AUTO_INCREMENT PRIMARY KEY,
    name    VARCHAR(200) NOT NULL,
    sha256  VARCHAR(64) NOT NULL UNIQUE,
    dim     BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE embeddings (
    post_id     BIGINT NOT NULL REFERENCES posts(id),
    encoder_id  BIGINT NOT NULL REFERENCES encoders(id),
    scale       DOUBLE NOT NULL,
    vec         BLOB NOT NULL,
    PRIMARY KEY (post_id, encoder_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE topic_builds (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    built_at    DATETIME(6) NOT NULL,
    params      TEXT NOT NULL,
    posts       BIGINT NOT NULL,
    topics      BIGINT NOT NULL,
    unassigned  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE built_topics (
    build_id    BIGINT NOT NULL REFERENCES topic_builds(id),
    number      BIGINT NOT NULL,
    encoder_id  BIGINT NOT NULL REFERENCES encoders(id),
    size        BIGINT NOT NULL,
    keywords    TEXT NOT NULL,
    examples    TEXT NOT NULL,
    label       TEXT,
    PRIMARY KEY (build_id, number)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE topic_assignments (
    build_id  BIGINT NOT NULL REFERENCES topic_builds(id),
    post_id   BIGINT NOT NULL REFERENCES posts(id),
    number    BIGINT NOT NULL,
    PRIMARY KEY (build_id, post_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
CREATE INDEX topic_assignments_topic ON topic_assignments (build_id, number);
