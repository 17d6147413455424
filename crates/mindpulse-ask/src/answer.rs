//! The model's reply as sentences with their citations. Sentences end at `.`, `!`, `?`,
//! `。`, `！`, `？`, `；` or a line break (a citation right after the mark stays with its
//! sentence); `[n]`, `[n, m]` and `[n][m]` cite posts n and m (1-based); citations of posts
//! that were not given are dropped (and counted). A reply containing
//! [`crate::NOT_ANSWERED`], or with no valid citation at all, means the posts do not
//! answer the question.

use crate::prompt::NOT_ANSWERED;
use regex::Regex;
use serde::Serialize;
use std::sync::OnceLock;

/// One sentence of the answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sentence {
    /// The sentence without its citation marks.
    pub text: String,
    /// The posts it cites (1-based, in order, each once).
    pub cites: Vec<usize>,
}

/// A parsed reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    pub sentences: Vec<Sentence>,
    /// False when the reply says the posts do not answer, or cites nothing valid.
    pub answered: bool,
    /// Citations of posts that were not given.
    pub dropped_citations: usize,
}

impl Answer {
    /// The answer text with its citations, as shown.
    pub fn text(&self) -> String {
        self.sentences
            .iter()
            .map(|s| {
                let marks: String = s.cites.iter().map(|n| format!("[{n}]")).collect();
                format!("{}{}", s.text, marks)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Every post cited, 1-based, in order of first citation.
    pub fn cited(&self) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for s in &self.sentences {
            for &n in &s.cites {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        out
    }
}

fn citation_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\[\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*\]").unwrap_or_else(|_| unreachable!())
    })
}

/// Parses `reply` against `passages` posts.
pub fn parse(reply: &str, passages: usize) -> Answer {
    let mut sentences = Vec::new();
    let mut dropped = 0usize;
    let not_answered = reply.to_uppercase().contains(NOT_ANSWERED);
    // Split after an end mark and the citations that follow it.
    let mut current = String::new();
    let chars: Vec<char> = reply.chars().collect();
    let mut i = 0;
    let mut pieces: Vec<String> = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        current.push(c);
        let ends = matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '；' | '\n');
        if ends {
            // Keep following spaces and citation marks with this sentence.
            let mut j = i + 1;
            loop {
                while j < chars.len() && chars[j] == ' ' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == '[' {
                    let rest: String = chars[j..].iter().collect();
                    if let Some(m) = citation_re().find(&rest) {
                        if m.start() == 0 {
                            current.push_str(m.as_str());
                            j += m.as_str().chars().count();
                            continue;
                        }
                    }
                }
                break;
            }
            pieces.push(std::mem::take(&mut current));
            i = j;
            continue;
        }
        i += 1;
    }
    pieces.push(current);
    for piece in pieces {
        let mut cites = Vec::new();
        for cap in citation_re().captures_iter(&piece) {
            for n in cap[1].split([',', '，', '、']) {
                match n.trim().parse::<usize>() {
                    Ok(n) if (1..=passages).contains(&n) => {
                        if !cites.contains(&n) {
                            cites.push(n);
                        }
                    }
                    _ => dropped += 1,
                }
            }
        }
        let text = citation_re().replace_all(&piece, "").trim().to_string();
        if text.is_empty() || text.to_uppercase().contains(NOT_ANSWERED) {
            continue;
        }
        if !text.chars().any(char::is_alphanumeric) {
            continue;
        }
        sentences.push(Sentence { text, cites });
    }
    let answered = !not_answered && sentences.iter().any(|s| !s.cites.is_empty());
    Answer {
        sentences: if answered { sentences } else { Vec::new() },
        answered,
        dropped_citations: dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_keep_their_citations() {
        let a = parse(
            "Many cannot pay rent [1][3]. Some were evicted.[2] Others sleep in cars [2, 4]！最后一句 [9]",
            4,
        );
        assert!(a.answered);
        let got: Vec<(&str, Vec<usize>)> = a
            .sentences
            .iter()
            .map(|s| (s.text.as_str(), s.cites.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Many cannot pay rent .", vec![1, 3]),
                ("Some were evicted.", vec![2]),
                ("Others sleep in cars ！", vec![2, 4]),
                ("最后一句", vec![]),
            ]
        );
        assert_eq!(a.dropped_citations, 1);
        assert_eq!(a.cited(), vec![1, 3, 2, 4]);
        assert!(a.text().contains("Many cannot pay rent .[1][3]"));
    }

    #[test]
    fn not_answered_and_uncited_replies() {
        let a = parse("NOT IN THE POSTS", 3);
        assert!(!a.answered);
        assert!(a.sentences.is_empty());
        assert!(!parse("Not in the posts.", 3).answered);
        assert!(!parse("People are sad.", 3).answered);
        assert!(!parse("", 3).answered);
        assert!(!parse("They are sad [7].", 3).answered);
    }
}
