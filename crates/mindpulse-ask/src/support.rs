//! Whether posts support a sentence, by a rule anyone can check, and ALCE's citation
//! metrics under it.
//!
//! **The rule.** The content words of a sentence are its [`mindpulse_topics::Words`]
//! tokens (lowercased; jieba words for Chinese; stopwords, numbers and punctuation left
//! out). Posts support the sentence when at least half of those words (and at least one)
//! occur among the posts' own words, where a word also matches a post word that contains
//! it or is contained in it with at least two characters in common (`evict` ~ `evicted`,
//! `失眠` ~ `失眠症`). It is a lexical stand-in for the NLI judge ALCE uses (TRUE, a T5-11B
//! model we cannot run here): it rewards answers that stay close to what the posts say and
//! cannot see paraphrase or negation.
//!
//! **The metrics** (ALCE, §2.3): a sentence's citation *recall* is 1 when its cited posts
//! together support it; a citation is *precise* unless it alone does not support the
//! sentence and the other citations of the sentence support it without it. Recall is
//! averaged over sentences, precision over citations.

use mindpulse_topics::Words;
use serde::Serialize;

/// Whether `posts` support `sentence` (see the module doc).
pub fn supports(words: &Words, sentence: &str, posts: &[&str]) -> bool {
    let wanted = words.words(sentence);
    if wanted.is_empty() {
        return false;
    }
    let have: Vec<String> = posts.iter().flat_map(|p| words.words(p)).collect();
    let found = wanted
        .iter()
        .filter(|w| {
            have.iter().any(|h| {
                h == *w
                    || (h.chars().count() >= 2
                        && w.chars().count() >= 2
                        && (h.contains(w.as_str()) || w.contains(h.as_str())))
            })
        })
        .count();
    found * 2 >= wanted.len()
}

/// ALCE-style citation recall and precision of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CitationScores {
    pub sentences: usize,
    pub supported_sentences: usize,
    pub citations: usize,
    pub precise_citations: usize,
}

impl CitationScores {
    pub fn recall(&self) -> f64 {
        self.supported_sentences as f64 / self.sentences.max(1) as f64
    }
    pub fn precision(&self) -> f64 {
        self.precise_citations as f64 / self.citations.max(1) as f64
    }
    pub fn add(&mut self, o: &CitationScores) {
        self.sentences += o.sentences;
        self.supported_sentences += o.supported_sentences;
        self.citations += o.citations;
        self.precise_citations += o.precise_citations;
    }
}

/// Scores `answer` against the `posts` it was given (1-based citations).
pub fn citation_scores(words: &Words, answer: &crate::Answer, posts: &[String]) -> CitationScores {
    let mut s = CitationScores::default();
    for sentence in &answer.sentences {
        s.sentences += 1;
        let cited: Vec<&str> = sentence
            .cites
            .iter()
            .filter_map(|&n| posts.get(n - 1).map(String::as_str))
            .collect();
        let all = !cited.is_empty() && supports(words, &sentence.text, &cited);
        if all {
            s.supported_sentences += 1;
        }
        for (k, &one) in cited.iter().enumerate() {
            s.citations += 1;
            let alone = supports(words, &sentence.text, &[one]);
            let others: Vec<&str> = cited
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != k)
                .map(|(_, p)| *p)
                .collect();
            let without = !others.is_empty() && supports(words, &sentence.text, &others);
            if alone || !(all && without) {
                s.precise_citations += 1;
            }
        }
    }
    s
}

/// What [`verify`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Verified {
    /// Sentences whose citations did not support them and that another given post did:
    /// their citations were replaced by that post.
    pub reattributed: usize,
    /// Sentences no given post supports, left out of the answer.
    pub dropped: usize,
}

