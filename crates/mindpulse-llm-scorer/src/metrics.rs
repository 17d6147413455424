//! Classification metrics, the same set the heads' eval prints: n, accuracy, macro and
//! weighted F1, balanced accuracy, per-class precision/recall/F1/support, and the
//! confusion matrix (rows = true label, columns = predicted label).

use serde::Serialize;

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

/// The confusion matrix with its label order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confusion {
    pub labels: Vec<String>,
    /// `matrix[true][predicted]`.
    pub matrix: Vec<Vec<u64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub n: u64,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub weighted_f1: f64,
    pub balanced_accuracy: f64,
    pub per_class: Vec<ClassMetrics>,
    pub confusion: Confusion,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Metrics of `pred` against `truth` (class indices into `labels`). Macro F1 averages
/// over every label; balanced accuracy over the labels that occur in `truth`.
pub fn compute(labels: &[String], truth: &[usize], pred: &[usize]) -> Metrics {
    let k = labels.len();
    let mut matrix = vec![vec![0u64; k]; k];
    for (&t, &p) in truth.iter().zip(pred) {
        if t < k && p < k {
            matrix[t][p] += 1;
        }
    }
    let n: u64 = matrix.iter().flatten().sum();
    let correct: u64 = (0..k).map(|i| matrix[i][i]).sum();
    let mut per_class = Vec::with_capacity(k);
    for (i, label) in labels.iter().enumerate() {
        let tp = matrix[i][i];
        let support: u64 = matrix[i].iter().sum();
        let predicted: u64 = (0..k).map(|r| matrix[r][i]).sum();
        let precision = ratio(tp, predicted);
        let recall = ratio(tp, support);
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        per_class.push(ClassMetrics {
            label: label.clone(),
            precision,
            recall,
            f1,
            support,
        });
    }
    let macro_f1 = if k == 0 {
        0.0
    } else {
        per_class.iter().map(|c| c.f1).sum::<f64>() / k as f64
    };
    let weighted_f1 = if n == 0 {
        0.0
    } else {
        per_class
            .iter()
            .map(|c| c.f1 * c.support as f64)
            .sum::<f64>()
            / n as f64
    };
    let present: Vec<&ClassMetrics> = per_class.iter().filter(|c| c.support > 0).collect();
    let balanced_accuracy = if present.is_empty() {
        0.0
    } else {
        present.iter().map(|c| c.recall).sum::<f64>() / present.len() as f64
    };
    Metrics {
        n,
        accuracy: ratio(correct, n),
        macro_f1,
        weighted_f1,
        balanced_accuracy,
        per_class,
        confusion: Confusion {
            labels: labels.to_vec(),
            matrix,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn binary_by_hand() {
        // truth: 0 0 0 1 1 ; pred: 0 1 0 1 0
        let m = compute(&labels(&["no", "yes"]), &[0, 0, 0, 1, 1], &[0, 1, 0, 1, 0]);
        assert_eq!(m.n, 5);
        assert!((m.accuracy - 0.6).abs() < 1e-12);
        // no: P 2/3 R 2/3 F1 2/3; yes: P 1/2 R 1/2 F1 1/2
        assert!((m.per_class[0].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.per_class[1].f1 - 0.5).abs() < 1e-12);
        assert!((m.macro_f1 - (2.0 / 3.0 + 0.5) / 2.0).abs() < 1e-12);
        assert!((m.weighted_f1 - (2.0 / 3.0 * 3.0 + 0.5 * 2.0) / 5.0).abs() < 1e-12);
        assert!((m.balanced_accuracy - (2.0 / 3.0 + 0.5) / 2.0).abs() < 1e-12);
        assert_eq!(m.confusion.matrix, vec![vec![2, 1], vec![1, 1]]);
    }

    #[test]
    fn perfect_and_degenerate() {
        let l = labels(&["a", "b", "c"]);
        let m = compute(&l, &[0, 1, 2, 2], &[0, 1, 2, 2]);
        assert_eq!(m.accuracy, 1.0);
        assert_eq!(m.macro_f1, 1.0);
        // Always predicting "a": a class never predicted has precision 0, not NaN.
        let m = compute(&l, &[0, 1, 2, 2], &[0, 0, 0, 0]);
        assert!(m.macro_f1.is_finite());
        assert_eq!(m.per_class[1].precision, 0.0);
        assert!((m.balanced_accuracy - 1.0 / 3.0).abs() < 1e-12);
        let empty = compute(&l, &[], &[]);
        assert_eq!(empty.n, 0);
        assert_eq!(empty.accuracy, 0.0);
    }
}
