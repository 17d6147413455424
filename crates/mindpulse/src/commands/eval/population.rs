//! `mindpulse eval --population`: does a screen give population numbers that mean what they
//! say? Per screen and language, on the held-out rows (never used for training or for the
//! operating point): the false-flag share on everyday posts, the recall on clinical
//! positives, and mixtures of the two at known prevalences (1, 2, 5, 10, 20 %) estimated by
//! raw counting and by the corrected estimators (ACC, PACC), with the 95 % intervals'
//! coverage. The two halves of the held-out rows take turns giving the rates and the
//! mixtures (cross-fitting). With `--card`, the table replaces the population section of
//! the model card.

use super::EvalArgs;
use anyhow::Context as _;
use mindpulse_analyze::validate::{mixtures, Half, MixtureResult, Scored};
use mindpulse_heads::data::default_data_dir;
use mindpulse_heads::embed::{default_cache_dir, Embedder};
use mindpulse_heads::screen::{load_rows, Role};
use mindpulse_heads::screening;
use mindpulse_heads::HeadSet;
use serde::Serialize;
use std::fmt::Write as _;
use std::process::ExitCode;

/// The prevalences the mixtures are built at.
pub const PREVALENCES: [f64; 5] = [0.01, 0.02, 0.05, 0.10, 0.20];
/// Posts per mixture, and mixtures per prevalence and half.
const POSTS: usize = 2000;
const PER_HALF: usize = 100;

/// Begin and end markers of the population section in the model card.
pub const BEGIN: &str = "<!-- population:begin (written by `mindpulse eval --population`) -->";
pub const END: &str = "<!-- population:end -->";

#[derive(Debug, Serialize)]
struct ScreenResult {
    dimension: String,
    head: String,
    lang: String,
    everyday_posts: usize,
    false_flag_share: f64,
    positives: usize,
    recall: Option<f64>,
    recall_from: String,
    mixtures: Vec<MixtureResult>,
}

fn text_half(text: &str) -> usize {
    (mindpulse_analyze::trends::fnv1a(text.as_bytes()) >> 7) as usize % 2
}

