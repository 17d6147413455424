-- mindpulse schema v7 (MySQL/MariaDB): platform ids and topic keywords compare exactly.
-- The tables' collation (utf8mb4_unicode_520_ci, needed because sqlx cannot read
-- `_bin`-collated text as strings) folds case, accents and width, so post `AbC1` collided
-- with `abc1` and topic `cafe` with `Café`. The unique keys now use a stored binary copy of
-- each value; the folded keys stay, non-unique, for lookups (callers compare the values
-- they read back exactly).
ALTER TABLE posts
    ADD COLUMN platform_id_exact VARBINARY(512) AS (CAST(platform_id AS BINARY)) STORED,
    DROP INDEX posts_platform_id,
    ADD UNIQUE KEY posts_platform_id_exact (platform, platform_id_exact),
    ADD KEY posts_platform_id (platform, platform_id);
ALTER TABLE topics
    ADD COLUMN keyword_exact VARBINARY(764) AS (CAST(keyword AS BINARY)) STORED,
    DROP INDEX topics_platform_keyword,
    ADD UNIQUE KEY topics_platform_keyword_exact (platform, keyword_exact),
    ADD KEY topics_platform_keyword (platform, keyword);
