//! The versioned prompts (one Chinese, one English per version), chosen by the post's
//! language.
//!
//! The prompt files live in `prompts/<version>/` and are embedded in the binary; the sha256
//! of the files a post was scored with is stored with every score, and the hash of the
//! whole set is part of the run's version, so a prompt edit starts a fresh (resumable)
//! scoring pass. Earlier versions stay available (`--prompt-version`) so old runs can be
//! reproduced. Every post is sent on its own: a system message and one user message
//! holding the post as plain UTF-8 with its topics as context, never a shared history.
//!
//! * `v1`: the scale, the official block titles and an all-zero format example. Small
//!   models copied the example: Qwen2.5-0.5B gave `F30_F39 = 0` to every depression post.
//! * `v2`: each block also lists the signs a post may show, the "give 0 unless" rule is
//!   stated neutrally, and three worked examples (neutral, low mood with poor sleep, work
//!   stress with drinking) replace the all-zero example.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The newest prompt version, used unless another is asked for.
pub const PROMPT_VERSION: &str = "v2";

/// Longest post text sent, in characters (longer posts are cut and flagged).
pub const MAX_POST_CHARS: usize = 1500;

/// The prompt set embedded from `prompts/<version>/`.
macro_rules! prompt_set {
    ($v:literal) => {
        PromptSet {
            version: $v,
            zh: Prompt {
                lang: PromptLang::Zh,
                system: include_str!(concat!("../prompts/", $v, "/system.zh.txt")),
                user: include_str!(concat!("../prompts/", $v, "/user.zh.txt")),
                retry: include_str!(concat!("../prompts/", $v, "/retry.zh.txt")),
            },
            en: Prompt {
                lang: PromptLang::En,
                system: include_str!(concat!("../prompts/", $v, "/system.en.txt")),
                user: include_str!(concat!("../prompts/", $v, "/user.en.txt")),
                retry: include_str!(concat!("../prompts/", $v, "/retry.en.txt")),
            },
        }
    };
}

/// Every prompt version, oldest first.
pub static PROMPT_SETS: &[PromptSet] = &[prompt_set!("v1"), prompt_set!("v2")];

/// One version of the prompts: a Chinese and an English prompt.
#[derive(Debug)]
pub struct PromptSet {
    pub version: &'static str,
    pub zh: Prompt,
    pub en: Prompt,
}

impl PromptSet {
    /// The newest version.
    pub fn latest() -> &'static PromptSet {
        PromptSet::get(PROMPT_VERSION).unwrap_or(&PROMPT_SETS[PROMPT_SETS.len() - 1])
    }

    /// The set of a version (`v1`, `v2`, …).
    pub fn get(version: &str) -> Option<&'static PromptSet> {
        PROMPT_SETS.iter().find(|s| s.version == version)
    }

    /// The versions there are.
    pub fn versions() -> Vec<&'static str> {
        PROMPT_SETS.iter().map(|s| s.version).collect()
    }

    /// The prompt of a language.
    pub fn prompt(&self, lang: PromptLang) -> Prompt {
        match lang {
            PromptLang::Zh => self.zh,
            PromptLang::En => self.en,
        }
    }

    /// sha256 (hex) of the whole set (both languages).
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        for p in [&self.zh, &self.en] {
            h.update(p.sha256().as_bytes());
        }
        hex(&h.finalize())
    }
}

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
    /// The newest version's prompt of a language.
    pub fn get(lang: PromptLang) -> Prompt {
        PromptSet::latest().prompt(lang)
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

/// sha256 (hex) of the newest prompt set (both languages).
pub fn prompt_set_sha256() -> String {
    PromptSet::latest().sha256()
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
        for set in PROMPT_SETS {
            let every_key_in_prompt = crate::schema::DIMENSIONS
                .iter()
                .all(|d| set.en.system.contains(d.id) && set.zh.system.contains(d.id));
            assert!(every_key_in_prompt, "{}", set.version);
            for lang in [PromptLang::Zh, PromptLang::En] {
                assert_eq!(set.prompt(lang).lang, lang);
            }
        }
        // Versions differ in hash; the newest is the default.
        let v1 = PromptSet::get("v1").unwrap();
        assert_ne!(v1.sha256(), PromptSet::latest().sha256());
        assert_eq!(PromptSet::latest().version, PROMPT_VERSION);
        assert!(PromptSet::get("v0").is_none());
        assert_eq!(PromptSet::versions(), vec!["v1", "v2"]);
    }

    #[test]
    fn examples_in_the_prompts_parse_and_are_not_all_zero() {
        // Every JSON line of v2's worked examples is a valid answer, and they span the scale,
        // so the model is not shown a single all-zero template.
        for lang in [PromptLang::Zh, PromptLang::En] {
            let system = PromptSet::get("v2").unwrap().prompt(lang).system;
            let answers: Vec<_> = system
                .lines()
                .filter(|l| l.starts_with('{'))
                .map(|l| crate::parse::parse_answer(l).expect(l).scores.values)
                .collect();
            assert_eq!(answers.len(), 3, "{lang:?}");
            assert!(answers.iter().any(|v| v.iter().all(|&x| x == 0)));
            assert!(answers.iter().filter(|v| v.iter().any(|&x| x >= 3)).count() >= 2);
        }
    }
}
