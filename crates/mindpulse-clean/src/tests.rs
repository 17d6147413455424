//! Tests of [`Cleaner`] as a whole.

use super::*;
use chrono::TimeZone;
use mindpulse_core::{Origin, PostKind};
use serde_json::json;

fn cleaner(opts: CleanOptions) -> Cleaner {
    Cleaner::new(PseudonymKey::from_secret("test key"), opts)
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 22, 12, 0, 0).unwrap()
}

fn weibo_post() -> RawPost {
    RawPost {
        platform: " weibo ".into(),
        platform_id: Some(" 5012345678901234 ".into()),
        kind: PostKind::Repost,
        parent_id: Some("5012345678900000".into()),
        root_id: Some("  ".into()),
        author: Some(RawAuthor {
            id: "2718281828".into(),
            screen_name: Some("小明同学".into()),
            verified_type: Some(-1),
            followers: Some(12_345),
            region: Some(" 北京 ".into()),
        }),
        text: "今天又失眠了&amp;焦虑<br />//@小明同学: 有人吗 @李四 电话13812345678 \u{200B}"
            .into(),
        lang: None,
        created_at: Some(Utc.with_ymd_and_hms(2025, 11, 21, 23, 59, 0).unwrap()),
        topics: vec![
            "#失眠#".into(),
            " 焦虑 ".into(),
            "#失眠#".into(),
            "".into(),
            "##".into(),
        ],
        repost_count: Some(3),
        comment_count: None,
        like_count: Some(10),
        region: Some(" 北京 ".into()),
        raw: Some(json!({
            "mid": "5012345678901234",
            "text": "今天又失眠了 //@小明同学: 有人吗 @李四",
            "user": {"id": 2718281828u64, "screen_name": "小明同学", "followers_count": 12345},
            "uid": 2718281828u64,
            "source": "小明同学的iPhone",
            "reposts_count": 3
        })),
        origin: Origin {
            file: "weibo.jsonl".into(),
            line: 7,
        },
    }
}

#[test]
fn cleans_a_weibo_repost() {
    let c = cleaner(CleanOptions::default());
    let out = c.clean(weibo_post(), now()).unwrap();
    let p = &out.post;
    let me = c.pseudonymizer().pseudonym("weibo", "2718281828");
    let lisi = c.pseudonymizer().pseudonym("weibo", "李四");
    assert_eq!(p.platform, "weibo");
    assert_eq!(p.platform_id, "5012345678901234");
    assert_eq!(p.kind, PostKind::Repost);
    assert_eq!(p.parent_id.as_deref(), Some("5012345678900000"));
    assert_eq!(p.root_id, None);
    assert_eq!(p.author.as_deref(), Some(me.as_str()));
    assert_eq!(
        p.text,
        format!("今天又失眠了&焦虑\n//@{me}: 有人吗 @{lisi} 电话[PHONE]")
    );
    assert_eq!(p.lang.as_deref(), Some("zh"));
    assert_eq!(p.topics, vec!["失眠", "焦虑"]);
    assert_eq!((p.repost_count, p.comment_count, p.like_count), (3, 0, 10));
    assert_eq!(p.region.as_deref(), Some("北京"));
    assert_eq!(p.collected_at, now());
    assert_eq!(p.content_hash, hex16(&out.content_hash));
    assert_eq!(out.content_hash, content_hash(&p.text));
    assert_eq!(p.simhash, out.simhash.map(|s| s as i64));
    assert!(out.simhash.is_some());
    assert_eq!(p.raw, None);
    assert_eq!(
        p.author_info,
        Some(CleanAuthor {
            pseudonym: me.clone(),
            verified_type: Some(-1),
            follower_bucket: Some("10k-100k".into()),
            region: Some("北京".into()),
        })
    );
    assert_eq!(
        out.pii,
        PiiCounts {
            phones: 1,
            mentions: 2,
            ..PiiCounts::default()
        }
    );
}

