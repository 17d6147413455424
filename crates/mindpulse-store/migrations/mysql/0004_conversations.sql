-- mindpulse schema v4 (MySQL/MariaDB): Weibo conversations for stored posts (see
-- sqlite/0004_conversations.sql for what each change is for).
ALTER TABLE crawl_tasks ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
CREATE INDEX crawl_tasks_failed ON crawl_tasks (status, kind);
CREATE INDEX crawl_tasks_done ON crawl_tasks (task_key, status);
CREATE INDEX posts_root ON posts (platform, root_platform_id, kind);
