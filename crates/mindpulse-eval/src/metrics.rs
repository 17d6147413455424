//! Classification metrics in the forms the published baselines use: accuracy, macro / weighted /
//! micro F1, balanced accuracy (macro recall), per-class precision / recall / F1 and the
//! confusion matrix (single-label) or per-label counts (multi-label).

use crate::tasks::{Metric, TaskKind, TaskSpec};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ClassMetrics {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

/// Everything `mindpulse eval` prints.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Report {
    pub task: String,
    pub n: usize,
    pub multi_label: bool,
    /// Exact-match accuracy (subset accuracy for multi-label).
    pub accuracy: f64,
    pub macro_f1: f64,
    pub weighted_f1: f64,
    pub micro_f1: f64,
    /// Mean per-class recall (single-label); mean of (TPR+TNR)/2 per label (multi-label).
    pub balanced_accuracy: f64,
    pub per_class: Vec<ClassMetrics>,
    /// Single-label: `confusion[gold][predicted]`. Multi-label: per label `[tp, fp, fn, tn]`.
    pub confusion: Vec<Vec<u64>>,
    /// The task's headline metric and its value.
    pub metric: Metric,
    pub value: f64,
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Computes the report from gold and predicted label-index sets.
pub fn report(task: &TaskSpec, gold: &[Vec<usize>], pred: &[Vec<usize>]) -> Report {
    let k = task.labels.len();
    let n = gold.len();
    let mut tp = vec![0u64; k];
    let mut fp = vec![0u64; k];
    let mut fneg = vec![0u64; k];
    let mut exact = 0u64;
    let mut confusion = match task.kind {
        TaskKind::Single => vec![vec![0u64; k]; k],
        TaskKind::Multi => Vec::new(),
    };
    for (g, p) in gold.iter().zip(pred) {
        if g == p {
            exact += 1;
        }
        for c in 0..k {
            match (g.contains(&c), p.contains(&c)) {
                (true, true) => tp[c] += 1,
                (false, true) => fp[c] += 1,
                (true, false) => fneg[c] += 1,
                _ => {}
            }
        }
        if task.kind == TaskKind::Single {
            if let (Some(&gi), Some(&pi)) = (g.first(), p.first()) {
                confusion[gi][pi] += 1;
            }
        }
    }
    let per_class: Vec<ClassMetrics> = (0..k)
        .map(|c| {
            let precision = ratio(tp[c], tp[c] + fp[c]);
            let recall = ratio(tp[c], tp[c] + fneg[c]);
            ClassMetrics {
                label: task.labels[c].to_string(),
                precision,
                recall,
                f1: f1(precision, recall),
                support: tp[c] + fneg[c],
            }
        })
        .collect();
    let total_support: u64 = per_class.iter().map(|c| c.support).sum();
    let macro_f1 = per_class.iter().map(|c| c.f1).sum::<f64>() / k as f64;
    let weighted_f1 = per_class
        .iter()
        .map(|c| c.f1 * c.support as f64)
        .sum::<f64>()
        / total_support.max(1) as f64;
    let (stp, sfp, sfn) = (
        tp.iter().sum::<u64>(),
        fp.iter().sum::<u64>(),
        fneg.iter().sum::<u64>(),
    );
    let micro_f1 = f1(ratio(stp, stp + sfp), ratio(stp, stp + sfn));
    let balanced_accuracy = match task.kind {
        TaskKind::Single => {
            let present: Vec<&ClassMetrics> = per_class.iter().filter(|c| c.support > 0).collect();
            present.iter().map(|c| c.recall).sum::<f64>() / present.len().max(1) as f64
        }
        TaskKind::Multi => {
            (0..k)
                .map(|c| {
                    let tn = n as u64 - tp[c] - fp[c] - fneg[c];
                    (ratio(tp[c], tp[c] + fneg[c]) + ratio(tn, tn + fp[c])) / 2.0
                })
                .sum::<f64>()
                / k as f64
        }
    };
    if task.kind == TaskKind::Multi {
        confusion = (0..k)
            .map(|c| vec![tp[c], fp[c], fneg[c], n as u64 - tp[c] - fp[c] - fneg[c]])
            .collect();
    }
    let mut r = Report {
        task: task.name.to_string(),
        n,
        multi_label: task.kind == TaskKind::Multi,
        accuracy: ratio(exact, n as u64),
        macro_f1,
        weighted_f1,
        micro_f1,
        balanced_accuracy,
        per_class,
        confusion,
        metric: task.metric,
        value: 0.0,
    };
    r.value = headline(task, &r);
    r
}

/// The value of the task's headline metric.
pub fn headline(task: &TaskSpec, r: &Report) -> f64 {
    match task.metric {
        Metric::Accuracy => r.accuracy,
        Metric::MacroF1 => r.macro_f1,
        Metric::WeightedF1 => r.weighted_f1,
        Metric::MicroF1 => r.micro_f1,
        Metric::BalancedAccuracy => r.balanced_accuracy,
        Metric::PositiveF1 => task
            .positive
            .and_then(|p| task.label_index(p))
            .map(|i| r.per_class[i].f1)
            .unwrap_or(r.macro_f1),
    }
}

/// A plain-text rendering for the terminal.
pub fn render(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "task {}  n = {}", r.task, r.n);
    let _ = writeln!(
        s,
        "accuracy {:.4}  macro-F1 {:.4}  weighted-F1 {:.4}  micro-F1 {:.4}  balanced accuracy {:.4}",
        r.accuracy, r.macro_f1, r.weighted_f1, r.micro_f1, r.balanced_accuracy
    );
    let _ = writeln!(s, "headline ({}): {:.4}", r.metric.label(), r.value);
    let w = r
        .per_class
        .iter()
        .map(|c| c.label.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(s, "\n{:<w$}  precision  recall     f1  support", "class");
    for c in &r.per_class {
        let pad = w - c.label.chars().count() + c.label.len();
        let _ = writeln!(
            s,
            "{:<pad$}  {:>9.4}  {:>6.4}  {:>6.4}  {:>7}",
            c.label, c.precision, c.recall, c.f1, c.support
        );
    }
    if !r.multi_label {
        let _ = writeln!(
            s,
            "\nconfusion (rows gold, columns predicted, in class order above)"
        );
        for row in &r.confusion {
            let cells: Vec<String> = row.iter().map(|v| format!("{v:>6}")).collect();
            let _ = writeln!(s, "{}", cells.join(""));
        }
    } else {
        let _ = writeln!(s, "\nper label: tp fp fn tn");
        for (c, row) in r.per_class.iter().zip(&r.confusion) {
            let cells: Vec<String> = row.iter().map(|v| format!("{v:>6}")).collect();
            let _ = writeln!(s, "{:<w$}{}", c.label, cells.join(""));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::task;

    #[test]
    fn single_label_metrics_match_hand_computation() {
        let t = task("tweeteval_sentiment").unwrap();
        // gold: neg, neg, neu, pos, pos, pos ; pred: neg, neu, neu, pos, pos, neg
        let gold = vec![vec![0], vec![0], vec![1], vec![2], vec![2], vec![2]];
        let pred = vec![vec![0], vec![1], vec![1], vec![2], vec![2], vec![0]];
        let r = report(t, &gold, &pred);
        assert!((r.accuracy - 4.0 / 6.0).abs() < 1e-12);
        // neg: P=1/2 R=1/2 F=.5 ; neu: P=1/2 R=1 F=2/3 ; pos: P=1 R=2/3 F=.8
        assert!((r.per_class[1].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.macro_f1 - (0.5 + 2.0 / 3.0 + 0.8) / 3.0).abs() < 1e-12);
        assert!((r.weighted_f1 - (0.5 * 2.0 + 2.0 / 3.0 + 0.8 * 3.0) / 6.0).abs() < 1e-12);
        assert!((r.balanced_accuracy - (0.5 + 1.0 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(r.confusion[2], vec![1, 0, 2]);
        assert_eq!(r.value, r.balanced_accuracy);
    }

    #[test]
    fn multi_label_counts_per_label() {
        let t = task("goemotions_group").unwrap();
        let gold = vec![vec![1, 3], vec![2]];
        let pred = vec![vec![1], vec![2, 3]];
        let r = report(t, &gold, &pred);
        assert_eq!(r.accuracy, 0.0);
        assert_eq!(r.confusion[3], vec![0, 1, 1, 0]);
        // micro: tp 2, fp 1, fn 1
        assert!((r.micro_f1 - 2.0 / 3.0).abs() < 1e-12);
    }
}
