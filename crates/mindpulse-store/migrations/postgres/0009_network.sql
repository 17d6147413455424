-- mindpulse schema v9 (PostgreSQL): the network (see sqlite/0009_network.sql).
CREATE TABLE network_runs (
    id          BIGSERIAL PRIMARY KEY,
    built_at    TIMESTAMPTZ NOT NULL,
    params      TEXT NOT NULL,
    nodes       BIGINT NOT NULL,
    edges       BIGINT NOT NULL,
    modularity  DOUBLE PRECISION
);

CREATE TABLE network_nodes (
    run_id      BIGINT NOT NULL REFERENCES network_runs(id),
    author      VARCHAR(64) NOT NULL,
    pagerank    DOUBLE PRECISION NOT NULL,
    in_degree   DOUBLE PRECISION NOT NULL,
    out_degree  DOUBLE PRECISION NOT NULL,
    in_count    BIGINT NOT NULL,
    out_count   BIGINT NOT NULL,
    community   BIGINT NOT NULL,
    PRIMARY KEY (run_id, author)
);
CREATE INDEX network_nodes_rank ON network_nodes (run_id, pagerank);

CREATE TABLE network_edges (
    run_id  BIGINT NOT NULL REFERENCES network_runs(id),
    source  VARCHAR(64) NOT NULL,
    target  VARCHAR(64) NOT NULL,
    weight  DOUBLE PRECISION NOT NULL
);
CREATE INDEX network_edges_run ON network_edges (run_id);
