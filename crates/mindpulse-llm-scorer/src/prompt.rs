//! The versioned prompts (one Chinese, one English), chosen by the post's language.
//!
//! The prompt files live in `prompts/` and are embedded in the binary; the sha256 of the
//! files a post was scored with is stored with every score, and the hash of the whole set
//! is part of the run's version, so a prompt edit starts a fresh (resumable) scoring pass.
//! Every post is sent on its own: a system message and one user message holding the post
//! as plain UTF-8 with its topics as context, never a shared history.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The prompt set's human-readable version; the hash makes it exact.
pub const PROMPT_VERSION: &str = "v1";

/// Longest post text sent, in characters (longer posts are cut and flagged).
pub const MAX_POST_CHARS: usize = 1500;

const SYSTEM_EN: &str = include_str!("../prompts/system.en.txt");
const SYSTEM_ZH: &str = include_str!("../prompts/system.zh.txt");
const USER_EN: &str = include_str!("../prompts/user.en.txt");
const USER_ZH: &str = include_str!("../prompts/user.zh.txt");
const RETRY_EN: &str = include_str!("../prompts/retry.en.txt");
const RETRY_ZH: &str = include_str!("../prompts/retry.zh.txt");

/// Which prompt a post gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PromptLang {
    Zh,
    En,
}

impl PromptLang {
    pub fn as_str(self) -> &'static str {
        match self {
            PromptLang::Zh => "zh",
            PromptLang::En => "en",
        }
    }

    /// Chinese for posts whose language is Chinese (`zh`, `zh-Hans`, `cmn`, …); when the
    /// language is unknown, Chinese if at least a fifth of the letters are Han characters.
    pub fn for_post(lang: Option<&str>, text: &str) -> PromptLang {
        match lang.map(|l| l.trim().to_ascii_lowercase()) {
            Some(l) if l.starts_with("zh") || l == "cmn" || l == "yue" || l == "wuu" => {
                PromptLang::Zh
            }
            Some(l) if !l.is_empty() && l != "und" && l != "unknown" => PromptLang::En,
            _ => {
                let letters = text.chars().filter(|c| c.is_alphabetic()).count();
                let han = text.chars().filter(|c| is_han(*c)).count();
                if han > 0 && han * 5 >= letters {
                    PromptLang::Zh
                } else {
                    PromptLang::En
                }
            }
        }
    }
}

fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub role: &'static str,
    pub content: String,
}

/// The prompt files of one language.
#[derive(Debug, Clone, Copy)]
pub struct Prompt {
    pub lang: PromptLang,
    pub system: &'static str,
    user: &'static str,
    retry: &'static str,
}

/// A post rendered for the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPost {
    pub lang: PromptLang,
    /// The user message.
    pub user: String,
    /// True when the text was cut at [`MAX_POST_CHARS`].
    pub truncated: bool,
}

impl Prompt {
    pub fn get(lang: PromptLang) -> Prompt {
        match lang {
            PromptLang::Zh => Prompt {
                lang,
                system: SYSTEM_ZH,
                user: USER_ZH,
                retry: RETRY_ZH,
            },
            PromptLang::En => Prompt {
                lang,
                system: SYSTEM_EN,
                user: USER_EN,
                retry: RETRY_EN,
            },
        }
    }

