//! GEXF 1.3 (Gephi's format, <https://gexf.net/>) and GraphML
//! (<http://graphml.graphdrawing.org/>) writers: every node with its id as label and the
//! computed attributes, every edge directed with its weight. Text is XML-escaped, and
//! characters XML 1.0 forbids (control characters) are replaced by U+FFFD.

use crate::{Degrees, Graph};
use std::io::{self, Write};

/// Per-node attributes to write next to the graph, indexed like [`Graph::nodes`]. An
/// empty vector leaves its attribute out; any other length than the node count is an
/// error (`io::ErrorKind::InvalidInput`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeAttrs {
    /// PageRank (`pagerank`, double).
    pub pagerank: Vec<f64>,
    /// Weighted in-degree (`in_degree`, double).
    pub in_degree: Vec<f64>,
    /// Weighted out-degree (`out_degree`, double).
    pub out_degree: Vec<f64>,
    /// Community (`community`, integer).
    pub community: Vec<u32>,
}

impl NodeAttrs {
    /// All four attributes from what the crate computes.
    pub fn new(pagerank: Vec<f64>, degrees: &Degrees, community: Vec<u32>) -> Self {
        Self {
            pagerank,
            in_degree: degrees.in_degree.clone(),
            out_degree: degrees.out_degree.clone(),
            community,
        }
    }
}

/// One attribute column: name, GEXF/GraphML type, value of node i.
struct Column<'a> {
    name: &'static str,
    kind: &'static str,
    value: Box<dyn Fn(usize) -> String + 'a>,
}

fn present(what: &str, got: usize, n: usize) -> io::Result<bool> {
    if got == n {
        Ok(n > 0)
    } else if got == 0 {
        Ok(false)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} has {got} entries, the graph has {n} nodes"),
        ))
    }
}

fn columns<'a>(g: &Graph, attrs: &'a NodeAttrs) -> io::Result<Vec<Column<'a>>> {
    let n = g.node_count();
    let mut cols: Vec<Column<'a>> = Vec::new();
    for (name, v) in [
        ("pagerank", &attrs.pagerank),
        ("in_degree", &attrs.in_degree),
        ("out_degree", &attrs.out_degree),
    ] {
        if present(name, v.len(), n)? {
            cols.push(Column {
                name,
                kind: "double",
                value: Box::new(move |i| num(v[i])),
            });
        }
    }
    if present("community", attrs.community.len(), n)? {
        let c = &attrs.community;
        cols.push(Column {
            name: "community",
            kind: "integer",
            value: Box::new(move |i| c[i].to_string()),
        });
    }
    Ok(cols)
}

/// A double as XML Schema reads it (shortest round-trip digits; NaN and ±∞ as
/// `NaN`, `INF`, `-INF`).
fn num(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "INF" } else { "-INF" }.into()
    } else {
        format!("{x:?}")
    }
}

