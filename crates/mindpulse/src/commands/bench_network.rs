//! `mindpulse bench network`: PageRank and communities of `mindpulse-network` on a
//! generated reply network, against python-igraph and NetworkX in the same run.
//!
//! The graph is `mindpulse_network::synth::social_graph` (seeded: Pareto popularity and
//! activity, so power-law in- and out-degrees, planted communities of Pareto sizes, 25 %
//! of acts answered back, repeated interactions). It is written once to a temporary
//! directory (`edges.bin`: little-endian u32 source, u32 target, f64 weight per row;
//! `nodes.txt`: the ids), and every side reads that file; loading (and, for igraph,
//! merging parallel edges) is timed apart from the computations. Timed: our PageRank on
//! all cores and on one, our Louvain; igraph's `Graph.pagerank(weights=...)` (PRPACK),
//! `community_multilevel` (Louvain) and `community_leiden` (modularity) on the graph
//! made undirected (weights summed, timed apart); NetworkX's `nx.pagerank` on the first
//! `--networkx-max-edges` rows (NetworkX holds a graph in Python dicts: at 5 M edges it
//! needs minutes and several GB), with our PageRank on the same rows to compare with.
//! Every partition's modularity is computed by `mindpulse_network::modularity` on the same
//! undirected graph (igraph's own value is shown next to it).

use anyhow::Context as _;
use clap::Args;
use mindpulse_network::synth::{social_graph, SocialSpec};
use mindpulse_network::{communities, degrees, modularity, pagerank, Graph, PageRankOptions};
use serde::Deserialize;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct BenchNetworkArgs {
    /// Edge rows of the generated graph (authors: a tenth of that).
    #[arg(long, default_value_t = 5_000_000)]
    pub edges: usize,
    /// Seed of the graph and of both Louvain runs.
    #[arg(long, default_value_t = 2008)]
    pub seed: u64,
    /// Threads of our PageRank (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// NetworkX runs on at most this many rows (the first ones) of the graph.
    #[arg(long, default_value_t = 1_000_000)]
    pub networkx_max_edges: usize,
    /// Python of the stats venv (default: scripts/setup_stats_venv.sh's).
    #[arg(long, env = "MINDPULSE_STATS_PYTHON")]
    pub python: Option<PathBuf>,
    /// Only our side (no igraph, no NetworkX).
    #[arg(long)]
    pub no_python: bool,
}

/// The Python peer: argv = directory, NetworkX row limit, seed. Writes `pr_igraph.f64`,
/// `pr_networkx.f64` (float64, one per node in `nodes.txt` order), `multilevel.i64`,
/// `leiden.i64` (int64 memberships) and prints JSON timings.
const PEER: &str = r#"
import json, sys, time
import numpy as np
d, nx_max, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = {}
t = time.perf_counter()
with open(f"{d}/nodes.txt", "rb") as f:
    n = sum(1 for _ in f)
rows = np.fromfile(f"{d}/edges.bin", dtype=np.dtype([("s", "<u4"), ("t", "<u4"), ("w", "<f8")]))
out["read_s"] = time.perf_counter() - t

import igraph as ig
out["igraph"] = ig.__version__
import random
random.seed(seed)
ig.set_random_number_generator(random)
t = time.perf_counter()
g = ig.Graph(n=n, edges=np.column_stack([rows["s"], rows["t"]]).astype(np.int64), directed=True)
g.es["weight"] = rows["w"]
g.simplify(multiple=True, loops=False, combine_edges={"weight": "sum"})
out["igraph_load_s"] = time.perf_counter() - t
out["igraph_edges"] = g.ecount()
t = time.perf_counter()
pr = g.pagerank(weights="weight", damping=0.85, directed=True)
out["igraph_pagerank_s"] = time.perf_counter() - t
np.asarray(pr, dtype="<f8").tofile(f"{d}/pr_igraph.f64")
t = time.perf_counter()
u = g.as_undirected(mode="collapse", combine_edges={"weight": "sum"})
out["igraph_undirected_s"] = time.perf_counter() - t
t = time.perf_counter()
ml = u.community_multilevel(weights="weight")
out["igraph_multilevel_s"] = time.perf_counter() - t
out["igraph_multilevel_q"] = u.modularity(ml.membership, weights="weight")
np.asarray(ml.membership, dtype="<i8").tofile(f"{d}/multilevel.i64")
t = time.perf_counter()
ld = u.community_leiden(objective_function="modularity", weights="weight", n_iterations=2)
out["igraph_leiden_s"] = time.perf_counter() - t
out["igraph_leiden_q"] = u.modularity(ld.membership, weights="weight")
np.asarray(ld.membership, dtype="<i8").tofile(f"{d}/leiden.i64")
del g, u

