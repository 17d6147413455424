-- mindpulse schema v2 (SQLite): crawl jobs, their resumable tasks and per-run coverage.
-- Same logical schema as mysql/ and postgres/. No cookie and no raw user id is ever stored here:
-- task queries hold post/comment ids, topics and hashtags only.
CREATE TABLE crawl_jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    platform      TEXT NOT NULL,
    status        TEXT NOT NULL,
    spec          TEXT,
    run_id        INTEGER REFERENCES runs(id),
    owner         TEXT,
    started_at    TEXT NOT NULL,
    heartbeat_at  TEXT NOT NULL,
    finished_at   TEXT,
    note          TEXT
);
CREATE INDEX crawl_jobs_name ON crawl_jobs (name, id);

CREATE TABLE crawl_tasks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id        INTEGER NOT NULL REFERENCES crawl_jobs(id),
    task_key      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    priority      INTEGER NOT NULL DEFAULT 0,
    query         TEXT NOT NULL,
    cursor_json   TEXT,
    status        TEXT NOT NULL,
    reported_total INTEGER,
    updated_at    TEXT NOT NULL,
    UNIQUE (job_id, task_key)
);
CREATE INDEX crawl_tasks_next ON crawl_tasks (job_id, status, priority, id);

CREATE TABLE crawl_coverage (
    run_id          INTEGER NOT NULL REFERENCES runs(id),
    task_key        TEXT NOT NULL,
    platform        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    query           TEXT NOT NULL,
    pages_asked     INTEGER NOT NULL DEFAULT 0,
    pages_fetched   INTEGER NOT NULL DEFAULT 0,
    pages_failed    INTEGER NOT NULL DEFAULT 0,
    items_seen      INTEGER NOT NULL DEFAULT 0,
    items_new       INTEGER NOT NULL DEFAULT 0,
    items_duplicate INTEGER NOT NULL DEFAULT 0,
    reported_total  INTEGER,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (run_id, task_key)
);