/// `s` escaped for XML text and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => {
                out.push_str(&format!("&#{};", ch as u32));
            }
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Writes `g` as GEXF 1.3: a directed static graph, node ids `0..N` with the author id
/// as label, the attributes of `attrs`, and edges with their weight.
pub fn write_gexf(g: &Graph, attrs: &NodeAttrs, out: impl Write) -> io::Result<()> {
    let cols = columns(g, attrs)?;
    let mut w = io::BufWriter::new(out);
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<gexf xmlns="http://gexf.net/1.3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://gexf.net/1.3 http://gexf.net/1.3/gexf.xsd" version="1.3">"#
    )?;
    writeln!(
        w,
        "  <meta>\n    <creator>mindpulse-network</creator>\n  </meta>"
    )?;
    writeln!(w, r#"  <graph defaultedgetype="directed" mode="static">"#)?;
    if !cols.is_empty() {
        writeln!(w, r#"    <attributes class="node" mode="static">"#)?;
        for (k, c) in cols.iter().enumerate() {
            writeln!(
                w,
                r#"      <attribute id="{k}" title="{}" type="{}"/>"#,
                c.name, c.kind
            )?;
        }
        writeln!(w, "    </attributes>")?;
    }
    writeln!(w, "    <nodes>")?;
    for (i, id) in g.nodes().iter().enumerate() {
        write!(w, r#"      <node id="{i}" label="{}""#, xml_escape(id))?;
        if cols.is_empty() {
            writeln!(w, "/>")?;
            continue;
        }
        writeln!(w, ">\n        <attvalues>")?;
        for (k, c) in cols.iter().enumerate() {
            writeln!(
                w,
                r#"          <attvalue for="{k}" value="{}"/>"#,
                (c.value)(i)
            )?;
        }
        writeln!(w, "        </attvalues>\n      </node>")?;
    }
    writeln!(w, "    </nodes>\n    <edges>")?;
    for (k, (a, b, wt)) in g.edges().enumerate() {
        writeln!(
            w,
            r#"      <edge id="{k}" source="{a}" target="{b}" weight="{}"/>"#,
            num(wt)
        )?;
    }
    writeln!(w, "    </edges>\n  </graph>\n</gexf>")?;
    w.flush()
}

/// Writes `g` as GraphML: key declarations (`label`, the attributes of `attrs`, edge
/// `weight`), a directed graph, node ids `n0..` with the author id as `label`.
pub fn write_graphml(g: &Graph, attrs: &NodeAttrs, out: impl Write) -> io::Result<()> {
    let cols = columns(g, attrs)?;
    let mut w = io::BufWriter::new(out);
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">"#
    )?;
    writeln!(
        w,
        r#"  <key id="label" for="node" attr.name="label" attr.type="string"/>"#
    )?;
    for c in &cols {
        // GraphML's integer type is `int` (32-bit) or `long`: counts and communities fit `long`.
        let kind = if c.kind == "integer" { "long" } else { c.kind };
        writeln!(
            w,
            r#"  <key id="{0}" for="node" attr.name="{0}" attr.type="{kind}"/>"#,
            c.name
        )?;
    }
    writeln!(
        w,
        r#"  <key id="weight" for="edge" attr.name="weight" attr.type="double"/>"#
    )?;
    writeln!(w, r#"  <graph id="G" edgedefault="directed">"#)?;
    for (i, id) in g.nodes().iter().enumerate() {
        write!(
            w,
            r#"    <node id="n{i}"><data key="label">{}</data>"#,
            xml_escape(id)
        )?;
        for c in &cols {
            write!(w, r#"<data key="{}">{}</data>"#, c.name, (c.value)(i))?;
        }
        writeln!(w, "</node>")?;
    }
    for (a, b, wt) in g.edges() {
        writeln!(
            w,
            r#"    <edge source="n{a}" target="n{b}"><data key="weight">{}</data></edge>"#,
            num(wt)
        )?;
    }
    writeln!(w, "  </graph>\n</graphml>")?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::degrees;

    fn g() -> Graph {
        Graph::from_edges([("<a&b>", "\"q\"", 2.0), ("\"q\"", "x\u{1}y", 0.5)]).unwrap()
    }

    #[test]
    fn escaping() {
        assert_eq!(
            xml_escape("a<b>&\"c\"'\u{0}\n"),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;\u{FFFD}&#10;"
        );
        assert_eq!(num(0.1), "0.1");
        assert_eq!(num(1e-300), "1e-300");
        assert_eq!(num(f64::NEG_INFINITY), "-INF");
    }

    #[test]
    fn gexf_has_nodes_attributes_and_edges() {
        let g = g();
        let attrs = NodeAttrs::new(vec![0.2, 0.3, 0.5], &degrees(&g), vec![0, 0, 1]);
        let mut buf = Vec::new();
        write_gexf(&g, &attrs, &mut buf).unwrap();
        let s = String::from_utf8(buf).unwrap();
        assert!(s.contains(r#"version="1.3""#));
        assert!(s.contains(r#"label="&quot;q&quot;""#));
        assert!(s.contains(r#"label="&lt;a&amp;b&gt;""#));
        assert!(s.contains("x\u{FFFD}y"));
        assert!(!s.contains("<a&b>"));
        assert!(s.contains(r#"<attribute id="3" title="community" type="integer"/>"#));
        // Sorted ids: "q" (0), <a&b> (1), x?y (2).
        assert!(s.contains(r#"<edge id="0" source="0" target="2" weight="0.5"/>"#));
        assert!(s.contains(r#"<edge id="1" source="1" target="0" weight="2.0"/>"#));
        assert_eq!(s.matches("<node ").count(), 3);
        assert_eq!(s.matches("<edge ").count(), 2);
        assert_eq!(s.matches("<attvalue ").count(), 12);
    }

    #[test]
    fn graphml_declares_keys() {
        let g = g();
        let attrs = NodeAttrs {
            pagerank: vec![0.2, 0.3, 0.5],
            ..Default::default()
        };
        let mut buf = Vec::new();
        write_graphml(&g, &attrs, &mut buf).unwrap();
        let s = String::from_utf8(buf).unwrap();
        assert!(s.contains(
            r#"<key id="pagerank" for="node" attr.name="pagerank" attr.type="double"/>"#
        ));
        assert!(s.contains(r#"<key id="weight" for="edge""#));
        assert!(s.contains(r#"<data key="label">&lt;a&amp;b&gt;</data>"#));
        assert_eq!(s.matches("<edge ").count(), 2);
        assert!(!s.contains("community"));
    }

    #[test]
    fn wrong_lengths_are_errors_and_empty_graphs_write() {
        let g = g();
        let attrs = NodeAttrs {
            community: vec![1],
            ..Default::default()
        };
        assert!(write_gexf(&g, &attrs, Vec::new()).is_err());
        assert!(write_graphml(&g, &attrs, Vec::new()).is_err());
        let mut buf = Vec::new();
        write_gexf(&Graph::default(), &NodeAttrs::default(), &mut buf).unwrap();
        assert!(String::from_utf8(buf).unwrap().ends_with("</gexf>\n"));
    }
}
