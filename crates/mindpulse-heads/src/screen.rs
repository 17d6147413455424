//! Training a population screen (see `mindpulse_eval::screening`): a binary head "signs of
//! X: yes/no" for any post, on one encoder.
//!
//! 1. **Rows.** Every set the screen names is read; each row becomes a positive or a
//!    negative (everyday sets: all negatives) and gets a role by a hash of its text: a
//!    set's validation file is halved into *tuning* and *held-out* rows; a set without one
//!    gives 70 % *training*, 15 % tuning and 15 % held-out rows. A text seen in two sets is
//!    used once (the first set named).
//! 2. **Training rows.** The encoder's languages only (`minilm`: English; `e5`: Chinese and
//!    English), everyday posts that name the condition left out (noisy negatives), the large
//!    everyday sets capped. A screen without Chinese positives still trains its `e5` head
//!    on Chinese everyday posts: trained on English alone, the head flagged most Chinese
//!    posts (the language itself looked like a sign: 61 % false flags for stress). Its
//!    Chinese recall then rests on the multilingual encoder's alignment and is reported as
//!    not validated.
//! 3. **Fit and operating point.** For each L2 strength: a class-weighted logistic
//!    regression; on the tuning rows of the head's language (English for `minilm`, Chinese
//!    for `e5`) a Platt calibration weighted to equal class priors, then the threshold that
//!    flags at most `target_fpr` of the everyday tuning posts; the strength with the best
//!    recall on tuning positives at that threshold wins (for a Chinese screen without
//!    Chinese positives: recall on English positives through the same encoder).
//! 4. **Rates.** On the held-out rows: recall on positives and false-flag share on everyday
//!    posts per language, with the mean and variance of the probability, stored in the card
//!    for the prevalence correction. A Chinese screen without Chinese positives takes its
//!    recall from English held-out positives and says so (`recall_validated: false`).

use crate::calibrate::{Calibration, Decision};
use crate::data::read_rows;
use crate::embed::{Embedder, Features};
use crate::error::{HeadsError, Result};
use crate::head::{
    head_version, linear_logits, safetensors_bytes, DataRef, EncoderRef, Head, HeadCard, Training,
    FORMAT,
};
use crate::linear::{fit, Problem, Standardizer};
use crate::metrics::report;
use crate::tasks::{self, TaskKind, MINILM};
use crate::train::{Progress, TrainOptions, LAMBDAS};
use mindpulse_eval::screening::{Rates, Screen, SourceKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// The false-flag share on everyday tuning posts a screen's threshold is chosen for: below
/// the 5 % the population numbers allow, with room for the held-out rows to differ.
pub const TARGET_FPR: f64 = 0.03;

/// What a row is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Train,
    Tune,
    Held,
}

/// One row of a screen's data.
#[derive(Debug, Clone)]
pub struct ScreenRow {
    pub text: String,
    pub positive: bool,
    pub lang: &'static str,
    pub everyday: bool,
    pub role: Role,
    /// Index into the screen's sources.
    pub source: usize,
}

/// Where a screen's rows came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreenSourceRef {
    pub folder: String,
    pub lang: String,
    pub kind: String,
    pub files: Vec<DataRef>,
    /// Rows by role, and positives / negatives among them.
    pub train: usize,
    pub tune: usize,
    pub held: usize,
    pub positives: usize,
    pub negatives: usize,
    /// Everyday training rows left out because they name the condition.
    pub left_out_naming: usize,
    pub semantics: String,
}

/// The screening part of a head's card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreenCard {
    /// The language whose everyday tuning posts set the operating point.
    pub lang: String,
    pub target_fpr: f64,
    pub threshold: f64,
    /// What the stored value is.
    pub value: String,
    /// Recall and false-flag share on the tuning rows, per language.
    pub tune: BTreeMap<String, (f64, f64)>,
    /// Held-out rates per language: the prevalence correction's input.
    pub rates: BTreeMap<String, Rates>,
    pub sources: Vec<ScreenSourceRef>,
    pub notes: Vec<String>,
}

/// A stable 64-bit hash of a text (FNV-1a), for roles and caps.
fn text_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ (h >> 29)
}

fn role_of(text: &str, from_val: bool) -> Role {
    let h = text_hash(text) % 100;
    if from_val {
        if h < 50 {
            Role::Tune
        } else {
            Role::Held
        }
    } else if h < 70 {
        Role::Train
    } else if h < 85 {
        Role::Tune
    } else {
        Role::Held
    }
}