import networkx as nx
import scipy.sparse as sp
out["networkx"] = nx.__version__
k = min(len(rows), nx_max)
out["networkx_rows"] = k
t = time.perf_counter()
sub = rows[:k]
a = sp.coo_array((sub["w"], (sub["s"].astype(np.int64), sub["t"].astype(np.int64))), shape=(n, n)).tocsr()
G = nx.from_scipy_sparse_array(a, create_using=nx.DiGraph)
out["networkx_load_s"] = time.perf_counter() - t
out["networkx_edges"] = G.number_of_edges()
t = time.perf_counter()
prn = nx.pagerank(G, alpha=0.85, weight="weight")
out["networkx_pagerank_s"] = time.perf_counter() - t
np.asarray([prn[i] for i in range(n)], dtype="<f8").tofile(f"{d}/pr_networkx.f64")
json.dump(out, sys.stdout)
"#;

#[derive(Debug, Deserialize)]
struct Peer {
    read_s: f64,
    igraph: String,
    igraph_load_s: f64,
    igraph_edges: usize,
    igraph_pagerank_s: f64,
    igraph_undirected_s: f64,
    igraph_multilevel_s: f64,
    igraph_multilevel_q: f64,
    igraph_leiden_s: f64,
    igraph_leiden_q: f64,
    networkx: String,
    networkx_rows: usize,
    networkx_load_s: f64,
    networkx_edges: usize,
    networkx_pagerank_s: f64,
}

fn write_graph(dir: &Path, nodes: &[String], rows: &[(u32, u32, f64)]) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("nodes.txt"))?);
    for id in nodes {
        writeln!(f, "{id}")?;
    }
    f.flush()?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("edges.bin"))?);
    for &(a, b, w) in rows {
        f.write_all(&a.to_le_bytes())?;
        f.write_all(&b.to_le_bytes())?;
        f.write_all(&w.to_le_bytes())?;
    }
    f.flush()?;
    Ok(())
}

/// Reads what `write_graph` wrote.
/// Author ids, and edges as (from, to, weight) by index.
type Rows = (Vec<String>, Vec<(u32, u32, f64)>);

fn read_graph(dir: &Path) -> anyhow::Result<Rows> {
    let f = std::io::BufReader::new(std::fs::File::open(dir.join("nodes.txt"))?);
    let nodes = f.lines().collect::<Result<Vec<String>, _>>()?;
    let bytes = std::fs::read(dir.join("edges.bin"))?;
    anyhow::ensure!(bytes.len() % 16 == 0, "edges.bin is not whole rows");
    let rows = bytes
        .chunks_exact(16)
        .map(|c| {
            let mut a = [0u8; 4];
            let mut b = [0u8; 4];
            let mut w = [0u8; 8];
            a.copy_from_slice(&c[0..4]);
            b.copy_from_slice(&c[4..8]);
            w.copy_from_slice(&c[8..16]);
            (
                u32::from_le_bytes(a),
                u32::from_le_bytes(b),
                f64::from_le_bytes(w),
            )
        })
        .collect();
    Ok((nodes, rows))
}

fn read_f64(path: &Path) -> anyhow::Result<Vec<f64>> {
    let b = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(b.chunks_exact(8)
        .map(|c| {
            let mut x = [0u8; 8];
            x.copy_from_slice(c);
            f64::from_le_bytes(x)
        })
        .collect())
}

fn read_i64(path: &Path) -> anyhow::Result<Vec<i64>> {
    let b = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(b.chunks_exact(8)
        .map(|c| {
            let mut x = [0u8; 8];
            x.copy_from_slice(c);
            i64::from_le_bytes(x)
        })
        .collect())
}

/// max |ours − theirs|, `theirs` in generation order, `ours` in graph order.
fn max_diff(ours: &[f64], theirs: &[f64], rank: &[u32]) -> Option<f64> {
    if theirs.len() != rank.len() {
        return None;
    }
    Some(
        rank.iter()
            .zip(theirs)
            .map(|(&r, t)| (ours[r as usize] - t).abs())
            .fold(0.0, f64::max),
    )
}

/// A membership in generation order, as labels in graph order.
fn to_graph_order(m: &[i64], rank: &[u32]) -> Option<Vec<u32>> {
    if m.len() != rank.len() {
        return None;
    }
    let mut out = vec![0u32; rank.len()];
    for (&r, &c) in rank.iter().zip(m) {
        out[r as usize] = u32::try_from(c).ok()?;
    }
    Some(out)
}

fn count(labels: &[u32]) -> usize {
    let mut v = labels.to_vec();
    v.sort_unstable();
    v.dedup();
    v.len()
}

