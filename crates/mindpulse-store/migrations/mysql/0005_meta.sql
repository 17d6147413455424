-- mindpulse schema v5 (MySQL/MariaDB): facts about the database itself (see
-- sqlite/0005_meta.sql).
CREATE TABLE meta (
    name   VARCHAR(64) NOT NULL PRIMARY KEY,
    value  TEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
