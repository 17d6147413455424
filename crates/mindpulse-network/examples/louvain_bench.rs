//! Times PageRank and Louvain on the 5,000,000-row synthetic social graph (seed 2008).
//! `cargo run --release -p mindpulse-network --example louvain_bench [rows] [runs]`
use mindpulse_network::synth::{social_graph, SocialSpec};
use mindpulse_network::{communities, modularity, pagerank, Graph, PageRankOptions};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let s = social_graph(&SocialSpec::with_edges(rows, 2008));
    let g = Graph::from_indexed_edges(s.nodes, &s.edges).unwrap();
    println!("nodes {} edges {}", g.node_count(), g.edge_count());
    let mut pr_t = Vec::new();
    let mut lv_t = Vec::new();
    let mut first: Option<Vec<u32>> = None;
    for _ in 0..runs {
        let t = Instant::now();
        let pr = pagerank(&g, &PageRankOptions::default()).unwrap();
        pr_t.push(t.elapsed().as_secs_f64());
        std::hint::black_box(pr);
        let t = Instant::now();
        let c = communities(&g, 2008, 1.0).unwrap();
        lv_t.push(t.elapsed().as_secs_f64());
        match &first {
            None => first = Some(c),
            Some(f) => assert_eq!(f, &c, "not deterministic"),
        }
    }
    let c = first.unwrap();
    let q = modularity(&g, &c, 1.0).unwrap();
    let k = c.iter().max().map_or(0, |m| m + 1);
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "pagerank median {:.3} s, louvain median {:.3} s (runs {:?}), modularity {q:.6}, communities {k}",
        med(&mut pr_t),
        med(&mut lv_t.clone()),
        lv_t
    );
}