/// Reads every set of a screen into rows with roles; returns the rows and the source refs.
pub fn load_rows(
    screen: &Screen,
    data_dir: &Path,
) -> Result<(Vec<ScreenRow>, Vec<ScreenSourceRef>)> {
    let mut rows = Vec::new();
    let mut refs = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (si, src) in screen.sources.iter().enumerate() {
        let dir = data_dir.join(src.folder);
        let files: Vec<(std::path::PathBuf, bool)> =
            [("train.tsv", false), ("all.tsv", false), ("val.tsv", true)]
                .iter()
                .map(|(f, v)| (dir.join(f), *v))
                .filter(|(p, _)| p.is_file())
                .collect();
        if files.is_empty() {
            return Err(HeadsError::Other(format!(
                "{}: screen {} needs this set (train.tsv, all.tsv or val.tsv)",
                dir.display(),
                screen.dimension
            )));
        }
        let mut r = ScreenSourceRef {
            folder: src.folder.to_string(),
            lang: src.lang.to_string(),
            kind: match src.kind {
                SourceKind::Everyday => "everyday",
                SourceKind::Clinical => "clinical",
            }
            .to_string(),
            files: Vec::new(),
            train: 0,
            tune: 0,
            held: 0,
            positives: 0,
            negatives: 0,
            left_out_naming: 0,
            semantics: src.semantics.to_string(),
        };
        for (path, from_val) in files {
            let (sha256, raw) = read_rows(&path)?;
            let mut used = 0;
            for row in &raw {
                if row.text.is_empty() {
                    continue;
                }
                let Some(positive) = Screen::label_of(src, &row.label) else {
                    continue;
                };
                if !seen.insert(row.text.clone()) {
                    continue;
                }
                used += 1;
                let role = role_of(&row.text, from_val);
                rows.push(ScreenRow {
                    text: row.text.clone(),
                    positive,
                    lang: src.lang,
                    everyday: src.kind == SourceKind::Everyday,
                    role,
                    source: si,
                });
            }
            let file = path
                .strip_prefix(data_dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            r.files.push(DataRef {
                file,
                sha256,
                rows: raw.len(),
                used,
            });
        }
        refs.push(r);
    }
    Ok((rows, refs))
}

/// The languages a screen on `encoder` sets its operating point for (the first) and
/// reports rates for.
fn head_lang(encoder: &str) -> &'static str {
    if encoder == MINILM {
        "en"
    } else {
        "zh"
    }
}

/// The training rows of a screen on an encoder, with everyday caps and naming rows left out.
fn training_rows(
    screen: &Screen,
    rows: &[ScreenRow],
    lang: &'static str,
    refs: &mut [ScreenSourceRef],
) -> Vec<usize> {
    let wanted = |l: &str| l == lang || (lang == "zh" && l == "en");
    let mut by_source: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        if r.role != Role::Train || !wanted(r.lang) {
            continue;
        }
        if r.everyday && screen.names_condition(&r.text) {
            refs[r.source].left_out_naming += 1;
            continue;
        }
        by_source.entry(r.source).or_default().push(i);
    }
    let mut out = Vec::new();
    for (si, mut idx) in by_source {
        if let Some(cap) = screen.sources[si].max_train.filter(|&c| c < idx.len()) {
            idx.sort_by_key(|&i| text_hash(&rows[i].text).rotate_left(13));
            idx.truncate(cap);
            idx.sort_unstable();
        }
        out.extend(idx);
    }
    out
}

