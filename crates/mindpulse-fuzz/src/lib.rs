//! Every parser that reads outside data, as a fuzz target: a plain `fn(&[u8])` that must
//! never panic, whatever the bytes.
//!
//! `fuzz/` (a cargo-fuzz project outside the workspace, built with the nightly toolchain)
//! wraps each of [`TARGETS`] in `fuzz_target!`; `scripts/fuzz.sh [SECONDS]` runs them all
//! and prints executions and findings per target. The tests of this crate replay the
//! committed corpora (`fuzz/corpus/<target>/`) and a few thousand deterministic mutations of
//! them on the stable toolchain, in seconds, so CI catches a regression on any input a fuzz
//! run once found interesting.
//!
//! A target returns nothing: errors are the expected answer to garbage; only a panic (or,
//! under the fuzzer's sanitizer, a memory error or a hang) is a finding.

use chrono::{DateTime, TimeZone, Utc};
use mindpulse_clean::{CleanOptions, Cleaner, PseudonymKey};
use mindpulse_collect::{open, Format, ImportOptions};
use std::io::Write;

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// Every target: its name (the folder of its corpus and the cargo-fuzz target) and body.
pub const TARGETS: &[(&str, Target)] = &[
    ("import_jsonl", import_jsonl),
    ("import_csv", import_csv),
    ("import_reddit", import_reddit),
    ("import_weibo_csv", import_weibo_csv),
    ("weibo_values", weibo_values),
    ("weibo_search_html", weibo_search_html),
    ("weibo_api_json", weibo_api_json),
    ("llm_answer", llm_answer),
    ("gguf", gguf),
    ("safetensors", safetensors),
    ("cron", cron),
    ("config", config),
];

/// A fixed "now", so a run is reproducible.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0)
        .single()
        .unwrap_or_default()
}

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Writes `data` to a temporary file and imports it as `format`, cleaning every record
/// (normalization, PII redaction, pseudonyms) as an import does.
fn import(format: Format, suffix: &str, data: &[u8]) {
    let Ok(mut file) = tempfile::Builder::new().suffix(suffix).tempfile() else {
        return;
    };
    if file.write_all(data).and_then(|_| file.flush()).is_err() {
        return;
    }
    let opts = ImportOptions {
        now: now(),
        keep_raw: true,
        platform: Some("fuzz".into()),
        ..ImportOptions::default()
    };
    let Ok(source) = open(file.path(), format, &opts) else {
        return;
    };
    let cleaner = Cleaner::new(
        PseudonymKey::from_bytes([7; 32]),
        CleanOptions {
            redact_urls: true,
            keep_raw: true,
        },
    );
    for raw in source.take(10_000).flatten() {
        let _ = cleaner.clean(raw, now());
    }
}

pub fn import_jsonl(data: &[u8]) {
    import(Format::Jsonl, ".jsonl", data);
}

pub fn import_csv(data: &[u8]) {
    import(Format::Csv, ".csv", data);
}

pub fn import_reddit(data: &[u8]) {
    import(Format::Reddit, ".ndjson", data);
}

pub fn import_weibo_csv(data: &[u8]) {
    import(Format::WeiboCsv, ".csv", data);
}

/// Weibo's counts (`1.2万`, `100万+`) and times (`刚刚`, `昨天 10:00`, RFC 3339, …).
pub fn weibo_values(data: &[u8]) {
    let s = text(data);
    let _ = mindpulse_collect::weibo::parse_count(&s);
    let _ =
        mindpulse_collect::weibo::parse_time(&s, now(), mindpulse_crawl::weibo::search::china());
    let _ = mindpulse_collect::weibo::verified_type_from_label(&s);
    let _ = mindpulse_crawl::weibo::status::region_of(&s);
    let _ = mindpulse_crawl::weibo::status::province(&s);
}

/// s.weibo.com search result pages.
pub fn weibo_search_html(data: &[u8]) {
    let s = text(data);
    let _ = mindpulse_crawl::weibo::search::parse_search(&s, now());
    let _ = mindpulse_crawl::weibo::search::is_too_frequent(&s);
    let _ = mindpulse_crawl::weibo::search::is_login_page(&s);
    let _ = mindpulse_crawl::weibo::search::uid_from_href(&s);
    let _ = mindpulse_crawl::weibo::search::bid_from_href(&s);
}

/// The weibo.com JSON API: post detail, long text, comments, reposts, profiles, hot list.
pub fn weibo_api_json(data: &[u8]) {
    use mindpulse_crawl::weibo::{hot, status};
    let s = text(data);
    let _ = status::parse_show(&s, now());
    let _ = status::parse_longtext(&s);
    let _ = status::parse_comments(&s, now());
    let _ = status::parse_reposts(&s, now());
    let _ = status::parse_profile(&s);
    let _ = hot::parse_hot(&s);
}

/// What an LLM answers, with the repairs of near-JSON.
pub fn llm_answer(data: &[u8]) {
    let _ = mindpulse_llm_scorer::parse_answer(&text(data));
}

/// GGUF model files (header, metadata, tensor directory).
pub fn gguf(data: &[u8]) {
    let _ = mindpulse_llm::gguf::Gguf::parse(data);
}

/// safetensors encoder weights (header and tensor table).
pub fn safetensors(data: &[u8]) {
    let Ok(mut file) = tempfile::Builder::new().suffix(".safetensors").tempfile() else {
        return;
    };
    if file.write_all(data).and_then(|_| file.flush()).is_err() {
        return;
    }
    let _ = mindpulse_encoder::safetensors::SafeTensors::open(file.path());
}

/// `[schedule]` cron expressions.
pub fn cron(data: &[u8]) {
    if let Ok(c) = mindpulse_crawl::cron::Cron::parse(&text(data)) {
        let _ = c.next_after(now().naive_utc());
    }
}

/// The configuration file (`mindpulse.toml`): parsing and every check of its values.
pub fn config(data: &[u8]) {
    let _ = mindpulse_config::Config::parse(&text(data));
}