fn fmt_d(x: Option<f64>) -> String {
    x.map_or("–".into(), |d| format!("{d:.1e}"))
}

pub async fn run(args: BenchNetworkArgs) -> anyhow::Result<ExitCode> {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let threads = if args.threads == 0 {
        cores
    } else {
        args.threads
    };
    let t = Instant::now();
    let spec = SocialSpec::with_edges(args.edges, args.seed);
    let synth = social_graph(&spec);
    let gen_s = t.elapsed().as_secs_f64();
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    write_graph(dir.path(), &synth.nodes, &synth.edges)?;
    drop(synth);

    // Ours: load, PageRank (all threads, then one), Louvain.
    let t = Instant::now();
    let (nodes, rows) = read_graph(dir.path())?;
    let read_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let g = Graph::from_indexed_edges(nodes.clone(), &rows)?;
    let build_s = t.elapsed().as_secs_f64();
    let rank: Vec<u32> = nodes
        .iter()
        .map(|id| g.node_index(id).context("node missing from the graph"))
        .collect::<anyhow::Result<_>>()?;
    let opts = PageRankOptions {
        threads,
        ..Default::default()
    };
    let t = Instant::now();
    let pr = pagerank(&g, &opts)?;
    let pr_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let pr1 = pagerank(
        &g,
        &PageRankOptions {
            threads: 1,
            ..Default::default()
        },
    )?;
    let pr1_s = t.elapsed().as_secs_f64();
    // NetworkX's stopping rule (L1 change < N · 1e-6) leaves an error of up to about
    // N · 1e-6 on the largest scores; a tight run shows the true values (as PRPACK's).
    let t = Instant::now();
    let pr_tight = pagerank(
        &g,
        &PageRankOptions {
            threads,
            tol: 1e-10 / g.node_count().max(1) as f64,
            max_iter: 1000,
            ..Default::default()
        },
    )?;
    let tight_s = t.elapsed().as_secs_f64();
    let same_bits = pr.iter().zip(&pr1).all(|(a, b)| a.to_bits() == b.to_bits());
    let t = Instant::now();
    let com = communities(&g, args.seed, 1.0)?;
    let com_s = t.elapsed().as_secs_f64();
    let q = modularity(&g, &com, 1.0)?;
    let d = degrees(&g);
    let max_in = d.in_count.iter().copied().max().unwrap_or(0);
    let max_out = d.out_count.iter().copied().max().unwrap_or(0);
    let recip = g
        .edges()
        .filter(|&(a, b, _)| a != b && g.out_edges(b).0.binary_search(&a).is_ok())
        .count() as f64
        / g.edge_count().max(1) as f64;

    println!("## mindpulse bench network\n");
    println!(
        "Generated graph (seed {}, {:.1} s): {} rows (acts summed per pair), {} authors, {} distinct directed edges, reciprocity {:.1} %, max in-degree {} (distinct authors), max out-degree {}, mean in-degree {:.1}, {} planted communities. Machine: {} cores; our PageRank on {} threads.\n",
        args.seed,
        gen_s,
        rows.len(),
        g.node_count(),
        g.edge_count(),
        100.0 * recip,
        max_in,
        max_out,
        g.edge_count() as f64 / g.node_count().max(1) as f64,
        spec.communities,
        cores,
        threads
    );

    let peer = if args.no_python {
        Err(anyhow::anyhow!("--no-python"))
    } else {
        run_peer(&args, dir.path())
    };
    let (peer, peer_s) = match peer {
        Ok(p) => (Some(p.0), p.1),
        Err(e) => {
            println!("(igraph and NetworkX skipped: {e:#})\n");
            (None, 0.0)
        }
    };
    let pr_ig = read_f64(&dir.path().join("pr_igraph.f64")).ok();
    let pr_nx = read_f64(&dir.path().join("pr_networkx.f64")).ok();
    let d_ig = pr_ig.as_deref().and_then(|p| max_diff(&pr, p, &rank));
    let d_ig_tight = pr_ig.as_deref().and_then(|p| max_diff(&pr_tight, p, &rank));

    // Our PageRank on NetworkX's rows, when NetworkX ran on a subsample.
    let nx_rows = peer.as_ref().map_or(0, |p| p.networkx_rows);
    let (pr_sub, sub_s, sub_edges) = if peer.is_some() && nx_rows < rows.len() {
        let gs = Graph::from_indexed_edges(nodes.clone(), &rows[..nx_rows])?;
        let t = Instant::now();
        let p = pagerank(&gs, &opts)?;
        (Some(p), t.elapsed().as_secs_f64(), gs.edge_count())
    } else {
        (None, 0.0, g.edge_count())
    };
    let d_nx = match (&pr_nx, &pr_sub) {
        (Some(n), Some(s)) => max_diff(s, n, &rank),
        (Some(n), None) => max_diff(&pr, n, &rank),
        _ => None,
    };

    println!("| tool | task | edges | load s | compute s | max abs Δ PageRank vs igraph | vs NetworkX | modularity (igraph's) | communities |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| mindpulse | PageRank ({threads} threads) | {} | {:.2} (read {:.2} + build {:.2}) | {:.2} | {} | {} | | |",
        g.edge_count(),
        read_s + build_s,
        read_s,
        build_s,
        pr_s,
        fmt_d(d_ig),
        if pr_sub.is_some() { "see below".to_string() } else { fmt_d(d_nx) }
    );
    println!(
        "| mindpulse | PageRank (1 thread{}) | {} | | {:.2} | | | | |",
        if same_bits {
            ", bit-identical"
        } else {
            ", NOT bit-identical"
        },
        g.edge_count(),
        pr1_s
    );
    println!(
        "| mindpulse | PageRank (tol 1e-10/N, {threads} threads) | {} | | {:.2} | {} | | | |",
        g.edge_count(),
        tight_s,
        fmt_d(d_ig_tight)
    );
    println!(
        "| mindpulse | Louvain (seed {}, incl. making it undirected) | {} | | {:.2} | | | {:.4} | {} |",
        args.seed,
        g.edge_count(),
        com_s,
        q,
        count(&com)
    );
    if let Some(p) = &peer {
        println!(
            "| python-igraph {} | PageRank (PRPACK) | {} | {:.2} (read {:.2} + build {:.2}) | {:.2} | – | | | |",
            p.igraph,
            p.igraph_edges,
            p.read_s + p.igraph_load_s,
            p.read_s,
            p.igraph_load_s,
            p.igraph_pagerank_s
        );
        for (name, file, s, q_ig) in [
            (
                "community_multilevel (Louvain)",
                "multilevel.i64",
                p.igraph_multilevel_s,
                p.igraph_multilevel_q,
            ),
            (
                "community_leiden (modularity, 2 iterations)",
                "leiden.i64",
                p.igraph_leiden_s,
                p.igraph_leiden_q,
            ),
        ] {
            let m = read_i64(&dir.path().join(file))
                .ok()
                .and_then(|m| to_graph_order(&m, &rank));
            let ours_q = m.as_ref().map(|m| modularity(&g, m, 1.0)).transpose()?;
            println!(
                "| python-igraph {} | {name} (+ {:.2} s as_undirected) | {} | | {:.2} | | | {} ({:.4}) | {} |",
                p.igraph,
                p.igraph_undirected_s,
                p.igraph_edges,
                s,
                ours_q.map_or("–".into(), |q| format!("{q:.4}")),
                q_ig,
                m.as_ref().map_or(0, |m| count(m))
            );
        }
        println!(
            "| NetworkX {} | pagerank{} | {} | {:.2} | {:.2} | | – | | |",
            p.networkx,
            if nx_rows < rows.len() {
                format!(" (first {nx_rows} rows)")
            } else {
                String::new()
            },
            p.networkx_edges,
            p.networkx_load_s,
            p.networkx_pagerank_s
        );
        if pr_sub.is_some() {
            println!(
                "| mindpulse | PageRank on NetworkX's rows ({threads} threads) | {} | | {:.2} | | {} | | |",
                sub_edges,
                sub_s,
                fmt_d(d_nx)
            );
        }
        println!("\n(The Python side took {peer_s:.1} s in all.)");
        let ours = pr_s + com_s;
        let met = ours < p.igraph_pagerank_s;
        println!(
            "\nTarget \"{} edges: PageRank + communities in less time than python-igraph's PageRank alone\": ours {:.2} s ({:.2} + {:.2}) vs igraph PageRank {:.2} s: {}. PageRank agrees with NetworkX within {} (target 1e-6: {}).",
            g.edge_count(),
            ours,
            pr_s,
            com_s,
            p.igraph_pagerank_s,
            if met { "MET" } else { "NOT MET" },
            fmt_d(d_nx),
            match d_nx {
                Some(d) if d <= 1e-6 => "met",
                Some(_) => "NOT met",
                None => "not measured",
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_peer(args: &BenchNetworkArgs, dir: &Path) -> anyhow::Result<(Peer, f64)> {
    let python = crate::measure::stats_python(args.python.as_deref())?;
    let t = Instant::now();
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(PEER)
        .arg(dir)
        .arg(args.networkx_max_edges.to_string())
        .arg(args.seed.to_string())
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "the igraph/NetworkX script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peer: Peer =
        serde_json::from_slice(&out.stdout).context("reading the igraph/NetworkX output")?;
    Ok((peer, t.elapsed().as_secs_f64()))
}
