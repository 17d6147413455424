//! The runtime on the real packaged models (`smollm2-135m`: llama architecture, Q4_1;
//! `qwen2.5-0.5b-instruct-q4km`: qwen2, Q5_0/Q4_K/Q6_K/Q8_0), installed under
//! `$MINDPULSE_MODELS` by `scripts/test.sh`. Skipped with a note when a model is not
//! installed, except with `CI=true`.
//!
//! Reference token ids come from Hugging Face `tokenizers` built from the same GGUF
//! vocabulary by `transformers`' GGUF converter (its Qwen2 split regex; byte-level BPE).

use mindpulse_llm::{ChatMessage, GenerateOptions, Llm, LlmError, LlmOptions, StopReason};
use std::path::PathBuf;
use std::sync::OnceLock;

fn installed(name: &str) -> Option<PathBuf> {
    match mindpulse_models::resolve(name) {
        Ok(m) => Some(m.main_file),
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{name} is not installed ({e}); run scripts/test.sh");
            }
            eprintln!("skipped: {name} is not installed ({e}); `mindpulse models install {name}`");
            None
        }
    }
}

fn load(name: &str) -> Option<&'static Llm> {
    static SMOL: OnceLock<Option<Llm>> = OnceLock::new();
    static QWEN: OnceLock<Option<Llm>> = OnceLock::new();
    let cell = if name == "smollm2-135m" { &SMOL } else { &QWEN };
    cell.get_or_init(|| {
        installed(name).map(|p| {
            Llm::load(
                &p,
                &LlmOptions {
                    threads: 2,
                    max_context: 2048,
                },
            )
            .expect("model loads")
        })
    })
    .as_ref()
}

const SMOL: &str = "smollm2-135m";
const QWEN: &str = "qwen2.5-0.5b-instruct-q4km";

fn texts() -> [&'static str; 5] {
    [
        "Hello, world! How are you today?",
        "我今天很焦虑，睡不着觉。",
        "I've been   sleeping 12345 hours\n\nok?",
        "考研倒计时100天 #失眠# 😭😭",
        "  leading spaces and trailing  ",
    ]
}

#[test]
fn qwen_token_ids_match_reference() {
    let Some(llm) = load(QWEN) else { return };
    let want: [&[u32]; 5] = [
        &[9707, 11, 1879, 0, 2585, 525, 498, 3351, 30],
        &[
            35946, 100644, 99165, 107115, 3837, 100425, 16530, 99164, 99353, 1773,
        ],
        &[
            40, 3003, 1012, 256, 21127, 220, 16, 17, 18, 19, 20, 4115, 271, 562, 30,
        ],
        &[
            108168, 99805, 37643, 13343, 16, 15, 15, 35727, 671, 110532, 2, 26525, 255, 144628,
        ],
        &[220, 6388, 12621, 323, 27748, 256],
    ];
    for (t, w) in texts().iter().zip(want) {
        assert_eq!(llm.tokenize(t, false).expect("tokenize"), w, "{t:?}");
    }
}

#[test]
fn smollm_token_ids_match_reference() {
    let Some(llm) = load(SMOL) else { return };
    let want: [&[u32]; 5] = [
        &[19556, 28, 905, 17, 1073, 359, 346, 1834, 47],
        &[
            19805, 235, 15076, 228, 18614, 119, 29157, 226, 178, 222, 116, 179, 243, 235, 12831,
            178, 247, 111, 30229, 178, 247, 218, 37249, 227, 19076,
        ],
        &[
            57, 3543, 719, 256, 10902, 216, 33, 34, 35, 36, 37, 2737, 198, 198, 2231, 47,
        ],
        &[
            39648, 221, 43108, 238, 33945, 236, 22081, 111, 33526, 33, 32, 32, 18614, 119, 907,
            18614, 126, 178, 246, 250, 19, 40303, 251, 10813, 242, 251,
        ],
        &[216, 2899, 5600, 284, 35079, 256],
    ];
    for (t, w) in texts().iter().zip(want) {
        assert_eq!(llm.tokenize(t, false).expect("tokenize"), w, "{t:?}");
    }
}

