-- mindpulse schema v2 (PostgreSQL): crawl jobs, their resumable tasks and per-run coverage.
-- Same logical schema as sqlite/ and mysql/. No cookie and no raw user id is ever stored here.
CREATE TABLE crawl_jobs (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL,
    platform      TEXT NOT NULL,
    status        TEXT NOT NULL,
    spec          TEXT,
    run_id        BIGINT REFERENCES runs(id),
    owner         TEXT,
    started_at    TIMESTAMPTZ NOT NULL,
    heartbeat_at  TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    note          TEXT
);
CREATE INDEX crawl_jobs_name ON crawl_jobs (name, id);

CREATE TABLE crawl_tasks (
    id            BIGSERIAL PRIMARY KEY,
    job_id        BIGINT NOT NULL REFERENCES crawl_jobs(id),
    task_key      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    priority      BIGINT NOT NULL DEFAULT 0,
    query         TEXT NOT NULL,
    cursor_json   TEXT,
    status        TEXT NOT NULL,
    reported_total BIGINT,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (job_id, task_key)
);
CREATE INDEX crawl_tasks_next ON crawl_tasks (job_id, status, priority, id);

CREATE TABLE crawl_coverage (
    run_id          BIGINT NOT NULL REFERENCES runs(id),
    task_key        TEXT NOT NULL,
    platform        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    query           TEXT NOT NULL,
    pages_asked     BIGINT NOT NULL DEFAULT 0,
    pages_fetched   BIGINT NOT NULL DEFAULT 0,
    pages_failed    BIGINT NOT NULL DEFAULT 0,
    items_seen      BIGINT NOT NULL DEFAULT 0,
    items_new       BIGINT NOT NULL DEFAULT 0,
    items_duplicate BIGINT NOT NULL DEFAULT 0,
    reported_total  BIGINT,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, task_key)
);
