-- mindpulse schema v9: the reply/repost/mention network between pseudonyms.
-- * `network_runs`: one row per `mindpulse network build`, with its parameters (window,
--   topic, seed), size and the communities' modularity.
-- * `network_nodes`: per build and pseudonymous author, PageRank, weighted and plain in/out
--   degree and community.
-- * `network_edges`: per build, a directed edge from the author who acts (replies, reposts,
--   mentions) to the author answered, reposted or mentioned; weight = number of such acts.
CREATE TABLE network_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    built_at    TEXT NOT NULL,
    params      TEXT NOT NULL,
    nodes       INTEGER NOT NULL,
    edges       INTEGER NOT NULL,
    modularity  REAL
);

CREATE TABLE network_nodes (
    run_id      INTEGER NOT NULL REFERENCES network_runs(id),
    author      TEXT NOT NULL,
    pagerank    REAL NOT NULL,
    in_degree   REAL NOT NULL,
    out_degree  REAL NOT NULL,
    in_count    INTEGER NOT NULL,
    out_count   INTEGER NOT NULL,
    community   INTEGER NOT NULL,
    PRIMARY KEY (run_id, author)
);
CREATE INDEX network_nodes_rank ON network_nodes (run_id, pagerank);

CREATE TABLE network_edges (
    run_id  INTEGER NOT NULL REFERENCES network_runs(id),
    source  TEXT NOT NULL,
    target  TEXT NOT NULL,
    weight  REAL NOT NULL
);
CREATE INDEX network_edges_run ON network_edges (run_id);
