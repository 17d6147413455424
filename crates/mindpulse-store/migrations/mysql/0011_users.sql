-- mindpulse schema v11 (MySQL/MariaDB): accounts of the web interface (see sqlite/0011_users.sql).
CREATE TABLE users (
    id             BIGINT PRIMARY KEY AUTO_INCREMENT,
    name           VARCHAR(64) NOT NULL UNIQUE,
    role           VARCHAR(16) NOT NULL,
    password_hash  VARCHAR(255) NOT NULL,
    created_at     DATETIME(6) NOT NULL
);
