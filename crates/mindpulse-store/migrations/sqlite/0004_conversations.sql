-- mindpulse schema v4 (SQLite): Weibo conversations for stored posts. Same logical schema as
-- mysql/ and postgres/.
--
-- * `crawl_tasks.attempts`: how many later runs took a failed task up again. A page that failed
--   after its retries keeps its task (and cursor) `failed`; the next crawl of the platform copies
--   it into its own job (the old row becomes `retried`) until it has been tried three times.
-- * `posts_root`: the comments and reposts stored under a post, counted against the totals the
--   platform reports to tell a complete conversation from one still missing.
-- * `crawl_tasks_done`: whether an earlier crawl read a post's comments or reposts to the end
--   (the platform's totals count deleted and hidden items, so they are not always reached).
ALTER TABLE crawl_tasks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX crawl_tasks_failed ON crawl_tasks (status, kind);
CREATE INDEX crawl_tasks_done ON crawl_tasks (task_key, status);
CREATE INDEX posts_root ON posts (platform, root_platform_id, kind);