#[test]
fn text_round_trips_through_the_tokenizer() {
    for name in [SMOL, QWEN] {
        let Some(llm) = load(name) else { continue };
        for t in texts()
            .iter()
            .chain(&["混合 mixed 文本 with émoji 🤖 and\ttabs\r\n"])
        {
            let ids = llm.tokenize(t, false).expect("tokenize");
            assert_eq!(&llm.detokenize(&ids), t, "{name}");
        }
    }
}

#[test]
fn special_tokens_are_parsed_only_when_asked() {
    for name in [SMOL, QWEN] {
        let Some(llm) = load(name) else { continue };
        let start = llm.token_id("<|im_start|>").expect("<|im_start|>");
        let end = llm.token_id("<|im_end|>").expect("<|im_end|>");
        let ids = llm
            .tokenize("<|im_start|>user\n你好<|im_end|>", true)
            .expect("tokenize");
        let inner = llm.tokenize("user\n你好", false).expect("tokenize");
        assert_eq!(ids.first(), Some(&start), "{name}");
        assert_eq!(ids.last(), Some(&end), "{name}");
        assert_eq!(&ids[1..ids.len() - 1], &inner[..], "{name}");
        let plain = llm
            .tokenize("<|im_start|>user\n你好<|im_end|>", false)
            .expect("tokenize");
        assert!(!plain.contains(&start) && !plain.contains(&end), "{name}");
        assert!(
            llm.eos_tokens().contains(&end),
            "{name}: <|im_end|> ends generation"
        );
        assert_eq!(
            llm.token_id("0").map(|i| llm.detokenize(&[i])),
            Some("0".to_string())
        );
    }
    if let Some(q) = load(QWEN) {
        assert_eq!(q.token_id("<|im_start|>"), Some(151644));
        assert_eq!(q.eos_tokens(), &[151643, 151645]);
        assert_eq!(q.architecture(), "qwen2");
        assert_eq!(q.vocab_size(), 151936);
        assert_eq!(q.context_length(), 32768);
    }
    if let Some(s) = load(SMOL) {
        assert_eq!(s.token_id("<|im_start|>"), Some(1));
        assert_eq!(s.architecture(), "llama");
    }
}