/// Platt scaling of margins `m` (positive-class logit minus negative-class logit) with
/// both classes weighted to the same total: returns (a, b) of σ(a·m + b).
fn platt_balanced(m: &[f64], y: &[bool]) -> (f64, f64) {
    let n_pos = y.iter().filter(|v| **v).count().max(1) as f64;
    let n_neg = y.iter().filter(|v| !**v).count().max(1) as f64;
    let (wp, wn) = (0.5 / n_pos, 0.5 / n_neg);
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
        for (mi, yi) in m.iter().zip(y) {
            let w = if *yi { wp } else { wn };
            let p = 1.0 / (1.0 + (-(a * mi + b)).exp());
            let d = w * (p - if *yi { 1.0 } else { 0.0 });
            let h = w * p * (1.0 - p);
            ga += d * mi;
            gb += d;
            haa += h * mi * mi;
            hab += h * mi;
            hbb += h;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-18 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() < 1e-10 && db.abs() < 1e-10 {
            break;
        }
    }
    (a, b)
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The threshold that flags at most `target` of `neg` (probabilities of negatives): the
/// midpoint between the k-th and (k+1)-th largest, k = ⌊target·n⌋.
fn threshold_for(neg: &[f64], target: f64) -> f64 {
    if neg.is_empty() {
        return 0.5;
    }
    let mut v = neg.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    let k = ((target * v.len() as f64).floor() as usize).min(v.len() - 1);
    let t = if k == 0 {
        v[0] + 1e-6
    } else {
        0.5 * (v[k - 1] + v[k])
    };
    (t.clamp(1e-6, 1.0 - 1e-6) * 1e6).round() / 1e6
}

/// Rates of a set of (probability, positive) pairs at a threshold.
fn rates_of(pos: &[f64], neg: &[f64], t: f64, recall_validated: bool) -> Rates {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let var = |v: &[f64], m: f64| {
        v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len().max(1) as f64
    };
    let (mp, mn) = (mean(pos), mean(neg));
    Rates {
        n_pos: pos.len() as u64,
        tp: pos.iter().filter(|p| **p >= t).count() as u64,
        n_neg: neg.len() as u64,
        fp: neg.iter().filter(|p| **p >= t).count() as u64,
        mean_p_pos: mp,
        var_p_pos: var(pos, mp),
        mean_p_neg: mn,
        var_p_neg: var(neg, mn),
        recall_validated,
    }
}

/// One L2 strength's fit: its tuning recall, weights, Platt parameters and threshold.
struct Candidate {
    recall: f64,
    lambda: f64,
    w: Vec<f32>,
    b: Vec<f32>,
    pa: f64,
    pb: f64,
    threshold: f64,
}

/// Trains a screen's head on `embedder`'s encoder.
pub fn train_screen(
    screen: &Screen,
    embedder: &mut Embedder,
    opts: &TrainOptions,
    progress: Progress<'_>,
) -> Result<Head> {
    let spec = tasks::task(screen.task).ok_or_else(|| {
        HeadsError::Other(format!("screen {} has no task entry (a bug)", screen.task))
    })?;
    let lang = head_lang(&embedder.name);
    let (rows, mut refs) = load_rows(screen, &opts.data_dir)?;
    for r in &rows {
        let s = &mut refs[r.source];
        match r.role {
            Role::Train => s.train += 1,
            Role::Tune => s.tune += 1,
            Role::Held => s.held += 1,
        }
        if r.positive {
            s.positives += 1;
        } else {
            s.negatives += 1;
        }
    }
    let own_positives = screen.positive_langs().contains(&lang);
    // Recall is measured on this language's positives, or English ones (cross-lingual).
    let recall_lang = if own_positives { lang } else { "en" };
    let train = training_rows(screen, &rows, lang, &mut refs);
    let pick = |role: Role, want: &dyn Fn(&ScreenRow) -> bool| -> Vec<usize> {
        (0..rows.len())
            .filter(|&i| rows[i].role == role && want(&rows[i]))
            .collect()
    };
    // Tuning rows: this language's everyday negatives and clinical rows, plus (cross-
    // lingual) English positives.
    let tune = pick(Role::Tune, &|r| {
        r.lang == lang || (r.lang == recall_lang && r.positive)
    });
    let held = pick(Role::Held, &|r| {
        r.lang == lang || (r.lang == recall_lang && r.positive)
    });
    let texts =
        |idx: &[usize]| -> Vec<&str> { idx.iter().map(|&i| rows[i].text.as_str()).collect() };
    let x = embedder.embed(&texts(&train), &mut |d, t| progress("embed train", d, t))?;
    let xt = embedder.embed(&texts(&tune), &mut |d, t| progress("embed tune", d, t))?;
    let xh = embedder.embed(&texts(&held), &mut |d, t| progress("embed held-out", d, t))?;
    let y: Vec<Vec<usize>> = train
        .iter()
        .map(|&i| vec![usize::from(rows[i].positive)])
        .collect();
    let n_pos = y.iter().filter(|v| v[0] == 1).count();
    if n_pos == 0 || n_pos == y.len() {
        return Err(HeadsError::Other(format!(
            "screen {}: training rows need positives and negatives ({n_pos} of {})",
            screen.dimension,
            y.len()
        )));
    }
    let s = Standardizer::fit(&x);
    let xs = s.apply(&x);
    let problem = Problem {
        xs: &xs,
        d: x.dim,
        labels: &y,
        k: 2,
        kind: TaskKind::Single,
    };
    let margins = |w: &[f32], b: &[f32], f: &Features| -> Vec<f64> {
        (0..f.rows())
            .map(|i| {
                let z = linear_logits(w, b, f.dim, f.row(i));
                z[1] - z[0]
            })
            .collect()
    };
    // Tuning: calibration on this language's rows (and the cross-lingual positives),
    // threshold on this language's everyday posts, recall on `recall_lang` positives.
    let tune_y: Vec<bool> = tune.iter().map(|&i| rows[i].positive).collect();
    let mut tried = Vec::new();
    let mut best: Option<Candidate> = None;
    for (li, &lambda) in LAMBDAS.iter().enumerate() {
        progress("fit", li, LAMBDAS.len());
        let lin = fit(&problem, lambda, opts.threads).fold(&s);
        let w: Vec<f32> = lin.w.iter().map(|v| *v as f32).collect();
        let b: Vec<f32> = lin.b.iter().map(|v| *v as f32).collect();
        let m = margins(&w, &b, &xt);
        let (pa, pb) = platt_balanced(&m, &tune_y);
        let p: Vec<f64> = m.iter().map(|v| sigmoid(pa * v + pb)).collect();
        let everyday_neg: Vec<f64> = tune
            .iter()
            .zip(&p)
            .filter(|(&i, _)| rows[i].everyday && rows[i].lang == lang)
            .map(|(_, p)| *p)
            .collect();
        let t = threshold_for(&everyday_neg, TARGET_FPR);
        let pos: Vec<f64> = tune
            .iter()
            .zip(&p)
            .filter(|(&i, _)| rows[i].positive && rows[i].lang == recall_lang)
            .map(|(_, p)| *p)
            .collect();
        let recall = pos.iter().filter(|v| **v >= t).count() as f64 / pos.len().max(1) as f64;
        tried.push((lambda, recall));
        if best.as_ref().is_none_or(|bst| recall > bst.recall + 1e-12) {
            best = Some(Candidate {
                recall,
                lambda,
                w,
                b,
                pa,
                pb,
                threshold: t,
            });
        }
    }
    let Candidate {
        lambda,
        w,
        b,
        pa,
        pb,
        threshold,
        ..
    } = best.ok_or_else(|| HeadsError::Other("no λ tried".into()))?;
    let calibration = Calibration::Temperature {
        temperature: 1.0 / pa.max(1e-6),
        bias: vec![0.0, pb],
    };
    let decision = Decision::Threshold {
        positive: 1,
        threshold,
    };
    let prob = |f: &Features| -> Vec<f64> {
        margins(&w, &b, f)
            .iter()
            .map(|v| sigmoid(pa * v + pb))
            .collect()
    };
    // Tuning and held-out figures per language.
    let per_lang = |idx: &[usize], p: &[f64]| -> BTreeMap<String, (Vec<f64>, Vec<f64>)> {
        let mut m: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
        for (&i, &pi) in idx.iter().zip(p) {
            let e = m.entry(rows[i].lang.to_string()).or_default();
            if rows[i].positive {
                e.0.push(pi);
            } else if rows[i].everyday {
                e.1.push(pi);
            }
        }
        m
    };
    let pt = prob(&xt);
    let tune_by_lang = per_lang(&tune, &pt);
    let tune_figures: BTreeMap<String, (f64, f64)> = tune_by_lang
        .iter()
        .map(|(l, (pos, neg))| {
            let r = rates_of(pos, neg, threshold, true);
            (l.clone(), (r.tpr(), r.fpr()))
        })
        .collect();
    let ph = prob(&xh);
    let held_by_lang = per_lang(&held, &ph);
    let mut rates = BTreeMap::new();
    let own = held_by_lang.get(lang).cloned().unwrap_or_default();
    let recall_rows = held_by_lang
        .get(recall_lang)
        .map(|v| v.0.clone())
        .unwrap_or_default();
    rates.insert(
        lang.to_string(),
        rates_of(&recall_rows, &own.1, threshold, own_positives),
    );
    // The card's report: the decision on this language's tuning rows (positives and
    // everyday negatives), for the summary table.
    let judged =
        |r: &ScreenRow| (r.positive && r.lang == recall_lang) || (r.everyday && r.lang == lang);
    let (gold, pred): (Vec<Vec<usize>>, Vec<Vec<usize>>) = tune
        .iter()
        .zip(&pt)
        .filter(|(&i, _)| judged(&rows[i]))
        .map(|(&i, p)| {
            (
                vec![usize::from(rows[i].positive)],
                vec![usize::from(*p >= threshold)],
            )
        })
        .unzip();
    let rep = report(spec, &gold, &pred);
    let mut notes = vec![format!(
        "everyday posts naming the condition left out of the training negatives: {}",
        refs.iter().map(|r| r.left_out_naming).sum::<usize>()
    )];
    if !own_positives {
        notes.push(format!(
            "no {lang} positives: {lang} everyday posts are negatives, the positives English; recall measured on English positives through this encoder (cross-lingual, not validated in {lang})"
        ));
    }
    let weights = safetensors_bytes(2, x.dim, &w, &b);
    let weights_sha256 = mindpulse_models::hash::sha256_bytes(&weights);
    let version = head_version(&weights, &calibration, &decision);
    let train_used = train.len();
    let card = HeadCard {
        format: FORMAT.to_string(),
        id: spec.head_id(&embedder.name),
        task: spec.name.to_string(),
        dimension: screen.dimension.to_string(),
        kind: TaskKind::Single,
        labels: vec!["no".into(), "yes".into()],
        positive: Some("yes".into()),
        encoder: EncoderRef {
            name: embedder.name.clone(),
            sha256: embedder.sha256.clone(),
            prefix: embedder.prefix.to_string(),
            max_length: embedder.encoder.max_length(),
        },
        calibration,
        decision,
        training: Training {
            train: DataRef {
                file: format!("{} sets (see screen.sources)", refs.len()),
                sha256: mindpulse_models::hash::sha256_bytes(
                    refs.iter()
                        .flat_map(|r| r.files.iter().map(|f| f.sha256.clone()))
                        .collect::<Vec<_>>()
                        .join(",")
                        .as_bytes(),
                ),
                rows: rows.len(),
                used: train_used,
            },
            val: None,
            selection: format!(
                "tuning rows: recall on {recall_lang} positives at ≤ {:.0} % false flags on {lang} everyday posts",
                TARGET_FPR * 100.0
            ),
            lambda,
            lambdas: tried,
            seed: opts.seed,
            model: "class-weighted L2 logistic regression on standardized frozen embeddings (L-BFGS); Platt scaling weighted to equal class priors"
                .into(),
        },
        metrics: rep,
        weights_sha256,
        version,
        screen: Some(ScreenCard {
            lang: lang.to_string(),
            target_fpr: TARGET_FPR,
            threshold,
            value: "calibrated P(signs of the condition) at equal class priors; the population share comes from the corrected prevalence, not from the mean of this value".into(),
            tune: tune_figures,
            rates,
            sources: refs,
            notes,
        }),
    };
    Ok(Head::from_parts(card, 2, x.dim, w, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_stable_and_in_proportion() {
        let n = 20_000;
        let roles: Vec<Role> = (0..n)
            .map(|i| role_of(&format!("post {i}"), false))
            .collect();
        assert_eq!(
            roles,
            (0..n)
                .map(|i| role_of(&format!("post {i}"), false))
                .collect::<Vec<_>>()
        );
        let share = |r: Role| roles.iter().filter(|x| **x == r).count() as f64 / n as f64;
        assert!((share(Role::Train) - 0.70).abs() < 0.02);
        assert!((share(Role::Tune) - 0.15).abs() < 0.02);
        assert!((share(Role::Held) - 0.15).abs() < 0.02);
        assert!((0..1000).all(|i| role_of(&format!("v {i}"), true) != Role::Train));
    }

    #[test]
    fn the_threshold_flags_at_most_the_target_share() {
        let neg: Vec<f64> = (0..1000).map(|i| i as f64 / 1000.0).collect();
        let t = threshold_for(&neg, 0.03);
        let flagged = neg.iter().filter(|p| **p >= t).count();
        assert!((29..=30).contains(&flagged), "{t} {flagged}");
    }

    #[test]
    fn balanced_platt_puts_equal_priors_at_one_half() {
        // 10 positives at margin +2, 90 negatives at −2: at equal priors a margin of 0 is 1/2.
        let mut m = vec![2.0; 10];
        m.extend(vec![-2.0; 90]);
        let mut y = vec![true; 10];
        y.extend(vec![false; 90]);
        // The same error rate in each class (1 of 10 positives, 9 of 90 negatives): with the
        // classes weighted equally the fit is symmetric, so b = 0.
        m[0] = -2.0;
        for v in &mut m[10..19] {
            *v = 2.0;
        }
        let (a, b) = platt_balanced(&m, &y);
        assert!(a > 0.0);
        assert!(b.abs() < 1e-6, "{b}");
    }
}
