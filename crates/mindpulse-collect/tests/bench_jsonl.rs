//! Throughput of the JSONL importer on typical ~200-byte records. Ignored by default; run
//! `cargo test --release -p mindpulse-collect --test bench_jsonl -- --ignored --nocapture`.

use mindpulse_collect::{open, Format, ImportOptions};
use mindpulse_core::{RawAuthor, RawPost};
use std::io::{BufRead, BufReader, Write};
use std::time::Instant;

const RECORDS: usize = 1_000_000;

fn write_sample(path: &std::path::Path) -> u64 {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..RECORDS {
        writeln!(
            f,
            r#"{{"id":"{}","text":"Synthetic post number {} about sleep and mood, nothing personal here at all.","author":"user{}","created_at":"2025-11-20T08:{:02}:{:02}Z","lang":"en","topic":["mood","sleep"],"like_count":{}}}"#,
            1_000_000_000 + i,
            i,
            i % 50_000,
            i % 60,
            (i / 60) % 60,
            i % 1000
        )
        .unwrap();
    }
    f.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn per_record(label: &str, secs: f64) {
    println!(
        "{label:<44} {:>7.3} µs/record  {:>9.0} records/s",
        secs * 1e6 / RECORDS as f64,
        RECORDS as f64 / secs
    );
}

#[test]
#[ignore]
fn jsonl_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.jsonl");
    let bytes = write_sample(&path);
    println!(
        "{RECORDS} records, {:.0} bytes/record",
        bytes as f64 / RECORDS as f64
    );

    // Warm the page cache.
    std::fs::read(&path).unwrap();

    let t = Instant::now();
    let mut n = 0;
    for line in BufReader::new(std::fs::File::open(&path).unwrap()).split(b'\n') {
        n += line.unwrap().len();
    }
    per_record("baseline: std split lines only", t.elapsed().as_secs_f64());
    assert!(n > 0);

    let t = Instant::now();
    let mut n = 0;
    for line in BufReader::new(std::fs::File::open(&path).unwrap()).split(b'\n') {
        let v: serde_json::Value = serde_json::from_slice(&line.unwrap()).unwrap();
        n += v.as_object().unwrap().len();
    }
    per_record(
        "baseline: serde_json::Value per line",
        t.elapsed().as_secs_f64(),
    );
    assert!(n > 0);

    let t = Instant::now();
    let mut n = 0;
    for line in BufReader::new(std::fs::File::open(&path).unwrap()).split(b'\n') {
        n += naive_post(&line.unwrap()).text.len();
    }
    per_record(
        "baseline: Value per line + build RawPost",
        t.elapsed().as_secs_f64(),
    );
    assert!(n > 0);

    for keep_raw in [false, true] {
        let opts = ImportOptions {
            keep_raw,
            platform: Some("forum".into()),
            ..Default::default()
        };
        let t = Instant::now();
        let mut ok = 0;
        for item in open(&path, Format::Jsonl, &opts).unwrap() {
            let post = item.unwrap();
            ok += post.text.len();
        }
        let label = if keep_raw {
            "mindpulse jsonl importer, keep_raw"
        } else {
            "mindpulse jsonl importer (RawPost out)"
        };
        per_record(label, t.elapsed().as_secs_f64());
        assert!(ok > 0);
    }
}

/// What a straightforward importer would do: a `Value`, then fields out of it.
fn naive_post(line: &[u8]) -> RawPost {
    let v: serde_json::Value = serde_json::from_slice(line).unwrap();
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    RawPost {
        platform: "import".into(),
        platform_id: s("id"),
        text: s("text").unwrap(),
        author: s("author").map(|id| RawAuthor {
            id,
            ..Default::default()
        }),
        created_at: v
            .get("created_at")
            .and_then(|x| x.as_str())
            .and_then(|x| chrono::DateTime::parse_from_rfc3339(x).ok())
            .map(|d| d.to_utc()),
        lang: s("lang"),
        topics: v
            .get("topic")
            .and_then(|x| x.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        like_count: v.get("like_count").and_then(|x| x.as_i64()),
        origin: mindpulse_core::Origin {
            file: "bench.jsonl".into(),
            line: 0,
        },
        ..Default::default()
    }
}
