//! `mindpulse network` end to end: three groups of authors who answer, repost and mention
//! each other (and rarely the other groups), each around its own topic; the build finds
//! them as communities, the hub of each is on top by PageRank under its pseudonym, the
//! communities carry their topics, and the exports are well-formed GEXF and GraphML.

mod common;
use common::{mindpulse, ok};

/// 3 groups × 10 authors; in each group everyone replies to the group's first author's
/// posts, some repost, some mention the group's second author; a few replies cross groups.
fn posts() -> String {
    let topics = ["考试", "加班", "失眠"];
    let mut out = String::new();
    let mut id = 0;
    for (g, topic) in topics.iter().enumerate() {
        let hub = format!("g{g}a0");
        // The hub's posts.
        for k in 0..5 {
            id += 1;
            out.push_str(&format!(
                "{{\"id\":\"p{id}\",\"author\":\"{hub}\",\"lang\":\"zh\",\"topic\":\"{}\",\"text\":\"第{k}条 今天的{} 有人一样吗\",\"created_at\":\"2025-11-0{}T10:00:00Z\"}}\n",
                topic, topic, k + 1
            ));
        }
        let first_post = id - 4;
        for a in 1..10 {
            let author = format!("g{g}a{a}");
            for k in 0..3 {
                id += 1;
                let parent = first_post + (a + k) % 5;
                let text = if a % 3 == 0 {
                    format!("@g{g}a1 你怎么看 {a}{k} {}", topic)
                } else {
                    format!("回复{a}-{k}：我也是这样，{}真难", topic)
                };
                out.push_str(&format!(
                    "{{\"id\":\"p{id}\",\"author\":\"{author}\",\"lang\":\"zh\",\"topic\":\"{}\",\"parent_id\":\"p{parent}\",\"text\":\"{text}\",\"created_at\":\"2025-11-0{}T12:{:02}:00Z\"}}\n",
                    topic,
                    k + 1,
                    a
                ));
            }
        }
    }
    // Two replies across groups.
    out.push_str("{\"id\":\"x1\",\"author\":\"g0a5\",\"lang\":\"zh\",\"parent_id\":\"p6\",\"text\":\"隔壁组的也来看看\",\"created_at\":\"2025-11-04T09:00:00Z\"}\n");
    out.push_str("{\"id\":\"x2\",\"author\":\"g2a5\",\"lang\":\"zh\",\"parent_id\":\"p1\",\"text\":\"路过说一句加油\",\"created_at\":\"2025-11-04T09:30:00Z\"}\n");
    out
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s.trim()).unwrap()
}

#[test]
fn network_build_top_communities_and_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = format!("sqlite://{}", dir.join("n.db").display());
    std::fs::write(dir.join("p.jsonl"), posts()).unwrap();
    ok(&mindpulse(
        dir,
        &["--db", &db, "import", "p.jsonl", "--platform", "weibo"],
    ));

    let o = mindpulse(dir, &["--db", &db, "network", "top"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("network build"));

    let built = json(&ok(&mindpulse(
        dir,
        &["--db", &db, "network", "build", "--json"],
    )));
    assert_eq!(built["nodes"], 30, "{built}");
    assert!(built["communities"].as_u64().unwrap() >= 3, "{built}");
    assert!(built["modularity"].as_f64().unwrap() > 0.4, "{built}");

    let top = json(&ok(&mindpulse(
        dir,
        &["--db", &db, "network", "top", "--limit", "3", "--json"],
    )));
    let top = top.as_array().unwrap();
    assert_eq!(top.len(), 3);
    for n in top {
        for key in ["author", "pagerank", "in_degree", "community"] {
            assert!(n.get(key).is_some(), "{key} in {n}");
        }
        let author = n["author"].as_str().unwrap();
        // A pseudonym (u_ and 20 hex digits), never a raw id like `g0a0` (hex digits may
        // spell "a0" by chance, so the check is on the form).
        assert!(
            author.len() == 22
                && author.starts_with("u_")
                && author[2..]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "pseudonymous: {author}"
        );
    }
    // The three hubs, one per community.
    let communities: std::collections::BTreeSet<i64> = top
        .iter()
        .map(|n| n["community"].as_i64().unwrap())
        .collect();
    assert_eq!(communities.len(), 3, "{top:?}");
    let by_in = json(&ok(&mindpulse(
        dir,
        &[
            "--db",
            &db,
            "network",
            "top",
            "--by",
            "in-degree",
            "--limit",
            "1",
            "--json",
        ],
    )));
    assert!(by_in[0]["in_degree"].as_f64().unwrap() >= 27.0, "{by_in}");

    let comms = json(&ok(&mindpulse(
        dir,
        &["--db", &db, "network", "communities", "--json"],
    )));
    let comms = comms.as_array().unwrap();
    let sizes: u64 = comms.iter().map(|c| c["size"].as_u64().unwrap()).sum();
    assert_eq!(sizes, 30);
    for topic in ["考试", "加班", "失眠"] {
        assert!(
            comms
                .iter()
                .any(|c| c["top_topics"][0]["topic"] == topic && c["size"].as_u64().unwrap() >= 9),
            "{topic}: {comms:#?}"
        );
    }

    ok(&mindpulse(
        dir,
        &[
            "--db", &db, "network", "export", "--format", "gexf", "--out", "n.gexf",
        ],
    ));
    let gexf = std::fs::read_to_string(dir.join("n.gexf")).unwrap();
    assert!(
        gexf.starts_with("<?xml") && gexf.contains("<gexf"),
        "{gexf}"
    );
    assert_eq!(gexf.matches("<node ").count(), 30);
    assert!(gexf.contains("defaultedgetype=\"directed\""), "{gexf}");
    ok(&mindpulse(
        dir,
        &[
            "--db",
            &db,
            "network",
            "export",
            "--format",
            "graphml",
            "--out",
            "n.graphml",
        ],
    ));
    let graphml = std::fs::read_to_string(dir.join("n.graphml")).unwrap();
    assert!(graphml.contains("<graphml") && graphml.contains("edgedefault=\"directed\""));
    assert_eq!(graphml.matches("<node ").count(), 30);
    // Not over an existing file.
    let o = mindpulse(
        dir,
        &[
            "--db", &db, "network", "export", "--format", "gexf", "--out", "n.gexf",
        ],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
}