#[test]
fn raw_author_id_and_screen_name_never_reach_the_clean_post() {
    let c = cleaner(CleanOptions {
        redact_urls: true,
        keep_raw: true,
    });
    let out = c.clean(weibo_post(), now()).unwrap();
    let raw = out.post.raw.clone().unwrap();
    assert!(raw.contains("\"mid\":\"5012345678901234\""), "{raw}");
    assert!(raw.contains("\"reposts_count\":3"), "{raw}");
    let serialized = serde_json::to_string(&out.post).unwrap();
    for secret in ["2718281828", "小明同学", "13812345678", "李四"] {
        assert!(
            !serialized.contains(secret),
            "{secret} leaked: {serialized}"
        );
    }

    // Also for a Reddit post whose author is mentioned in text and payload.
    let mut post = RawPost {
        platform: "reddit".into(),
        author: Some(RawAuthor {
            id: "throwaway_42".into(),
            screen_name: Some("throwaway_42".into()),
            ..RawAuthor::default()
        }),
        text: "OP here (u/throwaway_42), thanks /u/helper_bob".into(),
        raw: Some(
            json!({"author": "throwaway_42", "selftext": "from u/throwaway_42",
                         "author_fullname": "t2_abc", "permalink": "/r/x/comments/1/throwaway_42"}),
        ),
        ..RawPost::default()
    };
    post.platform_id = Some("t3_abc".into());
    let out = c.clean(post, now()).unwrap();
    let serialized = serde_json::to_string(&out.post).unwrap();
    assert!(!serialized.contains("throwaway_42"), "{serialized}");
    assert!(!serialized.contains("helper_bob"), "{serialized}");
    assert!(!serialized.contains("t2_abc"), "{serialized}");

    // The hardening issue's leaks: the author's id in plain text, a mention longer than any
    // nickname, contact handles, profile links, and fields no denylist would name.
    let post = RawPost {
        platform: "weibo".into(),
        platform_id: Some("5000000000000001".into()),
        author: Some(RawAuthor {
            id: "5712340001".into(),
            ..RawAuthor::default()
        }),
        text: format!(
            "我的uid是 5712340001，加QQ: 12345678 或 vx：helpme2025，主页 weibo.com/u/5712340001 @{}",
            "长".repeat(40)
        ),
        raw: Some(json!({
            "微博正文": "hi", "艾特用户": "研友阿杰,小明同学", "发布位置": "北京·清华大学",
            "handle": "alice_real", "friends": ["bob_real"], "转发数": 3
        })),
        ..RawPost::default()
    };
    let out = c.clean(post, now()).unwrap();
    let serialized = serde_json::to_string(&out.post).unwrap();
    for secret in [
        "5712340001",
        "12345678",
        "helpme2025",
        "研友阿杰",
        "清华大学",
        "alice_real",
        "bob_real",
        "长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长",
    ] {
        assert!(
            !serialized.contains(secret),
            "{secret} leaked: {serialized}"
        );
    }
    let raw = out.post.raw.unwrap();
    assert!(raw.contains("\"转发数\":3"), "{raw}");
}

#[test]
fn derived_platform_id_is_stable_and_keyed() {
    let c = cleaner(CleanOptions::default());
    let mut post = weibo_post();
    post.platform_id = None;
    let a = c.clean(post.clone(), now()).unwrap().post.platform_id;
    assert!(a.starts_with("h_"));
    assert_eq!(a.len(), 26);
    assert_eq!(a, c.clean(post.clone(), now()).unwrap().post.platform_id);
    // Same after normalization-only differences.
    let mut spaced = post.clone();
    spaced.text = format!("  {}  ", post.text);
    assert_eq!(a, c.clean(spaced, now()).unwrap().post.platform_id);
    let mut other_text = post.clone();
    other_text.text.push('!');
    assert_ne!(a, c.clean(other_text, now()).unwrap().post.platform_id);
    let mut other_time = post.clone();
    other_time.created_at = None;
    assert_ne!(a, c.clean(other_time, now()).unwrap().post.platform_id);
    let other_key = Cleaner::new(PseudonymKey::from_secret("other"), CleanOptions::default());
    assert_ne!(a, other_key.clean(post, now()).unwrap().post.platform_id);
}

#[test]
fn rejects_bad_posts_with_clear_errors() {
    let c = cleaner(CleanOptions::default());
    let mut post = weibo_post();
    post.like_count = Some(-1);
    let err = c.clean(post, now()).unwrap_err();
    assert!(matches!(
        err,
        CleanError::NegativeCount {
            field: "like_count",
            value: -1
        }
    ));
    assert_eq!(err.to_string(), "like_count is negative (-1)");

    let mut post = weibo_post();
    post.text = "a".repeat(MAX_TEXT_BYTES + 1);
    let err = c.clean(post, now()).unwrap_err();
    assert!(matches!(err, CleanError::TextTooLong { .. }), "{err}");

    let mut post = weibo_post();
    post.text = format!("{}{}", "a".repeat(MAX_TEXT_BYTES), " ".repeat(100));
    assert!(c.clean(post, now()).is_ok());

    let mut post = weibo_post();
    post.platform = "  ".into();
    assert!(matches!(
        c.clean(post, now()).unwrap_err(),
        CleanError::EmptyPlatform
    ));
}

