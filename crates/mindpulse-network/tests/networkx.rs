//! mindpulse-network against NetworkX itself: the script `tests/networkx_reference.py`
//! runs NetworkX 3.4 in the stats venv (its python in `MINDPULSE_STATS_PYTHON`, see
//! `scripts/setup_stats_venv.sh`) on seeded graphs with dangling nodes, self-loops,
//! parallel edges, isolated nodes, zero and fractional weights. Every PageRank must be
//! within 1e-6 of `nx.pagerank(G, alpha=0.85, weight="weight")`; our Louvain modularity
//! must be at least NetworkX's `louvain_communities` modularity − 0.02 for the same seed;
//! NetworkX's modularity of our partition must equal ours; and our GEXF and GraphML files
//! must read back (GraphML through `nx.read_graphml`) with the same nodes, edges and
//! attributes. Without the venv the test is skipped, except in CI (`CI` = true or 1),
//! where a missing peer is a failure.

use mindpulse_network::synth::{social_graph, SocialSpec};
use mindpulse_network::{
    communities, degrees, modularity, pagerank, write_gexf, write_graphml, Graph, NodeAttrs,
    PageRankOptions,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

const SCRIPT: &str = include_str!("networkx_reference.py");
const SEEDS: [u64; 3] = [1, 7, 42];

fn python() -> Option<String> {
    match std::env::var("MINDPULSE_STATS_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "MINDPULSE_STATS_PYTHON is not set: run scripts/setup_stats_venv.sh and export its last line"
            );
            eprintln!("skipping the NetworkX comparison: MINDPULSE_STATS_PYTHON is not set (scripts/setup_stats_venv.sh)");
            None
        }
    }
}

/// A test graph: node ids and raw edge rows (indices into the ids, parallel rows kept).
struct Case {
    name: &'static str,
    nodes: Vec<String>,
    rows: Vec<(u32, u32, f64)>,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    // Hand-made: parallel edges, self-loops, a zero weight, a dangling node, an isolated one,
    // and ids that need XML escaping.
    let ids = ["a<b", "b&c", "c\"d", "d", "e", "iso", "dangle", "f'g"];
    let rows = vec![
        (0, 1, 1.0),
        (0, 1, 2.0),
        (1, 0, 1.0),
        (1, 1, 3.0),
        (2, 0, 0.5),
        (2, 6, 1.0),
        (3, 2, 1.0),
        (3, 4, 0.0),
        (4, 4, 1.0),
        (4, 3, 2.5),
        (7, 6, 1.0),
        (7, 0, 4.0),
        (0, 6, 1.0),
    ];
    out.push(Case {
        name: "hand",
        nodes: ids.iter().map(|s| s.to_string()).collect(),
        rows,
    });
    // Seeded social graphs, with self-loops, fractional weights and extra isolated nodes.
    for (name, edges, seed) in [("social-3k", 3_000, 11u64), ("social-40k", 40_000, 12)] {
        let s = social_graph(&SocialSpec::with_edges(edges, seed));
        let mut nodes = s.nodes;
        let mut rows = s.edges;
        let mut r = mindpulse_network::rng::SplitMix64::new(seed);
        for k in 0..rows.len() / 50 {
            let u = r.below(nodes.len()) as u32;
            rows.push((u, u, 1.0 + k as f64 % 3.0));
        }
        for row in rows.iter_mut().step_by(7) {
            row.2 *= 0.25 + r.next_f64();
        }
        for k in 0..20 {
            nodes.push(format!("isolated-{k}"));
        }
        out.push(Case { name, nodes, rows });
    }
    // All dangling but the spokes: a star into one sink.
    out.push(Case {
        name: "star",
        nodes: (0..30).map(|i| format!("s{i:02}")).collect(),
        rows: (1..30).map(|i| (i, 0, 1.0)).collect(),
    });
    out
}

/// Equal up to the last digit JSON parsing may lose.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-15 * a.abs().max(1.0)
}

fn same_edges(a: &[(String, String, f64)], b: &[(String, String, f64)], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: edge count");
    for (x, y) in a.iter().zip(b) {
        assert!(
            x.0 == y.0 && x.1 == y.1 && same(x.2, y.2),
            "{what}: {x:?} vs {y:?}"
        );
    }
}