pub fn run(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let heads = HeadSet::load(args.heads.as_deref())?;
    let data_dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
    let threads = crate::commands::resolve_threads(args.threads);
    let mut results = Vec::new();
    let mut screens: Vec<_> = heads
        .heads
        .iter()
        .filter(|h| h.card.screen.is_some())
        .collect();
    screens.sort_by(|a, b| a.card.id.cmp(&b.card.id));
    anyhow::ensure!(
        !screens.is_empty(),
        "no population screens among the heads (train them with `mindpulse train --task screen_depression` …)"
    );
    let mut embedders: Vec<Embedder> = Vec::new();
    for head in screens {
        let Some(card) = &head.card.screen else {
            continue;
        };
        let screen = screening::screen(&head.card.task)
            .with_context(|| format!("head {} names an unknown screen", head.card.id))?;
        let (rows, _) = load_rows(screen, &data_dir)?;
        let lang = card.lang.as_str();
        let own = screen.positive_langs().contains(&lang);
        let held: Vec<_> = rows
            .iter()
            .filter(|r| {
                r.role == Role::Held && r.lang == lang && (r.everyday || (own && r.positive))
            })
            .collect();
        let name = &head.card.encoder.name;
        let embedder = match embedders.iter().position(|e| &e.name == name) {
            Some(i) => &mut embedders[i],
            None => {
                embedders.push(Embedder::load(name, threads, Some(&default_cache_dir()))?);
                embedders.last_mut().context("no encoder")?
            }
        };
        anyhow::ensure!(
            embedder.sha256 == head.card.encoder.sha256,
            "head {} was trained on {} sha256 {}, but the installed model has {}",
            head.card.id,
            name,
            head.card.encoder.sha256,
            embedder.sha256
        );
        let texts: Vec<&str> = held.iter().map(|r| r.text.as_str()).collect();
        let x = embedder.embed(&texts, &mut |_, _| {})?;
        let mut halves = [Half::default(), Half::default()];
        for (r, pred) in held.iter().zip(head.predict(&x)) {
            let s = Scored {
                p: pred.probs[1],
                flagged: pred.labels.contains(&1),
            };
            let h = &mut halves[text_half(&r.text)];
            if r.positive {
                h.pos.push(s);
            } else {
                h.neg.push(s);
            }
        }
        let neg: Vec<&Scored> = halves.iter().flat_map(|h| &h.neg).collect();
        let pos: Vec<&Scored> = halves.iter().flat_map(|h| &h.pos).collect();
        let share =
            |v: &[&Scored]| v.iter().filter(|s| s.flagged).count() as f64 / v.len().max(1) as f64;
        let mix = if own {
            mixtures(&halves, &PREVALENCES, POSTS, PER_HALF, 20_251_204)
        } else {
            Vec::new()
        };
        let result = ScreenResult {
            dimension: head.card.dimension.clone(),
            head: head.card.id.clone(),
            lang: lang.to_string(),
            everyday_posts: neg.len(),
            false_flag_share: share(&neg),
            positives: pos.len(),
            recall: own.then(|| share(&pos)),
            recall_from: if own {
                format!("{lang} clinical positives")
            } else {
                format!("no {lang} positives: recall not measurable in {lang}")
            },
            mixtures: mix,
        };
        eprintln!(
            "{}: false flags {:.1} % of {} everyday {lang} posts{}",
            result.head,
            result.false_flag_share * 100.0,
            result.everyday_posts,
            result
                .recall
                .map(|r| format!(
                    ", recall {:.1} % of {} positives",
                    r * 100.0,
                    result.positives
                ))
                .unwrap_or_default()
        );
        results.push(result);
    }
    if args.json {
        println!("{}", serde_json::to_string(&results)?);
    } else {
        print!("{}", render(&results));
    }
    if let Some(card) = &args.population_card {
        let old = std::fs::read_to_string(card).unwrap_or_default();
        let section = format!("{BEGIN}\n{}{END}", render(&results));
        let new = match (old.find(BEGIN), old.find(END)) {
            (Some(a), Some(b)) if b > a => {
                format!("{}{section}{}", &old[..a], &old[b + END.len()..])
            }
            _ => format!("{}\n{section}\n", old.trim_end()),
        };
        std::fs::write(card, new).with_context(|| format!("writing {}", card.display()))?;
        eprintln!("wrote the population section of {}", card.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn pct(v: f64) -> String {
    format!("{:.1}", v * 100.0)
}

fn render(results: &[ScreenResult]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Population validity (held-out posts)\n\n\
         Held-out rows only (never used to train a screen or to choose its operating point). False flags: the share of \
         everyday posts (tweets, Reddit comments, Weibo posts, reviews) flagged, an upper bound since a few of them do show \
         signs. Recall: the share of clinical positives flagged. Mixtures: {POSTS} posts at each true prevalence, {} per \
         prevalence, drawn from one half of the held-out rows and estimated with the rates of the other half (cross-fitted); \
         errors are mean absolute errors in percentage points; coverage is the share of mixtures whose 95 % interval held \
         the truth. Written by `mindpulse eval --population`.\n",
        2 * PER_HALF
    );
    let _ = writeln!(
        s,
        "| screen | lang | everyday posts | false flags % | positives | recall % |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|");
    for r in results {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} |",
            r.head,
            r.lang,
            r.everyday_posts,
            pct(r.false_flag_share),
            r.positives,
            r.recall
                .map(pct)
                .unwrap_or_else(|| format!("— ({})", r.recall_from)),
        );
    }
    let _ = writeln!(
        s,
        "\n| screen | lang | prevalence % | raw error (pts) | ACC error | PACC error | ACC coverage % | PACC coverage % |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|");
    for r in results {
        for m in &r.mixtures {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {:.2} | {:.2} | {:.2} | {} | {} |",
                r.head,
                r.lang,
                pct(m.prevalence),
                m.raw_error * 100.0,
                m.acc_error * 100.0,
                m.pacc_error * 100.0,
                pct(m.acc_coverage),
                pct(m.pacc_coverage)
            );
        }
    }
    s
}
