//! The network drawing of the web interface: a server-rendered SVG of the top authors and
//! the links among them, from the positions the binary computed (`/api/network/graph`).
//! Circle area follows PageRank, colour the community (the eight largest among the drawn
//! authors get colours, the rest grey), line width the link's weight; each circle's
//! `<title>` holds the pseudonym and its figures (hover), so nothing needs a script.
//! Pseudonyms are stored text and are escaped like any other.

use crate::html::escape;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Community colours (Okabe–Ito, as the charts), then grey.
const PALETTE: &[&str] = &[
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
];
const OTHER: &str = "#999999";

/// The SVG of a graph value (`{"nodes": [...], "edges": [...]}`), `size` pixels square.
pub fn network_svg(graph: &Value, size: u32) -> String {
    let empty = Vec::new();
    let nodes = graph["nodes"].as_array().unwrap_or(&empty);
    let edges = graph["edges"].as_array().unwrap_or(&empty);
    let side = f64::from(size);
    let margin = 16.0;
    let at = |n: &Value| {
        let x = n["x"].as_f64().unwrap_or(0.5).clamp(0.0, 1.0);
        let y = n["y"].as_f64().unwrap_or(0.5).clamp(0.0, 1.0);
        (
            margin + x * (side - 2.0 * margin),
            margin + y * (side - 2.0 * margin),
        )
    };
    // Colours by community size among the drawn authors.
    let mut sizes: BTreeMap<i64, usize> = BTreeMap::new();
    for n in nodes {
        *sizes
            .entry(n["community"].as_i64().unwrap_or(-1))
            .or_default() += 1;
    }
    let mut ranked: Vec<(i64, usize)> = sizes.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let colour: BTreeMap<i64, &str> = ranked
        .iter()
        .enumerate()
        .map(|(i, (c, _))| (*c, PALETTE.get(i).copied().unwrap_or(OTHER)))
        .collect();
    let max_rank = nodes
        .iter()
        .filter_map(|n| n["pagerank"].as_f64())
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let max_weight = edges
        .iter()
        .filter_map(|e| e["weight"].as_f64())
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let radius = |n: &Value| {
        let rank = n["pagerank"].as_f64().unwrap_or(0.0);
        3.0 + 9.0 * (rank / max_rank).max(0.0).sqrt()
    };
    // Arrowheads point at the author answered, reposted or mentioned.
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"{size}\" height=\"{size}\" role=\"img\"><title>network</title><defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"5\" markerHeight=\"5\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#8a8a8a\"/></marker></defs><g class=\"edges\" stroke=\"#8a8a8a\" stroke-opacity=\"0.55\">"
    );
    for e in edges {
        let (Some(a), Some(b)) = (
            e["source"].as_u64().and_then(|i| nodes.get(i as usize)),
            e["target"].as_u64().and_then(|i| nodes.get(i as usize)),
        ) else {
            continue;
        };
        let ((x1, y1), (x2, y2)) = (at(a), at(b));
        // The line stops at the edge of the target's circle, where its arrowhead shows.
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        let cut = (radius(b) + 1.0).min(len / 2.0) / len;
        let (x2, y2) = (x2 - dx * cut, y2 - dy * cut);
        let w = e["weight"].as_f64().unwrap_or(1.0);
        let _ = write!(
            out,
            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke-width=\"{:.2}\" marker-end=\"url(#arrow)\"><title>{} → {} · {w}</title></line>",
            0.6 + 2.4 * (w / max_weight).sqrt(),
            escape(a["author"].as_str().unwrap_or_default()),
            escape(b["author"].as_str().unwrap_or_default()),
        );
    }
    out.push_str("</g><g class=\"nodes\" stroke=\"#ffffff\" stroke-width=\"1\">");
    for n in nodes {
        let (x, y) = at(n);
        let rank = n["pagerank"].as_f64().unwrap_or(0.0);
        let community = n["community"].as_i64().unwrap_or(-1);
        let r = radius(n);
        let _ = write!(
            out,
            "<circle class=\"node\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\" fill=\"{}\" data-community=\"{community}\"><title>{} · PageRank {rank:.5} · in {} · out {} · community {community}</title></circle>",
            colour.get(&community).copied().unwrap_or(OTHER),
            escape(n["author"].as_str().unwrap_or_default()),
            n["in_count"].as_i64().unwrap_or(0),
            n["out_count"].as_i64().unwrap_or(0),
        );
    }
    out.push_str("</g></svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_circle_per_author_one_line_per_link_all_text_escaped() {
        let g = json!({
            "nodes": [
                {"author": "u_a", "pagerank": 0.5, "in_count": 3, "out_count": 0, "community": 1, "x": 0.0, "y": 0.0},
                {"author": "<script>x</script>", "pagerank": 0.2, "in_count": 0, "out_count": 2, "community": 2, "x": 1.0, "y": 1.0},
                {"author": "u_c", "pagerank": 0.1, "in_count": 1, "out_count": 1, "community": 1, "x": 0.5, "y": 0.5}
            ],
            "edges": [{"source": 1, "target": 0, "weight": 2.0}, {"source": 2, "target": 0, "weight": 1.0},
                      {"source": 7, "target": 0, "weight": 1.0}]
        });
        let svg = network_svg(&g, 400);
        assert_eq!(svg.matches("<circle class=\"node\"").count(), 3);
        assert_eq!(
            svg.matches("<line ").count(),
            2,
            "an edge to no node is not drawn"
        );
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;x&lt;/script&gt; · PageRank 0.20000"));
        // The largest community (1) gets the first colour.
        assert_eq!(
            svg.matches("fill=\"#0072B2\" data-community=\"1\"").count(),
            2
        );
        // Positions fill the square inside the margin.
        assert!(
            svg.contains("cx=\"16.0\" cy=\"16.0\"") && svg.contains("cx=\"384.0\" cy=\"384.0\"")
        );
    }

    #[test]
    fn an_empty_graph_is_an_empty_drawing() {
        let svg = network_svg(&json!({}), 100);
        assert!(svg.starts_with("<svg") && !svg.contains("<circle"));
    }
}
