//! Labeled TSV files shaped like those in `../shared/data`: a header `text<TAB>label[<TAB>…]`,
//! one example per line, multi-labels joined by commas. Labels are checked against the task:
//! unknown labels are an error that names them; for yes/no tasks `yes`/`no` and `1`/`0` are
//! accepted for each other.

use crate::error::{io_err, HeadsError, Result};
use crate::tasks::{TaskKind, TaskSpec};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One labeled example: the text and the indices of its labels in the task's label list.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub labels: Vec<usize>,
}

/// A labeled file, read and checked.
#[derive(Debug, Clone)]
pub struct LabeledSet {
    pub path: PathBuf,
    pub examples: Vec<Example>,
    /// sha256 of the file's bytes.
    pub sha256: String,
}

impl LabeledSet {
    pub fn texts(&self) -> Vec<&str> {
        self.examples.iter().map(|e| e.text.as_str()).collect()
    }
    pub fn len(&self) -> usize {
        self.examples.len()
    }
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }
}

/// Maps a raw label to the task's canonical label, allowing yes/no ↔ 1/0 on binary tasks.
fn canonical_label(task: &TaskSpec, raw: &str) -> Option<usize> {
    let raw = raw.trim();
    if let Some(i) = task.label_index(raw) {
        return Some(i);
    }
    if task.is_binary() {
        let alias = match raw.to_ascii_lowercase().as_str() {
            "yes" | "true" => "1",
            "no" | "false" => "0",
            "1" => "yes",
            "0" => "no",
            _ => return None,
        };
        return task.label_index(alias);
    }
    None
}

/// One row of a labeled TSV file: its line number, text and raw label.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    pub line: usize,
    pub text: String,
    pub label: String,
}