#[test]
fn stated_language_is_normalized_or_detected() {
    let c = cleaner(CleanOptions::default());
    let mut post = weibo_post();
    post.lang = Some("zh-CN".into());
    assert_eq!(
        c.clean(post.clone(), now()).unwrap().post.lang.as_deref(),
        Some("zh")
    );
    post.lang = Some("eng".into());
    assert_eq!(
        c.clean(post.clone(), now()).unwrap().post.lang.as_deref(),
        Some("en")
    );
    post.lang = Some("und".into());
    assert_eq!(
        c.clean(post, now()).unwrap().post.lang.as_deref(),
        Some("zh")
    );
}

#[test]
fn authorless_post_and_urls_option() {
    let post = RawPost {
        platform: "csv".into(),
        text: "read https://example.com/article?id=1 today, it helped me a lot".into(),
        author: Some(RawAuthor {
            id: "   ".into(),
            ..RawAuthor::default()
        }),
        raw: Some(json!({"text": "x"})),
        ..RawPost::default()
    };
    let out = cleaner(CleanOptions::default())
        .clean(post.clone(), now())
        .unwrap();
    assert_eq!(out.post.author, None);
    assert_eq!(out.post.author_info, None);
    assert_eq!(out.post.text, "read [URL] today, it helped me a lot");
    assert_eq!(out.pii.urls, 1);
    assert_eq!(out.post.lang.as_deref(), Some("en"));
    assert_eq!(out.post.raw, None);
    let keep = cleaner(CleanOptions {
        redact_urls: false,
        keep_raw: true,
    })
    .clean(post, now())
    .unwrap();
    assert_eq!(
        keep.post.text,
        "read https://example.com/article?id=1 today, it helped me a lot"
    );
    assert_eq!(keep.post.raw.as_deref(), Some(r#"{"text":"x"}"#));
}

#[test]
fn same_text_gives_same_hashes_across_authors() {
    let c = cleaner(CleanOptions::default());
    let mut a = weibo_post();
    a.text = "Feeling so alone tonight, nobody to talk to".into();
    let mut b = a.clone();
    b.author = Some(RawAuthor {
        id: "999".into(),
        ..RawAuthor::default()
    });
    b.text = "feeling so alone tonight... nobody to talk to!".into();
    let (ca, cb) = (c.clean(a, now()).unwrap(), c.clean(b, now()).unwrap());
    assert_eq!(ca.content_hash, cb.content_hash);
    let mut idx = DupIndex::new();
    assert_eq!(idx.check(ca.content_hash, ca.simhash), DupVerdict::New);
    assert_eq!(
        idx.check(cb.content_hash, cb.simhash),
        DupVerdict::Exact {
            group: cb.content_hash
        }
    );
}

#[test]
fn topics_are_trimmed_deduplicated_and_capped() {
    let long = "话".repeat(150);
    let topics = clean_topics(vec![
        "#抑郁症#".into(),
        "#mentalhealth".into(),
        "抑郁症".into(),
        "  ".into(),
        "＃全角＃".into(),
        long,
    ]);
    assert_eq!(topics[..3], ["抑郁症", "mentalhealth", "全角"]);
    assert_eq!(topics[3].chars().count(), MAX_TOPIC_CHARS);
    let many: Vec<String> = (0..40).map(|i| format!("#t{}#", i % 20)).collect();
    assert_eq!(clean_topics(many).len(), 20);
}

#[test]
fn follower_buckets() {
    let cases = [
        (0, "0"),
        (1, "1-9"),
        (9, "1-9"),
        (10, "10-99"),
        (999, "100-999"),
        (1_000, "1k-10k"),
        (99_999, "10k-100k"),
        (100_000, "100k-1M"),
        (9_999_999, "1M-10M"),
        (10_000_000, "10M+"),
    ];
    for (n, b) in cases {
        assert_eq!(follower_bucket(n), Some(b), "{n}");
    }
    assert_eq!(follower_bucket(-5), None);
}

#[test]
fn cleaner_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Cleaner>();
    assert_send_sync::<DupIndex>();
}
