//! MODEL_CARD.md: per head its data, sizes, selection method, metrics and the published
//! result beside it, written by `mindpulse eval --all`.

use crate::head::Head;
use crate::metrics::Report;
use crate::tasks;
use std::fmt::Write;

mod readers;
pub use readers::ppv;

/// One evaluated head for the card.
pub struct CardEntry<'a> {
    pub head: &'a Head,
    pub report: Report,
    /// How `report` was obtained (validation split / cross-validation).
    pub how: String,
    /// Whether re-training reproduced the shipped head bit for bit (None: not checked).
    pub reproduced: Option<bool>,
}

fn pct(v: f64) -> String {
    format!("{:.1}", v * 100.0)
}

/// Renders the card: a section for readers (what each score means, how far to trust it), the
/// population screens (from their cards), the population section `population` (written by
/// `eval --population`, kept as it is), then every other head.
pub fn render(
    entries: &[CardEntry<'_>],
    screens: &[&Head],
    notes: &str,
    population: &str,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# mindpulse heads — model card\n");
    let _ = writeln!(
        s,
        "Written by `mindpulse eval --all`; do not edit by hand. Each head is a class-weighted, L2-regularized \
         logistic regression on frozen, mean-pooled, L2-normalized sentence embeddings \
         (`minilm-l6-v2` for English, `multilingual-e5-small` with the `query: ` prefix for Chinese and for \
         the cross-lingual `@e5` heads), calibrated on validation data (temperature + class bias, or Platt \
         per label) with decision thresholds chosen on the same data for the task's metric. The L2 strength \
         is chosen from {:?} on the same data. Numbers below are on the validation split, or out-of-fold \
         over a stratified 5-fold cross-validation where a task ships no validation split; thresholds tuned on \
         the data they are reported on make them slightly optimistic. The published results are on the \
         official test splits, which are not used here.\n",
        crate::train::LAMBDAS
    );
    let _ = writeln!(
        s,
        "mindpulse is not a diagnostic tool: these heads measure population-level signals.\n"
    );
    let heads: Vec<&Head> = entries.iter().map(|e| e.head).collect();
    readers::render(&mut s, &heads, screens);
    render_screens(&mut s, screens);
    if !population.is_empty() {
        let _ = writeln!(s, "{population}\n");
    }
    let _ = writeln!(s, "## Summary\n");
    let _ = writeln!(
        s,
        "| head | dimension | train / eval rows | evaluated on | metric | mindpulse | published (test) | gap |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for e in entries {
        let card = &e.head.card;
        let task = tasks::task(&card.task);
        let published = task.and_then(|t| t.published);
        let gap = published
            .map(|p| format!("{:+.1}", (e.report.value - p) * 100.0))
            .unwrap_or_else(|| "—".into());
        let _ = writeln!(
            s,
            "| `{}` | {} | {} / {} | {} | {} | **{}** | {} | {} |",
            card.id,
            card.dimension,
            card.training.train.used,
            e.report.n,
            e.how,
            e.report.metric.label(),
            pct(e.report.value),
            published
                .map(|p| format!(
                    "{} ({})",
                    pct(p),
                    task.map(|t| t.published_by).unwrap_or("")
                ))
                .unwrap_or_else(|| "—".into()),
            gap
        );
    }
    let _ = writeln!(s, "\n{notes}\n");
    let _ = writeln!(s, "## Heads\n");
    for e in entries {
        let card = &e.head.card;
        let r = &e.report;
        let _ = writeln!(s, "### `{}` → `{}`\n", card.id, card.dimension);
        if let Some(t) = tasks::task(&card.task) {
            let _ = writeln!(s, "{}.\n", t.description);
        }
        let _ = writeln!(
            s,
            "- data: `{}` ({} rows, {} used, sha256 `{}`){}",
            card.training.train.file,
            card.training.train.rows,
            card.training.train.used,
            &card.training.train.sha256[..16],
            card.training
                .val
                .as_ref()
                .map(|v| format!(
                    "; validation `{}` ({} rows, sha256 `{}`)",
                    v.file,
                    v.rows,
                    &v.sha256[..16]
                ))
                .unwrap_or_default()
        );
        let _ = writeln!(
            s,
            "- encoder: `{}` (sha256 `{}…`), head version `{}`, λ = {}, seed {}",
            card.encoder.name,
            &card.encoder.sha256[..16],
            card.version,
            card.training.lambda,
            card.training.seed
        );
        let _ = writeln!(
            s,
            "- decision: `{}`",
            serde_json::to_string(&card.decision).unwrap_or_default()
        );
        if let Some(ok) = e.reproduced {
            let _ = writeln!(
                s,
                "- re-trained by `mindpulse eval --all`: {}",
                if ok {
                    "identical head (bit for bit)"
                } else {
                    "**differs from the shipped head**"
                }
            );
        }
        let _ = writeln!(
            s,
            "- {} (n = {}): accuracy {}, macro-F1 {}, weighted-F1 {}, micro-F1 {}, balanced accuracy {}\n",
            e.how,
            r.n,
            pct(r.accuracy),
            pct(r.macro_f1),
            pct(r.weighted_f1),
            pct(r.micro_f1),
            pct(r.balanced_accuracy)
        );
        let _ = writeln!(s, "| class | precision | recall | F1 | support |");
        let _ = writeln!(s, "|---|---|---|---|---|");
        for c in &r.per_class {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                c.label,
                pct(c.precision),
                pct(c.recall),
                pct(c.f1),
                c.support
            );
        }
        let _ = writeln!(s);
    }
    s
}

