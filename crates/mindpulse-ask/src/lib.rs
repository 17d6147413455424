//! mindpulse-ask: answering a question from retrieved posts only, citing them, the way ALCE
//! (Gao et al., "Enabling Large Language Models to Generate Text with Citations", EMNLP
//! 2023) frames it. It computes; it never touches the database or a model (the caller
//! retrieves the posts and runs the LLM; [`per_post::answer_per_post`] takes the call as a closure).
//!
//! | module | what |
//! |---|---|
//! | [`guard`] | declines questions that try to identify, locate or profile one person |
//! | [`prompt`] | the system and user messages: numbered posts, "cite every sentence as [n]", the fixed reply when the posts do not answer |
//! | [`per_post`] | the default way of answering: one call per post ("what does this post say about the question?"), each sentence cited to the post it was written from |
//! | [`answer`] | the reply as sentences with their citations; out-of-range citations dropped; "not in the posts" recognized |
//! | [`support`] | the documented rule deciding whether posts support a sentence; [`verify`], which keeps only supported sentences (re-citing or dropping the others); ALCE's citation recall and precision under the rule |
//!
//! mindpulse exists to see populations; `ask` answers questions about what posts say, never
//! about who wrote them.

pub mod answer;
pub mod guard;
pub mod per_post;
pub mod prompt;
pub mod support;

pub use answer::{parse, Answer, Sentence};
pub use guard::declines;
pub use per_post::{answer_per_post, post_messages, NOT_IN_POST};
pub use prompt::{messages, Passage, NOT_ANSWERED};
pub use support::{citation_scores, supports, verify, CitationScores, Verified};