    /// sha256 (hex) of this language's prompt files.
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        for part in [self.system, self.user, self.retry] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        hex(&h.finalize())
    }

    /// The user message for a post: its text (cut at [`MAX_POST_CHARS`]) and topics.
    pub fn render(&self, text: &str, topics: &[String]) -> RenderedPost {
        let text = text.trim();
        let truncated = text.chars().count() > MAX_POST_CHARS;
        let text: String = if truncated {
            let mut t: String = text.chars().take(MAX_POST_CHARS).collect();
            t.push('…');
            t
        } else {
            text.to_string()
        };
        let topics = if topics.is_empty() {
            match self.lang {
                PromptLang::Zh => "无".to_string(),
                PromptLang::En => "none".to_string(),
            }
        } else {
            let sep = if self.lang == PromptLang::Zh {
                "、"
            } else {
                ", "
            };
            topics
                .iter()
                .map(|t| {
                    let t = t.trim().trim_matches('#');
                    format!("#{t}#")
                })
                .collect::<Vec<_>>()
                .join(sep)
        };
        // Substitute {text} last so a post containing "{topics}" is left as written.
        let user = self
            .user
            .replace("{topics}", &topics)
            .replace("{text}", &text);
        RenderedPost {
            lang: self.lang,
            user,
            truncated,
        }
    }

    /// The messages for a first attempt.
    pub fn messages(&self, post: &RenderedPost) -> Vec<Message> {
        vec![
            Message {
                role: "system",
                content: self.system.to_string(),
            },
            Message {
                role: "user",
                content: post.user.clone(),
            },
        ]
    }

    /// The follow-up message after an unusable answer.
    pub fn retry_message(&self, error: &str) -> Message {
        let error: String = error.chars().take(200).collect();
        Message {
            role: "user",
            content: self.retry.replace("{error}", &error),
        }
    }
}

/// sha256 (hex) of the whole prompt set (both languages).
pub fn prompt_set_sha256() -> String {
    let mut h = Sha256::new();
    for lang in [PromptLang::Zh, PromptLang::En] {
        h.update(Prompt::get(lang).sha256().as_bytes());
    }
    hex(&h.finalize())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_routing() {
        assert_eq!(PromptLang::for_post(Some("zh"), "x"), PromptLang::Zh);
        assert_eq!(PromptLang::for_post(Some("zh-Hant"), "x"), PromptLang::Zh);
        assert_eq!(PromptLang::for_post(Some("en"), "今天好累"), PromptLang::En);
        assert_eq!(
            PromptLang::for_post(None, "今天好累 so tired"),
            PromptLang::Zh
        );
        assert_eq!(
            PromptLang::for_post(Some("und"), "so tired today"),
            PromptLang::En
        );
        assert_eq!(
            PromptLang::for_post(None, "so tired today, really tired 累"),
            PromptLang::En
        );
    }

    #[test]
    fn post_is_sent_as_readable_utf8_with_topics() {
        let p = Prompt::get(PromptLang::Zh);
        let r = p.render(
            "  最近总是失眠，不想上班  ",
            &["#打工人#".into(), "失眠".into()],
        );
        assert!(r.user.contains("最近总是失眠，不想上班"));
        assert!(r.user.contains("#打工人#、#失眠#"));
        assert!(!r.user.contains("\\u"));
        assert!(!r.truncated);
        let msgs = p.messages(&r);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].role, "system");
        assert!(msgs[0].content.contains("心境［情感］障碍"));
        // Serialized for a server, the text stays readable UTF-8.
        let json = serde_json::to_string(&msgs).unwrap();
        assert!(json.contains("最近总是失眠"));

        let e = Prompt::get(PromptLang::En).render("I can't sleep {topics}", &[]);
        assert!(e.user.contains("Topics: none"));
        assert!(e.user.contains("I can't sleep {topics}"));
    }

    #[test]
    fn long_posts_are_cut_and_flagged() {
        let p = Prompt::get(PromptLang::En);
        let long = "a".repeat(MAX_POST_CHARS + 10);
        let r = p.render(&long, &[]);
        assert!(r.truncated);
        assert!(r.user.chars().count() < MAX_POST_CHARS + 200);
    }

    #[test]
    fn hashes_are_stable_and_distinct() {
        let zh = Prompt::get(PromptLang::Zh).sha256();
        let en = Prompt::get(PromptLang::En).sha256();
        assert_eq!(zh.len(), 64);
        assert_ne!(zh, en);
        assert_eq!(zh, Prompt::get(PromptLang::Zh).sha256());
        assert_eq!(prompt_set_sha256().len(), 64);
        let every_key_in_prompt = crate::schema::DIMENSIONS.iter().all(|d| {
            Prompt::get(PromptLang::En).system.contains(d.id)
                && Prompt::get(PromptLang::Zh).system.contains(d.id)
        });
        assert!(every_key_in_prompt);
    }
}
