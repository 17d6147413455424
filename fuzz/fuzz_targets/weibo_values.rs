#![no_main]
//! `weibo_values`: see mindpulse_fuzz::weibo_values.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mindpulse_fuzz::weibo_values(data));