/// Keeps only what the posts support: a sentence whose citations support it stays; one
/// they do not support is cited to the given post that supports it alone (the first such
/// post), or left out when none does. Repeated clauses inside a sentence (a small model
/// looping) are cut to their first occurrence. The answer stops being "answered" when no
/// sentence is left.
pub fn verify(words: &Words, answer: &mut crate::Answer, posts: &[String]) -> Verified {
    let mut v = Verified::default();
    let mut kept = Vec::new();
    for mut sentence in std::mem::take(&mut answer.sentences) {
        sentence.text = without_repeats(&sentence.text);
        let cited: Vec<&str> = sentence
            .cites
            .iter()
            .filter_map(|&n| posts.get(n - 1).map(String::as_str))
            .collect();
        if !cited.is_empty() && supports(words, &sentence.text, &cited) {
            kept.push(sentence);
            continue;
        }
        match posts
            .iter()
            .position(|p| supports(words, &sentence.text, &[p.as_str()]))
        {
            Some(i) => {
                sentence.cites = vec![i + 1];
                v.reattributed += 1;
                kept.push(sentence);
            }
            None => v.dropped += 1,
        }
    }
    answer.answered = answer.answered && !kept.is_empty();
    answer.sentences = kept;
    v
}

/// `text` with clauses (split at commas) that repeat an earlier clause removed.
fn without_repeats(text: &str) -> String {
    let mut seen: Vec<String> = Vec::new();
    let mut out: Vec<&str> = Vec::new();
    for clause in text.split_inclusive([',', '，']) {
        let key = clause
            .trim()
            .trim_end_matches([',', '，', '.', '。'])
            .to_lowercase();
        if !key.is_empty() && seen.contains(&key) {
            continue;
        }
        seen.push(key);
        out.push(clause);
    }
    out.concat()
        .trim()
        .trim_end_matches([',', '，'])
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_needs_half_the_content_words() {
        let w = Words::new();
        let post = "I got evicted last week and now I sleep in my car";
        assert!(supports(
            &w,
            "Some people were evicted and sleep in cars.",
            &[post]
        ));
        assert!(!supports(
            &w,
            "Some people won the lottery and bought houses.",
            &[post]
        ));
        assert!(supports(&w, "很多人失眠。", &["最近每天失眠到凌晨三点"]));
        assert!(!supports(&w, "the and of", &[post]));
    }

    #[test]
    fn verify_keeps_supported_reattributes_and_drops() {
        let w = Words::new();
        let posts = vec![
            "I got evicted and sleep in my car".to_string(),
            "my dog learned a new trick".to_string(),
        ];
        let mut a = crate::parse(
            "People were evicted and sleep in cars [1]. The dog learned a trick [1]. Dogs fly to the moon [2].",
            2,
        );
        let v = verify(&w, &mut a, &posts);
        assert_eq!(
            v,
            Verified {
                reattributed: 1,
                dropped: 1
            }
        );
        assert_eq!(a.sentences.len(), 2);
        assert_eq!(a.sentences[1].cites, vec![2]);
        assert!(a.answered);
        let mut none = crate::parse("Dogs fly to the moon [2].", 2);
        verify(&w, &mut none, &posts);
        assert!(!none.answered);
        assert_eq!(
            without_repeats("Because of rent, the strain, the strain, the strain, and debt."),
            "Because of rent, the strain, and debt."
        );
    }

    #[test]
    fn alce_recall_and_precision() {
        let w = Words::new();
        let posts = vec![
            "I got evicted and sleep in my car".to_string(),
            "my dog learned a new trick".to_string(),
        ];
        // Sentence 1 cites the right post and an irrelevant one; sentence 2 cites nothing right.
        let a = crate::parse(
            "People were evicted and sleep in cars [1][2]. Dogs fly to the moon [2].",
            2,
        );
        let s = citation_scores(&w, &a, &posts);
        assert_eq!(s.sentences, 2);
        assert_eq!(s.supported_sentences, 1);
        assert_eq!(s.citations, 3);
        // [1] supports alone: precise. [2] in sentence 1: irrelevant (does not support
        // alone, [1] suffices). [2] in sentence 2: the sentence is unsupported, so not
        // counted irrelevant.
        assert_eq!(s.precise_citations, 2);
        assert!((s.recall() - 0.5).abs() < 1e-12);
    }
}
