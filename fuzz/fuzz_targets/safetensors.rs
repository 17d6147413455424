#![no_main]
//! `safetensors`: see mindpulse_fuzz::safetensors.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mindpulse_fuzz::safetensors(data));
