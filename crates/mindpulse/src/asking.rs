//! Answering a question from posts already retrieved: the part of `mindpulse ask` that the
//! web interface shares. The model writes the answer ([`crate::chat_llm::compose`]), its
//! citations are checked with the documented support rule (`mindpulse_ask::support`), and
//! the result is the JSON object `ask --json` prints.

use crate::chat_llm::{compose, ChatLlm, Compose};
use crate::retrieve::Found;
use mindpulse_ask::{citation_scores, verify, Passage};
use serde::Serialize;

/// The answer when the posts do not answer.
const NO_ANSWER: &str = "The stored posts do not answer this question.";

#[derive(Debug, Serialize)]
pub(crate) struct Citation {
    /// The number the answer cites it by.
    pub(crate) n: usize,
    pub(crate) platform: String,
    pub(crate) platform_id: String,
    pub(crate) text: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct AskOutput {
    pub(crate) answer: String,
    pub(crate) answered: bool,
    /// Why the question was declined, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) declined: Option<String>,
    pub(crate) citations: Vec<Citation>,
    pub(crate) sentences: Vec<mindpulse_ask::Sentence>,
    /// The posts given to the model, in their numbered order (platform ids).
    pub(crate) retrieved: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) checks: Option<Checks>,
}

/// What checking the model's citations found and changed.
#[derive(Debug, Serialize)]
pub(crate) struct Checks {
    /// Share of the model's sentences its own citations support (before the check).
    citation_recall_as_written: f64,
    /// Share of the model's citations that are not irrelevant (before the check).
    citation_precision_as_written: f64,
    /// Sentences re-cited to the post that supports them.
    reattributed: usize,
    /// Sentences no given post supports, left out.
    dropped: usize,
}

pub(crate) fn no_answer(retrieved: Vec<String>, model: Option<String>) -> AskOutput {
    AskOutput {
        answer: NO_ANSWER.to_string(),
        answered: false,
        declined: None,
        citations: Vec::new(),
        sentences: Vec::new(),
        retrieved,
        model,
        checks: None,
    }
}

pub(crate) fn citation(n: usize, f: &Found) -> Citation {
    Citation {
        n,
        platform: f.post.platform.clone(),
        platform_id: f.post.platform_id.clone(),
        text: f.post.text.clone(),
    }
}

/// The answer to a question the guard declined (`why`: the guard's reason).
pub(crate) fn declined(why: &str) -> AskOutput {
    AskOutput {
        answer: format!(
            "This question is declined: {why}. mindpulse answers questions about what posts say across a population, never about who wrote them."
        ),
        answered: false,
        declined: Some(why.to_string()),
        citations: Vec::new(),
        sentences: Vec::new(),
        retrieved: Vec::new(),
        model: None,
        checks: None,
    }
}

/// The checked answer to `question` over the retrieved posts `found` (not empty).
pub(crate) async fn answer_from(
    found: &[Found],
    question: &str,
    llm: &ChatLlm,
    model: String,
    how: Compose,
) -> anyhow::Result<AskOutput> {
    let retrieved: Vec<String> = found.iter().map(|f| f.post.platform_id.clone()).collect();
    let passages: Vec<Passage> = found
        .iter()
        .map(|f| Passage {
            text: f.post.text.clone(),
        })
        .collect();
    let mut answer = compose(llm, how, question, &passages).await?;
    // Keep only what the cited posts support (the rule of `mindpulse_ask::support`).
    let texts: Vec<String> = found.iter().map(|f| f.post.text.clone()).collect();
    let words = mindpulse_topics::Words::new();
    let as_written = citation_scores(&words, &answer, &texts);
    let verified = verify(&words, &mut answer, &texts);
    if !answer.answered {
        return Ok(no_answer(retrieved, Some(model)));
    }
    let citations = answer
        .cited()
        .into_iter()
        .filter_map(|n| found.get(n - 1).map(|f| citation(n, f)))
        .collect();
    Ok(AskOutput {
        answer: answer.text(),
        answered: true,
        declined: None,
        citations,
        sentences: answer.sentences,
        retrieved,
        model: Some(model),
        checks: Some(Checks {
            citation_recall_as_written: as_written.recall(),
            citation_precision_as_written: as_written.precision(),
            reattributed: verified.reattributed,
            dropped: verified.dropped,
        }),
    })
}
