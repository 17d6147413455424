-- mindpulse schema v11 (PostgreSQL): accounts of the web interface (see sqlite/0011_users.sql).
CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    name           VARCHAR(64) NOT NULL UNIQUE,
    role           VARCHAR(16) NOT NULL,
    password_hash  VARCHAR(255) NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
