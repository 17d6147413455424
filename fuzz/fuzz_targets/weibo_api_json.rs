#![no_main]
//! `weibo_api_json`: see mindpulse_fuzz::weibo_api_json.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mindpulse_fuzz::weibo_api_json(data));
