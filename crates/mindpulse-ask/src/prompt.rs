//! The messages sent to the LLM: the retrieved posts numbered [1], [2] …, the rule "answer
//! only from these posts, cite every sentence", and the fixed reply for questions the
//! posts do not answer ([`NOT_ANSWERED`]). The answer is asked for in the question's
//! language.

/// What the model is told to reply when the posts do not answer the question.
pub const NOT_ANSWERED: &str = "NOT IN THE POSTS";

/// One retrieved post as the model sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    pub text: String,
}

/// Characters of a post shown to the model (long posts are cut).
pub(crate) const MAX_CHARS: usize = 600;

/// (system, user) messages for `question` over `passages` (numbered from 1).
pub fn messages(question: &str, passages: &[Passage]) -> (String, String) {
    let system = format!(
        "You answer questions about what social-media posts say, using ONLY the numbered posts \
         given. Write 1 to 4 short sentences. End every sentence with the number(s) of the \
         post(s) that support it, like [1] or [2][3], after the sentence, and cite the post \
         the sentence comes from (not always [1]). Example of the form: \"Several people \
         cannot pay their rent [2][4]. One was evicted [3].\" Do not use anything that is \
         not in the posts. Do not guess who wrote them. If the posts do not answer the question, reply \
         exactly: {NOT_ANSWERED}. Answer in the language of the question."
    );
    let mut user = String::from("Posts:\n");
    for (i, p) in passages.iter().enumerate() {
        let text: String = p.text.chars().take(MAX_CHARS).collect();
        user.push_str(&format!("[{}] {}\n", i + 1, text.replace('\n', " ")));
    }
    user.push_str(&format!("\nQuestion: {question}\nAnswer:"));
    (system, user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_are_numbered_from_one_and_cut() {
        let long = "x".repeat(2000);
        let (system, user) = messages(
            "why?",
            &[
                Passage {
                    text: "a\nb".into(),
                },
                Passage { text: long },
            ],
        );
        assert!(system.contains(NOT_ANSWERED));
        assert!(user.contains("[1] a b\n"));
        assert!(user.contains(&format!("[2] {}\n", "x".repeat(600))));
        assert!(!user.contains(&"x".repeat(601)));
        assert!(user.ends_with("Question: why?\nAnswer:"));
    }
}