#[test]
fn chat_template_from_the_file() {
    let Some(llm) = load(QWEN) else { return };
    let p = llm
        .chat_prompt(&[ChatMessage::new("user", "Hi")], true)
        .expect("render");
    assert_eq!(
        p,
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    let p = llm
        .chat_prompt(
            &[
                ChatMessage::new("system", "Rate posts."),
                ChatMessage::new("user", "Hi"),
            ],
            false,
        )
        .expect("render");
    assert_eq!(
        p,
        "<|im_start|>system\nRate posts.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
    );
}

fn chat_ids(llm: &Llm, user: &str) -> Vec<u32> {
    let p = llm
        .chat_prompt(&[ChatMessage::new("user", user)], true)
        .expect("render");
    llm.tokenize(&p, true).expect("tokenize")
}

#[test]
fn greedy_answers_are_the_recorded_ones() {
    for (name, want) in [
        (SMOL, "The capital of France is Paris."),
        (QWEN, "The capital of France is Paris."),
    ] {
        let Some(llm) = load(name) else { continue };
        let ids = chat_ids(
            llm,
            "What is the capital of France? Answer in one sentence.",
        );
        let mut s = llm.session();
        let logits = s.feed(&ids).expect("feed");
        assert_eq!(logits.len(), llm.vocab_size());
        let g = s
            .generate(
                logits,
                &GenerateOptions {
                    max_tokens: 40,
                    stop: vec![],
                },
            )
            .expect("generate");
        assert_eq!(g.text, want, "{name}");
        assert_eq!(g.stop_reason, StopReason::Eos, "{name}");
        assert_eq!(g.prompt_tokens, ids.len());
        assert_eq!(g.timings.prompt_tokens, ids.len());
        assert_eq!(g.timings.generated_tokens, g.tokens.len());
        assert_eq!(llm.detokenize(&g.tokens), want);
        // Every generated token was fed back (the end token is not).
        assert_eq!(s.len(), ids.len() + g.tokens.len());
    }
}

#[test]
fn stop_strings_and_max_tokens() {
    let Some(llm) = load(SMOL) else { return };
    let ids = chat_ids(
        llm,
        "What is the capital of France? Answer in one sentence.",
    );
    let mut s = llm.session();
    let logits = s.feed(&ids).expect("feed");
    let mut s2 = s.fork();
    let g = s
        .generate(
            logits.clone(),
            &GenerateOptions {
                max_tokens: 40,
                stop: vec![" Paris".into()],
            },
        )
        .expect("generate");
    assert_eq!(g.text, "The capital of France is");
    assert_eq!(g.stop_reason, StopReason::StopString);
    let g = s2
        .generate(
            logits,
            &GenerateOptions {
                max_tokens: 3,
                stop: vec![],
            },
        )
        .expect("generate");
    assert_eq!(g.tokens.len(), 3);
    assert_eq!(g.stop_reason, StopReason::MaxTokens);
    assert!(
        "The capital of France is Paris.".starts_with(&g.text),
        "{:?}",
        g.text
    );
}

/// A forked prefix gives bit-identical logits (and generations) to feeding everything from
/// scratch, however the tokens are split; truncating and re-feeding equals a fresh session.
/// The system prompt is long enough (over 256 tokens) for attention to split its keys
/// differently for small and large feeds.
#[test]
fn prefix_cache_fork_and_truncate_are_exact() {
    for name in [SMOL, QWEN] {
        let Some(llm) = load(name) else { continue };
        let sys = llm
            .chat_prompt(
                &[ChatMessage::new(
                    "system",
                    "Rate how negative the post is, 0 to 5. ".repeat(30),
                )],
                false,
            )
            .expect("render");
        let prefix = llm.tokenize(&sys, true).expect("tokenize");
        assert!(prefix.len() > 300, "{name}: {} prefix tokens", prefix.len());
        let post = |t: &str| {
            llm.tokenize(
                &format!("<|im_start|>user\n{t}<|im_end|>\n<|im_start|>assistant\n"),
                true,
            )
            .expect("tokenize")
        };
        let (a, b) = (
            post("Exams again, no sleep for days. 考研好累。"),
            post("Lovely walk by the sea today!"),
        );

        let mut base = llm.session();
        base.feed(&prefix).expect("feed");
        let mut fa = base.fork();
        let la = fa.feed(&a).expect("feed");
        let mut fb = base.fork();
        let lb = fb.feed(&b).expect("feed");

        let full_a: Vec<u32> = prefix.iter().chain(&a).copied().collect();
        let mut fresh = llm.session();
        assert_eq!(
            fresh.feed(&full_a).expect("feed"),
            la,
            "{name}: fork vs fresh"
        );
        // Split in uneven pieces.
        let mut pieces = llm.session();
        let mut last = Vec::new();
        for chunk in full_a.chunks(7) {
            last = pieces.feed(chunk).expect("feed");
        }
        assert_eq!(last, la, "{name}: pieces vs one batch");
        assert_eq!(pieces.tokens(), &full_a[..]);

        // Roll the fresh session back to the prefix and feed the other post.
        fresh.truncate(prefix.len());
        assert_eq!(fresh.len(), prefix.len());
        assert_eq!(
            fresh.feed(&b).expect("feed"),
            lb,
            "{name}: truncate + re-feed"
        );
        assert_ne!(la, lb);

        let opts = GenerateOptions {
            max_tokens: 8,
            stop: vec![],
        };
        let ga = fa.generate(la.clone(), &opts).expect("generate");
        let gf = pieces.generate(la, &opts).expect("generate");
        assert_eq!(ga.tokens, gf.tokens, "{name}");
        assert_eq!(ga.prompt_tokens, full_a.len());
        assert_eq!(
            ga.timings.prompt_tokens,
            a.len(),
            "the cached prefix is not counted"
        );
    }
}

#[test]
fn invalid_input_is_an_error() {
    let Some(llm) = load(SMOL) else { return };
    let mut s = llm.session();
    assert!(matches!(s.feed(&[]), Err(LlmError::InvalidInput(_))));
    assert!(matches!(
        s.feed(&[llm.vocab_size() as u32]),
        Err(LlmError::InvalidToken { .. })
    ));
    let too_long = vec![1u32; 2049];
    assert!(matches!(
        s.feed(&too_long),
        Err(LlmError::ContextFull {
            needed: 2049,
            max: 2048
        })
    ));
    assert_eq!(s.len(), 0, "a refused feed leaves the cache as it was");
    assert!(s
        .generate(vec![0.0; 3], &GenerateOptions::default())
        .is_err());
}
