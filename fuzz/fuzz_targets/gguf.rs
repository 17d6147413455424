#![no_main]
//! `gguf`: see mindpulse_fuzz::gguf.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mindpulse_fuzz::gguf(data));
