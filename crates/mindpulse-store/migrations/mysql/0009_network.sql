-- mindpulse schema v9 (MySQL/MariaDB): the network (see sqlite/0009_network.sql).
CREATE TABLE network_runs (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    built_at    DATETIME(6) NOT NULL,
    params      TEXT NOT NULL,
    nodes       BIGINT NOT NULL,
    edges       BIGINT NOT NULL,
    modularity  DOUBLE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE network_nodes (
    run_id      BIGINT NOT NULL REFERENCES network_runs(id),
    author      VARCHAR(64) NOT NULL,
    pagerank    DOUBLE NOT NULL,
    in_degree   DOUBLE NOT NULL,
    out_degree  DOUBLE NOT NULL,
    in_count    BIGINT NOT NULL,
    out_count   BIGINT NOT NULL,
    community   BIGINT NOT NULL,
    PRIMARY KEY (run_id, author)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
CREATE INDEX network_nodes_rank ON network_nodes (run_id, pagerank);

CREATE TABLE network_edges (
    run_id  BIGINT NOT NULL REFERENCES network_runs(id),
    source  VARCHAR(64) NOT NULL,
    target  VARCHAR(64) NOT NULL,
    weight  DOUBLE NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
CREATE INDEX network_edges_run ON network_edges (run_id);
