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
        &[35946, 100644, 99165, 107115, 3837, 100425, 16530, 99164, 99353, 1773],
        &[40, 3003, 1012, 256, 21127, 220, 16, 17, 18, 19, 20, 4115, 271, 562, 30],
        &[108168, 99805, 37643, 13343, 16, 15, 15, 35727, 671, 110532, 2, 26525, 255, 144628],
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
        &[19805, 235, 15076, 228, 18614, 119, 29157, 226, 178, 222, 116, 179, 243, 235, 12831, 178, 247, 111, 30229, 178, 247, 218, 37249, 227, 19076],
        &[57, 3543, 719, 256, 10902, 216, 33, 34, 35, 36, 37, 2737, 198, 198, 2231, 47],
        &[39648, 221, 43108, 238, 33945, 236, 22081, 111, 33526, 33, 32, 32, 18614, 119, 907, 18614, 126, 178, 246, 250, 19, 40303, 251, 10813, 242, 251],
        &[216, 2899, 5600, 284, 35079, 256],
    ];
    for (t, w) in texts().iter().zip(want) {
        assert_eq!(llm.tokenize(t, false).expect("tokenize"), w, "{t:?}");
    }
}