/// The screens' section: what each measures, its operating point, its held-out rates, and
/// where its rows came from with what the labels mean.
fn render_screens(s: &mut String, screens: &[&Head]) {
    if screens.is_empty() {
        return;
    }
    let _ = writeln!(s, "## Population screens\n");
    let _ = writeln!(
        s,
        "The numbers mindpulse reports for a population are shares of *all* posts, so `depression`, `suicide_risk`, \
         `stress` and `substance_use` come from screens: \"does this post show signs of X at all\", trained on the clinical \
         sets' positives against everyday posts (and the clinical sets' own negatives), with an operating point chosen \
         so that at most {:.0} % of everyday tuning posts are flagged. The finer heads below (severity, suicidal vs \
         depressed, high vs low risk, abuse vs consumption, causes of stress) answer questions about posts that already \
         show the signs, so they score only posts the screen flagged. The value stored for a screen is the calibrated \
         probability at equal class priors; population shares come from `mindpulse trends`, which corrects the flagged \
         share with the held-out recall and false-flag rate below (ACC) and gives a 95 % interval.\n",
        crate::screen::TARGET_FPR * 100.0
    );
    let _ = writeln!(
        s,
        "| screen | dimension | language | threshold | held-out recall | held-out false flags (everyday) | recall validated in this language |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|---|");
    for h in screens {
        let Some(sc) = &h.card.screen else { continue };
        for (lang, r) in &sc.rates {
            let _ = writeln!(
                s,
                "| `{}` | {} | {lang} | {:.4} | {} % of {} | {} % of {} | {} |",
                h.card.id,
                h.card.dimension,
                sc.threshold,
                pct(r.tpr()),
                r.n_pos,
                pct(r.fpr()),
                r.n_neg,
                if r.recall_validated {
                    "yes"
                } else {
                    "**no** (English positives through the multilingual encoder)"
                }
            );
        }
    }
    let _ = writeln!(s);
    for h in screens {
        let Some(sc) = &h.card.screen else { continue };
        let _ = writeln!(s, "### `{}` → `{}`\n", h.card.id, h.card.dimension);
        if let Some(screen) = mindpulse_eval::screening::screen(&h.card.task) {
            let _ = writeln!(
                s,
                "Signs of {}.\n",
                screen.about.trim_start_matches("signs of ")
            );
        }
        let _ = writeln!(
            s,
            "- encoder `{}` (sha256 `{}…`), head version `{}`, λ = {}; operating point set on {} everyday tuning posts",
            h.card.encoder.name,
            &h.card.encoder.sha256[..16],
            h.card.version,
            h.card.training.lambda,
            sc.lang
        );
        for (lang, (recall, fpr)) in &sc.tune {
            let _ = writeln!(
                s,
                "- tuning rows, {lang}: recall {} %, false flags {} %",
                pct(*recall),
                pct(*fpr)
            );
        }
        for n in &sc.notes {
            let _ = writeln!(s, "- {n}");
        }
        let _ = writeln!(s, "\n| set | lang | kind | rows used (train / tune / held-out) | positives / negatives | what the labels mean |");
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for src in &sc.sources {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} / {} / {} | {} / {} | {} |",
                src.folder,
                src.lang,
                src.kind,
                src.train,
                src.tune,
                src.held,
                src.positives,
                src.negatives,
                src.semantics
            );
        }
        let _ = writeln!(s);
    }
}
