//! The guard: a question is declined before any retrieval when it asks who someone is,
//! where they live or how to reach them, asks about one named or pseudonymous account, or
//! asks to profile an individual. The rule is a list of patterns in English and Chinese
//! (matched case-insensitively); it errs on the side of declining.

use regex::Regex;
use std::sync::OnceLock;

/// (pattern, the reason given when it matches).
const RULES: &[(&str, &str)] = &[
    (r"\bu_[0-9a-f]{20}\b", "it names one account"),
    (r"@\S", "it names one account"),
    (
        r"\bwho (is|are|was|wrote|posted|said)\b",
        "it asks who someone is",
    ),
    (
        r"\b(real|full|true) name\b",
        "it asks for someone's identity",
    ),
    (
        r"\b(identify|unmask|de-?anonymi[sz]e|dox+|track down|find out who)\b",
        "it asks to identify someone",
    ),
    (
        r"\b(where|which city|what city) (does|do|did) .{0,40}\b(live|work|stay)\b",
        "it asks where someone is",
    ),
    (
        r"\b(address|phone number|email|contact details|ip address|location) of\b",
        "it asks how to reach someone",
    ),
    (
        r"\b(this|that|the same|a specific|one) (user|person|author|account|poster)\b",
        "it asks about one person",
    ),
    (
        r"\bprofile (of|him|her|them|this|that)\b",
        "it asks to profile someone",
    ),
    (
        r"是谁|真实姓名|真名|身份信息|人肉|扒出|查出.*(人|身份)",
        "it asks who someone is",
    ),
    (
        r"住在哪|住址|家庭地址|电话号码|手机号|联系方式|工作单位|定位",
        "it asks where someone is or how to reach them",
    ),
    (
        r"(这个|那个|该|某个|某位)(用户|博主|网友|人|作者|账号)",
        "it asks about one person",
    ),
    (r"个人(信息|资料|画像)", "it asks to profile someone"),
];

fn rules() -> &'static [(Regex, &'static str)] {
    static RULES_RE: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    RULES_RE.get_or_init(|| {
        RULES
            .iter()
            .filter_map(|(p, why)| {
                regex::RegexBuilder::new(p)
                    .case_insensitive(true)
                    .build()
                    .ok()
                    .map(|r| (r, *why))
            })
            .collect()
    })
}

/// Why the question is declined, or None when it may be answered.
pub fn declines(question: &str) -> Option<&'static str> {
    rules()
        .iter()
        .find(|(r, _)| r.is_match(question))
        .map(|(_, why)| *why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_compiles() {
        assert_eq!(rules().len(), RULES.len());
    }

    #[test]
    fn questions_about_one_person_are_declined() {
        for q in [
            "Who is u_0123456789abcdef0123?",
            "who wrote the post about the eviction",
            "What is the real name of the author who posted about panic attacks?",
            "Can you identify the people posting about suicide?",
            "Where does this user live?",
            "Give me the phone number of the poster",
            "What does @zhangsan post about every night?",
            "这个用户是谁？",
            "帮我人肉一下发帖的人",
            "那个博主住在哪",
            "给我这位作者的个人信息",
            "What else has that person written?",
        ] {
            assert!(declines(q).is_some(), "{q}");
        }
    }

    #[test]
    fn questions_about_what_people_say_are_answered() {
        for q in [
            "What are people worried about with rent this month?",
            "Why do students say they cannot sleep before exams?",
            "What do posts say about the hospital's new policy?",
            "大家为什么失眠？",
            "最近关于考试的帖子在说什么？",
            "How do people describe their panic attacks?",
        ] {
            assert_eq!(declines(q), None, "{q}");
        }
    }
}