/// Reads a labeled TSV file's rows without interpreting the labels (texts trimmed, empty
/// ones kept for the caller to judge); returns the file's sha256 too.
pub fn read_rows(path: &Path) -> Result<(String, Vec<RawRow>)> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let sha256 = mindpulse_models::hash::sha256_bytes(&bytes);
    let text = String::from_utf8(bytes).map_err(|e| HeadsError::Data {
        file: path.to_path_buf(),
        line: 0,
        reason: format!("not UTF-8: {e}"),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines = text.lines().enumerate();
    let data_err = |line: usize, reason: String| HeadsError::Data {
        file: path.to_path_buf(),
        line,
        reason,
    };
    let header = match lines.next() {
        Some((_, h)) => h,
        None => {
            return Err(data_err(
                1,
                "empty file: expected a header `text<TAB>label`".into(),
            ))
        }
    };
    let cols: Vec<&str> = header.split('\t').map(str::trim).collect();
    let text_col = cols.iter().position(|c| *c == "text");
    let label_col = cols.iter().position(|c| *c == "label");
    let (text_col, label_col) = match (text_col, label_col) {
        (Some(t), Some(l)) => (t, l),
        _ => {
            return Err(data_err(
                1,
                format!("header must name the columns `text` and `label` (found: {header:?})"),
            ))
        }
    };
    let mut rows = Vec::new();
    for (i, line) in lines {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let (Some(text), Some(label)) = (fields.get(text_col), fields.get(label_col)) else {
            return Err(data_err(
                line_no,
                format!(
                    "expected at least {} tab-separated fields, found {}",
                    text_col.max(label_col) + 1,
                    fields.len()
                ),
            ));
        };
        let text = text.trim();
        rows.push(RawRow {
            line: line_no,
            text: text.to_string(),
            label: label.trim().to_string(),
        });
    }
    if rows.is_empty() {
        return Err(data_err(2, "no examples after the header".into()));
    }
    Ok((sha256, rows))
}

/// Reads a TSV file for `task`. Rows with an empty text are an error (file, line).
pub fn read_tsv(task: &TaskSpec, path: &Path) -> Result<LabeledSet> {
    let (sha256, rows) = read_rows(path)?;
    let data_err = |line: usize, reason: String| HeadsError::Data {
        file: path.to_path_buf(),
        line,
        reason,
    };
    let mut examples = Vec::new();
    let mut unknown = BTreeSet::new();
    for RawRow {
        line: line_no,
        text,
        label,
    } in rows
    {
        if text.is_empty() {
            return Err(data_err(line_no, "field `text` is empty".into()));
        }
        let label = label.as_str();
        let mut labels = Vec::new();
        let parts: Vec<&str> = if task.kind == TaskKind::Multi {
            label
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        } else {
            vec![label.trim()]
        };
        if parts.is_empty() || parts.iter().all(|p| p.is_empty()) {
            return Err(data_err(line_no, "field `label` is empty".into()));
        }
        if task.kind == TaskKind::Single && label.contains(',') && task.label_index(label).is_none()
        {
            return Err(data_err(
                line_no,
                format!(
                    "task `{}` takes one label per row, found {label:?}",
                    task.name
                ),
            ));
        }
        for p in parts {
            match canonical_label(task, p) {
                Some(ix) => {
                    if !labels.contains(&ix) {
                        labels.push(ix);
                    }
                }
                None => {
                    unknown.insert(p.to_string());
                }
            }
        }
        labels.sort_unstable();
        examples.push(Example { text, labels });
    }
    if !unknown.is_empty() {
        return Err(HeadsError::UnknownLabels {
            file: path.to_path_buf(),
            task: task.name.to_string(),
            labels: unknown.into_iter().collect::<Vec<_>>().join(", "),
            expected: task.labels.join(", "),
        });
    }
    Ok(LabeledSet {
        path: path.to_path_buf(),
        examples,
        sha256,
    })
}

/// The data files of a task in a data directory: `train.tsv` (or `all.tsv`) and `val.tsv`.
#[derive(Debug, Clone)]
pub struct TaskFiles {
    pub train: Option<PathBuf>,
    pub val: Option<PathBuf>,
}

/// Finds a task's files under `data_dir/<task>/`.
pub fn task_files(data_dir: &Path, task: &TaskSpec) -> Result<TaskFiles> {
    let dir = data_dir.join(task.name);
    if !dir.is_dir() {
        return Err(HeadsError::Other(format!(
            "{}: no such data folder for task `{}` (use --data DIR pointing at the folder that holds `{}/`)",
            dir.display(),
            task.name,
            task.name
        )));
    }
    let pick = |names: &[&str]| names.iter().map(|n| dir.join(n)).find(|p| p.is_file());
    let files = TaskFiles {
        train: pick(&["train.tsv", "all.tsv"]),
        val: pick(&["val.tsv", "dev.tsv", "validation.tsv"]),
    };
    if files.train.is_none() && files.val.is_none() {
        return Err(HeadsError::Other(format!(
            "{}: expected train.tsv, all.tsv or val.tsv",
            dir.display()
        )));
    }
    Ok(files)
}

/// The default data directory: `$MINDPULSE_DATA`, else `../shared/data` next to the working
/// directory, else `./data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("MINDPULSE_DATA") {
        return PathBuf::from(d);
    }
    let shared = PathBuf::from("../shared/data");
    if shared.is_dir() {
        return shared;
    }
    PathBuf::from("data")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::task;

    fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn reads_binary_with_aliases_and_extra_columns() {
        let dir = tempfile::tempdir().unwrap();
        let t = task("imhi_dr").unwrap();
        let p = write(
            dir.path(),
            "a.tsv",
            "text\tlabel\taspect\nI feel low\tyes\tx\nfine day\t0\ty\n",
        );
        let s = read_tsv(t, &p).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.examples[0].labels, vec![1]);
        assert_eq!(s.examples[1].labels, vec![0]);
    }

    #[test]
    fn multi_labels_split_on_commas() {
        let dir = tempfile::tempdir().unwrap();
        let t = task("goemotions_ekman").unwrap();
        let p = write(dir.path(), "a.tsv", "text\tlabel\nwow\tjoy,surprise\n");
        let s = read_tsv(t, &p).unwrap();
        assert_eq!(s.examples[0].labels, vec![3, 6]);
    }

    #[test]
    fn unknown_labels_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let t = task("tweeteval_sentiment").unwrap();
        let p = write(
            dir.path(),
            "a.tsv",
            "text\tlabel\na\tpositive\nb\tgreat\nc\tawful\n",
        );
        let e = read_tsv(t, &p).unwrap_err().to_string();
        assert!(e.contains("awful, great"), "{e}");
        assert!(e.contains("negative, neutral, positive"), "{e}");
    }

    #[test]
    fn short_rows_and_bad_headers_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let t = task("dreaddit").unwrap();
        let p = write(dir.path(), "a.tsv", "text\tlabel\nok\t1\nbroken row\n");
        let e = read_tsv(t, &p).unwrap_err().to_string();
        assert!(e.contains("a.tsv:3:"), "{e}");
        let p = write(dir.path(), "b.tsv", "sentence\ty\nok\t1\n");
        let e = read_tsv(t, &p).unwrap_err().to_string();
        assert!(e.contains("b.tsv:1:") && e.contains("`text`"), "{e}");
    }
}
