//! Class-based TF-IDF keywords, as BERTopic's `ClassTfidfTransformer` (M. Grootendorst,
//! "BERTopic: neural topic modeling with a class-based TF-IDF procedure", 2022): all
//! words of a topic's posts form one document per topic, and
//!
//! W(t, c) = tf(t, c) · ln(1 + A / f(t))
//!
//! where tf(t, c) is the count of t in topic c divided by the number of words in c (the
//! transformer's L1 row normalisation), f(t) the count of t over all topics and A the
//! average number of words per topic, truncated to an integer as BERTopic's
//! `int(X.sum(axis=1).mean())` does. Words come from [`crate::words`]; a word used by
//! fewer than `min_df` posts (of all topics) is left out (BERTopic leaves the vectorizer
//! to the caller; this removes typos and one-off names). Posts without a topic do not
//! count. The logarithm is [`crate::num::ln`], so weights are the same bits everywhere;
//! keywords are ordered by weight, descending, ties by the word.

use std::collections::BTreeMap;

use crate::num::ln;

/// A keyword and its c-TF-IDF weight.
pub type Keyword = (String, f64);

/// The top `top_n` keywords of each of `n_topics` topics. `docs[i]` are the words of
/// post i and `topic[i]` its topic (`None`: not counted).
pub fn keywords(
    docs: &[Vec<String>],
    topic: &[Option<u32>],
    n_topics: usize,
    top_n: usize,
    min_df: usize,
) -> Vec<Vec<Keyword>> {
    // Document frequency over the posts that have a topic.
    let mut df: BTreeMap<&str, usize> = BTreeMap::new();
    for (words, t) in docs.iter().zip(topic) {
        if t.is_none() {
            continue;
        }
        let mut seen: Vec<&str> = words.iter().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        for w in seen {
            *df.entry(w).or_insert(0) += 1;
        }
    }
    let mut counts: Vec<BTreeMap<&str, u64>> = vec![BTreeMap::new(); n_topics];
    for (words, t) in docs.iter().zip(topic) {
        let Some(t) = t else { continue };
        let Some(c) = counts.get_mut(*t as usize) else {
            continue;
        };
        for w in words {
            if df.get(w.as_str()).copied().unwrap_or(0) >= min_df {
                *c.entry(w.as_str()).or_insert(0) += 1;
            }
        }
    }
    let mut total: BTreeMap<&str, u64> = BTreeMap::new();
    let mut class_words = Vec::with_capacity(n_topics);
    for c in &counts {
        let mut s = 0u64;
        for (w, &k) in c {
            *total.entry(w).or_insert(0) += k;
            s += k;
        }
        class_words.push(s);
    }
    let avg = if n_topics == 0 {
        0
    } else {
        class_words.iter().sum::<u64>() / n_topics as u64
    };
    counts
        .iter()
        .zip(&class_words)
        .map(|(c, &size)| {
            let mut scored: Vec<Keyword> = c
                .iter()
                .map(|(w, &k)| {
                    let f = total.get(w).copied().unwrap_or(1).max(1) as f64;
                    let tf = k as f64 / size.max(1) as f64;
                    (w.to_string(), tf * ln(1.0 + avg as f64 / f))
                })
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            scored.truncate(top_n);
            scored
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn weights_follow_the_formula() {
        // Topic 0: "sleep sleep night", "sleep night"; topic 1: "exam night", "exam grade".
        let docs = [
            doc("sleep sleep night"),
            doc("sleep night"),
            doc("exam night"),
            doc("exam grade"),
        ];
        let topic = [Some(0), Some(0), Some(1), Some(1)];
        let kw = keywords(&docs, &topic, 2, 10, 1);
        // Topic 0 has 5 words, topic 1 has 4, A = int(4.5) = 4.
        // f: sleep 3, night 3, exam 2, grade 1.
        // sleep in 0: 3/5 · ln(1 + 4/3); night in 0: 2/5 · ln(1 + 4/3).
        assert_eq!(kw[0][0].0, "sleep");
        assert!((kw[0][0].1 - 0.6 * (1.0f64 + 4.0 / 3.0).ln()).abs() < 1e-12);
        assert!((kw[0][1].1 - 0.4 * (1.0f64 + 4.0 / 3.0).ln()).abs() < 1e-12);
        // exam in 1: 2/4 · ln 3; grade: 1/4 · ln 5; night: 1/4 · ln(7/3).
        let names: Vec<&str> = kw[1].iter().map(|k| k.0.as_str()).collect();
        assert_eq!(names, ["exam", "grade", "night"]);
        assert!((kw[1][1].1 - 0.25 * 5.0f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn min_df_ties_and_unassigned() {
        let docs = [doc("b a"), doc("a b"), doc("rare"), doc("a b zzz")];
        let topic = [Some(0), Some(0), Some(0), None];
        let kw = keywords(&docs, &topic, 1, 1, 2);
        // "rare" appears in one post and is left out; a and b tie: a first; zzz not counted.
        assert_eq!(kw[0].len(), 1);
        assert_eq!(kw[0][0].0, "a");
        let all = keywords(&docs, &topic, 1, 10, 2);
        assert_eq!(
            all[0].iter().map(|k| k.0.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }
}
