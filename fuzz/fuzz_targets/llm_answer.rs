#![no_main]
//! `llm_answer`: see mindpulse_fuzz::llm_answer.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mindpulse_fuzz::llm_answer(data));