#[test]
fn pagerank_and_louvain_match_networkx() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut request = Vec::new();
    let mut ours = Vec::new();
    for case in cases() {
        let g = Graph::from_indexed_edges(case.nodes.clone(), &case.rows).expect("graph");
        // Rows re-indexed to the graph's (sorted) node order.
        let rank: Vec<u32> = case
            .nodes
            .iter()
            .map(|id| g.node_index(id).expect("node"))
            .collect();
        let rows: Vec<Value> = case
            .rows
            .iter()
            .map(|&(a, b, w)| json!([rank[a as usize], rank[b as usize], w]))
            .collect();
        let pr = pagerank(&g, &PageRankOptions::default()).expect("pagerank");
        let parts: Vec<Vec<u32>> = SEEDS
            .iter()
            .map(|&s| communities(&g, s, 1.0).expect("communities"))
            .collect();
        let mods: Vec<f64> = parts
            .iter()
            .map(|p| modularity(&g, p, 1.0).expect("modularity"))
            .collect();
        let deg = degrees(&g);
        let attrs = NodeAttrs::new(pr.clone(), &deg, parts[0].clone());
        let gexf = dir.path().join(format!("{}.gexf", case.name));
        let graphml = dir.path().join(format!("{}.graphml", case.name));
        write_gexf(&g, &attrs, std::fs::File::create(&gexf).expect("create")).expect("gexf");
        write_graphml(&g, &attrs, std::fs::File::create(&graphml).expect("create"))
            .expect("graphml");
        request.push(json!({
            "name": case.name,
            "nodes": g.nodes(),
            "edges": rows,
            "seeds": SEEDS,
            "ours": parts,
            "gexf": gexf,
            "graphml": graphml,
        }));
        ours.push((g, pr, parts, mods, deg));
    }
    let mut child = Command::new(&py)
        .arg("-c")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the stats venv's python");
    let body = serde_json::to_vec(&json!({ "graphs": request })).expect("json");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&body)
        .expect("write request");
    let out = child.wait_with_output().expect("python output");
    assert!(
        out.status.success(),
        "NetworkX reference script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply: Value = serde_json::from_slice(&out.stdout).expect("script output");
    eprintln!("NetworkX {}", reply["networkx"]);
    let graphs = reply["graphs"].as_array().expect("graphs");
    assert_eq!(graphs.len(), ours.len());
    for (nx, (g, pr, parts, mods, deg)) in graphs.iter().zip(&ours) {
        let name = nx["name"].as_str().unwrap_or("?");
        assert_eq!(nx["nodes"].as_u64(), Some(g.node_count() as u64), "{name}");
        assert_eq!(nx["edges"].as_u64(), Some(g.edge_count() as u64), "{name}");
        // PageRank within 1e-6 for every node.
        let nx_pr = nx["pagerank"].as_object().expect("pagerank");
        assert_eq!(nx_pr.len(), g.node_count());
        let mut max_d = 0.0f64;
        for (i, id) in g.nodes().iter().enumerate() {
            let theirs = nx_pr[id].as_f64().expect("pagerank value");
            max_d = max_d.max((theirs - pr[i]).abs());
        }
        // Louvain: our modularity ≥ NetworkX's − 0.02 per seed; NetworkX agrees on ours.
        let nx_louvain: Vec<f64> = nx["louvain_modularity"]
            .as_array()
            .expect("louvain")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        let nx_of_ours: Vec<f64> = nx["modularity_of_ours"]
            .as_array()
            .expect("modularity")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        assert_eq!(nx_louvain.len(), SEEDS.len());
        eprintln!(
            "{name}: {} nodes, {} edges, max |Δ PageRank| {max_d:.2e}, modularity ours {mods:.4?} NetworkX {nx_louvain:.4?}",
            g.node_count(),
            g.edge_count()
        );
        assert!(max_d <= 1e-6, "{name}: max |Δ PageRank| {max_d}");
        for ((q, q_nx), q_ours_nx) in mods.iter().zip(&nx_louvain).zip(&nx_of_ours) {
            assert!(
                *q >= q_nx - 0.02,
                "{name}: modularity {q} < NetworkX {q_nx} − 0.02"
            );
            assert!(
                (q - q_ours_nx).abs() < 1e-9,
                "{name}: our modularity {q}, NetworkX's of our partition {q_ours_nx}"
            );
        }
        // GEXF read back.
        let gexf = &nx["gexf"];
        assert_eq!(gexf["version"], "1.3");
        let labels: Vec<&str> = gexf["labels"]
            .as_array()
            .expect("labels")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            labels,
            g.nodes().iter().map(String::as_str).collect::<Vec<_>>()
        );
        let index: HashMap<&str, usize> = g
            .nodes()
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i))
            .collect();
        for (id, v) in gexf["pagerank"].as_object().expect("gexf pagerank") {
            // serde_json's default float parsing may be one ulp off: compare to 1e-15.
            let v = v.as_f64().unwrap_or(f64::NAN);
            assert!(
                same(v, pr[index[id.as_str()]]),
                "{name}: GEXF pagerank of {id}"
            );
        }
        for (id, v) in gexf["community"].as_object().expect("gexf community") {
            assert_eq!(v.as_f64(), Some(f64::from(parts[0][index[id.as_str()]])));
        }
        let edges: Vec<(String, String, f64)> = g
            .edges()
            .map(|(a, b, w)| {
                (
                    g.nodes()[a as usize].clone(),
                    g.nodes()[b as usize].clone(),
                    w,
                )
            })
            .collect();
        let as_triples = |v: &Value| -> Vec<(String, String, f64)> {
            let mut t: Vec<(String, String, f64)> = v
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| {
                    (
                        e[0].as_str().unwrap_or_default().to_string(),
                        e[1].as_str().unwrap_or_default().to_string(),
                        e[2].as_f64().unwrap_or(f64::NAN),
                    )
                })
                .collect();
            t.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
            t
        };
        same_edges(
            &as_triples(&gexf["edges"]),
            &edges,
            &format!("{name}: GEXF"),
        );
        // GraphML read back by NetworkX.
        let gm = &nx["graphml"];
        assert_eq!(gm["directed"], true);
        assert_eq!(gm["labels"], gexf["labels"]);
        same_edges(
            &as_triples(&gm["edges"]),
            &edges,
            &format!("{name}: GraphML"),
        );
        for (id, v) in gm["in_degree"].as_object().expect("graphml in_degree") {
            let v = v.as_f64().unwrap_or(f64::NAN);
            assert!(
                same(v, deg.in_degree[index[id.as_str()]]),
                "{name}: in_degree of {id}"
            );
        }
    }
}
