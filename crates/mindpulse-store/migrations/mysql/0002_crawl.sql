-- mindpulse schema v2 (MySQL / MariaDB): crawl jobs, their resumable tasks and per-run coverage.
-- Same logical schema as sqlite/ and postgres/. No cookie and no raw user id is ever stored here.
CREATE TABLE crawl_jobs (
    id            BIGINT AUTO_INCREMENT PRIMARY KEY,
    name          VARCHAR(191) NOT NULL,
    platform      VARCHAR(32) NOT NULL,
    status        VARCHAR(16) NOT NULL,
    spec          MEDIUMTEXT,
    run_id        BIGINT,
    owner         VARCHAR(255),
    started_at    DATETIME(6) NOT NULL,
    heartbeat_at  DATETIME(6) NOT NULL,
    finished_at   DATETIME(6),
    note          TEXT,
    KEY crawl_jobs_name (name, id),
    CONSTRAINT crawl_jobs_run FOREIGN KEY (run_id) REFERENCES runs(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE crawl_tasks (
    id            BIGINT AUTO_INCREMENT PRIMARY KEY,
    job_id        BIGINT NOT NULL,
    task_key      CHAR(32) NOT NULL,
    kind          VARCHAR(32) NOT NULL,
    priority      BIGINT NOT NULL DEFAULT 0,
    query         TEXT NOT NULL,
    cursor_json   MEDIUMTEXT,
    status        VARCHAR(16) NOT NULL,
    reported_total BIGINT,
    updated_at    DATETIME(6) NOT NULL,
    UNIQUE KEY crawl_tasks_key (job_id, task_key),
    KEY crawl_tasks_next (job_id, status, priority, id),
    CONSTRAINT crawl_tasks_job FOREIGN KEY (job_id) REFERENCES crawl_jobs(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE crawl_coverage (
    run_id          BIGINT NOT NULL,
    task_key        CHAR(32) NOT NULL,
    platform        VARCHAR(32) NOT NULL,
    kind            VARCHAR(32) NOT NULL,
    query           TEXT NOT NULL,
    pages_asked     BIGINT NOT NULL DEFAULT 0,
    pages_fetched   BIGINT NOT NULL DEFAULT 0,
    pages_failed    BIGINT NOT NULL DEFAULT 0,
    items_seen      BIGINT NOT NULL DEFAULT 0,
    items_new       BIGINT NOT NULL DEFAULT 0,
    items_duplicate BIGINT NOT NULL DEFAULT 0,
    reported_total  BIGINT,
    updated_at      DATETIME(6) NOT NULL,
    PRIMARY KEY (run_id, task_key),
    CONSTRAINT crawl_coverage_run FOREIGN KEY (run_id) REFERENCES runs(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
