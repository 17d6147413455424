//! Times `Cleaner::clean` (and `DupIndex::check` on its output) over 100k synthetic mixed
//! Chinese/English posts of 100–200 characters.
//!
//! Run: `cargo run --release -p mindpulse-clean --example clean_speed [posts]`

use std::hint::black_box;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use mindpulse_clean::{CleanOptions, Cleaner, DupIndex, PseudonymKey, RawAuthor, RawPost};

const ZH: &[&str] = &[
    "今天又失眠了",
    "凌晨三点还睡不着",
    "感觉整个人都快崩溃了",
    "不知道该怎么办才好",
    "最近工作压力特别大",
    "每天加班到很晚",
    "回家之后什么都不想做",
    "有没有人和我一样",
    "医生说要按时吃药",
    "心情好一点了",
    "谢谢大家的鼓励",
    "真的好累啊",
    "想找个人说说话",
    "抑郁症不是矫情",
    "希望明天会更好",
    "一个人在出租屋里",
    "妈妈打电话来问我过得好不好",
];
const EN: &[&str] = &[
    "I can't sleep again",
    "my anxiety keeps getting worse",
    "does anyone else feel this way",
    "therapy has been helping a bit",
    "I just want to feel normal",
    "work has been so stressful",
    "thank you all for the kind words",
    "some days are harder than others",
    "I haven't left my room in days",
    "trying to take it one day at a time",
    "my friends don't really understand",
    "the meds make me so tired",
];
const EXTRAS: &[&str] = &[
    "@小明同学",
    "@lucy_w",
    "https://t.cn/A6abcdE",
    "电话13812345678",
    "a.b@example.com",
    "//@某某某: 转发微博",
    "&amp;",
    "<br />",
    "u/throwaway_42",
    "123",
];

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as usize
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.next() % xs.len()]
    }
}

fn synth_post(rng: &mut Lcg, i: usize) -> RawPost {
    let zh = !rng.next().is_multiple_of(3);
    let mut text = String::new();
    let target = 100 + rng.next() % 100;
    while text.chars().count() < target {
        if zh {
            text.push_str(rng.pick(ZH));
            text.push_str(if rng.next().is_multiple_of(4) {
                "。"
            } else {
                "，"
            });
        } else {
            text.push_str(rng.pick(EN));
            text.push_str(if rng.next().is_multiple_of(4) {
                ". "
            } else {
                ", "
            });
        }
        if rng.next().is_multiple_of(8) {
            text.push_str(rng.pick(EXTRAS));
            text.push(' ');
        }
    }
    RawPost {
        platform: if zh { "weibo" } else { "reddit" }.into(),
        platform_id: (!rng.next().is_multiple_of(10))
            .then(|| format!("{}", 5_000_000_000_000_000 + i)),
        author: Some(RawAuthor {
            id: format!("{}", 1_000_000_000 + rng.next() % 50_000),
            screen_name: Some(format!("user{}", rng.next() % 50_000)),
            verified_type: Some(-1),
            followers: Some((rng.next() % 100_000) as i64),
            region: Some("北京".into()),
        }),
        text,
        created_at: Utc.timestamp_opt(1_700_000_000 + i as i64, 0).single(),
        topics: vec!["#抑郁症#".into(), "mentalhealth".into()],
        repost_count: Some(1),
        comment_count: Some(2),
        like_count: Some(3),
        ..RawPost::default()
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let mut rng = Lcg(7);
    let posts: Vec<RawPost> = (0..n).map(|i| synth_post(&mut rng, i)).collect();
    let chars: usize = posts.iter().map(|p| p.text.chars().count()).sum();
    let cleaner = Cleaner::new(PseudonymKey::from_secret("bench"), CleanOptions::default());
    let now = Utc::now();

    // Warm up lazily built tables and regexes.
    for p in posts.iter().take(1000) {
        black_box(cleaner.clean(p.clone(), now).ok());
    }
    // Timed in batches of 1000: the mean includes time the thread lost to other processes
    // on a busy machine, the best batch shows the unloaded cost.
    let mut cleaned = Vec::with_capacity(n);
    let mut total = 0.0;
    let mut best = f64::MAX;
    for batch in posts.chunks(1000) {
        let batch = batch.to_vec();
        let len = batch.len();
        let start = Instant::now();
        for p in batch {
            if let Ok(c) = cleaner.clean(p, now) {
                cleaned.push((c.content_hash, c.simhash));
            }
        }
        let secs = start.elapsed().as_secs_f64();
        total += secs;
        best = best.min(secs / len as f64);
    }
    println!(
        "clean: {n} posts, avg {:.0} chars: mean {:.2} µs/post, best batch {:.2} µs/post ({} ok)",
        chars as f64 / n as f64,
        total * 1e6 / n as f64,
        best * 1e6,
        cleaned.len()
    );

    let mut idx = DupIndex::new();
    let start = Instant::now();
    let mut near = 0;
    let mut exact = 0;
    for &(h, s) in &cleaned {
        match idx.check(h, s) {
            mindpulse_clean::DupVerdict::Near { .. } => near += 1,
            mindpulse_clean::DupVerdict::Exact { .. } => exact += 1,
            mindpulse_clean::DupVerdict::New => {}
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "dedup: {:.2} µs/check, {exact} exact, {near} near, {:.1} MB held",
        secs * 1e6 / cleaned.len().max(1) as f64,
        idx.heap_bytes() as f64 / 1e6
    );
}
