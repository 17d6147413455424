-- mindpulse schema v6 (MySQL/MariaDB): exact duplicates flagged across processes (see
-- sqlite/0006_exact_twins.sql).
CREATE INDEX posts_content_hash ON posts (content_hash);
