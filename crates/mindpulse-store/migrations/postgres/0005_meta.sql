-- mindpulse schema v5 (PostgreSQL): facts about the database itself (see
-- sqlite/0005_meta.sql).
CREATE TABLE meta (
    name   VARCHAR(64) PRIMARY KEY,
    value  TEXT NOT NULL
);
