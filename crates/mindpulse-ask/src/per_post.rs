//! Per-post answering ("attribute first, then generate"; Slobodkin et al., ACL 2024, and the
//! per-passage summaries of ALCE): the model reads one retrieved post at a time and either
//! writes one sentence saying what that post says about the question, or replies
//! [`NOT_IN_POST`]. Each sentence is cited to the post it was written from, so the citation
//! is decided before the words, not guessed afterwards — small models (the packaged 0.5 B
//! one) cite far better this way than when they write one answer over all posts at once.
//! Whether the sentence really says what its post says is still up to the model, and is what
//! citation recall measures.
//!
//! The model is called once per post, in the posts' retrieved order (a yes/no relevance
//! question first was tried and dropped: the packaged 0.5 B model answers it the same way
//! for every post); the answer keeps the
//! sentences in that order, drops a sentence that repeats an earlier one word for word, and
//! says the posts do not answer when no post gives a sentence.

use crate::answer::{Answer, Sentence};
use crate::prompt::{Passage, MAX_CHARS};
use std::future::Future;

/// What the model replies when the post does not answer the question.
pub const NOT_IN_POST: &str = "NOT IN THE POST";

/// Longest sentence kept from one post, in characters (the rest of a run-on reply is cut at
/// its first sentence end).
const MAX_SENTENCE_CHARS: usize = 300;

/// (system, user) messages asking what `passage` says about `question`.
pub fn post_messages(question: &str, passage: &Passage) -> (String, String) {
    let system = format!(
        "You read ONE social-media post and a question about what people say. If the post \
         says something that answers the question, write ONE short sentence saying what the \
         post says about it, using the post's own words where you can, in the language of \
         the question. Say only what the post says; do not guess who wrote it. If the post \
         says nothing that answers the question, reply exactly: {NOT_IN_POST}"
    );
    let text: String = passage.text.chars().take(MAX_CHARS).collect();
    let user = format!(
        "Post: {}\n\nQuestion: {question}\nAnswer:",
        text.replace('\n', " ")
    );
    (system, user)
}

/// The sentence in one post's reply, or `None` when the reply says the post does not
/// answer (or holds no words). Citation marks the model added anyway are removed; a reply
/// of several sentences keeps its first.
pub fn parse_post_reply(reply: &str) -> Option<String> {
    let upper = reply.to_uppercase();
    if upper.contains(NOT_IN_POST) || upper.contains(crate::prompt::NOT_ANSWERED) {
        return None;
    }
    let parsed = crate::answer::parse(&format!("{reply} [1]"), 1);
    let first = parsed.sentences.first()?;
    let mut text = first
        .text
        .trim()
        .trim_start_matches(['-', '*', ' '])
        .trim()
        .to_string();
    if text.chars().count() > MAX_SENTENCE_CHARS {
        text = text.chars().take(MAX_SENTENCE_CHARS).collect();
    }
    if !text.chars().any(char::is_alphanumeric) {
        return None;
    }
    Some(text)
}

/// Asks `chat(system, user)` about each passage in turn and composes the cited answer.
/// The first error from `chat` stops the loop and is returned.
pub async fn answer_per_post<F, Fut, E>(
    question: &str,
    passages: &[Passage],
    mut chat: F,
) -> Result<Answer, E>
where
    F: FnMut(String, String) -> Fut,
    Fut: Future<Output = Result<String, E>>,
{
    let mut sentences: Vec<Sentence> = Vec::new();
    for (i, passage) in passages.iter().enumerate() {
        let (system, user) = post_messages(question, passage);
        let reply = chat(system, user).await?;
        let Some(text) = parse_post_reply(&reply) else {
            continue;
        };
        let key = text.to_lowercase();
        if let Some(same) = sentences.iter_mut().find(|s| s.text.to_lowercase() == key) {
            same.cites.push(i + 1);
            continue;
        }
        sentences.push(Sentence {
            text,
            cites: vec![i + 1],
        });
    }
    Ok(Answer {
        answered: !sentences.is_empty(),
        sentences,
        dropped_citations: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        // The futures here never wait on anything: poll once with a no-op waker.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the test future waited"),
        }
    }

    #[test]
    fn replies_are_read_as_one_sentence_or_none() {
        assert_eq!(parse_post_reply("NOT IN THE POST"), None);
        assert_eq!(parse_post_reply("Not in the post."), None);
        assert_eq!(parse_post_reply("NOT IN THE POSTS"), None);
        assert_eq!(parse_post_reply("  "), None);
        assert_eq!(
            parse_post_reply("They fear eviction [2]. Another sentence."),
            Some("They fear eviction .".to_string())
        );
        assert_eq!(
            parse_post_reply("- 担心没有口罩。还有别的"),
            Some("担心没有口罩。".to_string())
        );
        let long = "word ".repeat(200);
        assert_eq!(
            parse_post_reply(&long).map(|s| s.chars().count()),
            Some(MAX_SENTENCE_CHARS)
        );
    }

    #[test]
    fn each_sentence_cites_the_post_it_was_written_from() {
        let passages: Vec<Passage> = ["rent is late", "I like cats", "evicted again"]
            .iter()
            .map(|t| Passage {
                text: t.to_string(),
            })
            .collect();
        let mut asked = Vec::new();
        let answer = block_on(answer_per_post("homes?", &passages, |_, user| {
            asked.push(user.clone());
            let reply = if user.contains("cats") {
                "NOT IN THE POST".to_string()
            } else {
                // The first and the third post give the same sentence.
                "They cannot pay rent.".to_string()
            };
            std::future::ready(Ok::<_, std::convert::Infallible>(reply))
        }))
        .unwrap_or_else(|e| match e {});
        assert_eq!(asked.len(), 3);
        assert!(asked[0].starts_with("Post: rent is late\n"));
        assert!(answer.answered);
        // The same sentence from two posts is said once and cites both.
        assert_eq!(
            answer.sentences,
            vec![Sentence {
                text: "They cannot pay rent.".into(),
                cites: vec![1, 3]
            }]
        );
    }

    #[test]
    fn no_post_answering_means_not_answered_and_errors_stop() {
        let passages = vec![Passage { text: "x".into() }, Passage { text: "y".into() }];
        let a = block_on(answer_per_post("q", &passages, |_, _| {
            std::future::ready(Ok::<_, String>(NOT_IN_POST.to_string()))
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!a.answered);
        assert!(a.sentences.is_empty());
        let mut calls = 0;
        let e = block_on(answer_per_post("q", &passages, |_, _| {
            calls += 1;
            std::future::ready(Err::<String, _>("down".to_string()))
        }));
        assert_eq!(e, Err("down".to_string()));
        assert_eq!(calls, 1);
    }
}
